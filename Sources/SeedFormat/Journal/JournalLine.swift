import Crypto
import Foundation
import SeedCore
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// What a journal line is (seed-journal(5), `type`). A type the format
/// does not define decodes, and readers pass over it.
public struct JournalLineType: RawRepresentable, Codable, Hashable, Sendable {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The first line: the volume and its session.
    public static let volume = JournalLineType(rawValue: "volume")
    /// The volume's key record, without its key.
    public static let key = JournalLineType(rawValue: "key")
    /// One record: place, length, digest.
    public static let record = JournalLineType(rawValue: "record")
    /// The totals and the Merkle root.
    public static let end = JournalLineType(rawValue: "end")
    /// A file whose data the volume holds.
    public static let file = JournalLineType(rawValue: "file")
    /// The shipping side's signature over every line before it.
    public static let signature = JournalLineType(rawValue: "signature")
}

/// One line of a volume journal (seed-journal(5)): its `type` and the
/// fields that type has. A line of a type this version does not define
/// is kept as `.other` and passed over.
public enum JournalLine: JSONPayload, Equatable, Sendable {
    case volume(Volume)
    case key(Key)
    case record(Entry)
    case end(End)
    case file(File)
    case signature(Signature)
    case other(JournalLineType)

    /// The first line: the volume, and from its volume begin record where
    /// it lies in the stream (only in a stream split into volumes).
    public struct Volume: Codable, Equatable, Sendable {
        public var format = 1
        public var session: String
        public var volume: UInt32
        public var created: String
        public var capacity: UInt64?
        public var firstRecord: UInt64?
        public var firstDataRecord: UInt64?
        public var stages: [StreamMetadata.Stage]?
        /// How far apart seed-journal syncs its lines: how far back a
        /// resumed run goes from the journal's last line.
        public var checkpoint: UInt64?
        /// The drive set the volume is written to (seed-stream(5), Sets).
        public var set: SetGeometry?

        package init(session: String, volume: UInt32, created: String) {
            self.session = session
            self.volume = volume
            self.created = created
        }
    }

    /// The volume's key record, without its key.
    public struct Key: Codable, Equatable, Sendable {
        public var cipher: String
        public var slots: [SlotKind]

        package init(cipher: String, slots: [SlotKind]) {
            self.cipher = cipher
            self.slots = slots
        }
    }

    /// One record: its place, length and digest.
    public struct Entry: Codable, Equatable, Sendable {
        public var seq: UInt64
        public var kind: RecordKind
        public var offset: UInt64
        public var length: UInt64
        public var sha256: String
        /// Data records only: the number the index's `record` field uses.
        public var dataRecord: UInt64?
        /// In a set's volume, a record on one data member: that member
        /// (from 1) and the record's offset in its stream.
        public var member: Int?
        public var memberOffset: UInt64?
        /// In a set's volume, a shared record: its offset in each data
        /// member's stream, member 1 first.
        public var memberOffsets: [UInt64]?

        package init(seq: UInt64, kind: RecordKind, offset: UInt64, length: UInt64, sha256: String, dataRecord: UInt64?) {
            (self.seq, self.kind, self.offset, self.length, self.sha256, self.dataRecord) = (seq, kind, offset, length, sha256, dataRecord)
        }

        /// Where the placement rule puts the record: on one member at an
        /// offset of its stream, or on every member.
        package mutating func place(_ p: SetPlacement.Place, _ placement: SetPlacement, size: UInt64) {
            switch p {
            case .member(let m, let at): (member, memberOffset) = (m + 1, at)
            case .every: memberOffsets = placement.bytes.map { $0 - size }
            }
        }

        /// Whether the line's member fields are where the rule puts it.
        package func isPlaced(_ p: SetPlacement.Place, _ placement: SetPlacement, size: UInt64) -> Bool {
            var want = JournalLine.Entry(seq: seq, kind: kind, offset: offset, length: length, sha256: sha256, dataRecord: dataRecord)
            want.place(p, placement, size: size)
            return (want.member, want.memberOffset, want.memberOffsets) == (member, memberOffset, memberOffsets)
        }
    }

    /// The volume's totals and Merkle root.
    public struct End: Codable, Equatable, Sendable {
        public var records: UInt64
        public var bytes: UInt64
        public var merkleRoot: String
        /// In a set's volume: every member's stream length, the data
        /// members' by the placement rule, then each parity member's
        /// (whole stripes over the longest data member).
        public var memberBytes: [UInt64]?

        package init(records: UInt64, bytes: UInt64, merkleRoot: String) {
            (self.records, self.bytes, self.merkleRoot) = (records, bytes, merkleRoot)
        }
    }

    /// A file whose archive headers and content lie in data records
    /// `firstData` to `lastData`.
    /// An Ed25519 signature (RFC 8032) over `Signature.message` of every
    /// byte of the journal before the line, by the key whose public half
    /// is `signer`. The last line of a signed journal is one.
    public struct Signature: Codable, Equatable, Sendable {
        /// Base64 of the 32-byte public key, and of the 64-byte signature.
        public var signer: String
        public var signature: String
        package init(signer: String, signature: String) { (self.signer, self.signature) = (signer, signature) }

        /// What is signed: the ASCII bytes of "seed journal signature v2",
        /// the session, the volume, and the SHA-256 in lower-case hex of
        /// the journal's bytes before the signature line, each followed by
        /// a newline.
        public static func message(session: String, volume: UInt32, digest: [UInt8]) -> Data {
            Data("seed journal signature v2\n\(session)\n\(volume)\n\(Hex.encode(digest))\n".utf8)
        }
    }

    public struct File: Codable, Equatable, Sendable {
        public var path: String?
        public var pathB64: String?
        public var firstData: UInt64
        public var lastData: UInt64

        package init(path: String?, pathB64: String?, firstData: UInt64, lastData: UInt64) {
            (self.path, self.pathB64, self.firstData, self.lastData) = (path, pathB64, firstData, lastData)
        }
    }

    public static let notValid = "not a journal line"

    public var type: JournalLineType {
        switch self {
        case .volume: return .volume
        case .key: return .key
        case .record: return .record
        case .end: return .end
        case .file: return .file
        case .signature: return .signature
        case .other(let t): return t
        }
    }

    private enum TypeKey: String, CodingKey { case type }

    public init(from decoder: Decoder) throws {
        let t = try decoder.container(keyedBy: TypeKey.self).decode(JournalLineType.self, forKey: .type)
        switch t {
        case .volume: self = .volume(try Volume(from: decoder))
        case .key: self = .key(try Key(from: decoder))
        case .record: self = .record(try Entry(from: decoder))
        case .end: self = .end(try End(from: decoder))
        case .file: self = .file(try File(from: decoder))
        case .signature: self = .signature(try Signature(from: decoder))
        default: self = .other(t)
        }
    }

    /// The line's fields and its `type`, in one object.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .volume(let v): try v.encode(to: encoder)
        case .key(let k): try k.encode(to: encoder)
        case .record(let r): try r.encode(to: encoder)
        case .end(let e): try e.encode(to: encoder)
        case .file(let f): try f.encode(to: encoder)
        case .signature(let g): try g.encode(to: encoder)
        case .other: break
        }
    }

    public func encodedLine() -> [UInt8] { encoded() + [0x0a] }

    /// Every number a reader adds or loops by is bounded (seed-journal(5)).
    public func check(record: String) throws {
        switch self {
        case .volume(let v):
            try Session.check(v.session, record: record)
            if !StreamMetadata.isRFC3339(v.created) { throw SeedError.data("\(record): created \(quoted(v.created)) is not an RFC 3339 time") }
            try FormatLimits.check(
                ["capacity": v.capacity, "firstRecord": v.firstRecord, "firstDataRecord": v.firstDataRecord, "checkpoint": v.checkpoint],
                record: record)
            try v.set?.check(record)
        case .record(let e):
            try FormatLimits.check(["seq": e.seq, "offset": e.offset, "length": e.length, "dataRecord": e.dataRecord], record: record)
            if e.length < UInt64(RecordHeader.size) || e.length > UInt64(RecordHeader.size) + RecordHeader.maxPayload {
                throw SeedError.data("\(record): a record of \(e.length) bytes, which no record can be")
            }
            if e.sha256.utf8.count != 64 || Hex.decode(e.sha256) == nil { throw SeedError.data("\(record): sha256 is not a SHA-256 in hex") }
            try FormatLimits.check(["memberOffset": e.memberOffset], record: record)
            for o in e.memberOffsets ?? [] { try FormatLimits.check(["memberOffsets": o], record: record) }
            if let m = e.member, m < 1 || m > SetGeometry.maxMembers { throw SeedError.data("\(record): member \(m) is not a member of any set") }
            if (e.memberOffsets?.count ?? 0) > SetGeometry.maxMembers { throw SeedError.data("\(record): more memberOffsets than any set has members") }
        case .end(let e):
            try FormatLimits.check(["records": e.records, "bytes": e.bytes], record: record)
            if (e.memberBytes?.count ?? 0) > SetGeometry.maxMembers { throw SeedError.data("\(record): more memberBytes than any set has members") }
            for b in e.memberBytes ?? [] { try FormatLimits.check(["memberBytes": b], record: record) }
        case .file(let f):
            try FormatLimits.check(["firstData": f.firstData, "lastData": f.lastData], record: record)
            if (f.path == nil) == (f.pathB64 == nil) { throw SeedError.data("\(record): a file line without exactly one of path and pathB64") }
            if f.firstData > f.lastData { throw SeedError.data("\(record): a file line whose firstData is after its lastData") }
        default: break
        }
    }
}

extension SetPlacement {
    /// Places the record a journal line names, by the rule, for a reader
    /// replaying a set's journal: nil where the line's member fields say
    /// otherwise (the journal is damaged).
    package mutating func follow(_ line: JournalLine.Entry) -> Place? {
        let p = place(line.kind, size: line.length)
        return line.isPlaced(p, self, size: line.length) ? p : nil
    }

    /// The error for a line `follow` refused.
    package static func misplaced(journal path: String, line: Int, seq: UInt64) -> SeedError {
        SeedError.data("journal \(quoted(path)) line \(line): record \(seq) is not where the set's placement rule puts it")
    }
}

/// Journal file names: SESSION.vNNN.jrn, volume 0 for a stream not split.
public enum JournalNames {
    public static func name(session: String, volume: UInt32) -> String {
        session + ".v" + (volume < 100 ? String(format: "%03u", volume) : String(volume)) + ".jrn"
    }
}

/// The Merkle root of a volume's record digests, built as records pass,
/// in the shape of RFC 6962's tree hash: leaves are the records' SHA-256,
/// an inner node is SHA-256(0x01 || left || right), and a tree of n leaves
/// splits at the largest power of two below n. Memory: one digest per level.
package struct MerkleRoot {
    package init() {}

    private var stack: [(size: UInt64, hash: [UInt8])] = []

    package mutating func add(_ leaf: [UInt8]) {
        stack.append((1, leaf))
        while stack.count >= 2 && stack[stack.count - 1].size == stack[stack.count - 2].size {
            let r = stack.removeLast()
            let l = stack.removeLast()
            stack.append((l.size + r.size, MerkleRoot.node(l.hash, r.hash)))
        }
    }

    package static func node(_ l: [UInt8], _ r: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: [0x01])
        h.update(data: l)
        h.update(data: r)
        return Array(h.finalize())
    }

    /// The root (the SHA-256 of nothing for no leaves).
    package var root: [UInt8] {
        guard var acc = stack.last?.hash else { return Array(SHA256.hash(data: [UInt8]())) }
        for e in stack.dropLast().reversed() { acc = MerkleRoot.node(e.hash, acc) }
        return acc
    }
}

/// A journal file being written: lines appended through a buffer, synced
/// at checkpoints. Opening one that exists keeps its complete lines and
/// drops a torn last line (a crash mid-write).
package final class JournalWriter {
    package let path: String
    private let fd: Int32
    private var pending: [UInt8] = []

    /// Creates (or replaces) the journal at `path`.
    package init(create path: String) throws {
        self.path = path
        // Read as well: a signature is over the bytes read back.
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw SeedError(.cannotCreate, "cannot create journal \(quoted(path)): \(errnoMessage())") }
    }

    /// Opens an existing journal to append to, repairing a torn last line.
    package init(append path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 { throw SeedError(.cannotCreate, "cannot open journal \(quoted(path)): \(errnoMessage())") }
        try JournalWriter.repair(fd, path)
        lseek(fd, 0, SEEK_END)
    }

    deinit { close(fd) }

    /// Cuts a journal back to its last complete line.
    package static func repair(_ fd: Int32, _ path: String) throws {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return }
        var keep = size
        var buf = [UInt8](repeating: 0, count: 4096)
        var pos = size
        search: while pos > 0 {
            let n = Int(min(pos, 4096))
            pos -= off_t(n)
            guard pread(fd, &buf, n, pos) == n else { throw SeedError.io("cannot read journal \(quoted(path)): \(errnoMessage())") }
            for i in stride(from: n - 1, through: 0, by: -1) where buf[i] == 0x0a {
                keep = pos + off_t(i) + 1
                break search
            }
            keep = 0
        }
        if keep != size {
            if ftruncate(fd, keep) != 0 { throw SeedError.io("cannot repair journal \(quoted(path)): \(errnoMessage())") }
        }
    }

    package func append(_ line: JournalLine) { pending += line.encodedLine() }

    /// Appends a signature line over every byte the journal holds
    /// (seed-journal(5), signature): the lines before it are written out
    /// and read back to be hashed, so it covers what lies in the file.
    package func sign(session: String, volume: UInt32, with sign: (Data) throws -> JournalLine.Signature) throws {
        try flush(sync: false)
        let digest = try FileWrite.sha256(of: fd)
        append(.signature(try sign(JournalLine.Signature.message(session: session, volume: volume, digest: digest))))
    }

    /// Writes buffered lines; with `sync`, to the disk.
    package func flush(sync: Bool) throws {
        if !pending.isEmpty {
            let ok = pending.withUnsafeBytes { FileWrite.all(fd, $0.baseAddress!, $0.count) }
            if !ok { throw SeedError.io("cannot write journal \(quoted(path)): \(errnoMessage())") }
            pending.removeAll(keepingCapacity: true)
        }
        if sync && fdatasync(fd) != 0 { throw SeedError.io("cannot sync journal \(quoted(path)): \(errnoMessage())") }
    }
}

/// Reads a journal line by line with bounded memory: a regular file,
/// not followed through a symbolic link, each line at most
/// `JournalReader.maxLine`; a torn last line is skipped (and reported by
/// `torn`).
package final class JournalReader {
    /// seed-journal(5): no line is longer (a file line's name is at most
    /// a path's 4096 bytes, in base64).
    package static let maxLine = 256 << 10
    package var path: String { journal.path }
    private let journal: JournalFile
    private let file: LineFile
    package var lineNumber: Int { file.lineNumber }
    package var torn: Bool { file.torn }
    /// Where the line `next` reads starts: the bytes of the lines before it.
    package var offset: UInt64 { file.offset }

    /// Reads the journal at `path`, opened for this reader alone.
    package convenience init(_ path: String) throws { self.init(try JournalFile(path)) }

    /// Reads `journal` from its first line: every reader of one
    /// JournalFile reads the same bytes.
    package init(_ journal: JournalFile) {
        self.journal = journal
        file = LineFile(shared: journal.fd, path: journal.path, what: "journal", maxLine: JournalReader.maxLine)
    }

    /// The first line, which must be the volume line of `volume` of `session`.
    package func volumeLine(_ volume: UInt32, of session: String) throws -> JournalLine.Volume {
        guard case .volume(let head)? = try next(), head.session == session, head.volume == volume else {
            throw SeedError.data("journal \(quoted(path)) does not begin with volume \(volume) of session \(session)")
        }
        return head
    }

    package func next() throws -> JournalLine? {
        let record = "journal \(quoted(path)) line \(file.lineNumber + 1)"
        return try file.next { try JournalLine.decode($0, record: record) }
    }
}
