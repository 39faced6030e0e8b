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
    public static func run(tree: String, input: String?, diag: Diagnostics, progress: Bool = false) throws -> SeedExit {
        let meter = ProgressMeter(enabled: progress, label: "seed-snapshot --compare")
        var held: UInt64 = 0
        let src = try SnapshotSource(input: input)
        let rootFD = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 { throw SeedError(.noInput, "cannot open \(quoted(tree)): \(errnoMessage())") }
        defer { close(rootFD) }
        let out = RecordlessOutput(fd: .standardOutput, name: "standard output")
        let buffer = ByteBuffer(capacity: 1 << 20)
        let owners = geteuid() == 0
        var differing: UInt64 = 0
        var compared: UInt64 = 0
        while let item = try src.next(decodeData: false) {
            guard item.kind == .index else { continue }
            try IndexLines.decode(item.payload, location: item.location) { e in
                compared += 1
                if e.type == .file { held += e.size }
                meter.update(bytes: held, extra: "of files in \(compared) entries held to the index")
                let problems = try compare(e, in: rootFD, buffer: buffer, owners: owners)
                guard !problems.isEmpty else { return }
                differing += 1
                try out.write(e.pathBytes)
                try out.write(Array(": \(problems.joined(separator: "; "))\n".utf8))
            }
        }
        try out.flush()
        meter.finish(bytes: held, extra: "of files in \(compared) entries held to the index")
        if let t = src.totals, t.entries != compared {
            throw SeedError.data("\(src.source): end record promises \(t.entries) entries, the index lists \(compared)")
        }
        if differing > 0 {
            throw SeedError(.failure, "\(differing) of \(compared) entries differ from the index")
        }
        diag.verbose("\(compared) entries as the index says")
        return .success
    }

    /// Where `path` lies under the tree: its directory (opened, to be
    /// closed) and name, reached without leaving it (`TreeFiles.parent`).
    static func place(_ path: [UInt8], in root: Int32) throws -> (fd: Int32, name: [UInt8]) {
        if path == [0x2e] { return (dup(root), [0x2e]) }
        return try TreeFiles.parent(path, in: root, missingIsGone: true)
    }

    /// What differs between the entry and the tree's file of that path.
    static func compare(_ e: IndexEntry, in root: Int32, buffer: ByteBuffer, owners: Bool) throws -> [String] {
        let (dir, name): (Int32, [UInt8])
        do { (dir, name) = try place(e.pathBytes, in: root) } catch TreeFiles.Gone.gone {
            return ["missing"]
        } catch let err as SeedError where err.status == .dataError {
            return ["not a path under the tree"]
        }
        defer { close(dir) }
        var st = stat()
        if cString(name, { fstatat(dir, $0, &st, AT_SYMLINK_NOFOLLOW) }) != 0 { return [errno == ENOENT ? "missing" : "cannot read: \(errnoMessage())"] }
        var p: [String] = []
        let kind = st.st_mode & S_IFMT
        if e.type == .hardlink {
            var t = stat()
            let same: Bool
            if let l = e.linkBytes, let at = try? place(l, in: root) {
                defer { close(at.fd) }
                same = cString(at.name) { fstatat(at.fd, $0, &t, AT_SYMLINK_NOFOLLOW) } == 0 && t.st_ino == st.st_ino && t.st_dev == st.st_dev
            } else {
                same = false
            }
            return same ? [] : ["not a hard link to \(quoted(bytes: e.linkBytes ?? []))"]
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
            if TreeFiles.linkTarget(dir, name) != (e.linkBytes ?? []) { p.append("links elsewhere") }
        case .char, .block:
            let (ma, mi) = deviceNumbers(st.st_rdev)
            if ma != (e.devMajor ?? 0) || mi != (e.devMinor ?? 0) { p.append("another device") }
        case .file:
            if UInt64(st.st_size) != e.size {
                p.append("\(st.st_size) bytes, not \(e.size)")
            } else if e.sparse != true, let want = e.sha256, let got = try TreeFiles.sha256(dir, name, buffer: buffer), got != want {
                p.append("content differs (SHA-256 \(got))")
            }
        default: break
        }
        // Extended attributes by the directory's descriptor: the name alone
        // is not followed, and no directory on the way is looked up again.
        let byDescriptor = Array("/proc/self/fd/\(dir)/".utf8) + name
        for x in e.xattrs ?? [] {
            let xname = x.nameBytes
            let want = Data(base64Encoded: x.value).map(Array.init) ?? []
            var have = [UInt8](repeating: 0, count: 65536)
            let n = have.withUnsafeMutableBytes { buf in
                cString(byDescriptor) { p in cString(xname) { lgetxattr(p, $0, buf.baseAddress, buf.count) } }
            }
            if n < 0 || Array(have[0..<n]) != want { p.append("extended attribute \(quoted(bytes: xname)) differs") }
        }
        return p
    }
}
