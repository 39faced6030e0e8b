import Foundation
import SystemPackage

/// Reads a snapshot stream for the decoding modes (-t, -d, -x): checks the
/// stream header, undoes a record's codec when seed-compress -d was left
/// out (single-threaded; seed-compress -d is the fast way), collects the
/// totals from the end record and checks them against what was seen.
final class SnapshotSource {
    let reader: RecordReader
    let source: String
    private let codecs = CodecContext(level: 0)
    private let decoded = ByteBuffer(capacity: 1 << 20)
    private(set) var metadata: StreamMetadata?
    private(set) var totals: StreamTotals?
    private(set) var dataRecords: UInt64 = 0
    private(set) var indexRecords: UInt64 = 0
    private(set) var archiveBytes: UInt64 = 0
    /// A record read ahead and not yet handed out.
    private var pending: Record?
    private var pendingIsSet = false

    init(input: String?) throws {
        let fd = try StreamFiles.openInput(input)
        source = (input == nil || input == "-") ? "standard input" : quoted(input!)
        reader = RecordReader(fd: fd, source: source)
    }

    struct Item {
        var kind: RecordKind
        var payload: UnsafeRawBufferPointer
        var location: String
    }

    /// The next record of interest with its payload decoded, or nil at the
    /// end of the stream. Stream header and end records are consumed here.
    /// With `decodeData` false, data payloads are checked but not decoded.
    func next(decodeData: Bool = true) throws -> Item? {
        reader.skipPayload = decodeData ? nil : { $0.kind == .data }
        while true {
            let r: Record
            if pendingIsSet {
                r = pending!
                pendingIsSet = false
            } else {
                guard let n = try reader.next() else {
                    try checkTotals()
                    return nil
                }
                r = n
            }
            let loc = "\(source): \(r.location)"
            switch r.header.kind {
            case .streamHeader:
                if metadata != nil { throw SeedError.data("\(loc): a second stream header") }
                metadata = try StreamMetadata.decode(try decode(r, loc), record: loc)
            case .end:
                totals = try StreamTotals.decode(try decode(r, loc), record: loc)
            case .data:
                if metadata == nil { throw SeedError.data("\(loc): data before the stream header") }
                dataRecords += 1
                archiveBytes += r.header.rawLength
                if !decodeData { return Item(kind: .data, payload: UnsafeRawBufferPointer(start: nil, count: 0), location: loc) }
                return Item(kind: .data, payload: try decode(r, loc), location: loc)
            case .index:
                indexRecords += 1
                return Item(kind: .index, payload: try decode(r, loc), location: loc)
            case .key:
                throw SeedError.data("\(loc): the stream is encrypted", hint: "decrypt it with seed-encrypt -d first")
            case .volumeBegin:
                throw SeedError.data("\(loc): the stream is split into volumes", hint: "join them with seed-split -d first")
            default:
                if r.header.flags.isEncrypted {
                    throw SeedError.data("\(loc): the stream is encrypted", hint: "decrypt it with seed-encrypt -d first")
                }
                continue  // volume and other records carry nothing for a snapshot
            }
        }
    }

    private func decode(_ r: Record, _ loc: String) throws -> UnsafeRawBufferPointer {
        if r.header.flags.isEncrypted {
            throw SeedError.data("\(loc): record is encrypted", hint: "decrypt the stream with seed-encrypt -d first")
        }
        let bits = r.header.flags.codecBits
        if bits == 0 { return r.payload }
        guard let codec = r.header.flags.codec else { throw SeedError.data("\(loc): unknown codec \(bits)") }
        decoded.reserve(Int(r.header.rawLength))
        try codecs.decompress(codec, r.payload, into: UnsafeMutableRawBufferPointer(start: decoded.base, count: Int(r.header.rawLength)), what: loc)
        decoded.count = Int(r.header.rawLength)
        return decoded.bytes
    }

    private func checkTotals() throws {
        guard let t = totals else { throw SeedError.data("\(source): no end record") }
        if t.dataRecords != dataRecords || t.archiveBytes != archiveBytes {
            throw SeedError.data(
                "\(source): end record promises \(t.dataRecords) data records (\(t.archiveBytes) bytes), the stream has \(dataRecords) (\(archiveBytes) bytes)")
        }
        if t.indexRecords != indexRecords {
            throw SeedError.data("\(source): end record promises \(t.indexRecords) index records, the stream has \(indexRecords)")
        }
    }
}

/// Splits index record payloads into entries.
enum IndexLines {
    static func decode(_ payload: UnsafeRawBufferPointer, location: String, _ body: (IndexEntry) throws -> Void) throws {
        let decoder = JSONDecoder()
        var start = 0
        let p = payload.bindMemory(to: UInt8.self)
        var lineNo = 0
        for i in 0..<p.count where p[i] == 0x0a {
            lineNo += 1
            let line = Data(bytes: payload.baseAddress! + start, count: i - start)
            start = i + 1
            guard let e = try? decoder.decode(IndexEntry.self, from: line) else {
                throw SeedError.data("\(location): index line \(lineNo) is not a valid entry")
            }
            try body(e)
        }
        if start != p.count { throw SeedError.data("\(location): index record ends inside a line") }
    }
}
