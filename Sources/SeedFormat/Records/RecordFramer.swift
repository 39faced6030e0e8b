import SeedCore
import SeedIO
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Frames one record at any byte offset of a file or device: reads its
/// header there, checks it (magic, version, header CRC, a kind, flags and
/// lengths it may have), then reads its payload and checks its CRC-32. It
/// reads only the record's own bytes, whatever the file's size; where the
/// record stands in its stream is `StreamOrder`'s business.
public final class RecordFramer {
    public let fd: FileDescriptor
    /// How messages name the file.
    public let source: String
    private let buffer = ByteBuffer(capacity: 1 << 20)

    public init(fd: FileDescriptor, source: String) {
        self.fd = fd
        self.source = source
    }

    /// The record whose header starts at `offset`; its payload is valid
    /// until the next call.
    public func record(at offset: UInt64) throws -> Record {
        let at = "\(source): byte \(offset)"
        buffer.reserve(RecordHeader.size)
        let got = try read(buffer.base, RecordHeader.size, at: offset)
        if got < RecordHeader.size {
            throw SeedError.data("\(at): \(got == 0 ? "no record (the file ends there)" : "incomplete record header (\(got) of \(RecordHeader.size) bytes)")")
        }
        if !RecordReader.startsWithMagic(buffer.base, got) { throw SeedError.data("\(at): no record starts here (bad magic)") }
        let header: RecordHeader
        switch RecordHeader.decode(buffer.base) {
        case .success(let h): header = h
        case .failure(let p): throw SeedError.data("\(at): \(p.message)")
        }
        // Read in steps, so that memory follows the bytes there are, not
        // the length the header declares.
        let n = Int(header.payloadLength)
        buffer.count = 0
        while buffer.count < n {
            buffer.reserveKeeping(min(n, buffer.count + (4 << 20)))
            let want = min(n, buffer.capacity) - buffer.count
            let got = try read(buffer.base + buffer.count, want, at: offset + UInt64(RecordHeader.size + buffer.count))
            buffer.count += got
            if got < want { throw SeedError.data("\(at): truncated \(header.kind) record (\(buffer.count) of \(n) payload bytes)") }
        }
        let r = Record(header: header, payload: UnsafeRawBufferPointer(start: buffer.base, count: n), offset: offset)
        try r.verifyPayload(source: source)
        return r
    }

    /// pread(2) until `count` bytes or the end of the file.
    private func read(_ p: UnsafeMutableRawPointer, _ count: Int, at offset: UInt64) throws -> Int {
        try StreamFiles.preadFully(fd, UnsafeMutableRawBufferPointer(start: p, count: count), at: offset, source: source)
    }
}
