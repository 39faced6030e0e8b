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

/// What `seed-snapshot DIR` is asked to do.
public struct SnapshotOptions {
    public var root: String
    public var excludes: [String] = []
    public var oneFileSystem = false
    public var recordSize = 4 << 20
    public var retries = 2
    public var output: String?
    /// Where to write a copy of the index as an index stream (seed-snapshot(1)).
    public var indexFile: String?
    public var force = false
    public var progress = false
    /// --resume: the journal directory; the run's own state is kept there too.
    public var resume: String?
    public var resumeBack: UInt64?
    /// --until or --max-duration: when to stop, resumable.
    public var deadline: Date?
    /// --repair: the report of seed-journal --check, and the seed's index.
    public var repairReport: String?
    public var repairIndex: String?
    /// --incremental: the base's index, and whether to compare content.
    public var incremental: String?
    public var checksum = false

    public init(root: String) { self.root = root }

    /// A record size as given on the command line ("4M", "65536"), checked.
    public static func recordSize(_ text: String) throws -> Int {
        let n = try ByteSize.parse(text)
        try checkRecordSize(n, as: text)
        return Int(n)
    }

    static func checkRecordSize(_ n: UInt64, as text: String) throws {
        if n < 4096 || n > 32 << 20 || n % 512 != 0 {
            throw SeedError.usage("record size \(text) must be a multiple of 512 from 4 KiB to 32 MiB")
        }
    }
}

/// seed-snapshot DIR: walks a tree in a stable order (bytewise by name,
/// depth first, a directory before its contents) and writes a seed stream:
/// a stream header, the tree as a POSIX pax archive cut into data records,
/// the index (one JSON line per entry) in index records, and an end record
/// with the totals.
///
/// A file that changes while read is written again, up to `retries` times
/// (a later copy of a name replaces an earlier one when a pax archive is
/// extracted); if it still changes, the last copy stays and the index flags
/// it. Files that vanish or cannot be read are skipped with a warning. Any
/// of these ends the run with status 2, "completed with warnings".
public final class SnapshotCreator {
    let o: SnapshotOptions
    let diag: Diagnostics
    let sink: ArchiveRecordSink
    let writer: RecordWriter
    /// Opened once the stream header is queued, so nothing comes before it.
    var archive: PaxWriter!
    let disk = DiskMetadataReader(findHoles: true)
    /// The same, but not looking for holes: for files with a block for
    /// every byte, which cannot have any (as tar judges sparseness), this
    /// saves six lseek calls per file.
    let denseDisk = DiskMetadataReader(findHoles: false)
    /// And not looking for ACLs or extended attributes either: for such
    /// files with none (three calls fewer per file).
    let plainDisk = DiskMetadataReader(findHoles: false, extendedAttributes: false)
    let resolver = HardLinkResolver()
    let entry = ArchiveEntry()
    let index: IndexSpool
    /// Index entries waiting, in order, for their file's digest.
    var pending = DigestQueue<PendingLine>()
    let hasher: HashLanes
    let progress: ProgressMeter
    var rootDev: UInt64 = 0
    var entries: UInt64 = 0
    var warnings: UInt64 = 0
    var fileBytes: UInt64 = 0
    /// With --resume: what a resumed run needs, kept beside the journals.
    var state: SnapshotState?
    /// A resumed run, while walking to the entry it goes on with: that
    /// entry's path, name by name, and the index lines of what was shipped.
    var resumeTarget: [[UInt8]]?
    var shipped: IndexLineReader?
    var shippedNext: IndexEntry?
    /// Archive bytes at the last push of the state to its files.
    var pushedAt: UInt64 = 0
    var syncedAt: UInt64 = 0
    /// The run was asked to stop (seed(7), STOPPING).
    var stopped = false
    /// With --repair: the entries the bundle brings.
    var repair: RepairSelection?
    /// With --incremental: what the increment ships, and the whole tree's
    /// index after it (the next increment's base).
    var increment: IncrementState?

    init(_ o: SnapshotOptions, writer: RecordWriter, diag: Diagnostics, index: IndexSpool? = nil) throws {
        self.o = o
        self.diag = diag
        self.writer = writer
        hasher = HashLanes()
        sink = ArchiveRecordSink(writer: writer, recordSize: o.recordSize, lanes: hasher)
        self.index = try index ?? IndexSpool()
        progress = ProgressMeter(enabled: o.progress, label: "seed-snapshot")
        ownFiles = [OwnFile(fd: writer.fd.rawValue), o.output.flatMap { $0 == "-" ? nil : OwnFile(path: $0) }].compactMap { $0 }
    }

    /// A regular file this run writes: its stream, its index stream, or
    /// the file -o replaces when the stream is whole.
    struct OwnFile: Equatable {
        let dev: UInt64
        let ino: UInt64

        init?(fd: Int32) {
            var st = stat()
            guard fstat(fd, &st) == 0 else { return nil }
            self.init(st)
        }

        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            self.init(st)
        }

        init?(_ st: stat) {
            guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            dev = UInt64(st.st_dev)
            ino = UInt64(st.st_ino)
        }
    }

    /// What this run writes, found in the tree it reads (a stream written
    /// into its own tree): never read into the stream, as tar leaves out
    /// its own archive.
    var ownFiles: [OwnFile] = []

    deinit {
        hasher.shutdown()
    }

    /// Runs a whole snapshot of `o.root` to standard output or `o.output`.
    public static func run(_ o: SnapshotOptions, diag: Diagnostics) throws -> SeedExit {
        try PaxLocale.inUTF8 { try runInLocale(o, diag: diag) }
    }

    private static func runInLocale(_ o: SnapshotOptions, diag: Diagnostics) throws -> SeedExit {
        var st = stat()
        if lstat(o.root, &st) != 0 {
            let e = errno
            throw SeedError(e == ENOENT ? .noInput : .ioError, "cannot read \(quoted(o.root)): \(errnoMessage(e))")
        }
        if (st.st_mode & S_IFMT) != S_IFDIR, stat(o.root, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
            throw SeedError(.noInput, "\(quoted(o.root)) is not a directory")
        }
        try SnapshotOptions.checkRecordSize(UInt64(max(o.recordSize, 0)), as: "\(o.recordSize)")
        // The first stage of its pipeline: a signal or the deadline stops it, resumable.
        GracefulStop.install(.first)
        if let d = o.deadline { GracefulStop.stop(at: d) }
        let output = try StreamOutput(path: o.output, force: o.force)
        let writer = RecordWriter(fd: output.fd, destination: output.name)
        let c: SnapshotCreator
        if let report = o.repairReport {
            if o.resume != nil { throw SeedError.usage("--repair makes a bundle in one go: leave out --resume") }
            let repair = try RepairSelection(report: report, index: o.repairIndex, diag: diag)
            c = try SnapshotCreator(o, writer: writer, diag: diag)
            c.repair = repair
            var m = StreamMetadata(stages: [.init(tool: "seed-snapshot", settings: ["recordSize": "\(o.recordSize)"])])
            m.repairOf = repair.session
            try c.snapshot(m.encoded())
            c.reportUnrepaired()
        } else if let base = o.incremental {
            if o.resume != nil { throw SeedError.usage("--incremental makes an increment in one go: leave out --resume") }
            let plan = try IncrementalPlan(base: base, root: o.root, excludes: o.excludes, oneFileSystem: o.oneFileSystem, checksum: o.checksum)
            c = try SnapshotCreator(o, writer: writer, diag: diag)
            c.increment = try IncrementState(plan)
            var m = StreamMetadata(stages: [.init(tool: "seed-snapshot", settings: ["recordSize": "\(o.recordSize)"])])
            m.incrementOf = plan.baseSession
            try c.snapshot(m.encoded())
        } else if let dir = o.resume {
            // A seed sent whole already is not sent again: a stop record
            // saying so goes down the pipeline alone, and every stage exits 0.
            if o.resumeBack == nil, let s = try SnapshotState.session(in: dir), try ResumePlanner.isComplete(dir, session: s) {
                // Complete, and for the tree and options it was made from alone.
                try checkSameRun(o, in: dir, session: s)
                diag.info(ResumePlanner.completeMessage(s, dir))
                try writer.write(kind: .stop, bytes: StopRecord.Complete(session: s).encoded())
                try writer.flush()
                try output.commit()
                return .success
            }
            c = try resuming(o, in: dir, writer: writer, diag: diag)
        } else {
            c = try SnapshotCreator(o, writer: writer, diag: diag)
            try c.snapshot(StreamMetadata(stages: [.init(tool: "seed-snapshot", settings: ["recordSize": "\(o.recordSize)"])]).encoded())
        }
        try writer.flush()
        EventLog.count("entries", Int64(c.entries))
        EventLog.count("warnings", Int64(c.warnings))
        EventLog.count("archive_bytes", Int64(c.sink.archiveBytes))
        if c.stopped {
            output.discard()
            return .resumable
        }
        try output.commit()
        return c.warnings > 0 ? .warnings : .success
    }

    /// The tree's path as the kept state records it: resolved.
    static func rootPath(_ o: SnapshotOptions) -> String {
        realpath(o.root, nil).map { p in
            defer { free(p) }; return String(cString: p)
        } ?? o.root
    }

    /// The state DIR keeps of `session`, which must be of the tree and
    /// options `o` gives: a run is never resumed, nor called complete, for
    /// another tree.
    @discardableResult
    static func checkSameRun(_ o: SnapshotOptions, in dir: String, session: String) throws -> SnapshotState.Info {
        let root = rootPath(o)
        let (kept, _) = try SnapshotState.read(dir, session, warningsBefore: 0)
        let info = SnapshotState.Info(
            session: session, root: root, recordSize: o.recordSize, excludes: o.excludes, oneFileSystem: o.oneFileSystem, header: kept.header)
        guard kept == info else {
            throw SeedError.usage(
                "\(quoted(dir)) keeps the run of session \(session), made from \(quoted(kept.root)) with other options",
                hint: "resume with the tree, --record-size, --exclude and --one-file-system of that run", code: "resume-other-run")
        }
        return kept
    }

    /// seed-snapshot --resume DIR: goes on with the run whose state DIR
    /// keeps, or starts one that keeps its state there.
    static func resuming(_ o: SnapshotOptions, in dir: String, writer: RecordWriter, diag: Diagnostics) throws -> SnapshotCreator {
        let root = rootPath(o)
        var info = SnapshotState.Info(
            session: "", root: root, recordSize: o.recordSize, excludes: o.excludes, oneFileSystem: o.oneFileSystem, header: "")
        guard let session = try SnapshotState.session(in: dir) else {
            let header = StreamMetadata(stages: [.init(tool: "seed-snapshot", settings: ["recordSize": "\(o.recordSize)"])])
            (info.session, info.header) = (header.session, Data(header.encoded()).base64EncodedString())
            let state = try SnapshotState(directory: dir, session: info.session, fresh: info)
            let c = try SnapshotCreator(o, writer: writer, diag: diag, index: IndexSpool(path: state.indexPath, keep: 0, lines: 0))
            c.state = state
            diag.info("starting session \(info.session), its state kept in \(quoted(dir))")
            try c.snapshot(header.encoded())
            return c
        }
        let kept = try checkSameRun(o, in: dir, session: session)
        (info.session, info.header) = (session, kept.header)
        // The creator's metadata readers tell whether the entry to go on in
        // can be made again as it was.
        let probe = try SnapshotCreator(o, writer: writer, diag: diag)
        guard let plan = try probe.planResume(dir, kept) else {
            diag.info("nothing of session \(session) can be kept: starting it again from the beginning")
            let state = try SnapshotState(directory: dir, session: session, fresh: kept)
            let c = try SnapshotCreator(o, writer: writer, diag: diag, index: IndexSpool(path: state.indexPath, keep: 0, lines: 0))
            c.state = state
            try c.snapshot(Array(Data(base64Encoded: kept.header) ?? Data()))
            return c
        }
        try SnapshotState.cut(dir, session, at: plan.entry.archiveOffset)
        let state = try SnapshotState(directory: dir, session: session, fresh: nil)
        let c = try SnapshotCreator(
            o, writer: writer, diag: diag, index: IndexSpool(path: state.indexPath, keep: plan.indexBytes, lines: plan.indexLines))
        c.state = state
        diag.info(
            "resuming session \(session) at \(plan.point.volume == 0 ? "" : "volume \(plan.point.volume) ")byte \(plan.point.offset) "
                + "(data record \(plan.point.dataRecord)), in \(plan.entry.displayPath)")
        try c.snapshot(plan.header, resume: plan, shippedIndex: state.indexPath)
        return c
    }

    /// The index stream's file, when asked for one.
    var indexOutput: StreamOutput?

    /// Writes the stream: `header` first, or for a resumed run the resume
    /// record, then the archive from the entry `resume` names on.
    func snapshot(_ header: [UInt8], resume: SnapshotResumePlan? = nil, shippedIndex: String? = nil) throws {
        streamHeader = header
        if EventLog.enabled { EventLog.session = try? StreamMetadata.decode(Data(header), record: "").session }
        if let i = o.indexFile, i != "-", let f = OwnFile(path: i) { ownFiles.append(f) }
        indexOutput = try o.indexFile.map { try StreamOutput(path: $0, force: false) }
        if let f = indexOutput.flatMap({ OwnFile(fd: $0.fd.rawValue) }) { ownFiles.append(f) }
        if let r = resume {
            try r.point.encoded().withUnsafeBytes { try sink.enqueue(kind: .resume, payload: $0, sequence: r.point.sequence) }
            sink.resume(at: r.entry.archiveOffset, records: r.point.dataRecord)
            entries = r.indexLines
            // The interrupted run said these before the entry it goes on with.
            warnings = UInt64(r.warnings.count)
            resumeTarget = r.entry.pathBytes == [0x2e] ? nil : r.entry.pathBytes.split(separator: 0x2f).map(Array.init)
            if let p = shippedIndex {
                shipped = try IndexLineReader(p, lines: r.indexLines)
                shippedNext = try shipped?.next()
            }
            pushedAt = r.entry.archiveOffset
            syncedAt = pushedAt
        } else {
            try streamHeader.withUnsafeBytes { try sink.enqueue(kind: .streamHeader, payload: $0) }
        }
        do {
            // No tar blocking: libarchive hands every byte straight to the sink.
            archive = try PaxWriter { [sink] in try sink.append($0) }
            let rootFD = open(o.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if rootFD < 0 { throw SeedError(.noInput, "cannot open \(quoted(o.root)): \(errnoMessage())") }
            defer { close(rootFD) }
            try syscall("cannot enter \(quoted(o.root))", status: .noInput) { fchdir(rootFD) }
            var st = stat()
            try syscall("cannot read \(quoted(o.root))", status: .noInput) { fstat(rootFD, &st) }
            rootDev = UInt64(st.st_dev)
            if resumeTarget != nil {
                try passShipped(name: Array(".".utf8), path: Array(".".utf8), st: st)
            } else if let inc = increment, !(try inc.ships([0x2e])) {
                try keep([0x2e], st, inc)
            } else if repair.map({ $0.chosen.contains([0x2e]) }) ?? true {
                try add(name: Array(".".utf8), path: Array(".".utf8), st: st)
            }
            try walk(prefix: [], dirFD: rootFD)
            if stopped { return try stopHere() }
            if resumeTarget != nil && sink.dropping {
                throw SeedError.io("\(quoted(bytes: Array(resumeTarget!.joined(separator: [0x2f])))), where the run goes on, is gone", hint: "resume again")
            }
            try compareShipped(upTo: nil)
            try archive.close("cannot finish the archive")
            try flushPending(all: true)
            try sink.flushPartial()
            let dataRecords = sink.dataRecords
            let indexRecords = try index.emit(recordSize: o.recordSize) { try sink.enqueue(kind: .index, payload: $0) }
            let changes = try increment?.emitChanges(recordSize: o.recordSize) { try sink.enqueue(kind: .changes, payload: $0) }
            // Before the end record: a stage reading the index stream may
            // look for it as soon as this stream ends.
            try writeIndexStream(indexRecords: indexRecords)
            var totals = StreamTotals(
                entries: entries, archiveBytes: sink.archiveBytes, dataRecords: dataRecords,
                indexRecords: indexRecords, warnings: warnings)
            totals.changes = changes
            try totals.encoded().withUnsafeBytes { try sink.enqueue(kind: .end, payload: $0) }
            try sink.finish()
            try state?.sync()
        } catch {
            sink.abort(error)
            throw archive?.failure ?? error
        }
        progress.finish(bytes: fileBytes, extra: "\(entries) entries")
        if warnings > 0 { diag.info("completed with \(warnings) warning\(warnings == 1 ? "" : "s")") }
    }

    private var streamHeader: [UInt8] = []

    /// Asked to stop: the record being filled is dropped (a resumed run
    /// makes it again), the state goes to the disk, and a stop record ends
    /// the stream.
    func stopHere() throws {
        sink.dropPartial()
        try flushPending(all: true)
        try index.push()
        try state?.sync()
        try sink.enqueue(kind: .stop, payload: UnsafeRawBufferPointer(start: nil, count: 0))
        try sink.finish()
        let how = state == nil ? "run without --resume, it starts over" : "resumable with --resume"
        diag.info("stopped on \(GracefulStop.reason) after \(entries) entries: \(how)")
    }

    /// Puts the state kept for a resumed run in its files every 16 MiB of
    /// archive, and on the disk every 1 GiB, and sees whether to stop.
    func checkpoint() throws {
        if GracefulStop.requested { stopped = true }
        guard let state else { return }
        if sink.archiveBytes - pushedAt >= 16 << 20 {
            try index.push()
            try state.push()
            pushedAt = sink.archiveBytes
        }
        if sink.archiveBytes - syncedAt >= 1 << 30 {
            try state.sync()
            syncedAt = sink.archiveBytes
        }
    }

    /// The index stream: this stream's header, its index records and an
    /// end record counting them (no data records), so a stage that sees
    /// the index only encrypted can still name files (seed-journal --index).
    func writeIndexStream(indexRecords: UInt64) throws {
        guard let out = indexOutput else { return }
        let w = RecordWriter(fd: out.fd, destination: out.name)
        try w.write(kind: .streamHeader, bytes: streamHeader)
        // An increment's index stream is the whole tree after it: the base
        // of the next increment.
        let spool = increment?.state ?? index
        let n = try spool.emit(recordSize: o.recordSize) { try w.write(kind: .index, bytes: Array($0)) }
        try w.write(kind: .end, bytes: StreamTotals(entries: spool.lines, indexRecords: n, warnings: warnings).encoded())
        try w.flush()
        try out.commit()
    }

    // MARK: walking

    /// Lists the current directory (we are chdir'ed into it) sorted bytewise.
    func sortedNames() throws -> [[UInt8]] {
        guard let names = TreeFiles.sortedNames([0x2e]) else { throw SeedError.io("cannot list directory: \(errnoMessage())") }
        return names
    }

    func walk(prefix: [UInt8], dirFD: Int32) throws {
        let names: [[UInt8]]
        do { names = try sortedNames() } catch let e as SeedError {
            warn("\(quoted(bytes: prefix.isEmpty ? [0x2e] : prefix)): \(e.message); its contents are skipped", path: prefix.isEmpty ? [0x2e] : prefix)
            return
        }
        for name in names {
            if stopped { return }
            let path = prefix.isEmpty ? name : prefix + [0x2f] + name
            if excluded(path: path, name: name) { continue }
            // A repair takes only its entries (the directories above them
            // among them), and enters only the directories on the way.
            var enter = true
            if let r = repair {
                guard r.chosen.contains(path) else { continue }
                enter = r.ancestors.contains(path)
            }
            var st = stat()
            let r = cName.with(name) { lstat($0, &st) }
            if r != 0 {
                let e = errno
                warn(
                    e == ENOENT
                        ? "\(quoted(bytes: path)): vanished before it was read; skipped" : "\(quoted(bytes: path)): cannot read: \(errnoMessage(e)); skipped",
                    path: path)
                continue
            }
            // A resumed run walks past what it shipped to the entry it goes on with.
            var shippedAll = false
            if let target = resumeTarget {
                let depth = prefix.isEmpty ? 0 : prefix.split(separator: 0x2f).count
                let mine = target[depth]
                if name.lexicographicallyPrecedes(mine) {
                    shippedAll = true
                    try passShipped(name: name, path: path, st: st)
                } else if name == mine && depth < target.count - 1 {
                    try passShipped(name: name, path: path, st: st)
                } else if name == mine {
                    resumeTarget = nil
                    try compareShipped(upTo: nil)
                    try add(name: name, path: path, st: st)
                } else {
                    // The entry to go on with is gone: fine if none of it is on the drives yet.
                    if sink.dropping {
                        throw SeedError.io("\(quoted(bytes: Array(target.joined(separator: [0x2f])))), where the run goes on, is gone", hint: "resume again")
                    }
                    resumeTarget = nil
                    try compareShipped(upTo: nil)
                    try add(name: name, path: path, st: st)
                }
            } else if let inc = increment, !(try inc.ships(path)) {
                // An increment keeps what did not change: the base's line says it.
                try keep(path, st, inc)
                try checkpoint()
            } else {
                try add(name: name, path: path, st: st)
                try checkpoint()
            }
            if shippedAll && (st.st_mode & S_IFMT) != S_IFDIR { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR && enter {
                try descend(name: name, path: path, prefix: prefix, dirFD: dirFD, shippedAll: shippedAll, st: st)
            }
        }
    }

    /// Walks the directory `name` (in the current one, `prefix`), and comes back.
    func descend(name: [UInt8], path: [UInt8], prefix: [UInt8], dirFD: Int32, shippedAll: Bool, st: stat) throws {
        if o.oneFileSystem && UInt64(st.st_dev) != rootDev { return }
        let fd = cString(name) { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 {
            warn("\(quoted(bytes: path)): cannot open directory: \(errnoMessage()); its contents are skipped", path: path)
            return
        }
        defer { close(fd) }
        try syscall("cannot enter \(quoted(bytes: path))") { fchdir(fd) }
        if shippedAll {
            try walkShipped(prefix: path, dirFD: fd)
        } else {
            try walk(prefix: path, dirFD: fd)
        }
        try syscall("cannot return to \(quoted(bytes: prefix.isEmpty ? [0x2e] : prefix))") { fchdir(dirFD) }
    }

    /// With --incremental: an entry kept from the base (or renamed from
    /// one of its entries) goes into the whole tree's index, in order.
    func keep(_ path: [UInt8], _ st: stat, _ inc: IncrementState) throws {
        guard var line = try inc.baseLine(path) else { return }
        line.setPath(path)
        line.ctime = Int64(st.st_ctim.tv_sec)
        line.ctimeNsec = Int32(st.st_ctim.tv_nsec)
        pending.append(PendingLine(entry: line, shipped: false), .none)
        try flushPending(all: pending.count > 4096)
    }

    /// With --repair: an entry the report names that the tree no longer has.
    func reportUnrepaired() {
        guard let r = repair else { return }
        for p in r.chosen.subtracting(r.seen).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            warn("\(quoted(bytes: p)): gone from the source, so the repair cannot bring it", path: p)
        }
    }

    /// A directory the interrupted run shipped whole (we are in it).
    func walkShipped(prefix: [UInt8], dirFD: Int32) throws {
        guard let names = try? sortedNames() else { return }
        for name in names {
            let path = prefix + [0x2f] + name
            if excluded(path: path, name: name) { continue }
            var st = stat()
            guard cString(name, { lstat($0, &st) }) == 0 else { continue }
            try passShipped(name: name, path: path, st: st)
            guard (st.st_mode & S_IFMT) == S_IFDIR, !(o.oneFileSystem && UInt64(st.st_dev) != rootDev) else { continue }
            let fd = cString(name) { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else { continue }
            defer { close(fd) }
            try syscall("cannot enter \(quoted(bytes: path))") { fchdir(fd) }
            try walkShipped(prefix: path, dirFD: fd)
            try syscall("cannot return to \(quoted(bytes: prefix))") { fchdir(dirFD) }
        }
    }

    func excluded(path: [UInt8], name: [UInt8]) -> Bool { SnapshotCreator.excluded(o.excludes, path: path, name: name) }

    static func excluded(_ excludes: [String], path: [UInt8], name: [UInt8]) -> Bool {
        for pattern in excludes {
            let subject = pattern.contains("/") ? path : name
            let p = pattern.hasPrefix("./") ? pattern.utf8.dropFirst(2) : pattern.utf8[...]
            if BytePattern.matches(Array(p), subject) { return true }
        }
        return false
    }

    func warn(_ m: SeedMessage, path: [UInt8]? = nil) {
        warnings += 1
        diag.warning(m, path: path)
        try? state?.warning(m.text, at: sink.archiveBytes)
    }

    // MARK: one entry

    /// The buffer the walk's names go to the kernel in.
    let cName = CNameBuffer()

    func add(name: [UInt8], path: [UInt8], st lst: stat) throws {
        let type = lst.st_mode & S_IFMT
        if type == S_IFSOCK {
            diag.verbose("\(quoted(bytes: path)): socket ignored")
            return
        }
        if type != S_IFREG {
            try addSpecial(name: name, path: path, st: lst)
            return
        }
        if !ownFiles.isEmpty, let f = OwnFile(lst), ownFiles.contains(f) {
            warn("\(quoted(bytes: path)): is the stream this run writes (or the file it replaces); not dumped", path: path)
            return
        }
        var attempt = 0
        var linked = false
        // A resumed run makes the first entry again through the copying
        // path: its first bytes are dropped, not taken in place.
        var copying = sink.dropping
        while true {
            var handle = cName.with(name) { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | CSeedSys_O_NOATIME) }
            if handle < 0 && errno == EPERM { handle = cName.with(name) { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) } }
            if handle < 0 {
                let e = errno
                warn(
                    e == ENOENT
                        ? "\(quoted(bytes: path)): vanished before it was read; skipped" : "\(quoted(bytes: path)): cannot open: \(errnoMessage(e)); skipped",
                    path: path)
                return
            }
            defer { close(handle) }
            var st = stat()
            guard fstat(handle, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                warn("\(quoted(bytes: path)): was replaced while read; skipped", path: path)
                return
            }
            if st.st_size >= 1 << 20 { posix_fadvise(handle, 0, 0, POSIX_FADV_SEQUENTIAL) }
            entry.clear()
            entry.path = path
            entry.setSourcePath(name)
            if let problem = metadataReader(handle, st).read(into: entry, fd: handle, stat: &st) {
                warn("\(quoted(bytes: path)): cannot read metadata: \(problem); skipped", path: path)
                return
            }
            entry.dropVolatileTimes()
            if attempt == 0 && (!copying || sink.dropping) && st.st_nlink > 1 { linked = resolver.resolve(entry) }
            var ie = makeIndexEntry(entry, path: path, st: st)
            let pos = sink.archiveBytes
            try writeHeader(path, at: pos)
            if linked {
                ie.type = .hardlink
                ie.size = 0
                try record(&ie, at: pos)
                return
            }
            let outcome = try copyContent(handle, entry: entry, size: UInt64(st.st_size), path: path, copying: copying)
            if let d = outcome.digest { ie.sha256 = d }
            if outcome.notInPlace {
                // Ends this copy of the entry well-formed; the next replaces it.
                try archive.finishEntry("\(quoted(bytes: path)): cannot finish entry")
                _ = hasher.digest(outcome.digestTicket, wait: true)  // superseded
                if simulateNotInPlace > 0 { simulateNotInPlace -= 1 }
                copying = true
                diag.verbose("\(quoted(bytes: path)): written again through the copying path")
                continue
            }
            try archive.finishEntry("\(quoted(bytes: path)): cannot finish entry")
            var after = stat()
            let changed =
                outcome.shortRead || fstat(handle, &after) != 0 || after.st_size != st.st_size
                || after.st_mtim.tv_sec != st.st_mtim.tv_sec || after.st_mtim.tv_nsec != st.st_mtim.tv_nsec
                || after.st_ctim.tv_sec != st.st_ctim.tv_sec || after.st_ctim.tv_nsec != st.st_ctim.tv_nsec
            if let err = outcome.readError {
                ie.incomplete = true
                warn("\(quoted(bytes: path)): read error: \(err); kept up to there, the rest is zeros", path: path)
                try record(&ie, at: pos, digest: outcome.digestTicket)
                return
            }
            if changed && attempt < o.retries {
                _ = hasher.digest(outcome.digestTicket, wait: true)  // superseded
                attempt += 1
                diag.verbose("\(quoted(bytes: path)): changed while read; trying again (\(attempt) of \(o.retries))")
                continue
            }
            if changed {
                ie.changed = true
                warn("\(quoted(bytes: path)): file changed as we read it; kept as read and flagged in the index", path: path)
            }
            try record(&ie, at: pos, digest: outcome.digestTicket)
            return
        }
    }

    /// The metadata reader for the open regular file `fd`: holes are
    /// looked for only where there are fewer blocks than bytes (as tar
    /// judges sparseness), ACLs and extended attributes only where the
    /// file's list of extended attributes is not empty.
    func metadataReader(_ fd: Int32, _ st: stat) -> DiskMetadataReader {
        if Int64(st.st_blocks) * 512 < Int64(st.st_size) { return disk }
        return flistxattr(fd, nil, 0) == 0 ? plainDisk : denseDisk
    }

    func addSpecial(name: [UInt8], path: [UInt8], st lst: stat) throws {
        var st = lst
        entry.clear()
        entry.path = path
        entry.setSourcePath(name)
        if let msg = disk.read(into: entry, fd: -1, stat: &st) {
            warn(
                msg.contains("No such file")
                    ? "\(quoted(bytes: path)): vanished before it was read; skipped" : "\(quoted(bytes: path)): cannot read: \(msg); skipped",
                path: path)
            return
        }
        entry.dropVolatileTimes()
        let linked = (st.st_mode & S_IFMT) != S_IFDIR && st.st_nlink > 1 && resolver.resolve(entry)
        var ie = makeIndexEntry(entry, path: path, st: st)
        if linked { ie.type = .hardlink }
        let pos = sink.archiveBytes
        try writeHeader(path, at: pos)
        try archive.finishEntry("\(quoted(bytes: path)): cannot finish entry")
        try record(&ie, at: pos)
    }

    /// Writes the entry's headers; with --resume, notes where they start
    /// and what they hash to.
    func writeHeader(_ path: [UInt8], at pos: UInt64) throws {
        if state != nil { sink.tap = SHA256() }
        try archive.writeHeader(entry, "\(quoted(bytes: path)): cannot write header")
        if let t = sink.tap {
            sink.tap = nil
            try state?.entry(at: pos, headers: t.finalize())
        }
    }

    /// Queues an index entry; a file's entry waits for its digest (`digest`
    /// is its hasher ticket), and entries are written in archive order.
    func record(_ ie: inout IndexEntry, at pos: UInt64, digest: HashLanes.Ticket = .none) throws {
        ie.archiveOffset = pos
        ie.record = pos / UInt64(o.recordSize)
        ie.offset = pos % UInt64(o.recordSize)
        pending.append(PendingLine(entry: ie, shipped: true), digest)
        entries += 1
        try flushPending(all: pending.count > 4096)
        progress.update(bytes: fileBytes, extra: "\(entries) entries")
    }

    func flushPending(all: Bool) throws {
        try pending.drain(hasher, all: all) { line, digest in
            var ie = line.entry
            if let digest { ie.sha256 = digest }
            try increment?.state.append(ie)
            guard line.shipped else { return }
            if repair != nil {
                repair!.seen.insert(ie.pathBytes)
                if let why = repair!.differs(ie) {
                    warn("\(ie.displayPath): changed since the seed (\(why)); the repair brings it as it is now", path: ie.pathBytes)
                }
            }
            try index.append(ie)
        }
    }

    func makeIndexEntry(_ e: ArchiveEntry, path: [UInt8], st: stat) -> IndexEntry {
        let t = EntryType(mode: UInt32(st.st_mode)) ?? EntryType(rawValue: "other")
        var ie = IndexEntry(pathBytes: path, type: t)
        ie.size = t == .file ? UInt64(st.st_size) : 0
        ie.mode = UInt32(st.st_mode & 0o7777)
        ie.uid = st.st_uid
        ie.gid = st.st_gid
        ie.user = e.userName
        ie.group = e.groupName
        ie.mtime = Int64(st.st_mtim.tv_sec)
        ie.mtimeNsec = Int32(st.st_mtim.tv_nsec)
        ie.ctime = Int64(st.st_ctim.tv_sec)
        ie.ctimeNsec = Int32(st.st_ctim.tv_nsec)
        if let l = e.symlink { ie.setLink(l) }
        if let h = e.hardlink { ie.setLink(h) }
        if t == .char || t == .block {
            (ie.devMajor, ie.devMinor) = deviceNumbers(st.st_rdev)
        }
        let xs = e.xattrs.map { IndexEntry.Xattr(nameBytes: $0.name, value: $0.value) }
        if !xs.isEmpty { ie.xattrs = xs }
        if e.isSparse { ie.sparse = true }
        return ie
    }

    struct ContentOutcome {
        var digestTicket = HashLanes.Ticket.none
        /// The digest itself, for a file hashed on the reading thread.
        var digest: String?
        var shortRead = false
        var readError: String?
        /// libarchive did not take the bytes where they lay: what was hashed
        /// may not be what went into the archive, so the file is written
        /// again through the copying path.
        var notInPlace = false
    }

    /// Feeds the file's whole logical content to libarchive (which skips the
    /// holes of a sparse entry itself) and hashes it: all of it for a dense
    /// file, only the data regions for a sparse one (seed-stream(5)), so
    /// holes cost neither reads nor hashing. A file that ends early is
    /// padded with zeros so the archive stays well-formed; the caller flags
    /// it.
    ///
    /// Two ways in: a dense file is read straight into the record being
    /// filled (see `ArchiveRecordSink.freeSpace`) and hashed there; a sparse
    /// one, or any file when `copying` is set, is read into a buffer of its
    /// own that libarchive copies from, and hashed there before the buffer
    /// is reused. The second needs nothing of libarchive but to copy.
    ///
    /// A small dense file is hashed here, on the reading thread: handing it
    /// to a lane (a queue, a lock, a wake-up now and then) costs more than
    /// hashing it.
    func copyContent(_ fd: Int32, entry e: ArchiveEntry, size: UInt64, path: [UInt8], copying: Bool) throws -> ContentOutcome {
        var out = ContentOutcome()
        if size <= HashLanes.hashedInline && e.dataRegions.isEmpty {
            inlineHash = SHA256()
            try copyRegions(fd, entry: e, size: size, path: path, lane: nil, copying: copying, &out)
            out.digest = inlineHash.finalize().withUnsafeBytes { Hex.encode($0) }
            return out
        }
        let lane = hasher.begin()
        do {
            try copyRegions(fd, entry: e, size: size, path: path, lane: lane, copying: copying, &out)
        } catch {
            hasher.wait(for: hasher.finish(lane: lane))  // leaves the lane ready for the next file
            throw error
        }
        out.digestTicket = hasher.finish(lane: lane)
        return out
    }

    private var inlineHash = SHA256()

    /// The copying path's buffer, and the hash ticket it waits for.
    private lazy var copyBuffer = ByteBuffer(capacity: 1 << 20)
    private var copyTicket = HashLanes.Ticket.none
    /// For tests: how many of the next dense files take the in-place path
    /// and are then treated as if libarchive had not taken them in place.
    var simulateNotInPlace = 0

    private func copyRegions(
        _ fd: Int32, entry e: ArchiveEntry, size: UInt64, path: [UInt8], lane: Int?, copying: Bool, _ out: inout ContentOutcome
    ) throws {
        /// Hashes `n` bytes at `p` on the file's lane, or here (no lane:
        /// the ticket is .none, and the memory is free again at once).
        func hash(_ p: UnsafeRawPointer, _ n: Int) -> HashLanes.Ticket {
            guard let lane else {
                inlineHash.update(bufferPointer: UnsafeRawBufferPointer(start: p, count: n))
                return .none
            }
            return hasher.update(lane: lane, p, n)
        }
        var regions = e.dataRegions.map { ($0.offset, $0.length) }
        let sparse = !regions.isEmpty
        if !sparse { regions = [(0, size)] }
        let inPlace = !sparse && !copying
        var pos: UInt64 = 0
        /// Hands bytes to libarchive; it stops at the size in the header.
        func feed(_ b: UnsafeRawBufferPointer) throws {
            try archive.writeData(b, "\(quoted(bytes: path)): cannot write data")
            pos += UInt64(b.count)
            fileBytes += UInt64(b.count)
        }
        /// Zeros for libarchive: in a hole it skips them, and a dense file's
        /// digest covers them; in a data region (a file that ended early)
        /// they are stored, and hashed.
        func zeros(to target: UInt64, hashed: Bool) throws {
            while pos < target {
                let chunk = UnsafeRawBufferPointer(start: HashLanes.zeros, count: Int(min(target - pos, UInt64(HashLanes.zeroCount))))
                if hashed { _ = hash(chunk.baseAddress!, chunk.count) }
                try feed(chunk)
            }
        }
        for (off, len) in regions where off < size {
            try zeros(to: max(off, pos), hashed: !sparse)
            let stop = min(off + len, size)
            while pos < stop {
                if out.shortRead {
                    try zeros(to: stop, hashed: true)
                    break
                }
                let space: UnsafeMutableRawBufferPointer
                if inPlace {
                    space = try sink.freeSpace()
                } else {
                    hasher.wait(for: copyTicket)
                    space = UnsafeMutableRawBufferPointer(start: copyBuffer.base, count: copyBuffer.capacity)
                }
                let want = Int(min(stop - pos, UInt64(min(space.count, 1 << 20))))
                let n = pread(fd, space.baseAddress!, want, off_t(pos))
                if n < 0 {
                    if errno == EINTR { continue }
                    out.readError = errnoMessage().description
                    out.shortRead = true
                    continue
                }
                if n == 0 {
                    out.shortRead = true
                    continue
                }
                let ticket = hash(space.baseAddress!, n)
                if !inPlace {
                    copyTicket = ticket
                    try feed(UnsafeRawBufferPointer(start: space.baseAddress!, count: n))
                    continue
                }
                // Hashed where it lies: the record waits for the hash before
                // its memory is reused.
                if ticket != .none { sink.fence(ticket) }
                let before = sink.inPlaceBytes
                try feed(UnsafeRawBufferPointer(start: space.baseAddress!, count: n))
                if sink.inPlaceBytes - before != UInt64(n) || simulateNotInPlace > 0 {
                    out.notInPlace = true
                    return  // the caller writes the file again, copying
                }
            }
        }
        try zeros(to: size, hashed: !sparse)
    }

}
