import CSeedSys
import Foundation
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Temporary files only this process holds: unlinked from the start
/// (O_TMPFILE), or on a file system without it, as soon as made.
package enum TempFile {
    /// $TMPDIR, or /tmp.
    package static var directory: String {
        ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// A new unlinked file open for reading and writing, in `dir`
    /// ($TMPDIR when nil); `what` names it in the error. Without
    /// `unnamed` (a file system without O_TMPFILE takes this way too), a
    /// named file, unlinked as soon as it is made.
    package static func open(in dir: String? = nil, what: String = "a temporary file", unnamed: Bool = true) throws -> Int32 {
        let dir = dir ?? directory
        var fd: Int32 = unnamed ? Glibc.open(dir, O_RDWR | CSeedSys_O_TMPFILE | O_EXCL | O_CLOEXEC, 0o600) : -1
        if fd < 0 {
            var name = Array((dir + "/seed.XXXXXX").utf8CString)
            fd = name.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if fd >= 0 {
                _ = name.withUnsafeBufferPointer { unlink($0.baseAddress!) }
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        }
        if fd < 0 { throw SeedError(.cannotCreate, "cannot create \(what) in \(quoted(dir)): \(errnoMessage())") }
        return fd
    }
}

/// Whole writes to a file descriptor.
package enum FileWrite {
    /// Writes all `count` bytes, through short writes and EINTR.
    package static func all(_ fd: Int32, _ p: UnsafeRawPointer, _ count: Int) -> Bool {
        var p = p
        var left = count
        while left > 0 {
            let n = write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            p += n
            left -= n
        }
        return true
    }
}

/// Lines kept in an unlinked temporary file while a stream goes by, so
/// memory does not grow with their number, then read back in order, in
/// chunks that each end at a line's end.
package final class LineSpool {
    private let fd: Int32
    private let what: String
    private let maxLine: Int
    package private(set) var bytes: UInt64 = 0

    /// `what` names the lines in errors: "the index", "the changes"; a
    /// line longer than `maxLine` is damage when it is read back.
    package init(what: String, maxLine: Int) throws {
        self.what = what
        self.maxLine = maxLine
        fd = try TempFile.open(what: "a temporary file for \(what)")
    }

    deinit { close(fd) }

    /// Appends `payload`: whole lines, each ending in a newline.
    package func append(_ payload: UnsafeRawBufferPointer) throws {
        guard let b = payload.baseAddress, payload.count > 0 else { return }
        if !FileWrite.all(fd, b, payload.count) { throw SeedError.io("cannot write a temporary file for \(what): \(errnoMessage())") }
        bytes += UInt64(payload.count)
    }

    /// Calls `body` with everything appended, from the start, in chunks
    /// of whole lines (a chunk holds at least one line, whatever its length).
    package func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buf = ByteBuffer(capacity: 1 << 20)
        var have = 0
        var at: off_t = 0
        while true {
            buf.count = have
            buf.reserveKeeping(have + (1 << 20))
            let n = pread(fd, buf.base + have, buf.capacity - have, at)
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("cannot read back a temporary file for \(what): \(errnoMessage())")
            }
            at += off_t(n)
            have += n
            // Whole lines only; the rest waits for the next read.
            if let nl = memrchr(buf.base, 0x0a, have) {
                let cut = UnsafeMutableRawPointer(nl) - buf.base + 1
                try body(UnsafeRawBufferPointer(start: buf.base, count: cut))
                memmove(buf.base, buf.base + cut, have - cut)
                have -= cut
            }
            if have > maxLine { throw SeedError.data("\(what): a line longer than \(maxLine) bytes") }
            if n == 0 && have > 0 { throw SeedError.data("\(what): ends inside a line") }
            if n == 0 { return }
        }
    }
}
