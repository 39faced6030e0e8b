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
    /// ($TMPDIR when nil); `what` names it in the error.
    package static func open(in dir: String? = nil, what: String = "a temporary file") throws -> Int32 {
        let dir = dir ?? directory
        var fd = Glibc.open(dir, O_RDWR | CSeedSys_O_TMPFILE | O_EXCL | O_CLOEXEC, 0o600)
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
