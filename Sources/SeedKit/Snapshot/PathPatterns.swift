import CSeedSys
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// The entries `--only PATTERN...` chooses, as tar chooses members: a
/// pattern is a shell pattern (fnmatch(3), `*` matching `/` too) held
/// against an entry's path from the snapshot's root, and a pattern that
/// matches a directory chooses everything below it. Names are bytes: the
/// match runs in the C locale, byte for byte, so no name is normalized
/// or decoded on the way.
public final class PathPatterns {
    private let patterns: [[UInt8]]
    /// The same, NUL-ended for fnmatch(3), and whether each holds no
    /// character special to it (then a byte comparison does).
    private let cPatterns: [[UInt8]]
    private let literal: [Bool]
    private var matched: [Bool]
    /// Paths chosen besides the patterns' (the files chosen hard links
    /// link to).
    var extra = Set<[UInt8]>()

    /// nil when no pattern is given: every entry is chosen.
    public init?(_ patterns: [String]) {
        guard !patterns.isEmpty else { return nil }
        self.patterns = patterns.map { p in
            var b = Array(p.utf8)
            while b.starts(with: [0x2e, 0x2f]) { b.removeFirst(2) }
            while b.count > 1 && b.last == 0x2f { b.removeLast() }
            return b
        }
        cPatterns = self.patterns.map { $0 + [0] }
        literal = self.patterns.map { p in !p.contains { $0 == 0x2a || $0 == 0x3f || $0 == 0x5b || $0 == 0x5c || $0 == 0 } }
        matched = Array(repeating: false, count: patterns.count)
    }

    /// Whether `path` (an index path: no `./`, no trailing slash) is chosen.
    public func matches(_ path: [UInt8]) -> Bool {
        var any = false
        var subject: [UInt8] = []
        for i in patterns.indices {
            let hit: Bool
            if literal[i] {
                // The path itself, or one below it.
                let p = patterns[i]
                hit = path.count >= p.count && path.starts(with: p) && (path.count == p.count || path[p.count] == 0x2f)
            } else {
                if subject.isEmpty { subject = path + [0] }
                hit = PathPatterns.match(cPatterns[i], &subject, count: path.count)
            }
            if hit {
                matched[i] = true
                any = true
            }
        }
        return any || extra.contains(path)
    }

    /// The pattern matches the path or one of the directories above it:
    /// each is the path cut at a slash, tried in place.
    private static func match(_ pattern: [UInt8], _ subject: inout [UInt8], count: Int) -> Bool {
        BytePattern.inCLocale {
            pattern.withUnsafeBufferPointer { pb in
                subject.withUnsafeMutableBufferPointer { sb in
                    let pp = UnsafeRawPointer(pb.baseAddress!).assumingMemoryBound(to: CChar.self)
                    let sp = UnsafeRawPointer(sb.baseAddress!).assumingMemoryBound(to: CChar.self)
                    var cut = count
                    while true {
                        let saved = sb[cut]
                        sb[cut] = 0
                        let hit = fnmatch(pp, sp, 0) == 0
                        sb[cut] = saved
                        if hit { return true }
                        guard cut > 0, let slash = memrchr(sb.baseAddress!, 0x2f, cut) else { return false }
                        cut = UnsafeRawPointer(slash) - UnsafeRawPointer(sb.baseAddress!)
                    }
                }
            }
        }
    }

    /// The patterns that chose nothing so far, as given.
    public var unmatched: [String] {
        zip(patterns, matched).filter { !$0.1 }.map { String(decoding: $0.0, as: UTF8.self) }
    }

    /// A warning's text for patterns that chose nothing, or nil.
    public var unmatchedMessage: SeedMessage? {
        let u = unmatched
        guard !u.isEmpty else { return nil }
        return "\(u.map(quoted).joined(separator: ", ")): not in the snapshot"
    }
}

/// fnmatch(3) on bytes in the C locale, whatever the user's: a name is
/// matched byte for byte, never decoded in the locale's charset (where
/// `?` would match a multibyte character in one locale and each of its
/// bytes in another). `--only` and `--exclude` both match this way.
enum BytePattern {
    private static let cLocale = newlocale(LC_CTYPE_MASK, "C", nil)

    static func matches(_ pattern: [UInt8], _ subject: [UInt8]) -> Bool {
        inCLocale { cString(pattern) { p in cString(subject) { fnmatch(p, $0, 0) == 0 } } }
    }

    static func inCLocale<R>(_ body: () -> R) -> R {
        let previous = cLocale.map { uselocale($0) }
        defer { if let p = previous { uselocale(p) } }
        return body()
    }
}
