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
    public var input: String?
    public var output: String?
    public var progress = false
    public var budget = VolumeBudget.standard
    /// Write only the volumes from this one on (the earlier ones went to
    /// drives in an earlier run): planned the same, so they match.
    public var firstVolume: UInt32 = 1
    public init() {}
}

/// seed-split: cuts a stream into volumes that each fit their drive once
/// every later stage has added its bytes, or (`--plan`) says how many
/// drives that takes without writing anything.
public enum Splitter {
    public static func run(_ o: SplitOptions, diag: Diagnostics) throws -> SeedExit {
        if o.join { return try Joiner.run(o, diag: diag) }
        if let dir = o.estimateFrom {
            let estimate = try Estimator.estimate(tree: dir, level: o.estimateLevel, diag: diag)
            // The stages the stream will have, for the size of volume begin records.
            let stages: [StreamMetadata.Stage] = [
                .init(tool: "seed-snapshot", settings: ["recordSize": "\(4 << 20)"]),
                .init(tool: "seed-compress", settings: ["codec": "zstd", "level": "\(o.estimateLevel)"]),
                .init(tool: "seed-split", settings: ["drives": o.drivesText]),
            ]
            return try plan(o, note: estimate.summary, stages: stages) { place in try estimate.forEachRecord(place) }
        }
        guard !o.drives.all.isEmpty else {
            throw SeedError.usage("no drive size given", hint: "give --volume-size, --drives or --drives-from")
        }
        let inFD = try StreamFiles.openInput(o.input)
        let source = (o.input == nil || o.input == "-") ? "standard input" : quoted(o.input!)
        let reader = RecordReader(fd: inFD, source: source)
        if o.plan { reader.skipPayload = { $0.kind == .data || $0.kind == .index } }
        var s = try SplitState(o, reader: reader, source: source, diag: diag)
        if o.plan {
            return try plan(o, note: nil, stages: s.stages) { place in
                try place(UInt64(s.headerPayload.count))
                // The end record gains the volume count.
                while let r = try reader.next() { try place(r.header.payloadLength + (r.header.kind == .end ? 16 : 0)) }
            }
        }
        let output = try StreamOutput(path: o.output, force: false, input: inFD)
        let writer = RecordWriter(fd: output.fd, destination: output.name)
        // Split reads headers only: payloads go on as they came, with the
        // CRC the next reader checks them against.
        reader.deferPayload = { $0.kind == .data || $0.kind == .index }
        let progress = ProgressMeter(enabled: o.progress, label: "seed-split")
        try s.split(into: writer, progress: progress)
        try writer.flush()
        try output.commit()
        progress.finish()
        diag.verbose("\(s.planner.volume) volume\(s.planner.volume == 1 ? "" : "s") written")
        return .success
    }

    /// Prints where the volumes would end for the records `feed` places
    /// (payload lengths, the stream header first), and whether they fit.
    static func plan(
        _ o: SplitOptions, note: String?, stages: [StreamMetadata.Stage], feed: ((UInt64) throws -> Void) throws -> Void
    ) throws -> SeedExit {
        guard !o.drives.all.isEmpty else {
            throw SeedError.usage("no drive size given", hint: "give --volume-size, --drives or --drives-from")
        }
        // Past the drives listed, count on more of the last size to say how many are missing.
        let given = o.drives.thereafter == nil ? o.drives.listed.count : Int.max
        let drives = DriveSizes(listed: o.drives.listed, thereafter: o.drives.thereafter ?? o.drives.listed.last)
        var planner = VolumePlanner(drives: drives, budget: o.budget)
        var rows: [(UInt32, UInt64, UInt64, Int)] = []
        let beginGuess = UInt64(
            VolumeBegin(
                session: UUID().uuidString.lowercased(), volume: .max, capacity: .max, firstRecord: .max, firstDataRecord: .max,
                budget: o.budget, stages: stages
            ).encoded().count)
        var records = 0
        var streamBytes: UInt64 = 0
        planner.start(1, size: drives.capacity(of: 1)!, beginPayload: beginGuess)
        try feed { len in
            if !planner.fits(len) {
                if planner.placed == 0 {
                    throw SeedError.data("record \(records) (\(len) bytes) does not fit on a drive of \(planner.capacity) bytes")
                }
                rows.append((planner.volume, planner.capacity, planner.driveBytes, planner.placed))
                let (n, size) = planner.next()!
                planner.start(n, size: size, beginPayload: beginGuess)
                if !planner.fits(len) { throw SeedError.data("record \(records) (\(len) bytes) does not fit on a drive of \(size) bytes") }
            }
            planner.place(len)
            records += 1
            streamBytes += UInt64(RecordHeader.size) + len
        }
        rows.append((planner.volume, planner.capacity, planner.driveBytes, planner.placed))
        var out = ""
        if let note { out += note + "\n" }
        out += "stream: \(streamBytes) bytes (\(formatBytes(streamBytes))) in \(records) records\n"
        out += "volume          drive bytes    at most on drive   records\n"
        for (v, cap, used, n) in rows {
            out += String(format: "%6u  %19llu  %18llu  %8d\n", v, cap, used, n)
        }
        let fits = rows.count <= given
        let plural = rows.count == 1 ? "" : "s"
        out += fits ? "needs \(rows.count) drive\(plural)\n" : "does not fit: needs \(rows.count) drive\(plural), \(given) given\n"
        FileDescriptorWriter.stdout(out)
        return fits ? .success : .failure
    }
}

/// The state of one split run.
struct SplitState {
    let o: SplitOptions
    let reader: RecordReader
    let source: String
    let diag: Diagnostics
    var planner: VolumePlanner
    let session: String
    /// The stream header as split passes it on, with its own stage added.
    let headerPayload: [UInt8]
    let stages: [StreamMetadata.Stage]
    var headerRecord: Record
    var sequence: UInt64 = 0
    /// Records of the joined stream emitted so far.
    var joined: UInt64 = 0
    /// Data records emitted so far.
    var dataRecords: UInt64 = 0
    var tally = VolumeTally()

    init(_ o: SplitOptions, reader: RecordReader, source: String, diag: Diagnostics) throws {
        self.o = o
        self.reader = reader
        self.source = source
        self.diag = diag
        guard let first = try reader.next() else { throw SeedError.data("\(source): empty stream") }
        let loc = "\(source): \(first.location)"
        if first.header.kind == .volumeBegin {
            throw SeedError.data("\(loc): the stream is already split into volumes")
        }
        try first.verifyPayload(source: source)
        var meta = try StreamMetadata.decode(first.payload, record: loc)
        if meta.stages.contains(where: { $0.tool == "seed-encrypt" }) {
            throw SeedError.data("\(loc): the stream is encrypted", hint: "split before seed-encrypt, so that each volume gets a key of its own")
        }
        session = meta.session
        meta.stages.append(.init(tool: "seed-split", settings: ["drives": o.drivesText]))
        headerPayload = meta.encoded()
        stages = meta.stages
        headerRecord = first
        planner = VolumePlanner(drives: o.drives, budget: o.budget)
        // Every drive must take at least the volume's own records and one
        // record as long as the snapshot makes them: checked before a byte goes out.
        let recordSize = meta.stages.first { $0.tool == "seed-snapshot" }?.settings?["recordSize"].flatMap { UInt64($0) } ?? 0
        let begin = UInt64(beginPayload(volume: .max, capacity: .max, first: .max, firstData: .max).count)
        for (i, size) in o.drives.all.enumerated() {
            let need = planner.overhead(beginPayload: begin) + planner.cost(recordSize) + (i == 0 ? planner.cost(UInt64(headerPayload.count)) : 0)
            if size < need {
                let which = i < o.drives.listed.count ? "drive \(i + 1) (\(size) bytes)" : "a volume size of \(size) bytes"
                throw SeedError.usage(
                    "\(which) is too small: a volume needs \(need) bytes for its overhead and one \(recordSize)-byte record",
                    hint: "see OVERHEAD in seed-split(1)")
            }
        }
    }

    func beginPayload(volume: UInt32, capacity: UInt64, first: UInt64, firstData: UInt64) -> [UInt8] {
        VolumeBegin(
            session: session, volume: volume, capacity: capacity, firstRecord: first, firstDataRecord: firstData, budget: o.budget,
            stages: stages
        ).encoded()
    }

    mutating func split(into writer: RecordWriter, progress: ProgressMeter) throws {
        try openVolume(writer)
        try place(headerRecord.header, UnsafeRawBufferPointer(start: nil, count: 0), override: headerPayload, writer, progress)
        while let r = try reader.next() {
            let loc = "\(source): \(r.location)"
            switch r.header.kind {
            case .end:
                var totals = try StreamTotals.decode(r.payload, record: loc)
                totals.volumes = planner.volume
                var payload = totals.encoded()
                if !planner.fits(UInt64(payload.count)) {
                    totals.volumes = planner.volume + 1
                    payload = totals.encoded()
                }
                try place(r.header, r.payload, override: payload, writer, progress)
            case .key:
                throw SeedError.data("\(loc): the stream is encrypted", hint: "split before seed-encrypt")
            case .streamHeader:
                throw SeedError.data("\(loc): a second stream header")
            default:
                if r.header.flags.isEncrypted { throw SeedError.data("\(loc): the stream is encrypted", hint: "split before seed-encrypt") }
                let moved = r.header.kind == .data || r.header.kind == .index
                try place(r.header, r.payload, override: nil, moved: moved, writer, progress)
            }
        }
        try closeVolume(writer)
        if planner.volume < o.firstVolume {
            throw SeedError.usage("the stream has \(planner.volume) volume\(planner.volume == 1 ? "" : "s"), none from --first-volume \(o.firstVolume) on")
        }
    }

    private mutating func place(
        _ header: RecordHeader, _ payload: UnsafeRawBufferPointer, override: [UInt8]?, moved: Bool = false, _ writer: RecordWriter,
        _ progress: ProgressMeter
    ) throws {
        let length = override.map { UInt64($0.count) } ?? header.payloadLength
        if !planner.fits(length) {
            if planner.placed == 0 {
                throw SeedError.data(
                    "\(source): record \(header.sequence) (\(length) bytes) does not fit in volume \(planner.volume), "
                        + "a drive of \(planner.capacity) bytes")
            }
            try closeVolume(writer)
            try openVolume(writer)
            if !planner.fits(length) {
                throw SeedError.data("\(source): record \(header.sequence) (\(length) bytes) does not fit in an empty volume of \(planner.capacity) bytes")
            }
        }
        planner.place(length)
        var h = header
        h.volume = planner.volume
        if let override {
            try override.withUnsafeBytes { try emit(&h, $0, writer, crc: nil) }
        } else if moved {
            h.sequence = sequence
            tally.add(h)
            let payload = try reader.takePayload()
            if !skipping {
                let given = try writer.write(header: h, payload: payload)
                precondition(given == sequence)
            }
            sequence += 1
        } else {
            try emit(&h, payload, writer, crc: header.payloadCRC)
        }
        joined += 1
        if header.kind == .data { dataRecords += 1 }
        progress.advance(by: UInt64(RecordHeader.size) + length)
    }

    private mutating func emit(_ h: inout RecordHeader, _ payload: UnsafeRawBufferPointer, _ writer: RecordWriter, crc: UInt32?) throws {
        h.sequence = sequence
        h.payloadLength = UInt64(payload.count)
        if crc == nil {
            h.rawLength = h.payloadLength
            h.payloadCRC = CRC32.checksum(payload)
        }
        tally.add(h)
        if !skipping {
            let given = try writer.write(header: h, payload: payload)
            precondition(given == sequence)
        }
        sequence += 1
    }

    /// Volumes before --first-volume are planned the same, but not written.
    var skipping: Bool { planner.volume < o.firstVolume }

    private mutating func openVolume(_ writer: RecordWriter) throws {
        guard let (n, size) = planner.next() else {
            throw SeedError.io(
                "the stream needs more than the \(o.drives.listed.count) drive\(o.drives.listed.count == 1 ? "" : "s") given",
                hint: "run seed-split --plan first, or add --volume-size for the drives after them")
        }
        let payload = beginPayload(volume: n, capacity: size, first: joined, firstData: dataRecords)
        planner.start(n, size: size, beginPayload: UInt64(payload.count))
        tally = VolumeTally()
        sequence = 0
        var h = RecordHeader(kind: .volumeBegin, volume: n, payloadLength: 0)
        try payload.withUnsafeBytes { try emit(&h, $0, writer, crc: nil) }
        diag.verbose("volume \(n): drive of \(size) bytes, from record \(joined)")
    }

    private mutating func closeVolume(_ writer: RecordWriter) throws {
        let end = tally.end(volume: planner.volume)
        var h = RecordHeader(kind: .volumeEnd, volume: planner.volume, payloadLength: 0)
        try end.encoded().withUnsafeBytes { try emit(&h, $0, writer, crc: nil) }
    }
}
