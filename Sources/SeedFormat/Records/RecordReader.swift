import CSeedSys
import SeedCore
import SeedIO
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// One record as read: its header, its payload (valid until the reader's
/// next call), and the byte offset of its header in the input.
public struct Record {
    public var header: RecordHeader
    public var payload: UnsafeRawBufferPointer
    public var offset: UInt64

    public init(header: RecordHeader, payload: UnsafeRawBufferPointer, offset: UInt64) {
        (self.header, self.payload, self.offset) = (header, payload, offset)
    }

    /// "record 12 (volume 2) at byte 50331696", for messages.
    public var location: String { RecordReader.describe(sequence: header.sequence, volume: header.volume, offset: offset) }

    /// Checks the payload against the header's CRC-32. Readers do this for
    /// every record unless a caller verifies in its worker threads instead.
    public func verifyPayload(source: String) throws {
        if CRC32.checksum(payload) != header.payloadCRC {
            throw SeedError.data("\(source): \(location): payload checksum mismatch (\(header.kind) record damaged)", code: "record-payload-checksum")
        }
    }
}

/// Reads a seed stream record by record through one reusable buffer, and
/// checks everything a stream promises: every header (magic, version, CRC,
/// sane length), every payload CRC (unless deferred to the caller), the
/// sequence (no record missing, repeated or reordered), a final end record
/// (no truncation) and nothing after it.
///
/// A stream split into volumes (its first record is a volume begin) is read
/// volume by volume instead: each volume numbers its records from 0, every
/// record in it carries its volume number, and each ends with a volume end
/// record. Volumes may follow one another in any order (seed-split -d puts
/// them back in order); the input may end after any volume end.
///
/// Memory is the buffer: 8 MiB, grown only for a record longer than that and
/// never past `RecordHeader.maxPayload`.
public final class RecordReader {
    public let fd: FileDescriptor
    /// How messages name the input: "standard input" or the quoted file name.
    public let source: String
    /// Check payload CRCs here; a caller that sets it false must call
    /// `Record.verifyPayload` before it uses or passes on a payload.
    public var verifyPayloads = true
    /// Records this says yes to are not read when the input is a regular
    /// file: the reader seeks past their payloads, unchecked, and hands them
    /// out with an empty payload.
    public var skipPayload: ((RecordHeader) -> Bool)?
    /// Records this says yes to are handed out with an empty payload left
    /// unread in the input; before the next call the caller either passes
    /// it on with `takePayload()` (checked there) or reads it with
    /// `readPayload(into:)` (and checks it itself). Headers are then read
    /// exactly, so a payload can go straight into the caller's memory.
    public var deferPayload: ((RecordHeader) -> Bool)? {
        didSet { exactReads = deferPayload != nil }
    }
    private var exactReads = false
    private var pendingPayload: UInt64 = 0
    private var pendingLocation = ""
    private var pendingCRC: UInt32 = 0
    private var pendingKind = RecordKind.data
    private let seekable: Bool
    private let fileBase: Int64
    private let fileSize: Int64

    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var eof = false
    /// Stream offset of buffer[start].
    private var position: UInt64 = 0
    public private(set) var bytesRead: UInt64 = 0
    /// Where the records read stand in the stream's order.
    public private(set) var order: StreamOrder
    public var sawEnd: Bool { order.sawEnd }
    public var recordsRead: UInt64 { order.recordsRead }
    public var lastSequence: UInt64? { order.lastSequence }
    /// Whether the stream is split into volumes (known after the first record).
    public var volumed: Bool { order.volumed }
    /// The volume being read, between its begin and end records.
    public var currentVolume: UInt32? { order.currentVolume }

    /// Reads from the start of a stream, or, given `order`, from the place
    /// in a stream it names (see `StreamOrder.init(source:volume:sequence:)`).
    public init(fd: FileDescriptor, source: String, bufferSize: Int = 8 << 20, order: StreamOrder? = nil) {
        self.fd = fd
        self.source = source
        self.order = order ?? StreamOrder(source: source)
        capacity = bufferSize
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096)
        var st = stat()
        if fstat(fd.rawValue, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG {
            let here = lseek(fd.rawValue, 0, SEEK_CUR)
            seekable = here >= 0
            fileBase = Int64(max(here, 0))
            fileSize = Int64(st.st_size)
        } else {
            seekable = false
            fileBase = 0
            fileSize = 0
        }
    }

    deinit { buffer.deallocate() }

    package static func describe(sequence: UInt64, volume: UInt32, offset: UInt64) -> String {
        volume == 0 ? "record \(sequence) at byte \(offset)" : "record \(sequence) (volume \(volume)) at byte \(offset)"
    }

    /// The next record, or nil after the end record when the input ends
    /// there. Throws a `SeedError` (status 65, or 74 for a read error) naming
    /// the record and byte offset for anything else.
    public func next() throws -> Record? {
        precondition(pendingPayload == 0, "takePayload() not called for a deferred payload")
        if sawEnd && !volumed {
            try fill(1)
            if end > start {
                throw SeedError.data("\(source): trailing data after the end record at byte \(position)")
            }
            return nil
        }
        try fill(RecordHeader.size)
        let avail = end - start
        if avail == 0 {
            try order.checkEnd(at: position)
            return nil
        }
        let here = RecordReader.describe(sequence: order.nextSequence, volume: currentVolume ?? 0, offset: position)
        if recordsRead == 0, !RecordReader.startsWithMagic(buffer + start, avail) {
            throw SeedError.data("\(source): \(here): not a seed stream (bad magic)", code: "not-a-seed-stream")
        }
        if avail < RecordHeader.size {
            throw SeedError.data(
                "\(source): stream truncated at byte \(position): incomplete record header (\(avail) of \(RecordHeader.size) bytes)", code: "stream-truncated")
        }
        let header: RecordHeader
        switch RecordHeader.decode(buffer + start) {
        case .success(let h): header = h
        case .failure(let p): throw SeedError.data("\(source): \(here): \(p.message)", code: p.code)
        }
        let loc = RecordReader.describe(sequence: header.sequence, volume: header.volume, offset: position)
        try order.check(header, loc)
        let total = RecordHeader.size + Int(header.payloadLength)
        if seekable, end - start < total, let skip = skipPayload, skip(header) {
            let stop = fileBase + Int64(position) + Int64(total)
            if stop > fileSize {
                throw SeedError.data(
                    "\(source): \(loc): truncated \(header.kind) record (the file ends \(stop - fileSize) bytes short)", code: "stream-truncated")
            }
            if lseek(fd.rawValue, off_t(stop), SEEK_SET) < 0 { throw SeedError.io("\(source): cannot seek: \(errnoMessage())") }
            start = 0
            end = 0
            let record = Record(header: header, payload: UnsafeRawBufferPointer(start: nil, count: 0), offset: position)
            position += UInt64(total)
            accepted(header)
            return record
        }
        if let defer_ = deferPayload, defer_(header) {
            let record = Record(header: header, payload: UnsafeRawBufferPointer(start: nil, count: 0), offset: position)
            start += RecordHeader.size
            position += UInt64(total)
            pendingPayload = header.payloadLength
            pendingLocation = loc
            pendingCRC = header.payloadCRC
            pendingKind = header.kind
            accepted(header)
            return record
        }
        try fill(total)
        if end - start < total {
            throw SeedError.data(
                "\(source): \(loc): truncated \(header.kind) record (\(end - start - RecordHeader.size) of \(header.payloadLength) payload bytes)",
                code: "stream-truncated")
        }
        let record = Record(
            header: header, payload: UnsafeRawBufferPointer(start: buffer + start + RecordHeader.size, count: Int(header.payloadLength)), offset: position)
        if verifyPayloads { try record.verifyPayload(source: source) }
        start += total
        position += UInt64(total)
        accepted(header)
        return record
    }

    private func accepted(_ h: RecordHeader) { order.accept(h) }

    package static func startsWithMagic(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        let m = [RecordHeader.magic.0, RecordHeader.magic.1, RecordHeader.magic.2, RecordHeader.magic.3]
        for i in 0..<min(n, 4) where p.load(fromByteOffset: i, as: UInt8.self) != m[i] { return false }
        return true
    }

    /// The payload of the record just handed out with a deferred payload,
    /// read whole and checked against its CRC-32 (a damaged payload is
    /// never handed on); valid until the next call.
    public func takePayload() throws -> UnsafeRawBufferPointer {
        let n = Int(pendingPayload)
        pendingPayload = 0
        try fill(n)
        if end - start < n { throw truncatedPayload(n - (end - start)) }
        let payload = UnsafeRawBufferPointer(start: buffer + start, count: n)
        if CRC32.checksum(payload) != pendingCRC {
            throw SeedError.data("\(source): \(pendingLocation): payload checksum mismatch (\(pendingKind) record damaged)", code: "record-payload-checksum")
        }
        start += n
        return payload
    }

    /// Reads the payload of the record just handed out with a deferred
    /// payload into `dst` (at least its length): what is buffered, then the
    /// rest straight from the input, saving a copy through the buffer.
    public func readPayload(into dst: UnsafeMutableRawPointer) throws {
        try readPayload(into: dst, count: Int(pendingPayload))
    }

    /// The deferred payload's bytes still to be read or moved.
    public var payloadLeft: Int { Int(pendingPayload) }

    /// Reads the next `count` bytes of a deferred payload into `dst`.
    public func readPayload(into dst: UnsafeMutableRawPointer, count: Int) throws {
        precondition(count <= pendingPayload)
        var left = count
        pendingPayload -= UInt64(count)
        let buffered = min(end - start, left)
        if buffered > 0 {
            dst.copyMemory(from: buffer + start, byteCount: buffered)
            start += buffered
            left -= buffered
        }
        var at = dst + buffered
        while left > 0 {
            let got: Int
            do {
                got = try fd.read(into: UnsafeMutableRawBufferPointer(start: at, count: left))
            } catch let e as Errno {
                throw SeedError.io("\(source): \(pendingLocation): read error: \(e.message)")
            }
            if got == 0 { throw truncatedPayload(left + Int(pendingPayload)) }
            bytesRead += UInt64(got)
            at += got
            left -= got
        }
    }

    private func truncatedPayload(_ missing: Int) -> SeedError {
        eof = true
        return SeedError.data("\(source): \(pendingLocation): truncated record (the input ends \(missing) payload bytes short)")
    }

    /// Reads until `n` bytes are buffered or the input ends.
    private func fill(_ n: Int) throws {
        if end - start >= n || eof { return }
        if capacity - start < n {
            if start > 0 {
                if end > start { memmove(buffer, buffer + start, end - start) }
                end -= start
                start = 0
            }
        }
        while end - start < n {
            // The buffer grows as bytes arrive, doubling, never to what a
            // header declares before its bytes are there (seed-stream(5), Limits).
            if end == capacity {
                let newCap = min((start + n + (1 << 20) - 1) & ~((1 << 20) - 1), capacity * 2)
                let nb = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 4096)
                if end > 0 { nb.copyMemory(from: buffer, byteCount: end) }
                buffer.deallocate()
                buffer = nb
                capacity = newCap
            }
            let got: Int
            do {
                let want = min(exactReads ? start + n - end : capacity - end, capacity - end)
                got = try fd.read(into: UnsafeMutableRawBufferPointer(start: buffer + end, count: want))
            } catch let e as Errno {
                throw SeedError.io("\(source): read error at byte \(position + UInt64(end - start)): \(e.message)")
            }
            if got == 0 { eof = true; return }
            end += got
            bytesRead += UInt64(got)
        }
    }
}
