import Foundation
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// A file of lines seed keeps beside a stream (a journal, a run's state),
/// read line by line in bounded memory: it must be a regular file, opened
/// without following a symbolic link in its last name (and never
/// blocking on a FIFO), and a line longer than `maxLine` is damage.
package final class LineFile {
    package let path: String
    /// What the file is, for messages: "journal", "index".
    package let what: String
    package let maxLine: Int
    private let fd: Int32
    private let ownsFD: Bool
    private let buffer: ByteBuffer
    private var start = 0
    private var atEOF = false
    /// Where the next read starts: each reader keeps its own, so several
    /// read one open file (a journal copied once) without sharing a seek.
    private var filePosition: off_t = 0
    /// The bytes of the lines read so far.
    package private(set) var offset: UInt64 = 0
    package private(set) var lineNumber = 0
    /// The file ended inside a line (a crash mid-write): that line is not given.
    package private(set) var torn = false

    /// Opens `path`; nil when it does not exist and `missingIsNil`.
    package init?(_ path: String, what: String, maxLine: Int = 1 << 20, missingIsNil: Bool = false) throws {
        self.path = path
        self.what = what
        self.maxLine = maxLine
        guard let fd = try LineFile.openRegular(path, what: what, missingIsNil: missingIsNil) else { return nil }
        self.fd = fd
        ownsFD = true
        buffer = ByteBuffer(capacity: min(maxLine, 1 << 20) + 1)
    }

    /// Opens `path` for reading as a file seed wrote must be: a regular
    /// file, its last name not a symbolic link, never waiting on a FIFO.
    /// Nil when it does not exist and `missingIsNil`.
    package static func openRegular(_ path: String, what: String, missingIsNil: Bool = false) throws -> Int32? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT && missingIsNil { return nil }
            if e == ELOOP { throw SeedError.data("\(what) \(quoted(path)) is a symbolic link, not a file seed wrote") }
            throw SeedError(e == ENOENT ? .noInput : .ioError, "cannot open \(what) \(quoted(path)): \(errnoMessage(e))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SeedError.data("\(what) \(quoted(path)) is not a regular file")
        }
        return fd
    }

    /// Reads the regular file open at `fd` from its start; `fd` stays
    /// the caller's, open.
    package init(shared fd: Int32, path: String, what: String, maxLine: Int = 1 << 20) {
        self.path = path
        self.what = what
        self.maxLine = maxLine
        self.fd = fd
        ownsFD = false
        buffer = ByteBuffer(capacity: min(maxLine, 1 << 20) + 1)
    }

    deinit { if ownsFD { close(fd) } }

    /// The next whole line, without its newline, valid until the next
    /// call; nil at the end (or at a torn last line).
    package func next<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var line: [UInt8] = []
        while true {
            let base = UnsafeRawPointer(buffer.base)
            if let nl = memchr(base + start, 0x0a, buffer.count - start) {
                let end = UnsafeRawPointer(nl) - base
                let n = end - start
                lineNumber += 1
                if line.count + n > maxLine { throw tooLong() }
                offset += UInt64(line.count + n + 1)
                let s = start
                start = end + 1
                if line.isEmpty { return try body(UnsafeRawBufferPointer(start: base + s, count: n)) }
                line.append(contentsOf: UnsafeRawBufferPointer(start: base + s, count: n))
                return try line.withUnsafeBytes { try body($0) }
            }
            // A line longer than the buffer is gathered, up to the bound.
            line.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: buffer.count - start))
            if line.count > maxLine {
                lineNumber += 1
                throw tooLong()
            }
            start = 0
            buffer.count = 0
            if atEOF { break }
            let n = pread(fd, buffer.base, buffer.capacity, filePosition)
            if n > 0 { filePosition += off_t(n) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SeedError.io("cannot read \(what) \(quoted(path)): \(errnoMessage())")
            }
            if n == 0 { atEOF = true } else { buffer.count = n }
        }
        if !line.isEmpty { torn = true }
        return nil
    }

    private func tooLong() -> SeedError {
        SeedError.data("\(what) \(quoted(path)) line \(lineNumber) is longer than \(maxLine) bytes: not a file seed wrote")
    }
}

/// A small file a person names on the command line (a report, a key, a
/// list of drives), read whole: at most `max` bytes, so that a name that
/// turns out to be /dev/zero or a huge file ends in an error, not in
/// memory without end. A pipe (`<(...)`) is read like a file.
package enum SmallFile {
    package static func read(_ path: String, what: String, max: Int) throws -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            throw SeedError(e == ENOENT ? .noInput : .ioError, "cannot read \(what) \(quoted(path)): \(errnoMessage(e))")
        }
        defer { close(fd) }
        var out = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("cannot read \(what) \(quoted(path)): \(errnoMessage())")
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > max { throw SeedError.data("\(what) \(quoted(path)) is larger than \(max >> 20) MiB: not one seed wrote") }
        }
    }
}
