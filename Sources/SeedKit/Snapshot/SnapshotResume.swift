import Crypto
import Foundation
import SeedArchive
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// Where a resumed seed-snapshot goes on: at the start of the entry that
/// holds the first byte of data record `point.dataRecord`, making that
/// entry again and dropping its bytes before that record (they are on the
/// drives already), with the index lines of the entries before it kept.
struct SnapshotResumePlan {
    var point: ResumePoint
    var header: [UInt8]
    /// The entry it goes on with.
    var entry: IndexEntry
    /// The index lines before it: their bytes in the kept index, and how many.
    var indexBytes: UInt64
    var indexLines: UInt64
    var warnings: [String]
}

/// Reads index lines one at a time from a file, up to a count.
final class IndexLineReader {
    private let file: LineFile
    private var left: UInt64
    private let path: String
    var bytes: UInt64 { file.offset }

    init(_ path: String, lines: UInt64) throws {
        file = try LineFile(path, what: "the shipped index", maxLine: IndexLines.maxLine)!
        left = lines
        self.path = path
    }

    /// The next whole line's entry; nil at the end (or after `lines`, or at a line cut short).
    func next() throws -> IndexEntry? {
        guard left > 0 else { return nil }
        let location = quoted(path)
        guard
            let entry = try file.next({ line -> IndexEntry? in
                var entry: IndexEntry?
                // The line with its newline, as IndexLines splits a payload.
                var whole = Array(line)
                whole.append(0x0a)
                try whole.withUnsafeBytes { try IndexLines.decode($0, location: location) { entry = $0 } }
                return entry
            })
        else { return nil }
        left -= 1
        return entry
    }
}

/// Paths in the order the walk meets them: name by name, bytewise, a
/// directory before what it holds.
func walkOrder(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    let x = a.split(separator: 0x2f, omittingEmptySubsequences: false)
    let y = b.split(separator: 0x2f, omittingEmptySubsequences: false)
    for (p, q) in zip(x, y) where p != q { return p.lexicographicallyPrecedes(q) }
    return x.count < y.count
}

extension SnapshotCreator {
    /// Finds where to go on from the journals and the state kept in `dir`;
    /// nil when nothing shipped can be kept (the run starts over).
    func planResume(_ dir: String, _ info: SnapshotState.Info) throws -> SnapshotResumePlan? {
        let session = info.session
        guard let journal = try ResumePlanner.plan(dir, session: session, back: o.resumeBack) else { return nil }
        let size = UInt64(info.recordSize)
        var n = journal.point.dataRecord
        // Going on in the index: the archive's last data record is made again.
        if journal.kind == .index {
            guard n > 0 else { return nil }
            n -= 1
        }
        // No further than the last entry whose index line was kept, or the
        // start of the one after it.
        let indexPath = SnapshotState.path(dir, session, "index")
        var lastOffset: UInt64?
        try SnapshotState.eachLine(indexPath) { line, _ in
            lastOffset = (try? JSONDecoder().decode(IndexEntry.self, from: line))?.archiveOffset ?? lastOffset
            return true
        }
        guard let last = lastOffset else { return nil }
        let next = try SnapshotState.entryStart(after: last, dir, session)
        n = min(n, (next ?? last) / size)
        while n > 0 {
            // The entry holding the record's first byte, and the lines before it.
            var found: (IndexEntry, UInt64, UInt64)?
            var lines: UInt64 = 0
            try SnapshotState.eachLine(indexPath) { line, at in
                guard let e = try? JSONDecoder().decode(IndexEntry.self, from: line), e.archiveOffset <= n * size else { return false }
                found = (e, at, lines)
                lines += 1
                return true
            }
            guard let (e, at, before) = found else { return nil }
            if try e.archiveOffset == n * size || canMakeAgain(e, dir, session) {
                let p = try ResumePlanner.plan(dir, session: session, dataRecord: n)
                var point = p.point
                guard let header = Data(base64Encoded: info.header) else { throw SeedError.data("the snapshot's state in \(quoted(dir)) is damaged") }
                point.stages = try StreamMetadata.decode(Data(header), record: "the kept stream header").stages
                let (_, warnings) = try SnapshotState.read(dir, session, warningsBefore: e.archiveOffset)
                return SnapshotResumePlan(point: point, header: Array(header), entry: e, indexBytes: at, indexLines: before, warnings: warnings)
            }
            diag.verbose("\(e.displayPath) changed since the interrupted run wrote it: going on before it")
            n = e.archiveOffset / size
        }
        return nil
    }

    /// Whether `e` can be made again byte for byte: a file, directory or
    /// symbolic link whose metadata are as its index line says and whose
    /// headers come out as the interrupted run's did.
    func canMakeAgain(_ e: IndexEntry, _ dir: String, _ session: String) throws -> Bool {
        // A kept index line names a path inside the tree, or nothing is read for it.
        let parts = e.pathBytes.split(separator: 0x2f, omittingEmptySubsequences: false)
        guard e.pathBytes == [0x2e] || parts.allSatisfy({ !$0.isEmpty && $0.elementsEqual([0x2e]) == false && $0.elementsEqual([0x2e, 0x2e]) == false })
        else { return false }
        guard [EntryType.file, .dir, .symlink].contains(e.type), e.changed != true, e.incomplete != true,
            let want = try SnapshotState.headers(dir, session, at: e.archiveOffset)
        else { return false }
        let full = Array(o.root.utf8) + (e.pathBytes == [0x2e] ? [] : [0x2f] + e.pathBytes)
        var st = stat()
        guard cString(full, { lstat($0, &st) }) == 0 else { return false }
        entry.clear()
        entry.path = e.pathBytes
        entry.setSourcePath(full)
        if (st.st_mode & S_IFMT) == S_IFREG {
            let fd = cString(full) { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else { return false }
            defer { close(fd) }
            if metadataReader(fd, st).read(into: entry, fd: fd, stat: &st) != nil { return false }
        } else if disk.read(into: entry, fd: -1, stat: &st) != nil {
            return false
        }
        entry.dropVolatileTimes()
        if entry.hardlink != nil || (st.st_nlink > 1 && (st.st_mode & S_IFMT) != S_IFDIR) { return false }
        guard SnapshotCreator.sameMetadata(makeIndexEntry(entry, path: e.pathBytes, st: st), e) else { return false }
        var h = SHA256()
        let rehearsal = try PaxWriter { h.update(bufferPointer: $0) }
        try rehearsal.writeHeader(entry, "\(e.displayPath): cannot write header")
        return Hex.encode(h.finalize()) == want
    }

    /// Index entries alike but for what only the archiving gives: digest,
    /// flags and place.
    static func sameMetadata(_ a: IndexEntry, _ b: IndexEntry) -> Bool {
        var (x, y) = (a, b)
        for i in [0, 1] {
            var z = i == 0 ? x : y
            (z.sha256, z.changed, z.incomplete, z.record, z.offset, z.archiveOffset) = (nil, nil, nil, 0, 0, 0)
            if i == 0 { x = z } else { y = z }
        }
        return x == y
    }

    /// A walked entry the interrupted run shipped (it lies before where the
    /// run goes on): its name goes to the hard link resolver, and what
    /// changed since it was shipped is said; the drives keep the version
    /// shipped, which the index names.
    func passShipped(name: [UInt8], path: [UInt8], st: stat) throws {
        var st = st
        let type = st.st_mode & S_IFMT
        if type != S_IFDIR && type != S_IFSOCK && st.st_nlink > 1 {
            entry.clear()
            entry.path = path
            entry.setSourcePath(name)
            if disk.read(into: entry, fd: -1, stat: &st) == nil { _ = resolver.resolve(entry) }
        }
        if type == S_IFSOCK { return }
        try compareShipped(upTo: path)
        guard let s = shippedNext, s.pathBytes == path else {
            warn("\(quoted(bytes: path)): new since the interrupted run, before where it goes on: not in this seed")
            return
        }
        shippedNext = try shipped?.next()
        let now = EntryType(mode: UInt32(st.st_mode))
        let sameType = s.type == now || (s.type == .hardlink && type != S_IFDIR)
        let sameFile =
            type != S_IFREG || s.type == .hardlink
            || (UInt64(st.st_size) == s.size && Int64(st.st_mtim.tv_sec) == s.mtime && Int32(st.st_mtim.tv_nsec) == s.mtimeNsec)
        if !sameType || !sameFile {
            warn("\(quoted(bytes: path)): changed since the interrupted run shipped it: the seed holds the version shipped")
        }
    }

    /// Index lines of shipped entries the walk has gone past: gone since.
    func compareShipped(upTo path: [UInt8]?) throws {
        while let s = shippedNext, path.map({ walkOrder(s.pathBytes, $0) }) ?? true {
            warn("\(s.displayPath): gone since the interrupted run shipped it: the seed holds the version shipped")
            shippedNext = try shipped?.next()
        }
    }
}
