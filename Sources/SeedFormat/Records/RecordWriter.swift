import SeedCore
import SeedIO
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Writes records: stamps each with the next sequence number and both
/// CRCs, batches small records in one buffer, and hands large payloads to
/// the kernel directly instead of copying them.
public final class RecordWriter {
    public let fd: FileDescriptor
    public let destination: String
    public private(set) var nextSequence: UInt64
    public private(set) var bytesWritten: UInt64 = 0
    public private(set) var recordsWritten: UInt64 = 0

    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    /// Payloads at least this long skip the buffer.
    private let directThreshold = 64 << 10

    public init(fd: FileDescriptor, destination: String, firstSequence: UInt64 = 0, bufferSize: Int = 1 << 20) {
        self.fd = fd
        self.destination = destination
        nextSequence = firstSequence
        capacity = bufferSize
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Writes a record. `crc` is the payload's CRC-32 when the caller has
    /// computed it already (in a worker thread, say).
    @discardableResult
    public func write(
        kind: RecordKind, flags: RecordFlags = RecordFlags(rawValue: 0), volume: UInt32 = 0,
        rawLength: UInt64? = nil, payload: UnsafeRawBufferPointer, crc: UInt32? = nil
    ) throws -> UInt64 {
        let h = RecordHeader(
            kind: kind, flags: flags, volume: volume, sequence: nextSequence,
            payloadLength: UInt64(payload.count), rawLength: rawLength,
            payloadCRC: crc ?? CRC32.checksum(payload))
        return try write(header: h, payload: payload)
    }

    public func write(kind: RecordKind, flags: RecordFlags = RecordFlags(rawValue: 0), volume: UInt32 = 0, bytes: [UInt8]) throws {
        _ = try bytes.withUnsafeBytes { try write(kind: kind, flags: flags, volume: volume, payload: $0) }
    }

    /// Passes a record on unchanged but for its sequence number.
    @discardableResult
    public func pass(_ r: Record) throws -> UInt64 {
        var h = r.header
        h.sequence = nextSequence
        return try write(header: h, payload: r.payload)
    }

    /// Writes `header` (its sequence is replaced by the next one) and returns
    /// the sequence number given. A volume begin starts numbering again at 0:
    /// each volume of a split stream counts its own records.
    @discardableResult
    public func write(header: RecordHeader, payload: UnsafeRawBufferPointer) throws -> UInt64 {
        precondition(UInt64(payload.count) == header.payloadLength)
        let sequence = try putHeader(header)
        if payload.count >= directThreshold || payload.count > capacity - used {
            try flush()
            if payload.count > 0 { try put(payload) }
        } else if payload.count > 0 {
            (buffer + used).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
            used += payload.count
        }
        return sequence
    }

    /// Numbers a header, buffers it and counts its record written.
    private func putHeader(_ header: RecordHeader) throws -> UInt64 {
        if header.kind == .volumeBegin { nextSequence = 0 }
        // A resumed run's stream starts numbered where the resume record says.
        if header.kind == .resume && recordsWritten == 0 { nextSequence = header.sequence }
        var h = header
        h.sequence = nextSequence
        if capacity - used < RecordHeader.size { try flush() }
        h.encode(into: buffer + used)
        used += RecordHeader.size
        nextSequence += 1
        recordsWritten += 1
        bytesWritten += UInt64(RecordHeader.size) + header.payloadLength
        return h.sequence
    }

    public func flush() throws {
        if used > 0 {
            try put(UnsafeRawBufferPointer(start: buffer, count: used))
            used = 0
        }
    }

    private func put(_ b: UnsafeRawBufferPointer) throws {
        do {
            _ = try fd.writeAll(b)
        } catch let e as Errno {
            throw SeedError.cannotWrite(destination, e)
        }
    }
}
