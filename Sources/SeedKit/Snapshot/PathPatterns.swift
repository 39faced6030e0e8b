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
        matched = Array(repeating: false, count: patterns.count)
    }

    /// Whether `path` (an index path: no `./`, no trailing slash) is chosen.
    public func matches(_ path: [UInt8]) -> Bool {
        var any = false
        for (i, p) in patterns.enumerated() where PathPatterns.match(p, path) {
            matched[i] = true
            any = true
        }
        return any || extra.contains(path)
    }

    /// The pattern matches the path or one of the directories above it.
    private static func match(_ pattern: [UInt8], _ path: [UInt8]) -> Bool {
        var cut = path.count
        while true {
            if BytePattern.matches(pattern, Array(path[0..<cut])) { return true }
            guard let slash = path[0..<cut].lastIndex(of: 0x2f) else { return false }
            cut = slash
        }
    }

    /// The patterns that chose nothing so far, as given.
    public var unmatched: [String] {
        zip(patterns, matched).filter { !$0.1 }.map { String(decoding: $0.0, as: UTF8.self) }
    }

    /// A warning's text for patterns that chose nothing, or nil.
    public var unmatchedMessage: String? {
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
        let previous = cLocale.map { uselocale($0) }
        defer { if let p = previous { uselocale(p) } }
        return cString(pattern) { p in cString(subject) { fnmatch(p, $0, 0) == 0 } }
    }
}
