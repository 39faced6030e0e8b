import Foundation

/// Reads an index line in the one form seed-snapshot writes it
/// (`IndexEntry.appendJSONLine`: keys sorted and each once, no spaces,
/// integers without sign or exponent tricks, strings with only JSON's
/// escapes) a hundred times faster than JSONDecoder; nil for a line in any
/// other form, which JSONDecoder then reads. It takes only lines whose
/// meaning JSON leaves no doubt about, so the two agree on every line it
/// takes: a key out of order or unknown, a space, a number with a fraction
/// or exponent or past its type, a string with a raw control byte, a
/// surrogate escape or bytes that are not UTF-8 all hand it back.
package enum IndexLineReader {
    /// The keys, in the order they come.
    private static let keys: [[UInt8]] = [
        "archiveOffset", "changed", "ctime", "ctimeNsec", "devMajor", "devMinor", "gid", "group", "incomplete", "link", "linkB64",
        "mode", "mtime", "mtimeNsec", "offset", "path", "pathB64", "record", "sha256", "size", "sparse", "type", "uid", "user", "xattrs",
    ].map { Array($0.utf8) }
    /// The keys every line has, a bit each by place in `keys`.
    private static let required: UInt32 = [0, 6, 11, 12, 13, 14, 17, 19, 21, 22].reduce(0) { $0 | 1 << $1 }

    package static func read(_ line: UnsafeRawBufferPointer) -> IndexEntry? {
        var s = Scanner(line)
        var e = IndexEntry(pathBytes: [], type: .file)
        e.path = nil
        var seen: UInt32 = 0
        var next = 0
        guard s.take(0x7b) else { return nil }
        repeat {
            guard let k = s.key(from: next, in: keys) else { return nil }
            seen |= 1 << k
            next = k + 1
            switch k {
            case 0: guard let v = s.unsigned(UInt64.self) else { return nil }; e.archiveOffset = v
            case 1: guard let v = s.bool() else { return nil }; e.changed = v
            case 2: guard let v = s.signed() else { return nil }; e.ctime = v
            case 3: guard let v = s.signed(), let n = Int32(exactly: v) else { return nil }; e.ctimeNsec = n
            case 4: guard let v = s.unsigned(UInt32.self) else { return nil }; e.devMajor = v
            case 5: guard let v = s.unsigned(UInt32.self) else { return nil }; e.devMinor = v
            case 6: guard let v = s.unsigned(UInt32.self) else { return nil }; e.gid = v
            case 7: guard let v = s.string() else { return nil }; e.group = v
            case 8: guard let v = s.bool() else { return nil }; e.incomplete = v
            case 9: guard let v = s.string() else { return nil }; e.link = v
            case 10: guard let v = s.string() else { return nil }; e.linkB64 = v
            case 11: guard let v = s.unsigned(UInt32.self) else { return nil }; e.mode = v
            case 12: guard let v = s.signed() else { return nil }; e.mtime = v
            case 13: guard let v = s.signed(), let n = Int32(exactly: v) else { return nil }; e.mtimeNsec = n
            case 14: guard let v = s.unsigned(UInt64.self) else { return nil }; e.offset = v
            case 15: guard let v = s.string() else { return nil }; e.path = v
            case 16: guard let v = s.string() else { return nil }; e.pathB64 = v
            case 17: guard let v = s.unsigned(UInt64.self) else { return nil }; e.record = v
            case 18: guard let v = s.string() else { return nil }; e.sha256 = v
            case 19: guard let v = s.unsigned(UInt64.self) else { return nil }; e.size = v
            case 20: guard let v = s.bool() else { return nil }; e.sparse = v
            case 21: guard let v = s.string() else { return nil }; e.type = EntryType(rawValue: v)
            case 22: guard let v = s.unsigned(UInt32.self) else { return nil }; e.uid = v
            case 23: guard let v = s.string() else { return nil }; e.user = v
            default: guard let v = xattrs(&s) else { return nil }; e.xattrs = v
            }
        } while s.take(0x2c)
        guard s.take(0x7d), s.atEnd, seen & required == required else { return nil }
        return e
    }

    private static let xattrKeys: [[UInt8]] = ["name", "nameB64", "value"].map { Array($0.utf8) }

    private static func xattrs(_ s: inout Scanner) -> [IndexEntry.Xattr]? {
        guard s.take(0x5b) else { return nil }
        var out: [IndexEntry.Xattr] = []
        if s.take(0x5d) { return out }
        repeat {
            guard s.take(0x7b) else { return nil }
            var x = IndexEntry.Xattr(nameBytes: [], value: [])
            x.name = nil
            var next = 0
            var hasValue = false
            repeat {
                guard let k = s.key(from: next, in: xattrKeys), let v = s.string() else { return nil }
                next = k + 1
                switch k {
                case 0: x.name = v
                case 1: x.nameB64 = v
                default:
                    x.value = v
                    hasValue = true
                }
            } while s.take(0x2c)
            guard s.take(0x7d), hasValue else { return nil }
            out.append(x)
        } while s.take(0x2c)
        return s.take(0x5d) ? out : nil
    }

    private struct Scanner {
        let p: UnsafeRawBufferPointer
        var i = 0

        init(_ p: UnsafeRawBufferPointer) { self.p = p }

        var atEnd: Bool { i == p.count }

        mutating func take(_ b: UInt8) -> Bool {
            guard i < p.count, p[i] == b else { return false }
            i += 1
            return true
        }

        /// A key among `keys` past `from`, and its colon.
        mutating func key(from: Int, in keys: [[UInt8]]) -> Int? {
            guard take(0x22), let base = p.baseAddress else { return nil }
            let start = i
            guard let q = memchr(base + start, 0x22, p.count - start) else { return nil }
            let end = UnsafeRawPointer(q) - base
            i = end + 1
            guard take(0x3a) else { return nil }
            let k = UnsafeRawBufferPointer(rebasing: p[start..<end])
            var n = from
            while n < keys.count {
                if keys[n].count == k.count && keys[n].withUnsafeBytes({ memcmp($0.baseAddress!, k.baseAddress!, k.count) == 0 }) { return n }
                n += 1
            }
            return nil
        }

        mutating func bool() -> Bool? {
            if match("true") { return true }
            if match("false") { return false }
            return nil
        }

        private mutating func match(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard p.count - i >= n, memcmp(p.baseAddress! + i, word.utf8Start, n) == 0 else { return false }
            i += n
            return true
        }

        /// Digits with no leading zero (but "0"), no fraction or exponent.
        private mutating func magnitude() -> UInt64? {
            let start = i
            var v: UInt64 = 0
            while i < p.count, case let d = p[i], d >= 0x30 && d <= 0x39 {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(d - 0x30))
                if o1 || o2 { return nil }
                v = a
                i += 1
            }
            let count = i - start
            if count == 0 || (count > 1 && p[start] == 0x30) { return nil }
            if i < p.count, p[i] == 0x2e || p[i] == 0x65 || p[i] == 0x45 { return nil }
            return v
        }

        mutating func unsigned<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) -> T? {
            magnitude().flatMap { T(exactly: $0) }
        }

        mutating func signed() -> Int64? {
            let negative = take(0x2d)
            guard let m = magnitude() else { return nil }
            if negative { return m == 0 ? nil : (m <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- m) : nil) }
            return Int64(exactly: m)
        }

        /// A string; its escapes read as JSON reads them, short of
        /// surrogates.
        mutating func string() -> String? {
            guard take(0x22), let base = p.baseAddress else { return nil }
            let start = i
            guard let q = memchr(base + start, 0x22, p.count - start) else { return nil }
            let end = UnsafeRawPointer(q) - base
            let raw = UnsafeRawBufferPointer(rebasing: p[start..<end])
            if memchr(raw.baseAddress!, 0x5c, raw.count) == nil {
                i = end + 1
                // Printable ASCII (nearly every name) needs no validating.
                var ascii = true
                for b in raw {
                    if b < 0x20 { return nil }
                    if b >= 0x80 { ascii = false }
                }
                return ascii ? String(decoding: raw, as: UTF8.self) : String(validating: raw, as: UTF8.self)
            }
            // Escapes: read byte by byte (rare: a name with a quote, a
            // backslash or a control byte).
            var bytes: [UInt8] = []
            i = start
            while true {
                guard i < p.count else { return nil }
                let b = p[i]
                i += 1
                if b == 0x22 { break }
                if b < 0x20 { return nil }
                if b != 0x5c {
                    bytes.append(b)
                    continue
                }
                guard i < p.count else { return nil }
                let c = p[i]
                i += 1
                switch c {
                case 0x22, 0x5c, 0x2f: bytes.append(c)
                case 0x62: bytes.append(0x08)
                case 0x66: bytes.append(0x0c)
                case 0x6e: bytes.append(0x0a)
                case 0x72: bytes.append(0x0d)
                case 0x74: bytes.append(0x09)
                case 0x75:
                    var u: UInt32 = 0
                    for _ in 0..<4 {
                        guard i < p.count, let h = Scanner.hexValue(p[i]) else { return nil }
                        u = u << 4 | h
                        i += 1
                    }
                    guard !(0xd800...0xdfff).contains(u), let scalar = Unicode.Scalar(u) else { return nil }
                    bytes.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            }
            return String(validating: bytes, as: UTF8.self)
        }

        static func hexValue(_ b: UInt8) -> UInt32? {
            switch b {
            case 0x30...0x39: return UInt32(b - 0x30)
            case 0x61...0x66: return UInt32(b - 0x61 + 10)
            case 0x41...0x46: return UInt32(b - 0x41 + 10)
            default: return nil
            }
        }
    }
}
