import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// A tree's files by byte names: listing, walking in the snapshot's order,
/// reaching a path a stream gave without leaving the tree, and hashing.
enum TreeFiles {
    /// The names in an open directory, "." and ".." left out, as bytes.
    static func names(_ d: OpaquePointer) -> [[UInt8]] {
        var names: [[UInt8]] = []
        while let ent = readdir(d) {
            let n = withUnsafeBytes(of: ent.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if n != [0x2e] && n != [0x2e, 0x2e] { names.append(n) }
        }
        return names
    }

    /// The names in directory `path`, sorted bytewise; nil when it cannot be read.
    static func sortedNames(_ path: [UInt8]) -> [[UInt8]]? {
        guard let d = cString(path, { opendir($0) }) else { return nil }
        defer { closedir(d) }
        return names(d).sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Runs `body` with the tree's root as the current directory.
    static func inRoot(_ root: String, _ body: () throws -> Void) throws {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 { throw SeedError(.noInput, "cannot open \(quoted(root)): \(errnoMessage())") }
        defer { close(rootFD) }
        let back = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer {
            if back >= 0 {
                _ = fchdir(back)
                close(back)
            }
        }
        try syscall("cannot enter \(quoted(root))", status: .noInput) { fchdir(rootFD) }
        try body()
    }

    /// Every entry of the tree in the snapshot's order, with its path from
    /// the root ("." first), name and lstat, and the snapshot's excludes,
    /// file-system bound and skipped sockets; the current directory is the
    /// root meanwhile. What cannot be read is passed over (and told to
    /// `diag`, when given).
    static func walk(
        _ root: String, excludes: [String] = [], oneFileSystem: Bool = false, diag: Diagnostics? = nil,
        _ body: ([UInt8], [UInt8], stat) throws -> Void
    ) throws {
        try inRoot(root) {
            var st = stat()
            try syscall("cannot read the tree's root", status: .noInput) { lstat(".", &st) }
            let dev = st.st_dev
            try body([0x2e], [0x2e], st)
            func visit(_ prefix: [UInt8]) throws {
                guard let names = sortedNames(prefix.isEmpty ? [0x2e] : prefix) else {
                    diag?.warning("cannot read \(quoted(bytes: prefix)): \(errnoMessage())")
                    return
                }
                for name in names {
                    let path = prefix.isEmpty ? name : prefix + [0x2f] + name
                    if SnapshotCreator.excluded(excludes, path: path, name: name) { continue }
                    var s = stat()
                    guard cString(path, { lstat($0, &s) }) == 0 else {
                        diag?.warning("cannot read \(quoted(bytes: path)): \(errnoMessage())")
                        continue
                    }
                    if (s.st_mode & S_IFMT) == S_IFSOCK { continue }
                    try body(path, name, s)
                    if (s.st_mode & S_IFMT) == S_IFDIR && !(oneFileSystem && s.st_dev != dev) { try visit(path) }
                }
            }
            try visit([])
        }
    }

    enum Gone: Error { case gone }

    /// The directory holding `path` under `root` (opened, to be closed)
    /// and its last name. The path is one a stream gave: it must be a name
    /// under the tree (not empty or absolute, no empty, "." or ".."
    /// component), and every directory on the way is opened without
    /// following a symbolic link, so nothing outside the tree is reached.
    /// With `missingIsGone`, a directory on the way that is not there (or
    /// not a directory) throws `Gone.gone`.
    static func parent(_ path: [UInt8], in root: Int32, missingIsGone: Bool = false) throws -> (fd: Int32, name: [UInt8]) {
        let parts = path.split(separator: 0x2f, omittingEmptySubsequences: false).map(Array.init)
        guard EntryName.pathProblem(path, rootAllowed: false) == nil else {
            throw SeedError.data("\(quoted(bytes: path)): not a path under the tree")
        }
        var fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw SeedError.io("cannot open the tree: \(errnoMessage())") }
        for p in parts.dropLast() {
            let next = cString(p) { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            let e = errno
            close(fd)
            if next < 0 && missingIsGone && (e == ENOENT || e == ENOTDIR || e == ELOOP) { throw Gone.gone }
            if next < 0 { throw SeedError.io("\(quoted(bytes: path)): cannot open \(quoted(bytes: p)) on the way: \(errnoMessage(e))") }
            fd = next
        }
        return (fd, parts.last!)
    }

    /// Removes the regular file at `path` under `root`, reached as
    /// `parent` reaches it (no symbolic link followed on the way, and
    /// none removed in its place); whether it was removed.
    @discardableResult
    static func removeRegularFile(_ path: [UInt8], in root: Int32 = AT_FDCWD) -> Bool {
        guard let (dir, name) = try? parent(path, in: root) else { return false }
        defer { close(dir) }
        var st = stat()
        guard cString(name, { fstatat(dir, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        return cString(name) { unlinkat(dir, $0, 0) } == 0
    }

    /// The target of the symbolic link `name` in directory `dir`.
    static func linkTarget(_ dir: Int32, _ name: [UInt8]) -> [UInt8]? {
        var target = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = cString(name) { readlinkat(dir, $0, &target, target.count) }
        return n < 0 ? nil : Array(target[0..<n])
    }

    /// The SHA-256 of the content of the regular file `name` in `dir`
    /// (not following a symbolic link), read in large blocks through
    /// `buffer`; nil when it cannot be opened.
    static func sha256(_ dir: Int32, _ name: [UInt8], buffer: ByteBuffer) throws -> String? {
        let fd = cString(name) { openat(dir, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 { return nil }
        defer { close(fd) }
        var h = SHA256()
        while true {
            let n = read(fd, buffer.base, buffer.capacity)
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("\(quoted(bytes: name)): read error: \(errnoMessage())")
            }
            if n == 0 { break }
            h.update(bufferPointer: UnsafeRawBufferPointer(start: buffer.base, count: n))
        }
        return Hex.encode(Array(h.finalize()))
    }
}
