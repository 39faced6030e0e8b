import CSeedSys
import Crypto
import Foundation
import SeedArchive
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// seed-snapshot --compare DIR [FILE]: holds a tree (a restore) against a
/// snapshot's index, entry by entry, as `tar --compare` does: present, of
/// the same type, mode, size, link target, modification time, extended
/// attributes, owner (when run as root) and, for files stored dense,
/// content (SHA-256). Differences go to standard output, one line each.
public enum TreeComparer {
    public static func run(tree: String, input: String?, diag: Diagnostics) throws -> SeedExit {
        let src = try SnapshotSource(input: input)
        let rootFD = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 { throw SeedError(.noInput, "cannot open \(quoted(tree)): \(errnoMessage())") }
        defer { close(rootFD) }
        // Extended attributes are read by path: from inside the tree.
        try syscall("cannot enter \(quoted(tree))", status: .noInput) { fchdir(rootFD) }
        let out = RecordlessOutput(fd: .standardOutput, name: "standard output")
        let buffer = ByteBuffer(capacity: 1 << 20)
        let owners = geteuid() == 0
        var differing: UInt64 = 0
        var compared: UInt64 = 0
        while let item = try src.next(decodeData: false) {
            guard item.kind == .index else { continue }
            try IndexLines.decode(item.payload, location: item.location) { e in
                compared += 1
                let problems = try compare(e, in: rootFD, buffer: buffer, owners: owners)
                guard !problems.isEmpty else { return }
                differing += 1
                try out.write(e.pathBytes)
                try out.write(Array(": \(problems.joined(separator: "; "))\n".utf8))
            }
        }
        try out.flush()
        if let t = src.totals, t.entries != compared {
            throw SeedError.data("\(src.source): end record promises \(t.entries) entries, the index lists \(compared)")
        }
        if differing > 0 {
            throw SeedError(.failure, "\(differing) of \(compared) entries differ from the index")
        }
        diag.verbose("\(compared) entries as the index says")
        return .success
    }

    /// What differs between the entry and the tree's file of that path.
    static func compare(_ e: IndexEntry, in root: Int32, buffer: ByteBuffer, owners: Bool) throws -> [String] {
        let path = e.pathBytes
        // A path from a stream is only ever a name under the tree.
        let parts = path.split(separator: 0x2f, omittingEmptySubsequences: false)
        if path != [0x2e] && (path.first == 0x2f || parts.contains { $0.isEmpty || $0 == [0x2e] || $0 == [0x2e, 0x2e] }) {
            return ["not a path under the tree"]
        }
        var st = stat()
        if cString(path, { fstatat(root, $0, &st, AT_SYMLINK_NOFOLLOW) }) != 0 { return [errno == ENOENT ? "missing" : "cannot read: \(errnoMessage())"] }
        var p: [String] = []
        let kind = st.st_mode & S_IFMT
        if e.type == .hardlink {
            var t = stat()
            guard let l = e.linkBytes, cString(l, { fstatat(root, $0, &t, AT_SYMLINK_NOFOLLOW) }) == 0, t.st_ino == st.st_ino, t.st_dev == st.st_dev else {
                return ["not a hard link to \(quoted(bytes: e.linkBytes ?? []))"]
            }
            return []
        }
        guard EntryType(mode: UInt32(st.st_mode)) == e.type else {
            return ["a \(EntryType(mode: UInt32(st.st_mode))?.rawValue ?? "other") in the tree, a \(e.type) in the index"]
        }
        if UInt32(st.st_mode & 0o7777) != e.mode { p.append("mode \(String(st.st_mode & 0o7777, radix: 8)), not \(String(e.mode, radix: 8))") }
        if owners && (st.st_uid != e.uid || st.st_gid != e.gid) { p.append("owner \(st.st_uid):\(st.st_gid), not \(e.uid):\(e.gid)") }
        if kind != S_IFLNK && e.path != "." && (Int64(st.st_mtim.tv_sec) != e.mtime || Int32(st.st_mtim.tv_nsec) != e.mtimeNsec) {
            p.append("modified \(st.st_mtim.tv_sec).\(String(format: "%09d", st.st_mtim.tv_nsec)), not \(e.mtime).\(String(format: "%09d", e.mtimeNsec))")
        }
        switch e.type {
        case .symlink:
            var target = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = cString(path) { readlinkat(root, $0, &target, target.count) }
            if n < 0 || Array(target[0..<n]) != (e.linkBytes ?? []) { p.append("links elsewhere") }
        case .char, .block:
            let (ma, mi) = deviceNumbers(st.st_rdev)
            if ma != (e.devMajor ?? 0) || mi != (e.devMinor ?? 0) { p.append("another device") }
        case .file:
            if UInt64(st.st_size) != e.size {
                p.append("\(st.st_size) bytes, not \(e.size)")
            } else if e.sparse != true, let want = e.sha256, let got = try digest(path, in: root, buffer: buffer), got != want {
                p.append("content differs (SHA-256 \(got))")
            }
        default: break
        }
        for x in e.xattrs ?? [] {
            let name = x.nameBytes
            let want = Data(base64Encoded: x.value).map(Array.init) ?? []
            var have = [UInt8](repeating: 0, count: 65536)
            let n = have.withUnsafeMutableBytes { buf in
                cString(path) { p in cString(name) { lgetxattr(p, $0, buf.baseAddress, buf.count) } }
            }
            if n < 0 || Array(have[0..<n]) != want { p.append("extended attribute \(quoted(bytes: name)) differs") }
        }
        return p
    }

    /// The SHA-256 of a regular file's content, read in large blocks.
    static func digest(_ path: [UInt8], in root: Int32, buffer: ByteBuffer) throws -> String? {
        let fd = cString(path) { openat(root, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 { return nil }
        defer { close(fd) }
        var h = SHA256()
        while true {
            let n = read(fd, buffer.base, buffer.capacity)
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("\(quoted(bytes: path)): read error: \(errnoMessage())")
            }
            if n == 0 { break }
            h.update(bufferPointer: UnsafeRawBufferPointer(start: buffer.base, count: n))
        }
        return Hex.encode(Array(h.finalize()))
    }
}
