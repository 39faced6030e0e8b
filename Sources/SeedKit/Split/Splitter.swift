import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

/// What seed-split is asked to do.
public struct SplitOptions {
    public var drives = DriveSizes()
    /// How the drives were given, for the stream header's stage settings.
    public var drivesText = ""
    public var plan = false
    public var join = false
    public var estimateFrom: String?
    public var estimateLevel = 3
    /// With --plan: bytes per second a drive is written at, given
    /// (--drive-speed) or measured on a device (--measure-speed).
    public var driveSpeed: UInt64?
    public var measureSpeed: String?
    public var io = StreamIO()
    public var budget = VolumeBudget.standard
    /// Write only the volumes from this one on (the earlier ones went to
    /// drives in an earlier run): planned the same, so they match.
    public var firstVolume: UInt32 = 1
    /// Volumes for drive sets of this shape (--parity), each drive of the
    /// size `drives` gives every volume.
    public var set: SetGeometry?
    public init() {}

    /// Makes every volume a drive set: the drives listed are one set's
    /// data drives, `parity` more hold its parity, and every drive of every
    /// set counts as big as the smallest listed.
    public mutating func makeSets(parity: Int) throws {
        guard !drives.listed.isEmpty, drives.thereafter == nil else {
            throw SeedError.usage("--parity needs the set's data drives, in --drives or --drives-from")
        }
        let set = SetGeometry(data: drives.listed.count, parity: parity)
        do { try set.check("--parity") } catch let e as SeedError { throw SeedError(.usage, SeedMessage(verbatim: e.message), code: e.code) }
        self.set = set
        drives = DriveSizes(thereafter: drives.listed.min())
    }
}

/// seed-split: cuts a stream into volumes that each fit their drive once
/// every later stage has added its bytes, or (`--plan`) says how many
/// drives that takes without writing anything.
public enum Splitter {
    public static func run(_ o: SplitOptions, diag: Diagnostics) throws -> SeedExit {
        if o.join { return try JoinStage.run(o, diag: diag) }
        if let dir = o.estimateFrom {
            let estimate = try Estimator.estimate(tree: dir, level: o.estimateLevel, diag: diag, progress: o.io.progress)
            // The stages the stream will have, for the size of volume begin records.
            let stages: [StreamMetadata.Stage] = [
                .init(tool: "seed-snapshot", settings: ["recordSize": "\(4 << 20)"]),
                .init(tool: "seed-compress", settings: ["codec": "zstd", "level": "\(o.estimateLevel)"]),
                .init(tool: "seed-split", settings: SplitHeader.settings(o)),
            ]
            return try plan(o, note: estimate.summary, stages: stages) { place in try estimate.forEachRecord(place) }
        }
        guard !o.drives.all.isEmpty else {
            throw SeedError.usage("no drive size given", hint: "give --volume-size, --drives or --drives-from")
        }
        if o.plan {
            let reader = try RecordReader(fd: StreamFiles.openInput(o.io.input), source: StageRunner.sourceName(o.io.input))
            reader.skipPayload = StageRunner.bulk
            guard let first = try reader.next() else { throw SeedError.data("\(reader.source): empty stream") }
            let loc = "\(reader.source): \(first.location)"
            if first.header.kind == .volumeBegin { throw SeedError.data("\(loc): the stream is already split into volumes") }
            let header = try SplitHeader(StreamMetadata.decode(first.payload, record: loc), o, at: loc)
            return try plan(o, note: nil, stages: header.meta.stages) { place in
                try place(.streamHeader, UInt64(header.payload.count))
                // The end record gains the volume count.
                while let r = try reader.next() { try place(r.header.kind, r.header.payloadLength + (r.header.kind == .end ? 16 : 0)) }
            }
        }
        let runner = try StageRunner(o.io, threads: 1, label: "seed-split")
        runner.reportsVolumes = true
        try FirstStageResume.install(on: runner, o.io, diag: diag)
        let stage = SplitStage(o, source: runner.source, diag: diag)
        let status = try runner.run(stage)
        diag.verbose("\(stage.planner.volume) volume\(stage.planner.volume == 1 ? "" : "s") written")
        return status
    }

    /// Prints where the volumes would end for the records `feed` places
    /// (payload lengths, the stream header first), and whether they fit.
    static func plan(
        _ o: SplitOptions, note: String?, stages: [StreamMetadata.Stage], feed: ((RecordKind, UInt64) throws -> Void) throws -> Void
    ) throws -> SeedExit {
        guard !o.drives.all.isEmpty else {
            throw SeedError.usage("no drive size given", hint: "give --volume-size, --drives or --drives-from")
        }
        // Past the drives listed, count on more of the last size to say how many are missing.
        let given = o.drives.thereafter == nil ? o.drives.listed.count : Int.max
        let drives = DriveSizes(listed: o.drives.listed, thereafter: o.drives.thereafter ?? o.drives.listed.last)
        var planner = VolumePlanner(drives: drives, budget: o.budget, set: o.set)
        var rows: [(UInt32, UInt64, UInt64, Int)] = []
        let beginGuess = UInt64(
            VolumeBegin(
                session: UUID().uuidString.lowercased(), volume: .max, capacity: .max, firstRecord: .max, firstDataRecord: .max,
                budget: o.budget, stages: stages, set: o.set
            ).encoded().count)
        var records = 0
        var streamBytes: UInt64 = 0
        let meter = ProgressMeter(enabled: o.io.progress && note == nil, label: "seed-split --plan")
        planner.start(1, size: drives.capacity(of: 1)!, beginPayload: beginGuess)
        try feed { kind, len in
            meter.update(bytes: streamBytes, extra: "read, volume \(planner.volume) so far")
            if !planner.fits(len, kind: kind) {
                if planner.placed == 0 {
                    throw SeedError.data("record \(records) (\(len) bytes) does not fit on a drive of \(planner.capacity) bytes")
                }
                rows.append((planner.volume, planner.capacity, planner.driveBytes, planner.placed))
                let (n, size) = planner.next()!
                planner.start(n, size: size, beginPayload: beginGuess)
                if !planner.fits(len, kind: kind) { throw SeedError.data("record \(records) (\(len) bytes) does not fit on a drive of \(size) bytes") }
            }
            planner.place(len, kind: kind)
            records += 1
            streamBytes += UInt64(RecordHeader.size) + len
        }
        rows.append((planner.volume, planner.capacity, planner.driveBytes, planner.placed))
        meter.finish(bytes: streamBytes, extra: "read")
        var out = ""
        if let note { out += note + "\n" }
        var speed = o.driveSpeed
        if let dev = o.measureSpeed {
            let measured = try DriveSpeed.measure(dev)
            out += "measured \(quoted(dev)): reads \(formatBytes(measured))/s\n"
            speed = measured
        }
        out += "stream: \(streamBytes) bytes (\(formatBytes(streamBytes))) in \(records) records\n"
        out +=
            (o.set == nil ? "volume          drive bytes    at most on drive" : "set        each drive bytes   at most on a drive") + "   records"
            + (speed != nil ? "   fill time" : "") + "\n"
        var total: UInt64 = 0
        for (v, cap, used, n) in rows {
            out += String(format: "%6u  %19llu  %18llu  %8d", v, cap, used, n)
            if let speed { out += "  " + DriveSpeed.duration((used + speed - 1) / max(speed, 1)).leftPadded(10) }
            out += "\n"
            total += used
        }
        let fits = o.set != nil || rows.count <= given
        let plural = rows.count == 1 ? "" : "s"
        if let set = o.set {
            // A set's drives are written at once: its time is one member's.
            out += "needs \(rows.count) set\(plural) of \(set.data)+\(set.parity) drives: \(rows.count * set.members) drives, "
            out += "\(set.data) data and \(set.parity) parity in each\n"
        } else {
            out += fits ? "needs \(rows.count) drive\(plural)\n" : "does not fit: needs \(rows.count) drive\(plural), \(given) given\n"
        }
        if let speed {
            let how = o.set == nil ? "one drive after another" : "one set after another, a set's drives at once"
            out += "time to fill at \(formatBytes(speed))/s: \(DriveSpeed.duration((total + speed - 1) / max(speed, 1))) in all, \(how)\n"
        }
        FileDescriptorWriter.stdout(out)
        return fits ? .success : .failure
    }
}

/// The stream header as seed-split passes it on, with its own stage
/// added; a stream already split or encrypted is refused.
struct SplitHeader {
    let meta: StreamMetadata
    let payload: [UInt8]

    /// From the stream header's metadata; `loc` names the record.
    init(_ meta: StreamMetadata, _ o: SplitOptions, at loc: String) throws {
        var m = meta
        if m.stages.contains(where: { $0.tool == "seed-encrypt" }) {
            throw SeedError.data("\(loc): the stream is encrypted", hint: "split before seed-encrypt, so that each volume gets a key of its own")
        }
        try m.addStage("seed-split", settings: SplitHeader.settings(o), at: loc)
        self.meta = m
        payload = m.encoded()
    }

    static func settings(_ o: SplitOptions) -> [String: String] {
        var s = ["drives": o.drivesText]
        if let set = o.set { s["set"] = "\(set.data)+\(set.parity)" }
        return s
    }
}

/// seed-split as a stage: opens a volume before the stream header and
/// whenever the next record would not fit, passes every record on into the
/// current volume, and closes the last volume after the end record.
final class SplitStage: RecordStage {
    let o: SplitOptions
    let source: String
    let diag: Diagnostics
    var planner: VolumePlanner
    var header: SplitHeader?
    /// Records of the joined stream put on so far.
    var joined: UInt64 = 0
    /// Data records put on so far.
    var dataRecords: UInt64 = 0
    var tally = VolumeTally()

    init(_ o: SplitOptions, source: String, diag: Diagnostics) {
        self.o = o
        self.source = source
        self.diag = diag
        planner = VolumePlanner(drives: o.drives, budget: o.budget, set: o.set)
    }

    func streamHeader(_ r: Record, _ meta: StreamMetadata, _ run: StageRunner) throws {
        let h = try SplitHeader(meta, o, at: run.locate(r))
        header = h
        // Every drive must take at least the volume's own records and one
        // record as long as the snapshot makes them: checked before a byte goes out.
        let recordSize = StreamMetadata.recordSize(h.meta.stages) ?? 0
        let begin = UInt64(beginPayload(volume: .max, capacity: .max, first: .max, firstData: .max).count)
        for (i, size) in o.drives.all.enumerated() {
            let need = planner.overhead(beginPayload: begin) + planner.cost(recordSize) + (i == 0 ? planner.cost(UInt64(h.payload.count)) : 0)
            if size < need {
                let which = i < o.drives.listed.count ? "drive \(i + 1) (\(size) bytes)" : "a volume size of \(size) bytes"
                throw SeedError.usage(
                    "\(which) is too small: a volume needs \(need) bytes for its overhead and one \(recordSize)-byte record",
                    hint: "see OVERHEAD in seed-split(1)", code: "volume-too-small")
            }
        }
        try openVolume(run)
        try place(r.header, length: UInt64(h.payload.count), run) { try run.insert(like: $0, payload: h.payload) }
    }

    /// A resumed run: the volume the resume point names goes on from its
    /// offset, counted as it lies on the drive, with room for the resume
    /// record and a fresh key record; its volume end counts from the resume
    /// record (seed-stream(5), kind 7).
    func resume(_ r: Record, _ point: ResumePoint, _ run: StageRunner) throws {
        let loc = run.locate(r)
        guard run.startsResumed else { throw SeedError.data("\(loc): resume record in the middle of a stream to split") }
        guard point.volume > 0 else {
            throw SeedError.data("\(loc): the interrupted run's stream was not split into volumes", hint: "resume it without seed-split")
        }
        let h = try SplitHeader(point.metadata, o, at: loc)
        header = h
        var p = point
        p.metadata = h.meta
        let payload = p.encoded()
        guard let size = o.drives.capacity(of: point.volume) else {
            throw SeedError.usage("the stream goes on in volume \(point.volume), and no drive size is given for it")
        }
        planner.resume(
            point.volume, size: size, used: point.offset, longestMember: point.memberBytes?.max(),
            added: planner.cost(UInt64(payload.count)) + o.budget.volume)
        joined = point.sequence + 1
        dataRecords = point.dataRecord
        tally = VolumeTally()
        // Numbered as the volume is once decrypted (its key records gone).
        run.continueNumbering(at: point.volumeSequence - point.keyRecords)
        var out = r.header
        out.volume = point.volume
        tally.add(try run.insert(like: out, payload: payload))
    }

    /// The stop record goes on in the volume being written.
    func stopRecord(_ r: Record, _ run: StageRunner) throws {
        var h = r.header
        h.volume = planner.volume
        try run.insert(like: h, payload: Array(r.payload))
    }

    func record(_ r: Record, at loc: String, _ run: StageRunner) throws {
        switch r.header.kind {
        case .volumeBegin:
            throw SeedError.data("\(loc): the stream is already split into volumes")
        case .key:
            throw SeedError.data("\(loc): the stream is encrypted", hint: "split before seed-encrypt")
        case .end:
            var totals = try StreamTotals.decode(r.payload, record: loc)
            totals.volumes = planner.volume
            var payload = totals.encoded()
            if !planner.fits(UInt64(payload.count), kind: .end) {
                totals.volumes = planner.volume + 1
                payload = totals.encoded()
            }
            try place(r.header, length: UInt64(payload.count), run) { try run.insert(like: $0, payload: payload) }
            try closeVolume(run)
            if planner.volume < o.firstVolume {
                throw SeedError.usage("the stream has \(planner.volume) volume\(planner.volume == 1 ? "" : "s"), none from --first-volume \(o.firstVolume) on")
            }
        default:
            if r.header.flags.isEncrypted { throw SeedError.data("\(loc): the stream is encrypted", hint: "split before seed-encrypt") }
            try place(r.header, length: r.header.payloadLength, run) { try run.pass(r, header: $0) }
        }
    }

    func beginPayload(volume: UInt32, capacity: UInt64, first: UInt64, firstData: UInt64) -> [UInt8] {
        VolumeBegin(
            session: header?.meta.session ?? "", volume: volume, capacity: capacity, firstRecord: first, firstDataRecord: firstData,
            budget: o.budget, stages: header?.meta.stages ?? [], set: o.set
        ).encoded()
    }

    /// Places a record of `length` payload bytes in the current volume, or
    /// in the next one when it does not fit, and puts it on there with
    /// `put` (given the header with its volume) unless the volume is skipped.
    private func place(_ header: RecordHeader, length: UInt64, _ run: StageRunner, put: (RecordHeader) throws -> RecordHeader) throws {
        if !planner.fits(length, kind: header.kind) {
            if planner.placed == 0 {
                throw SeedError.data(
                    "\(source): record \(header.sequence) (\(length) bytes) does not fit in volume \(planner.volume), "
                        + "a drive of \(planner.capacity) bytes")
            }
            try closeVolume(run)
            try openVolume(run)
            if !planner.fits(length, kind: header.kind) {
                throw SeedError.data("\(source): record \(header.sequence) (\(length) bytes) does not fit in an empty volume of \(planner.capacity) bytes")
            }
        }
        planner.place(length, kind: header.kind)
        var h = header
        h.volume = planner.volume
        if !skipping { tally.add(try put(h)) }
        joined += 1
        if header.kind == .data { dataRecords += 1 }
    }

    /// Volumes before --first-volume are planned the same, but not written.
    var skipping: Bool { planner.volume < o.firstVolume }

    private func openVolume(_ run: StageRunner) throws {
        guard let (n, size) = planner.next() else {
            throw SeedError.io(
                "the stream needs more than the \(o.drives.listed.count) drive\(o.drives.listed.count == 1 ? "" : "s") given",
                hint: "run seed-split --plan first, or add --volume-size for the drives after them")
        }
        let payload = beginPayload(volume: n, capacity: size, first: joined, firstData: dataRecords)
        planner.start(n, size: size, beginPayload: UInt64(payload.count))
        tally = VolumeTally()
        if !skipping { tally.add(try run.insert(.volumeBegin, volume: n, payload: payload)) }
        diag.verbose("volume \(n): drive of \(size) bytes, from record \(joined)")
    }

    private func closeVolume(_ run: StageRunner) throws {
        let end = tally.end(volume: planner.volume)
        if !skipping { try run.insert(.volumeEnd, volume: planner.volume, payload: end.encoded()) }
    }
}
