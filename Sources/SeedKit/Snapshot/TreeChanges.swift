import Foundation
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// An increment's deletions and renames, done in the tree being restored
/// (`root`, a directory descriptor; by default the current directory) by
/// paths a stream gave, each reached through `TreeFiles.parent`, so that
/// nothing outside the tree is touched whatever the stream says.
enum TreeChanges {
    /// Moves the entry at `from` to `to` (whose directory must be there).
    static func rename(from: [UInt8], to: [UInt8], in root: Int32 = AT_FDCWD) throws {
        let (a, an) = try TreeFiles.parent(from, in: root)
        defer { close(a) }
        let (b, bn) = try TreeFiles.parent(to, in: root)
        defer { close(b) }
        let r = cString(an) { x in cString(bn) { renameat(a, x, b, $0) } }
        if r != 0 { throw SeedError.io("cannot rename \(quoted(bytes: from)) to \(quoted(bytes: to)): \(errnoMessage())") }
    }

    /// Removes the entry at `path`, and all below it if it is a
    /// directory; one that is already gone is fine.
    static func remove(_ path: [UInt8], in root: Int32 = AT_FDCWD) throws {
        // A directory on the way that is gone or became something else
        // (an increment's entry cleared it) took the entry with it.
        let (fd, name): (Int32, [UInt8])
        do { (fd, name) = try TreeFiles.parent(path, in: root, missingIsGone: true) } catch TreeFiles.Gone.gone { return }
        defer { close(fd) }
        try removeEntry(fd, name, what: path)
    }

    private static func removeEntry(_ dir: Int32, _ name: [UInt8], what: [UInt8]) throws {
        var st = stat()
        if cString(name, { fstatat(dir, $0, &st, AT_SYMLINK_NOFOLLOW) }) != 0 {
            if errno == ENOENT { return }
            throw SeedError.io("cannot remove \(quoted(bytes: what)): \(errnoMessage())")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            let sub = cString(name) { openat(dir, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            if sub < 0 { throw SeedError.io("cannot remove \(quoted(bytes: what)): \(errnoMessage())") }
            guard let d = fdopendir(sub) else {
                close(sub)
                throw SeedError.io("cannot remove \(quoted(bytes: what)): \(errnoMessage())")
            }
            defer { closedir(d) }
            for n in TreeFiles.names(d) { try removeEntry(dirfd(d), n, what: what + [0x2f] + n) }
        }
        let flags = (st.st_mode & S_IFMT) == S_IFDIR ? AT_REMOVEDIR : 0
        if cString(name, { unlinkat(dir, $0, flags) }) != 0 && errno != ENOENT {
            throw SeedError.io("cannot remove \(quoted(bytes: what)): \(errnoMessage())")
        }
    }

    /// Before an increment's entry is written at `path`: a directory there
    /// where the entry is not one is gone in the new tree, with all in it.
    static func clearForEntry(_ path: [UInt8], isDirectory: Bool) throws {
        guard !isDirectory else { return }
        let (fd, name): (Int32, [UInt8])
        do { (fd, name) = try TreeFiles.parent(path, in: AT_FDCWD, missingIsGone: true) } catch TreeFiles.Gone.gone { return }
        defer { close(fd) }
        var st = stat()
        guard cString(name, { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
        try removeEntry(fd, name, what: path)
    }
}
