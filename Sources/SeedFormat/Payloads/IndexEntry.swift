import Foundation
import SeedCore
import SeedIO

/// What an index entry is (seed-stream(5), index `type`). A name the
/// format does not define decodes, and is refused by `formProblem`.
public struct EntryType: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let file = EntryType(rawValue: "file")
    public static let dir = EntryType(rawValue: "dir")
    public static let symlink = EntryType(rawValue: "symlink")
    public static let hardlink = EntryType(rawValue: "hardlink")
    public static let fifo = EntryType(rawValue: "fifo")
    public static let char = EntryType(rawValue: "char")
    public static let block = EntryType(rawValue: "block")
    /// What the format defines.
    public static let defined: Set<EntryType> = [.file, .dir, .symlink, .hardlink, .fifo, .char, .block]

    /// The type of a file with this st_mode (a hard link is told apart by
    /// its caller); nil for a kind of file the format does not carry.
    public init?(mode: UInt32) {
        switch mode & 0o170000 {
        case 0o100000: self = .file
        case 0o040000: self = .dir
        case 0o120000: self = .symlink
        case 0o010000: self = .fifo
        case 0o020000: self = .char
        case 0o060000: self = .block
        default: return nil
        }
    }

    public var description: String { rawValue }
}

/// One line of a snapshot's index (JSON Lines in index records; see
/// seed-stream(5)): what an entry is, and where it lies in the stream.
///
/// Names that are not valid UTF-8 are kept byte for byte in `pathB64` /
/// `linkB64` instead of `path` / `link`.
public struct IndexEntry: Codable, Equatable, Sendable {
    public var path: String?
    public var pathB64: String?
    public var type: EntryType
    public var size: UInt64
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var user: String?
    public var group: String?
    public var mtime: Int64
    public var mtimeNsec: Int32
    /// The inode's change time when it was read (optional): what an
    /// increment compares besides mtime, as chmod and xattr changes move it.
    public var ctime: Int64?
    public var ctimeNsec: Int32?
    public var link: String?
    public var linkB64: String?
    public var devMajor: UInt32?
    public var devMinor: UInt32?
    /// Extended attributes in the order the archive holds them (names are
    /// bytes: never a dictionary key, which would fold canonically equal names).
    public var xattrs: [Xattr]?
    public var sha256: String?
    public var sparse: Bool?
    /// The file changed while it was read, on every try: kept as last read.
    public var changed: Bool?
    /// A read error cut the content short: the rest is zeros.
    public var incomplete: Bool?
    /// Position: the data record (counting data records only, from 0) and
    /// the offset in its payload where the entry's header starts, and the
    /// same as an offset in the whole pax archive.
    public var record: UInt64
    public var offset: UInt64
    public var archiveOffset: UInt64

    public init(pathBytes: [UInt8], type: EntryType) {
        self.type = type
        size = 0
        mode = 0
        uid = 0
        gid = 0
        mtime = 0
        mtimeNsec = 0
        record = 0
        offset = 0
        archiveOffset = 0
        setPath(pathBytes)
    }

    public mutating func setPath(_ b: [UInt8]) {
        if let s = String(validating: b, as: UTF8.self) { path = s; pathB64 = nil } else { path = nil; pathB64 = Data(b).base64EncodedString() }
    }

    public mutating func setLink(_ b: [UInt8]) {
        if let s = String(validating: b, as: UTF8.self) { link = s; linkB64 = nil } else { link = nil; linkB64 = Data(b).base64EncodedString() }
    }

    public var pathBytes: [UInt8] {
        if let p = path { return Array(p.utf8) }
        return pathB64.flatMap { Data(base64Encoded: $0) }.map(Array.init) ?? []
    }

    public var linkBytes: [UInt8]? {
        if let l = link { return Array(l.utf8) }
        return linkB64.flatMap { Data(base64Encoded: $0) }.map(Array.init)
    }

    public var displayPath: String { quoted(bytes: pathBytes) }

    /// The types an index line may name.

    /// What seed-stream(5) requires of a line beyond its JSON shape, or nil.
    public var formProblem: String? {
        if (path == nil) == (pathB64 == nil) { return "has not exactly one of path and pathB64" }
        if link != nil && linkB64 != nil { return "has both link and linkB64" }
        if let b = pathB64, Data(base64Encoded: b) == nil { return "pathB64 is not base64" }
        if let b = linkB64, Data(base64Encoded: b) == nil { return "linkB64 is not base64" }
        let pathBytes = self.pathBytes
        if pathBytes.isEmpty { return "has an empty path" }
        if let why = EntryName.pathProblem(pathBytes) { return "path \(why)" }
        if let l = linkBytes {
            // A hard link names another entry of the tree; a symbolic
            // link's target is any bytes but a NUL.
            if let why = type == .hardlink ? EntryName.pathProblem(l, rootAllowed: false) : EntryName.bytesProblem(l) { return "link \(why)" }
        } else if type == .symlink || type == .hardlink {
            return "a \(type) without a link"
        }
        for x in xattrs ?? [] {
            if (x.name == nil) == (x.nameB64 == nil) { return "has an xattr without exactly one of name and nameB64" }
            if let b = x.nameB64, Data(base64Encoded: b) == nil { return "xattr nameB64 is not base64" }
            if Data(base64Encoded: x.value) == nil { return "xattr value is not base64" }
            if let why = EntryName.bytesProblem(x.nameBytes) { return "xattr name \(why)" }
        }
        if let u = user, u.utf8.contains(0) { return "user holds a NUL byte" }
        if let g = group, g.utf8.contains(0) { return "group holds a NUL byte" }
        if !EntryType.defined.contains(type) { return "type \(type) is not one seed-stream(5) names" }
        if var d = sha256, d.utf8.count != 64 || !d.withUTF8({ Hex.isLowerHex($0) }) { return "sha256 is not 64 lower-case hex digits" }
        if type == .file && sha256 == nil { return "a file without sha256" }
        if type != .file && size != 0 { return "a \(type) with a size" }
        if mode & ~0o7777 != 0 { return "mode has bits beyond 07777" }
        if !(0...999_999_999).contains(mtimeNsec) { return "mtimeNsec out of range" }
        return nil
    }

    /// What is wrong with the line's place given the stream's record
    /// size: `record` and `offset` must be `archiveOffset` cut at it.
    public func positionProblem(recordSize size: UInt64) -> String? {
        guard size > 0, record == archiveOffset / size, offset == archiveOffset % size else {
            return "record \(record) and offset \(offset) are not archive byte \(archiveOffset) at record size \(size)"
        }
        return nil
    }

    /// One extended attribute: its name (`nameB64` when not UTF-8) and its
    /// value in base64.
    public struct Xattr: Codable, Equatable, Sendable {
        public var name: String?
        public var nameB64: String?
        public var value: String

        public init(nameBytes: [UInt8], value: [UInt8]) {
            if let s = String(validating: nameBytes, as: UTF8.self) { name = s } else { nameB64 = Data(nameBytes).base64EncodedString() }
            self.value = Data(value).base64EncodedString()
        }

        public var nameBytes: [UInt8] {
            if let name { return Array(name.utf8) }
            return nameB64.flatMap { Data(base64Encoded: $0) }.map(Array.init) ?? []
        }
    }
}

/// Index lines are written with one encoder and read with one decoder.
package enum IndexCoding {
    package static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}

extension IndexEntry {
    /// Appends the entry as one JSON line, byte for byte what
    /// `IndexCoding.encoder()` writes (sorted keys, absent fields left
    /// out), without its per-entry cost: a snapshot writes one line per file.
    package func appendJSONLine(to out: inout [UInt8]) {
        var first = true
        func key(_ k: StaticString) {
            out.append(first ? 0x7b : 0x2c)
            first = false
            out.append(0x22)
            k.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(0x22)
            out.append(0x3a)
        }
        func number<T: BinaryInteger>(_ k: StaticString, _ v: T) {
            key(k)
            if v < 0 { out.append(0x2d) }
            // Digits straight into the line (String(v) per number was a
            // tenth of a snapshot's time on small files).
            var m = UInt64(truncatingIfNeeded: v.magnitude)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { d in
                var n = 20
                repeat {
                    n -= 1
                    d[n] = 0x30 + UInt8(m % 10)
                    m /= 10
                } while m > 0
                out.append(contentsOf: d[n..<20])
            }
        }
        func string(_ k: StaticString, _ v: String) {
            key(k)
            Self.appendJSONString(v, to: &out)
        }
        func bool(_ k: StaticString, _ v: Bool) {
            key(k)
            out.append(contentsOf: (v ? "true" : "false").utf8)
        }
        number("archiveOffset", archiveOffset)
        if let changed { bool("changed", changed) }
        if let ctime { number("ctime", ctime) }
        if let ctimeNsec { number("ctimeNsec", ctimeNsec) }
        if let devMajor { number("devMajor", devMajor) }
        if let devMinor { number("devMinor", devMinor) }
        number("gid", gid)
        if let group { string("group", group) }
        if let incomplete { bool("incomplete", incomplete) }
        if let link { string("link", link) }
        if let linkB64 { string("linkB64", linkB64) }
        number("mode", mode)
        number("mtime", mtime)
        number("mtimeNsec", mtimeNsec)
        number("offset", offset)
        if let path { string("path", path) }
        if let pathB64 { string("pathB64", pathB64) }
        number("record", record)
        if let sha256 { string("sha256", sha256) }
        number("size", size)
        if let sparse { bool("sparse", sparse) }
        string("type", type.rawValue)
        number("uid", uid)
        if let user { string("user", user) }
        if let xattrs {
            key("xattrs")
            out.append(0x5b)
            for (i, x) in xattrs.enumerated() {
                if i > 0 { out.append(0x2c) }
                out.append(0x7b)
                if let n = x.name {
                    Self.appendJSONString("name", to: &out)
                    out.append(0x3a)
                    Self.appendJSONString(n, to: &out)
                    out.append(0x2c)
                }
                if let n = x.nameB64 {
                    Self.appendJSONString("nameB64", to: &out)
                    out.append(0x3a)
                    Self.appendJSONString(n, to: &out)
                    out.append(0x2c)
                }
                Self.appendJSONString("value", to: &out)
                out.append(0x3a)
                Self.appendJSONString(x.value, to: &out)
                out.append(0x7d)
            }
            out.append(0x5d)
        }
        out.append(0x7d)
        out.append(0x0a)
    }

    /// A JSON string as JSONEncoder writes it with `.withoutEscapingSlashes`.
    package static func appendJSONString(_ s: String, to out: inout [UInt8]) { JSONText.appendString(s, to: &out) }
}
