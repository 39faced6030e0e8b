import CSeedSys
import Foundation
import SeedCore
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// How fast a drive takes a volume, for `seed-split --plan`.
enum DriveSpeed {
    /// Reads `path` for about two seconds (at most 1 GiB) from its middle,
    /// straight from the device (O_DIRECT, 8 MiB at a time), and gives the
    /// bytes per second: a drive's sequential read speed, which for a
    /// spinning disk is close to its write speed. It never writes.
    static func measure(_ path: String) throws -> UInt64 {
        var fd = open(path, O_RDONLY | O_CLOEXEC | CSeedSys_O_DIRECT)
        if fd < 0 && errno == EINVAL { fd = open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 { throw SeedError(errno == ENOENT ? .noInput : .ioError, "cannot open \(quoted(path)): \(errnoMessage())") }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        let chunk = 8 << 20
        guard size >= off_t(chunk) else { throw SeedError.usage("\(quoted(path)) is too small to measure (under 8 MiB)") }
        let buf = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buf.deallocate() }
        var at = (size / 2) & ~off_t(chunk - 1)
        var done: UInt64 = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed: UInt64 = 0
        while elapsed < 2_000_000_000 && done < 1 << 30 {
            if at + off_t(chunk) > size { at = 0 }
            let n = pread(fd, buf, chunk, at)
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("\(quoted(path)): read error at byte \(at): \(errnoMessage())")
            }
            if n == 0 { break }
            done += UInt64(n)
            at += off_t(n)
            elapsed = DispatchTime.now().uptimeNanoseconds - start
        }
        guard done > 0, elapsed > 0 else { throw SeedError.io("\(quoted(path)): nothing could be read to measure") }
        return UInt64(Double(done) * 1e9 / Double(elapsed))
    }

    /// "2d 3h", "5h 20m", "12m 5s", "40s".
    static func duration(_ seconds: UInt64) -> String {
        let (d, h, m, s) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60)
        if d > 0 { return "\(d)d \(h)h" }
        if h > 0 { return "\(h)h \(m)m" }
        if m > 0 { return "\(m)m \(s)s" }
        return "\(s)s"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
