import CSeedSys
import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What seed-writeblk is asked to do.
public struct WriteOptions {
    public var targets: [String] = []
    public var decode = false
    public var partial = false
    public var verify = false
    public var format = false
    public var yes = false
    public var nextDrive: String?
    /// --rebuild: the drive to write a set's missing member to, and which
    /// member (1-based) when more than one is missing.
    public var rebuild: String?
    public var member: Int?
    public var scrub = false
    /// --session-of: only each target's label, a line each.
    public var sessionOf = false
    /// With `scrub`: the journals every record is held to as well.
    public var journalDir: String?
    public var checkpoint: UInt64 = 1 << 30
    /// --plan: each volume's bytes on its drive, as seed-split --plan says.
    public var plan: [UInt32: UInt64]?
    public var io = StreamIO()
    /// The reads `-d` makes (pread(2) when nil): a test's stands in for a
    /// drive with sectors that cannot be read.
    var testPread: SectorReads.Pread?
    public init() {}
}

/// seed-writeblk: writes volume N of a split stream to the N-th target,
/// after a label, in large aligned writes, synced at checkpoints, and
/// (with --verify) reads each one back.
public enum BlockWriter {
    public static func run(_ o: WriteOptions, diag: Diagnostics) throws -> SeedExit {
        if o.sessionOf { return try BlockReader.printLabels(o.targets) }
        if o.decode { return try BlockReader.run(o, diag: diag) }
        if o.scrub { return try SetTools.scrub(o, diag: diag) }
        if o.rebuild != nil { return try SetTools.rebuild(o, diag: diag) }
        let runner = try StageRunner(o.io, threads: 1, label: "seed-writeblk")
        runner.reportsVolumes = true
        try FirstStageResume.install(on: runner, o.io, diag: diag)
        let stage = DriveStage(o: o, diag: diag)
        runner.progressNote = { [unowned stage] bytes, seconds in stage.position(rate: Double(bytes) / seconds) }
        let status = try runner.run(stage, output: stage)
        if let session = runner.completeSession { try holdsNoUnfinishedVolume(o.targets, of: session) }
        return status
    }

    /// A session whose journals are whole may still have a drive that was
    /// not: seed-journal writes a volume's end before seed-writeblk has
    /// written and labelled it, so a writer killed in between leaves whole
    /// journals and a drive still "writing", or one it never reached
    /// (blank: the volumes after the last one written are then only as
    /// long as the pipe held). That is said, never passed off as complete
    /// (seed-journal(5), RESUMING): a complete session is one whose last
    /// volume a drive given holds, complete. Nor is a complete session
    /// given drives of other seeds: nothing is written there.
    static func holdsNoUnfinishedVolume(_ targets: [String], of session: String) throws {
        let labels = targets.map { (t: $0, label: try? Target.readLabel($0)) }
        let resend = "run the same pipeline with --resume-back 2G on its first stage: the stream's tail goes again and the drive is finished"
        for (t, label) in labels {
            guard let l = label, l.session == session, !l.complete else { continue }
            throw SeedError.io(
                "\(quoted(t)) holds volume \(l.volume) of session \(session), whose writing never finished: "
                    + "the journals are whole, the drive is not",
                hint: resend, code: "drive-unfinished")
        }
        if targets.isEmpty || labels.contains(where: { $0.label.map { $0.session == session && $0.lastVolume } ?? false }) { return }
        // Where the killed writer went next: the first drive that holds no
        // volume of the session (it would have refused one of another seed).
        if let blank = labels.first(where: { $0.label?.session != session }), blank.label == nil {
            throw SeedError.io(
                "session \(session) is complete in its journals, but no drive given holds its last volume, "
                    + "and \(quoted(blank.t)) holds no seed volume: if the writer was killed before it wrote there, the journals are whole and the drives are not",
                hint: resend + " (name the drive of the volume before it too); a new copy of a seed needs journals of its own",
                code: "drive-unfinished")
        }
        let names = targets.map { quoted($0) }.joined(separator: ", ")
        throw SeedError.usage(
            "session \(session) is complete, but none of the drives given holds its last volume: nothing was written to \(names)",
            hint: "seed-writeblk --session-of names what each drive holds; a new copy of a seed needs journals of its own",
            code: "complete-other-drives")
    }
}

/// A volume's drive, opened on the reading thread and written on the
/// writing thread.
final class DriveJob {
    let target: Target
    let begin: VolumeBegin
    var label: VolumeLabel
    var sink: ChunkSink?
    var encrypted = false
    /// A resumed volume: where in its stream this run's writes start (a
    /// multiple of the alignment), and the bytes from there to the resume
    /// point, read back from the drive to fill the first chunk.
    var base: UInt64 = 0
    var prefix: [UInt8] = []

    init(target: Target, begin: VolumeBegin) {
        self.target = target
        self.begin = begin
        label = VolumeLabel(session: begin.session, volume: begin.volume, capacity: begin.capacity, streamOffset: VolumeBudget.standard.label)
    }

    /// The volume's stream bytes so far.
    var bytes: UInt64 { base + (sink?.bytes ?? 0) }
}

/// seed-writeblk as a stage and the output it writes to: each volume
/// begin finds the next drive (once the volume before it is written,
/// synced and verified), and the volume's records go onto that drive.
final class DriveStage: RecordStage, RecordOutput {
    let o: WriteOptions
    let diag: Diagnostics
    /// Drives named and not yet used (reading thread).
    var targets: [String]
    /// The drive being written (writing thread).
    var drive: DriveJob?
    /// Or the set of drives being written at once (writing thread).
    var setJob: SetJob?

    init(o: WriteOptions, diag: Diagnostics) {
        self.o = o
        self.diag = diag
        targets = o.targets
    }

    func streamHeader(_ r: Record, _ meta: StreamMetadata, _ run: StageRunner) throws {
        if run.volumed { return try record(r, at: run.locate(r), run) }
        throw SeedError.data("\(run.locate(r)): the stream is not split into volumes", hint: "run seed-split before seed-writeblk")
    }

    func record(_ r: Record, at loc: String, _ run: StageRunner) throws {
        guard r.header.kind == .volumeBegin else {
            try run.pass(r)
            return
        }
        let begin = try VolumeBegin.decode(r.payload, record: loc)
        try run.drain()
        if let set = begin.set { return try openSet(r, begin, set, run) }
        guard let path = try nextTarget(begin) else {
            diag.info(
                "volume \(begin.volume) needs a drive of at least \(begin.capacity) bytes; "
                    + "go on later with seed-split --first-volume \(begin.volume) and the next drive")
            return run.stop(.nextDrive)
        }
        try run.pass(r, context: DriveJob(target: try Target.openForWriting(path, begin: begin, o, diag: diag), begin: begin))
    }

    /// A set's volume goes to the next K+M drives at once: the data
    /// members first, then the parity members.
    func openSet(_ r: Record, _ begin: VolumeBegin, _ set: SetGeometry, _ run: StageRunner) throws {
        var paths: [String] = []
        while paths.count < set.members {
            guard let path = try nextTarget(begin) else {
                diag.info(
                    "volume \(begin.volume) is a set of \(set.data)+\(set.parity) drives of at least \(begin.capacity) bytes each, "
                        + "and \(paths.count) \(paths.count == 1 ? "is" : "are") given; "
                        + "go on later with seed-split --first-volume \(begin.volume) and the set's drives")
                return run.stop(.nextDrive)
            }
            paths.append(path)
        }
        try Target.refuseTwice(paths)
        let members = try paths.map { DriveJob(target: try Target.openForWriting($0, begin: begin, o, diag: diag), begin: begin) }
        try run.pass(r, context: try SetJob(begin: begin, set: set, members: members))
    }

    /// A resumed run goes on on the drive that holds the volume the resume
    /// record names (drives named before it that hold earlier volumes of
    /// the session are passed over), just after the record the resume
    /// record says is there, which is read back and must be it.
    func resume(_ r: Record, _ point: ResumePoint, _ run: StageRunner) throws {
        let loc = run.locate(r)
        guard run.startsResumed else {
            try run.pass(r)
            return
        }
        guard run.volumed, r.header.volume == point.volume else {
            throw SeedError.data("\(loc): the stream is not split into volumes", hint: "run seed-split before seed-writeblk")
        }
        var found: (String, VolumeLabel)?
        while found == nil, !targets.isEmpty {
            let t = targets.removeFirst()
            let label = try Target.readLabel(t)
            if let l = label, l.set != nil, l.session == point.session, l.volume == point.volume {
                targets.insert(t, at: 0)
                return try resumeSet(r, point, l.set!, run)
            }
            if let l = label, l.session == point.session, l.volume < point.volume {
                diag.verbose("\(quoted(t)) holds volume \(l.volume) of this session: passed over")
                continue
            }
            guard let l = label, l.session == point.session, l.volume == point.volume else {
                throw SeedError.io(
                    "\(quoted(t)) does not hold volume \(point.volume) of session \(point.session), where the run goes on",
                    hint: "name the drives from the one that holds volume \(point.volume)")
            }
            found = (t, l)
        }
        guard let (path, label) = found else {
            throw SeedError.io("no drive named holds volume \(point.volume) of session \(point.session), where the run goes on")
        }
        let begin = VolumeBegin(
            session: point.session, volume: point.volume, capacity: label.capacity, firstRecord: 0, budget: .standard, stages: point.stages)
        let d = DriveJob(target: try Target.openForWriting(path, begin: begin, o, diag: diag, resuming: true), begin: begin)
        d.label = label
        d.label.complete = false
        d.label.lastVolume = false
        try checkResumePoint(d, point, loc)
        run.continueNumbering(at: r.header.sequence)
        try run.pass(r, context: d)
    }

    /// A set's volume goes on on its K+M members, the next targets named
    /// (in any order): each data member from its length at the point, the
    /// parity members from the first stripe whose parity must be coded again.
    func resumeSet(_ r: Record, _ point: ResumePoint, _ set: SetGeometry, _ run: StageRunner) throws {
        let loc = run.locate(r)
        guard let lengths = point.memberBytes, lengths.count == set.data, let previous = point.memberPrevious else {
            throw SeedError.data("\(loc): the run goes on in a drive set's volume, and the resume record does not say where on its members")
        }
        guard targets.count >= set.members else {
            throw SeedError.io(
                "volume \(point.volume) goes on on its set of \(set.data)+\(set.parity) drives, and \(targets.count) \(targets.count == 1 ? "is" : "are") named",
                hint: "name every member of the set")
        }
        let paths = Array(targets.prefix(set.members))
        targets.removeFirst(set.members)
        try Target.refuseTwice(paths)
        var byMember: [Int: (String, VolumeLabel)] = [:]
        for p in paths {
            guard let l = try Target.readLabel(p), l.session == point.session, l.volume == point.volume, l.set == set,
                (1...set.members).contains(l.member), byMember[l.member] == nil
            else {
                throw SeedError.io(
                    "\(quoted(p)) is not a member of volume \(point.volume)'s \(set.data)+\(set.parity) set of session \(point.session), where the run goes on",
                    hint: "name the set's \(set.members) drives, each once")
            }
            byMember[l.member] = (p, l)
        }
        let begin = VolumeBegin(
            session: point.session, volume: point.volume, capacity: byMember[1]!.1.capacity, firstRecord: 0, budget: .standard,
            stages: point.stages, set: set)
        let members = try (1...set.members).map { m -> DriveJob in
            let (path, label) = byMember[m]!
            let d = DriveJob(target: try Target.openForWriting(path, begin: begin, o, diag: diag, resuming: true), begin: begin)
            d.label = label
            d.label.complete = false
            d.label.lastVolume = false
            return d
        }
        let job = try SetJob(begin: begin, set: set, members: members)
        try job.resume(at: lengths, previous: previous, volume: point.volume)
        run.continueNumbering(at: r.header.sequence)
        try run.pass(r, context: job)
    }

    /// The drive must hold the record before the resume point, whole and
    /// with the digest the journal has; the bytes from the last aligned
    /// offset to the point are read back to fill the first chunk written.
    func checkResumePoint(_ d: DriveJob, _ point: ResumePoint, _ loc: String) throws {
        let fd = open(d.target.path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SeedError.io("cannot open \(d.target.name) to read it: \(errnoMessage())") }
        defer { close(fd) }
        let short = SeedError.io(
            "\(d.target.name) does not hold volume \(point.volume) up to byte \(point.offset), where the run goes on "
                + "(the drive lost writes the journal names)",
            hint: "see RESUMING in seed(7)", code: "drive-lost-writes")
        let framer = RecordFramer(fd: FileDescriptor(rawValue: fd), source: d.target.name)
        let prev: Record
        do { prev = try framer.record(at: d.label.drive(point.previousOffset)) } catch { throw short }
        var sha = SHA256()
        prev.header.encodedBytes { sha.update(bufferPointer: $0) }
        sha.update(bufferPointer: prev.payload)
        guard Hex.encode(Array(sha.finalize())) == point.previousSHA256,
            point.previousOffset + UInt64(RecordHeader.size) + prev.header.payloadLength == point.offset
        else { throw short }
        d.base = point.offset & ~UInt64(ChunkSink.alignment - 1)
        d.prefix = [UInt8](repeating: 0, count: Int(point.offset - d.base))
        let n = try d.prefix.withUnsafeMutableBytes {
            try StreamFiles.preadFully(FileDescriptor(rawValue: fd), $0, at: d.label.drive(d.base), source: d.target.name)
        }
        if n != d.prefix.count { throw short }
    }

    func finish(_ run: StageRunner) throws {
        if run.stoppedResumable {
            // Stopped: what is written goes to the disk, the label says how much.
            if let job = setJob {
                setJob = nil
                // The coder's last stripes go to the parity members first.
                try job.parity?.stop()
                for m in job.members { try pause(m) }
                diag.info("volume \(job.begin.volume): stopped on its set of \(job.members.count) drives, synced")
                return
            }
            guard let d = drive, d.sink != nil else { return }
            drive = nil
            try pause(d)
            diag.info("volume \(d.begin.volume): stopped after byte \(d.bytes) of its stream on \(d.target.name), synced")
            return
        }
        if !targets.isEmpty { diag.info("not needed, nothing written: \(targets.map { quoted($0) }.joined(separator: ", "))") }
    }

    /// A drive a stopped run leaves: what is written synced, and its label
    /// (still `writing`) saying how much.
    private func pause(_ d: DriveJob) throws {
        guard let sink = d.sink else { return }
        _ = try sink.finish()
        d.label.streamBytes = d.bytes
        try writeLabel(d.label, d.target)
        try d.target.sync()
    }

    func put(_ header: RecordHeader, _ payload: UnsafeRawBufferPointer, _ slot: PipelineSlot) throws {
        // The stop record never reaches a drive.
        if header.kind == .stop { return }
        if let job = slot.context as? SetJob {
            let now = ISO8601DateFormatter().string(from: Date())
            for m in job.members {
                m.label.written = now
                m.label.readBack = recipe(job.begin.stages ?? [], encrypted: false)
                try writeLabel(m.label, m.target)
            }
            try job.start(checkpoint: o.checkpoint, verify: o.verify)
            setJob = job
        }
        if let job = setJob {
            try job.put(header, payload)
            if header.kind == .key { job.encrypted = true }
            if header.kind == .end { job.members.forEach { $0.label.lastVolume = true } }
            if header.kind == .volumeEnd {
                setJob = nil
                try job.finishParity()
                for m in job.members { m.encrypted = job.encrypted }
                for m in job.members { try complete(m, m.sink!) }
            }
            return
        }
        if let d = slot.context as? DriveJob {
            d.label.written = ISO8601DateFormatter().string(from: Date())
            if d.base == 0 && d.prefix.isEmpty { d.label.readBack = recipe(d.begin.stages ?? [], encrypted: false) }
            // A drive stopped mid-write says so: the label goes first, marked unfinished.
            try writeLabel(d.label, d.target)
            let sink = ChunkSink(target: d.target, at: d.label.drive(d.base), checkpoint: o.checkpoint, checksums: o.verify)
            try d.prefix.withUnsafeBytes { try sink.append($0) }
            d.sink = sink
            drive = d
        }
        guard let d = drive, let sink = d.sink else { preconditionFailure("a record outside a volume") }
        try header.encodedBytes { try sink.append($0) }
        try sink.append(payload)
        if header.kind == .key { d.encrypted = true }
        if header.kind == .end { d.label.lastVolume = true }
        if header.kind == .volumeEnd {
            drive = nil
            try complete(d, sink)
        }
    }

    /// Where the whole seed stands, for the progress line: the volume,
    /// its drive and its bytes; with --plan, of how many volumes, the
    /// seed's bytes, and the time left at `rate` bytes a second.
    func position(rate: Double) -> String {
        let begin: VolumeBegin
        let bytes: UInt64
        let drives: String
        if let job = setJob {
            begin = job.begin
            bytes = job.members.prefix(Int(job.set.data)).reduce(0) { $0 + $1.bytes }
            drives = "a set of \(job.members.count) drives"
        } else if let d = drive {
            (begin, bytes, drives) = (d.begin, d.bytes, d.target.name)
        } else {
            return ""
        }
        func eta(_ left: UInt64) -> String { rate > 0 ? ", ETA \(formatDuration(Double(left) / rate))" : "" }
        guard let plan = o.plan, let last = plan.keys.max() else {
            let left = begin.capacity > bytes ? begin.capacity - bytes : 0
            return "volume \(begin.volume) on \(drives): \(formatBytes(bytes)) of at most \(formatBytes(begin.capacity))\(eta(left)) for the volume"
        }
        var total: UInt64 = 0
        var before: UInt64 = 0
        for (v, n) in plan {
            total = total.addingReportingOverflow(n).partialValue
            if v < begin.volume { before = before.addingReportingOverflow(n).partialValue }
        }
        let done: UInt64 = min(before.addingReportingOverflow(bytes).partialValue, total)
        let percent = total > 0 ? Int(Double(done) / Double(total) * 100) : 100
        let seed = "the seed: \(formatBytes(done)) of \(formatBytes(total)) (\(percent)%)\(eta(total - done))"
        return "volume \(begin.volume) of \(last) on \(drives): \(formatBytes(bytes)); " + seed
    }

    func flush() throws {}
    func commit() throws {}
    func abandon(_ error: Error) {
        drive?.sink?.abort(error)
        setJob?.members.forEach { $0.sink?.abort(error) }
        setJob?.parity?.abort(error)
    }

    /// Ends a volume's drive: the rest written and synced, the label
    /// marked complete, and with --verify everything read back.
    func complete(_ d: DriveJob, _ sink: ChunkSink) throws {
        let digest = try sink.finish()
        if d.label.drive(d.bytes) + UInt64(ChunkSink.alignment) > d.begin.capacity + VolumeBudget.standard.tail {
            diag.warning("volume \(d.begin.volume) takes \(d.label.drive(d.bytes)) bytes, more than the \(d.begin.capacity) planned")
        }
        d.label.complete = true
        d.label.streamBytes = d.bytes
        if d.base > 0 {
            d.label.streamSHA256 = "none (resumed: the journal has every record's digest)"
        } else {
            d.label.streamSHA256 = digest.map { Hex.encode($0) } ?? "none (written without --verify)"
        }
        d.label.readBack = recipe(d.begin.stages ?? [], encrypted: d.encrypted)
        try writeLabel(d.label, d.target)
        try d.target.sync()
        if o.verify { try verify(d.target, d.label, from: d.base, chunks: sink.chunkCRCs) }
        var done: [(String, EventValue)] = [
            ("drive", .bytes(Array(d.target.path.utf8))), ("volume", .int(Int64(d.begin.volume))), ("stream_bytes", .int(Int64(d.bytes))),
        ]
        if d.label.set != nil { done.append(("member", .int(Int64(d.label.member)))) }
        done.append(("verified", .bool(o.verify)))
        EventLog.emit("drive-done", done)
        EventLog.count("drives_done", 1)
        diag.verbose("volume \(d.begin.volume): \(sink.bytes) bytes to \(d.target.name)\(o.verify ? ", read back and verified" : "")")
    }

    /// The drive for `begin`: the next one named, else one a --next-drive
    /// command or a person on the terminal gives, else nil.
    func nextTarget(_ begin: VolumeBegin) throws -> String? {
        if !targets.isEmpty { return targets.removeFirst() }
        if let cmd = o.nextDrive {
            let p = Foundation.Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", cmd]
            var env = ProcessInfo.processInfo.environment
            env["SEED_SESSION"] = begin.session
            env["SEED_VOLUME"] = String(begin.volume)
            env["SEED_CAPACITY"] = String(begin.capacity)
            p.environment = env
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardInput = FileHandle.nullDevice
            do { try p.run() } catch { throw SeedError(.failure, "cannot run --next-drive command: \(error)") }
            let out = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { return nil }
            let line = String(decoding: out, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            let path = line.trimmingCharacters(in: .whitespaces)
            return path.isEmpty ? nil : path
        }
        guard Terminal.isTerminal(2),
            let path = Terminal.ask("seed-writeblk: volume \(begin.volume) needs a drive of at least \(begin.capacity) bytes: its path (empty to stop): ")
        else { return nil }
        return path.isEmpty ? nil : path
    }

    func writeLabel(_ l: VolumeLabel, _ t: Target) throws {
        let buf = ByteBuffer(capacity: VolumeLabel.size)
        buf.set(l.encoded())
        try t.pwriteAll(buf.base, VolumeLabel.size, at: 0)
    }

    /// Reads the volume back from the drive, past the page cache, and
    /// compares every chunk's CRC-32 (to say where) and the whole stream's
    /// SHA-256 with what was written.
    func verify(_ t: Target, _ l: VolumeLabel, from base: UInt64, chunks: [UInt32]) throws {
        let flags = O_RDONLY | O_CLOEXEC | (t.direct ? CSeedSys_O_DIRECT : 0)
        let fd = open(t.path, flags)
        if fd < 0 { throw SeedError.io("cannot open \(t.name) to verify: \(errnoMessage())") }
        defer { close(fd) }
        if !t.direct { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) }  // read the disk, not the cache
        let buf = ByteBuffer(capacity: ChunkSink.chunkSize)
        var done = base
        var i = 0
        var sha = SHA256()
        while done < l.streamBytes {
            let want = Int(min(UInt64(ChunkSink.chunkSize), l.streamBytes - done))
            let aligned = (want + ChunkSink.alignment - 1) & ~(ChunkSink.alignment - 1)
            let at = l.drive(done)
            // A read may come back short (a signal, a device's limit): read on.
            var n = 0
            while n < want {
                let r = pread(fd, buf.base + n, aligned - n, off_t(at) + off_t(n))
                if r < 0 && errno == EINTR { continue }
                if r <= 0 { break }
                n += r
            }
            if n < want { throw SeedError.io("\(t.name): verify: cannot read volume \(l.volume) back at byte \(at + UInt64(n)): \(errnoMessage())") }
            let b = UnsafeRawBufferPointer(start: buf.base, count: want)
            sha.update(bufferPointer: b)
            if i >= chunks.count || CRC32.checksum(b) != chunks[i] {
                throw SeedError.io("\(t.name): verify: volume \(l.volume) reads back differently at bytes \(at)-\(at + UInt64(want) - 1)")
            }
            done += UInt64(want)
            i += 1
        }
        if base == 0 && Hex.encode(Array(sha.finalize())) != l.streamSHA256 {
            throw SeedError.io("\(t.name): verify: volume \(l.volume) reads back with another SHA-256 than was written")
        }
        if (try Target.readLabel(t.path)) != l { throw SeedError.io("\(t.name): verify: the label reads back differently") }
    }

    /// The one-line recipe to read the drive back, for the label.
    func recipe(_ stages: [StreamMetadata.Stage], encrypted: Bool) -> String {
        var steps = ["seed-writeblk -d DRIVE...", "seed-journal --check JOURNAL-DIR"]
        if encrypted { steps.append("seed-encrypt -d -i IDENTITY") }
        for s in stages.reversed() {
            switch s.tool {
            case "seed-split": steps.append("seed-split -d")
            case "seed-compress": steps.append("seed-compress -d")
            case "seed-snapshot": steps.append("seed-snapshot -x DIR")
            default: break
            }
        }
        return steps.joined(separator: " | ")
    }
}

extension RecordHeader {
    /// The header's 48 bytes, encoded on the stack.
    func encodedBytes(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try withUnsafeTemporaryAllocation(byteCount: RecordHeader.size, alignment: 8) { b in
            encode(into: b.baseAddress!)
            try body(UnsafeRawBufferPointer(b))
        }
    }
}
