import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The index, one JSON line per entry, kept in an unlinked temporary file
/// while the tree is walked so that memory does not grow with the number of
/// entries; emitted at the end as index records that each hold whole lines.
final class IndexSpool {
    private let fd: Int32
    private let buffer = ByteBuffer(capacity: 1 << 20)
    private var line: [UInt8] = []
    private(set) var lines: UInt64 = 0

    init() throws {
        fd = try TempFile.open(what: "a temporary index file")
    }

    /// A spool kept at `path` for a resumed run to take up (seed-snapshot
    /// --resume): its first `keep` bytes, `lines` lines, are kept.
    init(path: String, keep: UInt64, lines: UInt64) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw SeedError(.cannotCreate, "cannot create \(quoted(path)): \(errnoMessage())") }
        guard ftruncate(fd, off_t(keep)) == 0, lseek(fd, 0, SEEK_END) >= 0 else {
            close(fd)
            throw SeedError.io("cannot cut \(quoted(path)) back: \(errnoMessage())")
        }
        self.fd = fd
        self.lines = lines
    }

    deinit { close(fd) }

    /// Writes what is buffered to the file (not to the disk).
    func push() throws { try flush() }

    func append(_ e: IndexEntry) throws {
        line.removeAll(keepingCapacity: true)
        e.appendJSONLine(to: &line)
        if buffer.count + line.count > buffer.capacity { try flush() }
        buffer.reserve(line.count)
        line.withUnsafeBytes { (buffer.base + buffer.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        buffer.count += line.count
        lines += 1
    }

    private func flush() throws {
        var done = 0
        while done < buffer.count {
            let n = write(fd, buffer.base + done, buffer.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("cannot write the temporary index file: \(errnoMessage())")
            }
            done += n
        }
        buffer.count = 0
    }

    /// Emits the spooled lines as index records of about `recordSize` bytes,
    /// each ending on a line boundary. Returns how many records it wrote.
    func emit(recordSize: Int, _ record: (UnsafeRawBufferPointer) throws -> Void) throws -> UInt64 {
        try flush()
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw SeedError.io("cannot rewind the temporary index file: \(errnoMessage())") }
        let chunk = ByteBuffer(capacity: recordSize * 2)
        var records: UInt64 = 0
        var eof = false
        while true {
            while !eof && chunk.count < recordSize {
                let n = read(fd, chunk.base + chunk.count, chunk.capacity - chunk.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SeedError.io("cannot read the temporary index file: \(errnoMessage())")
                }
                if n == 0 { eof = true } else { chunk.count += n }
            }
            if chunk.count == 0 { break }
            // Cut after the last newline within recordSize (or the first
            // newline, for a line longer than a record).
            let p = chunk.base.assumingMemoryBound(to: UInt8.self)
            var cut = 0
            var i = min(chunk.count, recordSize) - 1
            while i >= 0 { if p[i] == 0x0a { cut = i + 1; break }; i -= 1 }
            if cut == 0 {
                if chunk.count == chunk.capacity { chunk.reserveKeeping(chunk.capacity * 2); continue }
                guard let nl = (0..<chunk.count).first(where: { p[$0] == 0x0a }) else {
                    if eof { cut = chunk.count } else { continue }
                    break
                }
                cut = nl + 1
            }
            try record(UnsafeRawBufferPointer(start: chunk.base, count: cut))
            records += 1
            memmove(chunk.base, chunk.base + cut, chunk.count - cut)
            chunk.count -= cut
        }
        return records
    }
}
