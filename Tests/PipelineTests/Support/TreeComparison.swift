import CSeedSys
import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

/// What a tree holds, entry by entry, read with lstat and friends on raw
/// byte names: enough to say two trees are the same to a restore's user.
struct TreeListing {
    struct Entry: Equatable {
        var type: UInt32
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var size: Int64
        var mtime: Int64
        var mtimeNsec: Int
        var link: [UInt8]?
        var rdev: UInt64
        var xattrs: [String: [UInt8]]
        var digest: String?
        var blocks: Int64
        var inode: UInt64
    }

    var entries: [[UInt8]: Entry] = [:]

    init(_ root: String) throws {
        try walk(root: Array(root.utf8), rel: [])
    }

    private mutating func walk(root: [UInt8], rel: [UInt8]) throws {
        let full = rel.isEmpty ? root : root + [0x2f] + rel
        var st = stat()
        guard withC(full, { lstat($0, &st) }) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
        let type = st.st_mode & S_IFMT
        var e = Entry(
            type: type, mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid, size: type == S_IFREG ? Int64(st.st_size) : 0,
            mtime: Int64(st.st_mtim.tv_sec), mtimeNsec: st.st_mtim.tv_nsec, link: nil,
            rdev: (type == S_IFCHR || type == S_IFBLK) ? UInt64(st.st_rdev) : 0, xattrs: xattrs(full), digest: nil,
            blocks: Int64(st.st_blocks), inode: UInt64(st.st_ino))
        if type == S_IFLNK {
            var buf = [UInt8](repeating: 0, count: 8192)
            let n = withC(full) { p in buf.withUnsafeMutableBytes { readlink(p, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 8192) } }
            e.link = Array(buf[0..<max(n, 0)])
        }
        if type == S_IFREG { e.digest = try digest(full) }
        entries[rel.isEmpty ? [0x2e] : rel] = e
        if type == S_IFDIR {
            guard let d = withC(full, { opendir($0) }) else { return }
            var names: [[UInt8]] = []
            while let ent = readdir(d) {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
                if name != [0x2e] && name != [0x2e, 0x2e] { names.append(name) }
            }
            closedir(d)
            for n in names { try walk(root: root, rel: rel.isEmpty ? n : rel + [0x2f] + n) }
        }
    }

    private func xattrs(_ p: [UInt8]) -> [String: [UInt8]] {
        var names = [CChar](repeating: 0, count: 65536)
        let n = withC(p) { llistxattr($0, &names, names.count) }
        guard n > 0 else { return [:] }
        var out: [String: [UInt8]] = [:]
        for name in names[0..<n].split(separator: 0) {
            let s = String(decoding: name.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // ACLs are compared (system.posix_acl_*); other system and
            // security attributes belong to the machine, not the tree.
            if s.hasPrefix("security.") || (s.hasPrefix("system.") && !s.hasPrefix("system.posix_acl_")) { continue }
            var v = [UInt8](repeating: 0, count: 65536)
            let m = withC(p) { lgetxattr($0, s, &v, v.count) }
            out[s] = Array(v[0..<max(m, 0)])
        }
        return out
    }

    private func digest(_ p: [UInt8]) throws -> String {
        let fd = withC(p) { open($0, O_RDONLY) }
        guard fd >= 0 else { return "unreadable" }
        defer { close(fd) }
        var h = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            buf.withUnsafeBytes { h.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Groups of paths that share an inode (hard links), as sorted path lists.
    var hardLinkGroups: Set<[[UInt8]]> {
        var by: [UInt64: [[UInt8]]] = [:]
        for (p, e) in entries where e.type != S_IFDIR { by[e.inode, default: []].append(p) }
        return Set(by.values.filter { $0.count > 1 }.map { $0.sorted { $0.lexicographicallyPrecedes($1) } })
    }

    /// Every difference from `other`, one line each; empty when the same.
    /// `options` relax what a given restorer cannot keep.
    func differences(from other: TreeListing, options: CompareOptions = CompareOptions()) -> [String] {
        var out: [String] = []
        func name(_ p: [UInt8]) -> String { String(decoding: p, as: UTF8.self).debugDescription }
        for (p, a) in entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            guard let b = other.entries[p] else { out.append("\(name(p)): missing"); continue }
            if a.type != b.type { out.append("\(name(p)): type \(a.type) vs \(b.type)"); continue }
            if a.mode != b.mode { out.append("\(name(p)): mode \(String(a.mode, radix: 8)) vs \(String(b.mode, radix: 8))") }
            if options.owners && (a.uid != b.uid || a.gid != b.gid) { out.append("\(name(p)): owner \(a.uid):\(a.gid) vs \(b.uid):\(b.gid)") }
            if a.size != b.size { out.append("\(name(p)): size \(a.size) vs \(b.size)") }
            if a.digest != b.digest { out.append("\(name(p)): content differs") }
            if a.link != b.link { out.append("\(name(p)): link target differs") }
            if a.rdev != b.rdev { out.append("\(name(p)): device number differs") }
            if a.xattrs != b.xattrs { out.append("\(name(p)): xattrs \(a.xattrs.keys.sorted()) vs \(b.xattrs.keys.sorted())") }
            let timeOK =
                a.mtime == b.mtime && a.mtimeNsec == b.mtimeNsec
                || (options.preEpochFractionTolerance && a.mtime < 0
                    && abs((a.mtime * 1_000_000_000 + Int64(a.mtimeNsec)) - (b.mtime * 1_000_000_000 + Int64(b.mtimeNsec))) < 1_000_000_000)
            let skipTime = (a.type == S_IFDIR && options.skipDirTimes) || (p == [0x2e] && !options.rootTime)
            if options.times && !timeOK && !skipTime {
                out.append("\(name(p)): mtime \(a.mtime).\(a.mtimeNsec) vs \(b.mtime).\(b.mtimeNsec)")
            }
            // A sparse original must come back sparse.
            if a.type == S_IFREG && a.blocks * 512 < a.size / 2 && b.blocks > a.blocks + 64 {
                out.append("\(name(p)): not sparse after restore (\(b.blocks) blocks, was \(a.blocks))")
            }
        }
        for p in other.entries.keys where entries[p] == nil { out.append("\(name(p)): unexpected") }
        if hardLinkGroups != other.hardLinkGroups { out.append("hard-link groups differ") }
        return out
    }
}

/// Records one issue listing every difference between two trees.
func expectSameTree(_ a: String, _ b: String, _ options: CompareOptions = CompareOptions(), sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let d = try TreeListing(a).differences(from: TreeListing(b), options: options)
        if !d.isEmpty { Issue.record(Comment(rawValue: "trees differ:\n" + d.joined(separator: "\n")), sourceLocation: sourceLocation) }
    } catch {
        Issue.record(Comment(rawValue: "cannot compare trees: \(error)"), sourceLocation: sourceLocation)
    }
}

struct CompareOptions {
    var owners = true
    var times = true
    var skipDirTimes = false
    /// bsdtar, like libarchive, leaves the target directory's own times alone.
    var rootTime = true
    /// GNU tar reads libarchive's pax time for a pre-1970 time with a
    /// fraction as the fraction the other way (seed-snapshot(1), BUGS).
    var preEpochFractionTolerance = false
}

func withC<R>(_ b: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
    var z = b
    z.append(0)
    return z.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
}
