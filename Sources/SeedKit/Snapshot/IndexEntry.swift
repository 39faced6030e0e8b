import Foundation

/// One line of a snapshot's index (JSON Lines in index records; see
/// seed-stream(5)): what an entry is, and where it lies in the stream.
///
/// Names that are not valid UTF-8 are kept byte for byte in `pathB64` /
/// `linkB64` instead of `path` / `link`.
public struct IndexEntry: Codable, Equatable, Sendable {
    public var path: String?
    public var pathB64: String?
    public var type: String
    public var size: UInt64
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var user: String?
    public var group: String?
    public var mtime: Int64
    public var mtimeNsec: Int32
    public var link: String?
    public var linkB64: String?
    public var devMajor: UInt32?
    public var devMinor: UInt32?
    public var xattrs: [String: String]?
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

    public init(pathBytes: [UInt8], type: String) {
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
}

/// Index lines are written with one encoder and read with one decoder.
enum IndexCoding {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
