import CSeedSys
import Crypto
import Foundation
import SeedArchive
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What `seed-snapshot -x DIR` is asked to do.
public struct ExtractOptions {
    public var target: String
    public var input: String?
    public var numericOwner = false
    public var progress = false
    /// `--only`: the entries to restore; none for all of them.
    public var only: [String] = []
    /// `--session`: a repair bundle is applied only over this session's restore.
    public var session: String?
    public init(target: String, input: String? = nil, numericOwner: Bool = false, progress: Bool = false) {
        self.target = target
        self.input = input
        self.numericOwner = numericOwner
        self.progress = progress
    }
}

/// Where extraction's archive bytes come from: the whole stream in order,
/// or (random access) only the stretches of it that hold chosen entries.
protocol ExtractFeed: AnyObject {
    /// The next block of the archive; nil at its end.
    func next() throws -> UnsafeRawBufferPointer?
    /// Turns on a ring of `depth` buffers that hold what `next` hands out
    /// until `willReuse` is told the buffer comes round again; false when
    /// the feed has none (its blocks are then copied to be hashed).
    func useRing(depth: Int, willReuse: @escaping (Int) -> Void) -> Bool
    /// The ring buffer holding all of the `count` bytes at `p`, if one does.
    func ringBuffer(holding p: UnsafeRawPointer, count: Int) -> Int?
    /// An offset in the bytes `next` handed out, as an offset in the
    /// snapshot's whole archive (what the index names).
    func archiveOffset(_ position: UInt64) -> UInt64
    /// After `error` (the entry starting at archive offset `entryStarted`,
    /// if any, left unwritten): whether the feed goes on past the damage,
    /// from the next entry it can give whole, having noted what it lost.
    func goOn(after error: Error, entryStarted: UInt64?) throws -> Bool
    /// Whether the entry `path` was lost to damage, and noting another.
    func lost(path: [UInt8]) -> Bool
    func lose(path: [UInt8], at offset: UInt64, linkingTo: [UInt8]?)
}

extension ExtractFeed {
    func goOn(after error: Error, entryStarted: UInt64?) throws -> Bool { false }
    func lost(path: [UInt8]) -> Bool { false }
    func lose(path: [UInt8], at offset: UInt64, linkingTo: [UInt8]?) {}
}

/// seed-snapshot -x DIR: reads the archive with libarchive and writes it
/// with a `TreeWriter` (no `..`, no absolute paths, nothing written through
/// a symlink, hard-link targets reached the same way), restoring modes,
/// times, xattrs, ACLs, links, sparse files, and owners when run as root. Every regular
/// file's content is hashed as it is written and checked against the index
/// once the index arrives; a mismatch or an entry missing from the archive
/// fails the run. With `--only`, the entries not chosen are read past.
public final class SnapshotExtractor {
    let source: String
    let diag: Diagnostics
    let only: PathPatterns?
    var warnings = 0

    init(source: String, only: PathPatterns?, diag: Diagnostics) {
        self.source = source
        self.only = only
        self.diag = diag
    }

    public static func extract(_ o: ExtractOptions, diag: Diagnostics) throws -> SeedExit {
        let feed = StreamFeed(try SnapshotSource(input: o.input))
        let x = SnapshotExtractor(source: feed.src.source, only: PathPatterns(o.only), diag: diag)
        // A repair bundle or an increment goes only over the restore of the
        // state it mends or follows, known before anything is written.
        feed.checkHeader = { m in
            if let of = m.repairOf {
                x.overDirectories = true
                guard let s = o.session else {
                    throw SeedError.usage("\(feed.src.source) is a repair of session \(of)", hint: "give --session \(of) to apply it over that seed's restore")
                }
                if s != of { throw SeedError.data("\(feed.src.source) is a repair of session \(of), not of \(s)") }
            } else if let base = m.incrementOf {
                (x.overDirectories, x.increment) = (true, true)
                if x.only != nil { throw SeedError.usage("\(feed.src.source) is an increment, applied whole: leave out --only") }
                guard let s = o.session else {
                    throw SeedError.usage(
                        "\(feed.src.source) is an increment on session \(base)", hint: "give --session \(base) to apply it over the restore of that state")
                }
                if s != base {
                    throw SeedError.data("\(feed.src.source) is an increment on session \(base), not on \(s) (out of order, or another base)")
                }
            } else if let s = o.session {
                throw SeedError.data("\(feed.src.source) is not a repair bundle or an increment (of session \(s) or any other)")
            }
        }
        try x.writeEntries(o, feed)
        // The archive's trailing blocks, then the index and the end record.
        while try feed.next() != nil {}
        var item = feed.lookahead
        feed.lookahead = nil
        // Change lines wait on disk, not in memory: they are applied after the index.
        var changes: LineSpool?
        var changeCount: UInt64 = 0
        let checked = try x.check { body in
            while true {
                if item == nil { item = try feed.src.next() }
                guard let it = item else { break }
                item = nil
                if it.kind == .changes {
                    try ChangeLine.decode(it.payload, location: it.location) { _ in changeCount += 1 }
                    if changes == nil { changes = try LineSpool(what: "the changes", maxLine: IndexLines.maxLine) }
                    try changes!.append(it.payload)
                    continue
                }
                guard it.kind == .index else {
                    if it.kind == .data { throw SeedError.data("\(it.location): data record after the index") }
                    continue
                }
                if changes != nil { throw SeedError.data("\(it.location): index record after the changes") }
                try IndexLines.decode(it.payload, location: it.location, recordSize: feed.src.recordSize, body)
            }
        }
        if x.only == nil, let t = feed.src.totals, t.entries != checked {
            throw SeedError.data("\(feed.src.source): end record promises \(t.entries) entries, the index lists \(checked)")
        }
        if x.increment {
            if let t = feed.src.totals, (t.changes ?? 0) != changeCount {
                throw SeedError.data("\(feed.src.source): end record promises \(t.changes ?? 0) changes, the stream has \(changeCount)")
            }
            // Renames first (their sources may lie in directories that go), then
            // deletions, deepest first; each directory they change keeps its time.
            let times = x.directoryTimes
            try changes?.forEachChunk { chunk in
                try ChangeLine.decode(chunk, location: "the changes") { c in
                    guard c.op == .rename else { return }
                    try times.keepParent(of: c.fromBytes ?? [])
                    try times.keepParent(of: c.pathBytes)
                    try TreeChanges.rename(from: c.fromBytes ?? [], to: c.pathBytes)
                }
            }
            try changes?.forEachChunk { chunk in
                try ChangeLine.decode(chunk, location: "the changes") { c in
                    guard c.op == .delete else { return }
                    try times.keepParent(of: c.pathBytes)
                    try TreeChanges.remove(c.pathBytes)
                }
            }
            try x.finishDirectories()
            diag.verbose("\(checked) entries written, \(changeCount) changes made; the tree is now session \(feed.src.metadata?.session ?? "")")
        }
        return x.finish()
    }

    /// The log of what `writeEntries` wrote, held against the index.
    var log: ArchiveLog?
    /// Extracting over a restore (a repair bundle): the directories' times
    /// are set again at the end, after everything went into them.
    var overDirectories = false
    /// Extracting an increment: what is in an entry's way goes first, and
    /// directories are finished after its changes.
    var increment = false
    /// The directories' times set at the end, over a restore.
    let directoryTimes = DirectoryTimes()

    /// Creates `o.target` and writes the chosen entries the feed holds.
    func writeEntries(_ o: ExtractOptions, _ feed: ExtractFeed) throws {
        if mkdirP(o.target) != 0 { throw SeedError(.cannotCreate, "cannot create \(quoted(o.target)): \(errnoMessage())") }
        try syscall("cannot enter \(quoted(o.target))", status: .cannotCreate) { chdir(o.target) }
        let log = try ArchiveLog()
        self.log = log
        let progress = ProgressMeter(enabled: o.progress, label: "seed-snapshot")
        // Content is hashed on the hash lanes while this thread writes: data
        // blocks lie in the feed's payload ring, which waits for their
        // hashes before it reuses a buffer.
        let lanes = HashLanes()
        defer { lanes.shutdown() }
        let fences = (0..<6).map { _ in HashLanes.Fence() }
        let ringed = feed.useRing(depth: fences.count) { i in lanes.wait(for: fences[i]) }
        let spill = ByteBuffer(capacity: 1 << 16)
        var inlineHash = SHA256()
        var spillTicket = HashLanes.Ticket.none
        // Entries wait here, in order, for their file's digest.
        var waiting = DigestQueue<ArchiveLog.Entry>()
        func logEntries(all: Bool) throws {
            try waiting.drain(lanes, all: all) { e, digest in
                var e = e
                if let digest { e.digest = digest }
                try log.append(e)
            }
        }

        // Names are bytes. libarchive converts a pax header's UTF-8 names to
        // the current locale, and where that is UTF-8 it NFC-normalizes
        // them on the way, which makes two names one. In the C locale it
        // takes them as they are. This thread reads the whole archive.
        let cLocale = newlocale(LC_CTYPE_MASK, "C", nil)
        let previousLocale = cLocale.map { uselocale($0) }
        defer {
            if let c = cLocale, let p = previousLocale {
                uselocale(p)
                freelocale(c)
            }
        }
        var restore: DiskWriter.Restore = [.permissions, .times, .acls, .xattrs, .fileFlags]
        if geteuid() == 0 { restore.insert(.owner) }
        let aw = try TreeWriter(restore: restore, ownersByName: !o.numericOwner)
        var bytes: UInt64 = 0
        var root: RootMetadata?
        // Where the entry being written starts, and its hash lane, until it is whole.
        var started: UInt64?
        var entryPath: [UInt8] = []
        var openLane: Int?
        // A feed that can go on past a damaged record (random access) gets
        // a fresh archive reader where it goes on.
        while true {
            do {
                let ar = try TarReader(source) { try feed.next() }
                while let e = try ar.nextEntry("\(source): archive damaged") {
                    let path = e.path
                    // Made only for a message.
                    func name() -> String { path.isEmpty ? "(unnamed entry)" : quoted(bytes: path) }
                    let headerPos = feed.archiveOffset(ar.headerPosition)
                    if let only, !only.matches(SnapshotExtractor.indexPath(e)) { continue }
                    if let l = e.hardlink, feed.lost(path: l) {
                        feed.lose(path: SnapshotExtractor.indexPath(e), at: headerPos, linkingTo: l)
                        continue
                    }
                    started = headerPos
                    entryPath = path
                    if RootMetadata.isRoot(path) {
                        root = RootMetadata(e)
                    } else if overDirectories {
                        // The directory it goes into keeps the time it has,
                        // unless its own entry gives another.
                        try directoryTimes.keepParent(of: SnapshotExtractor.indexPath(e))
                        if e.fileType == 0o040000 { try directoryTimes.keep(SnapshotExtractor.indexPath(e), e.modificationTime) }
                    }
                    if increment { try TreeChanges.clearForEntry(SnapshotExtractor.indexPath(e), isDirectory: e.fileType == 0o040000) }
                    if let w = try aw.begin(e, "entry \(name())") { warn("entry \(name()): \(w)", path: path) }
                    let isFile = e.fileType == 0o100000 /* AE_IFREG */ && e.hardlink == nil
                    var logged = ArchiveLog.Entry(
                        offset: headerPos, type: SnapshotExtractor.typeName(e), size: isFile ? UInt64(max(e.size, 0)) : 0,
                        mode: e.permissions & 0o7777, sparse: false, path: SnapshotExtractor.indexPath(e), link: e.symlink ?? e.hardlink)
                    // Only the bytes the archive holds are hashed: a sparse entry's
                    // digest covers its data regions, never its holes, so the work
                    // is bounded by the stream whatever size a header declares.
                    // A small file is hashed here: handing it to a lane costs
                    // more than hashing it.
                    let inline = isFile && e.size <= Int64(HashLanes.hashedInline) && !e.isSparse
                    let lane = isFile && !inline ? lanes.begin() : 0
                    if isFile && !inline { openLane = lane }
                    if inline { inlineHash = SHA256() }
                    var pos: Int64 = 0
                    // A file whose data cannot be read whole, or that cannot be
                    // given the size its header declares (past `ulimit -f` or
                    // the file system's largest file), is removed, not left
                    // part made.
                    var written = false
                    defer {
                        if isFile && !written {
                            aw.abandon()
                            TreeFiles.removeRegularFile(path)
                        }
                    }
                    while isFile, let (block, off) = try ar.nextBlock("entry \(name())") {
                        let size = block.count
                        if off != pos { logged.sparse = true }
                        if size > 0, let buf = block.baseAddress {
                            if inline {
                                inlineHash.update(bufferPointer: UnsafeRawBufferPointer(start: buf, count: size))
                            } else if ringed, let k = feed.ringBuffer(holding: buf, count: size) {
                                fences[k].add(lanes.update(lane: lane, buf, size))
                            } else {
                                // libarchive's own buffer (a block it had to join
                                // across records) or a feed without a ring: copied,
                                // as its buffer is reused.
                                lanes.wait(for: spillTicket)
                                spill.set(UnsafeRawBufferPointer(start: buf, count: size))
                                spillTicket = lanes.update(lane: lane, spill.base, size)
                            }
                            try aw.write(block, at: off, "entry \(name())")
                        }
                        pos = off + Int64(size)
                        bytes += UInt64(size)
                        progress.update(bytes: bytes)
                    }
                    if let f = try aw.finish("entry \(name())") { warn("entry \(name()): \(f)", path: path) }
                    written = true
                    if isFile && (e.isSparse || e.size != pos) { logged.sparse = true }
                    if inline { logged.digest = inlineHash.finalize().withUnsafeBytes { Hex.encode($0) } }
                    waiting.append(logged, isFile && !inline ? lanes.finish(lane: lane) : .none)
                    openLane = nil
                    try logEntries(all: false)
                    started = nil
                }
                break
            } catch {
                // The entry being written is gone (removed above); the feed
                // names what it loses and says whether it goes on.
                guard try feed.goOn(after: error, entryStarted: started) else {
                    // An error while an entry was written concerns it (for events).
                    if started != nil, let e = error as? SeedError, e.path == nil { throw e.concerning(path: entryPath) }
                    throw error
                }
                // The lane's hash of the lost file ends here, unused.
                if let lane = openLane { _ = lanes.digest(lanes.finish(lane: lane), wait: true) }
                aw.abandon()
                (started, openLane) = (nil, nil)
            }
        }
        // Directory times and modes are set at the end.
        for w in try aw.end("cannot finish extraction") { warn(SeedMessage(verbatim: w)) }
        (rootMetadata, rootOwner) = (root, restore.contains(.owner))
        if !increment { try finishDirectories() }
        try logEntries(all: true)
        progress.finish(bytes: bytes)
    }

    private var rootMetadata: RootMetadata?
    private var rootOwner = false

    /// The target's own metadata, and the times of the directories a
    /// bundle or an increment wrote into (libarchive leaves an existing
    /// directory's times alone): after everything else went into them.
    func finishDirectories() throws {
        try directoryTimes.apply { warn(SeedMessage(verbatim: $0)) }
        if let root = rootMetadata { try root.apply(owner: rootOwner) }
    }

    /// Holds what was written against the index lines `lines` hands out
    /// (the chosen ones, with `--only`); the number checked.
    func check(_ lines: (_ body: (IndexEntry) throws -> Void) throws -> Void) throws -> UInt64 {
        guard let log else { return 0 }
        var checked: UInt64 = 0
        try log.rewind()
        try lines { ie in
            if let only, !only.matches(ie.pathBytes) { return }
            if ie.changed == true { warn("\(ie.displayPath): changed while the snapshot was made; restored as it was read", path: ie.pathBytes) }
            if ie.incomplete == true { warn("\(ie.displayPath): could not be read in full when the snapshot was made; the rest is zeros", path: ie.pathBytes) }
            try log.check(ie)
            checked += 1
        }
        try log.checkEnd()
        diag.verbose("\(checked) entries checked against the index")
        EventLog.count("entries_checked", Int64(checked))
        return checked
    }

    /// The exit status, once a pattern that chose nothing is reported.
    func finish() -> SeedExit {
        if let m = only?.unmatchedMessage { warn(m) }
        return warnings > 0 ? .warnings : .success
    }

    func warn(_ m: SeedMessage, path: [UInt8]? = nil) {
        warnings += 1
        diag.warning(m, path: path)
    }

    /// An archive entry's path as the index names it: pax writers end a
    /// directory's name with a slash, the index does not.
    static func indexPath(_ e: ArchiveEntry) -> [UInt8] {
        var p = e.path
        if e.fileType == 0o040000 && p.count > 1 && p.last == 0x2f { p.removeLast() }
        return p
    }

    /// An archive entry's type as the index names it.
    static func typeName(_ e: ArchiveEntry) -> EntryType {
        if e.hardlink != nil { return .hardlink }
        return EntryType(mode: e.fileType) ?? EntryType(rawValue: "other")
    }

    /// seed-snapshot -d: the plain pax archive, every record checked, to stdout.
    public static func pax(input: String?, force: Bool, diag: Diagnostics) throws -> SeedExit {
        let src = try SnapshotSource(input: input)
        let out = RecordlessOutput(fd: try StreamFiles.standardOutput(force: force), name: "standard output")
        var entries: UInt64 = 0
        while let item = try src.next() {
            if item.kind == .data { try out.write(item.payload) }
            // Every line checked, so the end record's count is held to what the index holds.
            if item.kind == .index { try IndexLines.decode(item.payload, location: item.location, recordSize: src.recordSize) { _ in entries += 1 } }
        }
        if let t = src.totals, t.entries != entries {
            throw SeedError.data("\(src.source): end record promises \(t.entries) entries, the index lists \(entries)")
        }
        try out.flush()
        return .success
    }
}

/// The whole stream's archive, data record after data record, straight
/// from the source's payload ring; the first record that is not data is
/// kept for the index check.
final class StreamFeed: ExtractFeed {
    let src: SnapshotSource
    var lookahead: SnapshotSource.Item?
    private var sawNonData = false
    /// Told the stream header before any of the archive is handed out.
    var checkHeader: ((StreamMetadata) throws -> Void)?

    init(_ src: SnapshotSource) { self.src = src }

    func next() throws -> UnsafeRawBufferPointer? {
        if sawNonData { return nil }
        while let item = try src.next() {
            if let check = checkHeader, let m = src.metadata {
                checkHeader = nil
                try check(m)
            }
            if item.kind == .data {
                if item.payload.count == 0 { continue }
                return item.payload
            }
            lookahead = item
            sawNonData = true
            return nil
        }
        sawNonData = true
        return nil
    }

    func useRing(depth: Int, willReuse: @escaping (Int) -> Void) -> Bool {
        src.useRing(depth: depth)
        src.willReuse = willReuse
        return true
    }

    func ringBuffer(holding p: UnsafeRawPointer, count: Int) -> Int? { src.ringBuffer(holding: p, count: count) }

    func archiveOffset(_ position: UInt64) -> UInt64 { position }
}

/// The metadata of the archive's "." entry. libarchive takes the entry but
/// leaves an existing directory's mode and times alone; tar restores them
/// on the target, and so do we, after everything below it is written.
struct RootMetadata {
    var mode: mode_t
    var uid: uid_t
    var gid: gid_t
    var mtime: timespec

    static func isRoot(_ p: [UInt8]) -> Bool { p == [0x2e] || p == [0x2e, 0x2f] }

    init(_ e: ArchiveEntry) {
        mode = mode_t(e.permissions)
        uid = uid_t(e.uid)
        gid = gid_t(e.gid)
        mtime = e.modificationTime
    }

    func apply(owner: Bool) throws {
        if owner { try syscall("cannot set the owner of the target") { chown(".", uid, gid) } }
        try syscall("cannot set the mode of the target") { chmod(".", mode) }
        var times = [timespec(tv_sec: 0, tv_nsec: CSeedSys_UTIME_OMIT), mtime]
        try syscall("cannot set the times of the target") { utimensat(AT_FDCWD, ".", &times, 0) }
    }
}

/// What extraction wrote, one line per archive entry in archive order, in
/// an unlinked temporary file (bounded memory however many entries there
/// are), to be held against the index once it arrives: seed-stream(5)
/// says they must agree entry for entry, so that `seed-snapshot -t` shows
/// exactly what `-x` writes.
final class ArchiveLog {
    struct Entry {
        var offset: UInt64
        var type: EntryType
        var size: UInt64
        var mode: UInt32
        var sparse: Bool
        var path: [UInt8]
        var link: [UInt8]?
        var digest: String?
    }

    private let file: UnsafeMutablePointer<FILE>
    private var peeked: Entry?
    private var atEnd = false

    init() throws {
        guard let f = tmpfile() else { throw SeedError(.cannotCreate, "cannot create a temporary file: \(errnoMessage())") }
        file = f
    }

    deinit { fclose(file) }

    /// One entry's bytes, kept for the next.
    private var rec: [UInt8] = []

    func append(_ e: Entry) throws {
        rec.removeAll(keepingCapacity: true)
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { rec.append(contentsOf: $0) } }
        u64(e.offset)
        u64(e.size)
        u64(UInt64(e.mode))
        u64(e.sparse ? 1 : 0)
        for field in [Array(e.type.rawValue.utf8), e.path, e.link ?? [], Array((e.digest ?? "").utf8)] {
            u64(UInt64(field.count))
            rec += field
        }
        u64(e.link == nil ? 0 : 1)
        if fwrite(rec, 1, rec.count, file) != rec.count { throw SeedError.io("cannot write a temporary file: \(errnoMessage())") }
    }

    func rewind() throws {
        if fflush(file) != 0 || fseek(file, 0, SEEK_SET) != 0 { throw SeedError.io("cannot rewind a temporary file: \(errnoMessage())") }
        peeked = nil
        atEnd = false
    }

    /// The next entry without taking it.
    func peek() throws -> Entry? {
        if peeked == nil && !atEnd { peeked = try read() }
        return peeked
    }

    func next() throws -> Entry? {
        let e = try peek()
        peeked = nil
        return e
    }

    private func read() throws -> Entry? {
        func u64() -> UInt64? {
            var v: UInt64 = 0
            return fread(&v, 8, 1, file) == 1 ? UInt64(littleEndian: v) : nil
        }
        func bytes() -> [UInt8]? {
            guard let n = u64() else { return nil }
            var b = [UInt8](repeating: 0, count: Int(n))
            return n == 0 || fread(&b, 1, Int(n), file) == Int(n) ? b : nil
        }
        guard let offset = u64() else {
            atEnd = true
            return nil
        }
        guard let size = u64(), let mode = u64(), let sparse = u64(), let type = bytes(), let path = bytes(), let link = bytes(),
            let digest = bytes(), let hasLink = u64()
        else { throw SeedError.io("cannot read back a temporary file") }
        return Entry(
            offset: offset, type: EntryType(rawValue: String(decoding: type, as: UTF8.self)), size: size, mode: UInt32(mode), sparse: sparse != 0, path: path,
            link: hasLink != 0 ? link : nil, digest: digest.isEmpty ? nil : String(decoding: digest, as: UTF8.self))
    }

    /// Holds the index entry `ie` against the archive entries logged: the
    /// entry at its offset must agree in path, type, size, link, mode,
    /// sparseness and content digest. Entries before it that no index line
    /// names must each be an earlier copy of a file that the entry right
    /// after it replaces (a file read again because it changed).
    func check(_ ie: IndexEntry) throws {
        while let a = try peek(), a.offset < ie.archiveOffset {
            _ = try next()
            try checkSuperseded(a)
        }
        guard let a = try next(), a.offset == ie.archiveOffset else {
            throw SeedError.data("\(ie.displayPath): listed in the index at archive byte \(ie.archiveOffset) but not in the archive")
        }
        let name = quoted(bytes: a.path)
        if a.path != ie.pathBytes { throw SeedError.data("\(name): the index names it \(ie.displayPath) (archive byte \(a.offset))") }
        if a.type != ie.type { throw SeedError.data("\(name): a \(a.type) in the archive, a \(ie.type) in the index") }
        if a.mode != ie.mode { throw SeedError.data("\(name): mode \(String(a.mode, radix: 8)) in the archive, \(String(ie.mode, radix: 8)) in the index") }
        if a.link != ie.linkBytes { throw SeedError.data("\(name): its link target differs between the archive and the index") }
        if a.type == .file {
            if a.size != ie.size { throw SeedError.data("\(name): \(a.size) bytes in the archive, \(ie.size) in the index") }
            if a.sparse != (ie.sparse ?? false) { throw SeedError.data("\(name): sparse in one of the archive and the index, not in the other") }
            guard let want = ie.sha256 else { throw SeedError.data("\(name): the index gives no SHA-256 for it") }
            if a.digest != want {
                // Not left behind to pass for the file the index describes.
                let removed = TreeFiles.removeRegularFile(a.path)
                throw SeedError.data(
                    "\(name): content does not match the index (SHA-256 \(a.digest ?? "none"), expected \(want))\(removed ? "; removed" : "")",
                    code: "content-mismatch"
                ).concerning(path: a.path)
            }
        }
    }

    /// After the last index entry: nothing left but replaced copies.
    func checkEnd() throws {
        while let a = try next() { try checkSuperseded(a) }
    }

    private func checkSuperseded(_ a: Entry) throws {
        guard a.type == .file, let b = try peek(), b.type == .file, b.path == a.path else {
            throw SeedError.data("\(quoted(bytes: a.path)): in the archive at byte \(a.offset) but not in the index")
        }
    }
}
