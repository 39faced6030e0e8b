import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
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
    /// The data record shorter than the record size, which must be the last.
    private var shortDataRecord: UInt64?
    /// The record size the snapshot stage used, once the header is read.
    var recordSize: UInt64? { metadata.flatMap { StreamMetadata.recordSize($0.stages) } }
    /// With `useRing`, data payloads are read (or decoded) into these in
    /// turn, and each stays as it is until the ring comes round to it
    /// again: `willReuse` is told first, so a consumer still working on
    /// the bytes (hashing them on another thread) can finish.
    private var ring: [ByteBuffer] = []
    private var ringNext = 0
    var willReuse: ((Int) -> Void)?

    /// Turns on the payload ring (see `ring`) with `depth` buffers.
    func useRing(depth: Int) {
        ring = (0..<depth).map { _ in ByteBuffer(capacity: 1 << 20) }
        // Plain data payloads go from the input straight into the ring.
        reader.deferPayload = { $0.kind == .data && $0.flags.codecBits == 0 && !$0.flags.isEncrypted }
    }

    /// The ring buffer holding all of the `count` bytes at `p`, if one does.
    func ringBuffer(holding p: UnsafeRawPointer, count: Int) -> Int? {
        for (i, b) in ring.enumerated() where p >= UnsafeRawPointer(b.base) && p + count <= UnsafeRawPointer(b.base + b.count) { return i }
        return nil
    }

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
            guard let r = try reader.next() else {
                try checkTotals()
                return nil
            }
            let loc = "\(source): \(r.location)"
            switch r.header.kind {
            case .streamHeader:
                if metadata != nil { throw SeedError.data("\(loc): a second stream header") }
                metadata = try StreamMetadata.decode(try decode(r, loc), record: loc)
                EventLog.session = metadata?.session
            case .end:
                totals = try StreamTotals.decode(try decode(r, loc), record: loc)
            case .data:
                guard let m = metadata else { throw SeedError.data("\(loc): data before the stream header") }
                // Records are cut at the record size, only the last shorter
                // (seed-stream(5)): the index's record and offset depend on it.
                if let size = StreamMetadata.recordSize(m.stages) {
                    if r.header.rawLength > size { throw SeedError.data("\(loc): a data record of \(r.header.rawLength) bytes, past the record size \(size)") }
                    if let short = shortDataRecord {
                        throw SeedError.data("\(loc): a data record after data record \(short), which is shorter than the record size \(size)")
                    }
                    if r.header.rawLength < size { shortDataRecord = dataRecords }
                }
                dataRecords += 1
                archiveBytes += r.header.rawLength
                if !decodeData { return Item(kind: .data, payload: UnsafeRawBufferPointer(start: nil, count: 0), location: loc) }
                if !ring.isEmpty { return Item(kind: .data, payload: try loadIntoRing(r, loc), location: loc) }
                return Item(kind: .data, payload: try decode(r, loc), location: loc)
            case .index:
                indexRecords += 1
                return Item(kind: .index, payload: try decode(r, loc), location: loc)
            case .changes:
                if metadata?.incrementOf == nil { throw SeedError.data("\(loc): a changes record in a stream that is not an increment") }
                return Item(kind: .changes, payload: try decode(r, loc), location: loc)
            case .key:
                throw SeedError.data("\(loc): the stream is encrypted", hint: "decrypt it with seed-encrypt -d first")
            case .volumeBegin:
                throw SeedError.data("\(loc): the stream is split into volumes", hint: "join them with seed-split -d first")
            case .resume:
                // A resumed run's part goes on at the data record it names.
                let p = try ResumePoint.decode(try decode(r, loc), record: loc)
                guard let m = metadata, p.session == m.session, p.dataRecord == dataRecords else {
                    throw SeedError.data(
                        "\(loc): resume record for data record \(p.dataRecord) after \(dataRecords) data records (records missing or repeated)")
                }
            case .stop:
                throw SeedError(.resumable, "\(loc): the stream stops here (its run was stopped): resume the run, then read the whole stream")
            default:
                if r.header.flags.isEncrypted {
                    throw SeedError.data("\(loc): the stream is encrypted", hint: "decrypt it with seed-encrypt -d first")
                }
                continue  // volume and other records carry nothing for a snapshot
            }
        }
    }

    /// A data payload, read or decoded into the next ring buffer and checked.
    private func loadIntoRing(_ r: Record, _ loc: String) throws -> UnsafeRawBufferPointer {
        let i = ringNext
        ringNext = (ringNext + 1) % ring.count
        willReuse?(i)
        let b = ring[i]
        b.count = 0
        if r.payload.count == 0 && r.header.payloadLength > 0 {
            b.reserve(Int(r.header.payloadLength))
            try reader.readPayload(into: b.base)
            b.count = Int(r.header.payloadLength)
            if CRC32.checksum(b.bytes) != r.header.payloadCRC {
                throw SeedError.data("\(loc): payload checksum mismatch (\(r.header.kind) record damaged)")
            }
            return b.bytes
        }
        return try decode(r, loc, into: b)
    }

    private func decode(_ r: Record, _ loc: String, into out: ByteBuffer? = nil) throws -> UnsafeRawBufferPointer {
        if r.header.flags.isEncrypted {
            throw SeedError.data("\(loc): record is encrypted", hint: "decrypt the stream with seed-encrypt -d first")
        }
        let bits = r.header.flags.codecBits
        let decoded = out ?? self.decoded
        if bits == 0 {
            guard out != nil else { return r.payload }
            decoded.set(r.payload)
            return decoded.bytes
        }
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
