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

/// The index an increment is made against (`--incremental BASE`): a
/// stream's, a staging file's, or an index stream's lines, one at a time
/// in walk order, and the session they describe.
final class BaseIndex {
    private let src: SnapshotSource
    private var lines: [IndexEntry] = []
    private var at = 0
    private(set) var session = ""

    init(_ path: String) throws {
        src = try SnapshotSource(input: path)
        try fill()
        guard let m = src.metadata else { throw SeedError.data("\(src.source): no stream header") }
        session = m.session
    }

    private func fill() throws {
        lines.removeAll(keepingCapacity: true)
        at = 0
        while lines.isEmpty, let item = try src.next(decodeData: false) {
            guard item.kind == .index else { continue }
            try IndexLines.decode(item.payload, location: item.location) { lines.append($0) }
        }
    }

    /// The next line; nil after the last.
    func next() throws -> IndexEntry? {
        if at == lines.count { try fill() }
        guard at < lines.count else { return nil }
        at += 1
        return lines[at - 1]
    }
}

/// What an increment holds, worked out by a first walk of the tree merged
/// with the base index (both in walk order, so memory goes with the
/// changes, not the tree): the paths to ship (new, or changed by type,
/// size, mode, owner, link, mtime or ctime, or with `--checksum` content),
/// the renames (a new file whose content is a gone file's, moved as it
/// is), and the deletions. Device and inode numbers are never compared;
/// with `--checksum` neither is ctime, which a copy of the tree renews,
/// and a file's content is.
struct IncrementalPlan {
    let base: String
    let baseSession: String
    private(set) var ships = Set<[UInt8]>()
    /// New path to the base entry it was renamed from.
    private(set) var renames: [[UInt8]: IndexEntry] = [:]
    /// Base entries that are gone, in walk order (renamed ones left out).
    private(set) var deleted: [IndexEntry] = []

    init(base: String, root: String, excludes: [String], oneFileSystem: Bool, checksum: Bool) throws {
        self.base = base
        let b = try BaseIndex(base)
        baseSession = b.session
        // Files are hashed (renames, --checksum) through one buffer.
        let buffer = ByteBuffer(capacity: 1 << 20)
        var next = try b.next()
        var gone: [IndexEntry] = []
        var added: [(path: [UInt8], st: stat)] = []
        var ships = Set<[UInt8]>()
        try TreeFiles.walk(root, excludes: excludes, oneFileSystem: oneFileSystem) { path, _, st in
            while let n = next, walkOrder(n.pathBytes, path) {
                gone.append(n)
                next = try b.next()
            }
            if let n = next, n.pathBytes == path {
                if try IncrementalPlan.changed(n, st, path: path, checksum: checksum, buffer: buffer) { ships.insert(path) }
                next = try b.next()
            } else {
                ships.insert(path)
                if (st.st_mode & S_IFMT) == S_IFREG { added.append((path, st)) }
            }
        }
        while let n = next {
            gone.append(n)
            next = try b.next()
        }
        // A new file with a gone file's size, mtime, mode and owner, and
        // (read to be sure) its content, was moved: it goes as a rename.
        var candidates: [String: [Int]] = [:]
        for (i, g) in gone.enumerated() where g.type == .file && g.sha256 != nil {
            candidates["\(g.size) \(g.mtime).\(g.mtimeNsec)", default: []].append(i)
        }
        var renamedAway = Set<Int>()
        var renames: [[UInt8]: IndexEntry] = [:]
        try TreeFiles.inRoot(root) {
            for (path, st) in added {
                let key = "\(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
                guard let list = candidates[key], !list.isEmpty, st.st_nlink == 1 else { continue }
                for i in list where !renamedAway.contains(i) {
                    let g = gone[i]
                    guard g.mode == UInt32(st.st_mode & 0o7777), g.uid == st.st_uid, g.gid == st.st_gid, g.xattrs == nil,
                        IncrementalPlan.ancestorsStayDirectories(g.pathBytes),
                        let digest = try TreeFiles.sha256(AT_FDCWD, path, buffer: buffer), digest == g.sha256
                    else { continue }
                    renamedAway.insert(i)
                    renames[path] = g
                    ships.remove(path)
                    break
                }
            }
        }
        self.renames = renames
        deleted = gone.enumerated().filter { !renamedAway.contains($0.offset) }.map(\.element)
        self.ships = ships
    }

    /// Whether the tree's entry differs from the base's line for it.
    static func changed(_ was: IndexEntry, _ st: stat, path: [UInt8], checksum: Bool, buffer: ByteBuffer) throws -> Bool {
        let type = EntryType(mode: UInt32(st.st_mode))
        let sameType = type == was.type || (was.type == .hardlink && type == .file)
        guard sameType, was.mode == UInt32(st.st_mode & 0o7777), was.uid == st.st_uid, was.gid == st.st_gid,
            was.mtime == Int64(st.st_mtim.tv_sec), was.mtimeNsec == Int32(st.st_mtim.tv_nsec)
        else { return true }
        // With --checksum content decides, not ctime (which a copy of the tree renews).
        if !checksum, let c = was.ctime, c != Int64(st.st_ctim.tv_sec) || (was.ctimeNsec ?? 0) != Int32(st.st_ctim.tv_nsec) { return true }
        if was.type == .file && was.size != UInt64(st.st_size) { return true }
        if was.type == .symlink && TreeFiles.linkTarget(AT_FDCWD, path) != (was.linkBytes ?? []) { return true }
        if was.type == .char || was.type == .block {
            let (ma, mi) = deviceNumbers(st.st_rdev)
            if ma != (was.devMajor ?? 0) || mi != (was.devMinor ?? 0) { return true }
        }
        if checksum && was.type == .file && was.sparse != true, let want = was.sha256 {
            return try TreeFiles.sha256(AT_FDCWD, path, buffer: buffer) != want
        }
        return false
    }

    /// Whether no directory above `path` became something else in the
    /// tree (extraction would clear it, and the rename's source with it);
    /// one that is gone is fine: renames come before deletions.
    static func ancestorsStayDirectories(_ path: [UInt8]) -> Bool {
        var p = path
        while let slash = p.lastIndex(of: 0x2f) {
            p = Array(p[..<slash])
            var st = stat()
            if cString(p, { lstat($0, &st) }) == 0 && (st.st_mode & S_IFMT) != S_IFDIR { return false }
        }
        return true
    }
}

/// An index line waiting in order for its digest: one the stream carries
/// (`shipped`), or one an increment keeps from its base.
struct PendingLine {
    var entry: IndexEntry
    var shipped: Bool
}

/// The increment being made: its plan, a second pass over the base for
/// the lines of what it keeps, and the whole tree's index after it.
final class IncrementState {
    let plan: IncrementalPlan
    private let base: BaseIndex
    private var next: IndexEntry?
    let state: IndexSpool

    init(_ plan: IncrementalPlan) throws {
        self.plan = plan
        base = try BaseIndex(plan.base)
        next = try base.next()
        state = try IndexSpool()
    }

    /// The base's line for `path` (skipping gone ones); nil if it has none.
    private func seek(_ path: [UInt8]) throws -> IndexEntry? {
        while let n = next, walkOrder(n.pathBytes, path) { next = try base.next() }
        guard let n = next, n.pathBytes == path else { return nil }
        return n
    }

    /// Whether the entry goes into the increment: the plan says so, or it
    /// appeared since the plan's walk (the base does not have it).
    func ships(_ path: [UInt8]) throws -> Bool {
        if plan.ships.contains(path) { return true }
        if plan.renames[path] != nil { return false }
        return try seek(path) == nil
    }

    /// The line an entry that is not shipped keeps: its own in the base,
    /// or the one of the entry it was renamed from.
    func baseLine(_ path: [UInt8]) throws -> IndexEntry? {
        if let from = plan.renames[path] { return from }
        return try seek(path)
    }

    /// The change lines, renames first, then deletions deepest first, in
    /// records of whole lines; how many lines.
    func emitChanges(recordSize: Int, _ record: (UnsafeRawBufferPointer) throws -> Void) throws -> UInt64 {
        var lines: [[UInt8]] = []
        for (path, from) in plan.renames.sorted(by: { walkOrder($0.key, $1.key) }) {
            lines.append(ChangeLine(op: .rename, path: path, from: from.pathBytes, type: from.type).encodedLine())
        }
        for g in plan.deleted.reversed() {
            lines.append(ChangeLine(op: .delete, path: g.pathBytes, type: g.type).encodedLine())
        }
        var chunk: [UInt8] = []
        for l in lines {
            if !chunk.isEmpty && chunk.count + l.count > recordSize {
                try chunk.withUnsafeBytes { try record($0) }
                chunk.removeAll(keepingCapacity: true)
            }
            chunk += l
        }
        if !chunk.isEmpty { try chunk.withUnsafeBytes { try record($0) } }
        return UInt64(lines.count)
    }
}
