import CSeedSys
import Foundation
import SeedCore
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// The directory times extraction over a restore sets at its end (a
/// repair bundle, an increment): each directory's time from its entry,
/// and, before anything goes into or out of a directory, the time it had
/// then (an increment holds only the directories that changed, yet
/// writing, removing or renaming in one renews its time). Kept in an
/// unlinked temporary file, so memory does not grow with the tree, and
/// set last kept first: of two times kept for one directory, the first
/// kept wins.
final class DirectoryTimes {
    private var fd: Int32 = -1
    private let buffer = ByteBuffer(capacity: 1 << 16)
    private var size: off_t = 0
    /// The directory whose time was kept last as found: the next entry in
    /// it needs no second look.
    private var lastFound: [UInt8]?

    deinit { if fd >= 0 { close(fd) } }

    /// Keeps `path`'s time from its entry.
    func keep(_ path: [UInt8], _ mtime: timespec) throws {
        try append(path, mtime, found: false)
        lastFound = nil
    }

    /// Keeps the time the directory holding `path` has now, before
    /// something goes into or out of it; the target's own for a name at
    /// the top.
    func keepParent(of path: [UInt8]) throws {
        let parent = path.lastIndex(of: 0x2f).map { Array(path[..<$0]) } ?? []
        if parent == lastFound { return }
        var st = stat()
        if parent.isEmpty {
            guard fstatat(AT_FDCWD, ".", &st, 0) == 0 else { return }
        } else {
            guard let (dir, name) = try? TreeFiles.parent(parent, in: AT_FDCWD) else { return }
            defer { close(dir) }
            let r = cString(name) { fstatat(dir, $0, &st, AT_SYMLINK_NOFOLLOW) }
            guard r == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
        }
        try append(parent, st.st_mtim, found: true)
        lastFound = parent
    }

    /// Sets every time kept, last kept first; `warn` hears of a directory
    /// whose entry gave its time and that is gone or cannot be set (one
    /// kept as found may have gone since, unremarked).
    func apply(_ warn: (String) -> Void) throws {
        guard fd >= 0 else { return }
        try flush()
        var at = size
        let trailer = 21
        // One trailer and one name, reused record after record.
        var t = [UInt8](repeating: 0, count: trailer)
        var name: [UInt8] = []
        while at >= off_t(trailer) {
            try read(&t, at - off_t(trailer))
            let len = t.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 16, as: UInt32.self)) }
            let found = t[20] != 0
            guard off_t(len) <= at - off_t(trailer) else { throw SeedError.io("the directory times kept are damaged") }
            at -= off_t(trailer + len)
            name.removeAll(keepingCapacity: true)
            name.append(contentsOf: repeatElement(0, count: len))
            if len > 0 { try read(&name, at) }
            var times = [
                timespec(tv_sec: 0, tv_nsec: CSeedSys_UTIME_OMIT),
                t.withUnsafeBytes {
                    timespec(
                        tv_sec: Int($0.loadUnaligned(fromByteOffset: 0, as: Int64.self)), tv_nsec: Int($0.loadUnaligned(fromByteOffset: 8, as: Int64.self)))
                },
            ]
            if name.isEmpty {
                if utimensat(AT_FDCWD, ".", &times, 0) != 0 && !found { warn("cannot set the times of the target: \(errnoMessage())") }
                continue
            }
            // Renames and deletions came since: the path is reached afresh, inside the tree.
            guard let (dir, leaf) = try? TreeFiles.parent(name, in: AT_FDCWD) else {
                if !found { warn("\(quoted(bytes: name)): cannot set its times: it is gone") }
                continue
            }
            let r = cString(leaf) { utimensat(dir, $0, &times, AT_SYMLINK_NOFOLLOW) }
            let e = errno
            close(dir)
            if r != 0 && !(found && e == ENOENT) { warn("\(quoted(bytes: name)): cannot set its times: \(errnoMessage(e))") }
        }
    }

    /// A record: the path's bytes, then seconds and nanoseconds (64-bit),
    /// the path's length (32-bit) and whether the time was found (a byte),
    /// so the file reads back from its end.
    private func append(_ path: [UInt8], _ t: timespec, found: Bool) throws {
        if fd < 0 { fd = try TempFile.open(what: "a temporary file for directory times") }
        let n = path.count + 21
        if buffer.count + n > buffer.capacity { try flush() }
        buffer.reserveKeeping(buffer.count + n)
        var p = buffer.base + buffer.count
        path.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: path.count) } }
        p += path.count
        p.storeBytes(of: Int64(t.tv_sec), as: Int64.self)
        (p + 8).storeBytes(of: Int64(t.tv_nsec), as: Int64.self)
        (p + 16).storeBytes(of: UInt32(path.count), as: UInt32.self)
        (p + 20).storeBytes(of: found ? 1 : 0, as: UInt8.self)
        buffer.count += n
    }

    private func flush() throws {
        guard buffer.count > 0 else { return }
        if !FileWrite.all(fd, buffer.base, buffer.count) {
            throw SeedError.io("cannot write a temporary file for directory times: \(errnoMessage())")
        }
        size += off_t(buffer.count)
        buffer.count = 0
    }

    private func read(_ into: inout [UInt8], _ at: off_t) throws {
        let want = into.count
        let n = into.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, at) }
        if n != want { throw SeedError.io("cannot read back the directory times kept: \(errnoMessage())") }
    }
}
