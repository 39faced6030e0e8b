import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SystemPackage

/// What one tool does to a seed stream, record by record. A stage says
/// only what becomes of each record; the `StageRunner` does the reading,
/// checking, ordering, numbering, writing and progress.
///
/// On the reading thread, in stream order, the runner hands the stage the
/// stream header (`streamHeader`) and every other record (`record`), each
/// already checked where it lies (`RecordReader`), and control records'
/// payloads checked against their CRC. The stage answers by calling the
/// runner, as often as it likes: `pass` (on unchanged, or with a header
/// field changed), `transform` (to the workers, `work`, and out in order),
/// `insert` (a record of its own), or nothing (the record is dropped, its
/// payload still read and checked). Every record put on gets its sequence
/// number there and then, so a worker can seal with it.
package protocol RecordStage: AnyObject {
    /// Edits the stream header's stage list (seed-stream(5)).
    func editStages(_ meta: inout StreamMetadata, at loc: String) throws
    /// The stream header. By default: the stage list edited, the header
    /// put on. A stage that opens a volume or a key around it does so here.
    func streamHeader(_ r: Record, _ meta: StreamMetadata, _ run: StageRunner) throws
    /// Every record but the stream header.
    func record(_ r: Record, at loc: String, _ run: StageRunner) throws
    /// In a worker thread, for a record put on with `transform`; its input
    /// payload is checked already. Sets `slot.output` (or `outputData`)
    /// and `slot.outHeader` when it changes the record.
    func work(_ slot: PipelineSlot, lane: Int) throws
    /// On the writing thread, just before a record goes out, with the
    /// header it goes out with.
    func emitting(_ slot: PipelineSlot, _ header: RecordHeader) throws
    /// A resume record: at the start of a resumed run's stream (the stage
    /// list edited, the numbering taken from it, put on), or in the middle
    /// of a stream read back from drives (passed on).
    func resume(_ r: Record, _ point: ResumePoint, _ run: StageRunner) throws
    /// The stop record: by default passed on; the run then ends resumable.
    func stopRecord(_ r: Record, _ run: StageRunner) throws
    /// After the last record went out, before the output is committed;
    /// after a stop record (`run.stoppedResumable`) everything the stage
    /// wrote must be durable when it returns.
    func finish(_ run: StageRunner) throws
}

extension RecordStage {
    package func editStages(_ meta: inout StreamMetadata, at loc: String) throws {}
    package func streamHeader(_ r: Record, _ meta: StreamMetadata, _ run: StageRunner) throws {
        var m = meta
        try editStages(&m, at: run.locate(r))
        try run.insert(like: r.header, payload: m.encoded())
    }
    package func work(_ slot: PipelineSlot, lane: Int) throws {}
    package func emitting(_ slot: PipelineSlot, _ header: RecordHeader) throws {}
    package func finish(_ run: StageRunner) throws {}
    package func resume(_ r: Record, _ point: ResumePoint, _ run: StageRunner) throws {
        guard run.startsResumed else {
            try run.pass(r)
            return
        }
        var p = point
        var m = p.metadata
        try editStages(&m, at: run.locate(r))
        p.metadata = m
        run.continueNumbering(at: r.header.sequence)
        try run.insert(like: r.header, payload: p.encoded())
    }
    package func stopRecord(_ r: Record, _ run: StageRunner) throws {
        try run.insert(like: r.header, payload: Array(r.payload))
    }
}

/// What a run put out, for the `done` event; kept on the writing thread.
private final class OutputTotals {
    var records: UInt64 = 0
    var bytes: UInt64 = 0
}

/// Where a first stage given --resume goes on: the resume record it
/// starts with, and the byte of its input and the order to read on from.
package struct ResumeStart {
    package var point: ResumePoint
    package var inputOffset: UInt64
    package var order: StreamOrder
    /// Where the resume record stands in the input's numbering: volume 0
    /// and `point.sequence` in a stream not split, else `point.volume` and
    /// its sequence number there before encryption.
    package var volume: UInt32
    package var sequence: UInt64
    /// For volumes after the resume record's, in a staging file written
    /// after seed-split: how many records of the joined stream the resume
    /// records before them add to where their volume begins say they start.
    package var firstRecordShift: UInt64 = 0
    package init(point: ResumePoint, inputOffset: UInt64, order: StreamOrder, volume: UInt32, sequence: UInt64) {
        (self.point, self.inputOffset, self.order, self.volume, self.sequence) = (point, inputOffset, order, volume, sequence)
    }
}

/// Runs one `RecordStage` over a stream: one reader, the ordered worker
/// pipeline, one writer. Data and index payloads go from the input
/// straight into the pipeline's slots and are checked by the workers;
/// nothing leaves before the record ahead of it has.
package final class StageRunner {
    /// How messages name the input.
    package let source: String
    package private(set) var reader: RecordReader
    /// The input, for a stage that frames it itself.
    package let input: FileDescriptor
    private let outputPath: String?
    /// Worker threads.
    package let threads: Int
    private let showProgress: Bool
    private let label: String
    private var pipeline: OrderedPipeline?
    /// The sequence number the next record put on gets.
    package private(set) var nextSequence: UInt64 = 0
    /// Whether the stage took the current record's deferred payload.
    private var taken = true
    /// Whether this stage reads no pipe: the first of its pipeline, which
    /// stops on a signal or its deadline and sends the stop record on.
    package let isFirstStage: Bool
    /// For a first stage given --resume: where, after the input's stream
    /// header, the run goes on (nil: from the start).
    package var resumer: ((Record, StreamMetadata) throws -> ResumeStart?)?
    /// Whether the stream starts with the resume record being handled.
    package private(set) var startsResumed = false

    /// Opens the input; the output is opened by `run`, once the stage is
    /// ready (keys read, say).
    /// `threads`, when given, overrides `io.threads` (a stage with nothing
    /// for workers to do but checksums needs one).
    package init(_ io: StreamIO, threads: Int? = nil, label: String) throws {
        input = try StreamFiles.openInput(io.input)
        source = StageRunner.sourceName(io.input)
        reader = RecordReader(fd: input, source: source)
        reader.verifyPayloads = false
        reader.deferPayload = StageRunner.bulk
        outputPath = io.output
        let n = threads ?? io.threads
        self.threads = n > 0 ? n : max(ProcessInfo.processInfo.activeProcessorCount, 1)
        showProgress = io.progress
        self.label = label
        var st = stat()
        let piped = fstat(input.rawValue, &st) == 0 && ((st.st_mode & S_IFMT) == S_IFIFO || (st.st_mode & S_IFMT) == S_IFSOCK)
        isFirstStage = !piped
        GracefulStop.install(piped ? .downstream : .first)
        if let d = io.deadline { GracefulStop.stop(at: d) }
    }

    /// Whether the run ended at a stop record: resumable, nothing committed.
    package var stoppedResumable: Bool { stopped == .resumable }

    /// How messages name an input given as `path` (nil or "-": standard input).
    package static func sourceName(_ path: String?) -> String {
        (path == nil || path == "-") ? "standard input" : quoted(path!)
    }

    /// Kinds whose payloads go from the input straight into a slot.
    package static let bulk: (RecordHeader) -> Bool = { $0.kind == .data || $0.kind == .index }

    /// "standard input: record 3 at byte 4096", for messages.
    package func locate(_ r: Record) -> String { "\(source): \(r.location)" }

    /// Whether the stream read is split into volumes.
    package var volumed: Bool { reader.volumed }

    /// Runs `stage` to the end of the input, or until it calls `stop`, into
    /// `output`, or by default the stream output named at `init`. Returns
    /// the status `stop` gave, or success.
    @discardableResult
    package func run(_ stage: RecordStage, output given: RecordOutput? = nil) throws -> SeedExit {
        try run(stage, output: given) { try readRecords(stage) }
    }

    /// Runs `stage` with records `feed` puts on: `readRecords`, or for a
    /// stage that frames its input itself, `putFramed`.
    @discardableResult
    package func run(_ stage: RecordStage, output given: RecordOutput?, feed: () throws -> Void) throws -> SeedExit {
        let output = try given ?? StreamRecordOutput(StreamOutput(path: outputPath, force: false, input: input))
        let progress = ProgressMeter(enabled: showProgress, label: label)
        progress.note = progressNote
        let source = self.source
        let totals = OutputTotals()
        let reportsVolumes = self.reportsVolumes
        let pipeline = OrderedPipeline(
            threads: threads,
            work: { slot, lane in
                try slot.verifyInput(source: source)
                if slot.transforms { try stage.work(slot, lane: lane) }
            },
            emit: { slot in
                var h = slot.useOutput || slot.headerChanged ? slot.outHeader : slot.header
                h.sequence = slot.sequence
                try stage.emitting(slot, h)
                if slot.useOutput {
                    try slot.withOutputBytes { try output.put(h, $0, slot) }
                } else {
                    try output.put(h, slot.input.bytes, slot)
                }
                let n = slot.framed ? UInt64(slot.input.count) : UInt64(RecordHeader.size) + slot.header.payloadLength
                progress.advance(by: n)
                totals.records += 1
                totals.bytes += n
                if reportsVolumes && (h.kind == .volumeBegin || h.kind == .volumeEnd) {
                    EventLog.emit(
                        h.kind == .volumeBegin ? "volume-begin" : "volume-end",
                        [("volume", .int(Int64(h.volume))), ("sequence", .int(Int64(h.sequence))), ("bytes_out", .int(Int64(totals.bytes)))])
                }
            })
        self.pipeline = pipeline
        do {
            try pipeline.run(feeding: feed)
            try output.flush()
            try stage.finish(self)
            // A stopped run's named output is not whole: it is not committed.
            if stoppedResumable { output.abandon(SeedError(.resumable, "stopped")) } else { try output.commit() }
        } catch {
            output.abandon(error)
            throw error
        }
        progress.finish()
        EventLog.count("records_out", Int64(totals.records))
        EventLog.count("bytes_out", Int64(totals.bytes))
        // A stop that says the session was whole already ends the run as
        // one that had nothing to do.
        if let s = completeSession {
            Diagnostics(tool: label).verbose("session \(s) is complete: nothing to do")
            return .success
        }
        return stopped ?? .success
    }

    /// What the stage adds to its progress line (the last stage: where the
    /// whole seed stands).
    package var progressNote: ((UInt64, Double) -> String)?

    /// Whether volume-begin and volume-end events are this stage's to
    /// give (the stages that make, write and check volumes).
    package var reportsVolumes = false

    /// Set by a stop record saying its session is complete (and by
    /// `sendComplete`).
    package private(set) var completeSession: String?

    /// A first stage given --resume whose journals say `session` is whole:
    /// the stop record that says so goes out alone, nothing else does.
    package func sendComplete(_ session: String) throws {
        EventLog.session = session
        let payload = StopRecord.Complete(session: session).encoded()
        var h = RecordHeader(kind: .stop, volume: 0, payloadLength: UInt64(payload.count))
        h.payloadCRC = payload.withUnsafeBytes { CRC32.checksum($0) }
        _ = try insert(like: h, payload: payload)
        stop(.resumable)
        completeSession = session
    }

    /// Reads the input record by record and hands each to the stage.
    private func readRecords(_ stage: RecordStage) throws {
        while stopped == nil {
            if isFirstStage && GracefulStop.requested { return try stopHere(stage) }
            guard let r = try reader.next() else { return }
            let deferred = StageRunner.bulk(r.header)
            if !deferred { try r.verifyPayload(source: source) }
            taken = !deferred
            startsResumed = false
            switch r.header.kind {
            case .streamHeader:
                let meta = try StreamMetadata.decode(r.payload, record: locate(r))
                EventLog.session = meta.session
                if let start = try resumer?(r, meta) {
                    try resume(stage, from: start)
                } else if completeSession == nil {
                    try stage.streamHeader(r, meta, self)
                }
            case .resume:
                startsResumed = reader.recordsRead == 1
                let point = try ResumePoint.decode(r.payload, record: locate(r))
                EventLog.session = point.session
                try stage.resume(r, point, self)
            case .stop:
                let complete = try StopRecord.complete(r.payload, record: locate(r))
                try stage.stopRecord(r, self)
                stop(.resumable)
                if let s = complete {
                    completeSession = s
                    EventLog.session = s
                }
            case .volumeBegin where reader.recordsRead == 1 && resumer != nil:
                // A staging file written after seed-split.
                let b = try VolumeBegin.decode(r.payload, record: locate(r))
                EventLog.session = b.session
                if let start = try resumer?(r, StreamMetadata(session: b.session, stages: b.stages ?? [])) {
                    try resume(stage, from: start)
                } else if completeSession == nil {
                    try stage.record(r, at: locate(r), self)
                }
            default:
                // For events alone: a damaged volume begin is the stage's to judge.
                if r.header.kind == .volumeBegin && EventLog.enabled && EventLog.session == nil {
                    EventLog.session = try? VolumeBegin.decode(r.payload, record: locate(r)).session
                }
                if let payload = try resumedVolumes.payload(for: r, at: locate(r)) {
                    try replaced(r, payload: payload, stage)
                } else {
                    try stage.record(r, at: locate(r), self)
                }
            }
            // A record the stage dropped: its payload is read and checked all the same.
            if !taken { _ = try reader.takePayload() }
        }
    }

    /// A first stage resuming a staging file written after seed-split.
    private var resumedVolumes = ResumedVolumes()

    /// Hands the stage control record `r` with another payload.
    private func replaced(_ r: Record, payload: [UInt8], _ stage: RecordStage) throws {
        let h = ResumedVolumes.header(r.header, for: payload)
        try payload.withUnsafeBytes { p in try stage.record(Record(header: h, payload: p, offset: r.offset), at: locate(r), self) }
    }

    /// The first stage given --resume: the resume record first, then the
    /// input from the record the run goes on with.
    private func resume(_ stage: RecordStage, from start: ResumeStart) throws {
        let payload = start.point.encoded()
        var h = RecordHeader(kind: .resume, volume: start.volume, payloadLength: UInt64(payload.count))
        h.sequence = start.sequence
        h.payloadCRC = payload.withUnsafeBytes { CRC32.checksum($0) }
        resumedVolumes.resumed(in: start.volume, with: h, firstRecordShift: start.firstRecordShift)
        startsResumed = true
        try payload.withUnsafeBytes { p in
            try stage.resume(Record(header: h, payload: p, offset: 0), start.point, self)
        }
        startsResumed = false
        guard lseek(input.rawValue, off_t(start.inputOffset), SEEK_SET) >= 0 else {
            throw SeedError.io("\(source): cannot seek to byte \(start.inputOffset): \(errnoMessage())")
        }
        let r = RecordReader(fd: input, source: source, order: start.order)
        r.verifyPayloads = false
        r.deferPayload = StageRunner.bulk
        reader = r
    }

    /// The first stage asked to stop: a stop record after the last record
    /// put on, and the run ends resumable.
    private func stopHere(_ stage: RecordStage) throws {
        var h = RecordHeader(kind: .stop, volume: reader.currentVolume ?? 0, payloadLength: 0)
        h.sequence = nextSequence
        try stage.stopRecord(Record(header: h, payload: UnsafeRawBufferPointer(start: nil, count: 0), offset: 0), self)
        stop(.resumable)
        Diagnostics(tool: label).info("stopped on \(GracefulStop.reason) after \(reader.recordsRead) records read (status 75)")
    }

    /// The next record put on gets `sequence` (a resumed stream's numbering).
    package func continueNumbering(at sequence: UInt64) { nextSequence = sequence }

    /// Puts on a record the stage framed itself: `fill` loads the slot's
    /// input with the record's bytes as they lie in the input, header and
    /// all, and its context. It goes to the workers, then out in order.
    package func putFramed(_ fill: (PipelineSlot) throws -> Void) throws {
        let sequence = nextSequence
        nextSequence += 1
        try submit { slot in
            slot.sequence = sequence
            slot.framed = true
            slot.needsVerify = false
            slot.transforms = true
            try fill(slot)
        }
    }

    private var stopped: SeedExit?

    /// Ends the run after the current record: what was put on goes out,
    /// the stage finishes, and `run` returns `status`.
    package func stop(_ status: SeedExit) { stopped = status }

    /// Waits until every record put on so far has gone out.
    package func drain() throws { try pipeline?.drain() }

    /// The next sequence number; a volume begin starts its volume's at 0.
    private func stamp(_ kind: RecordKind) -> UInt64 {
        if kind == .volumeBegin { nextSequence = 0 }
        defer { nextSequence += 1 }
        return nextSequence
    }

    private func submit(_ fill: (PipelineSlot) throws -> Void) throws {
        guard let pipeline else { preconditionFailure("StageRunner: records put on outside run()") }
        try pipeline.submit(fill)
    }

    /// Loads `r`, read by `other` or else by the runner's reader, into a slot.
    private func load(_ slot: PipelineSlot, _ r: Record, from other: RecordReader?) throws {
        let deferred = (other ?? reader).deferPayload?(r.header) == true
        if other == nil {
            precondition(!taken || !deferred, "a record's payload put on twice")
            taken = true
        }
        try slot.load(r, from: other ?? reader)
        if !deferred { slot.needsVerify = false }
    }

    /// The payload of the record just read, read and checked if it was
    /// deferred, for a stage that keeps it instead of putting it on.
    package func takePayload(_ r: Record) throws -> UnsafeRawBufferPointer {
        guard StageRunner.bulk(r.header) else { return r.payload }
        precondition(!taken, "a record's payload taken twice")
        taken = true
        return try reader.takePayload()
    }

    /// Puts a record on unchanged but for its sequence number, or with
    /// `header`'s fields changed (its volume, say; its payload
    /// length and CRC must stay). `other` is the reader `r` came from, when
    /// not the runner's (a volume held aside). Returns the header it goes
    /// out with.
    @discardableResult
    package func pass(_ r: Record, header: RecordHeader? = nil, from other: RecordReader? = nil, context: AnyObject? = nil) throws -> RecordHeader {
        var out = header ?? r.header
        precondition(out.payloadLength == r.header.payloadLength && out.payloadCRC == r.header.payloadCRC)
        out.sequence = stamp(out.kind)
        try submit { slot in
            try load(slot, r, from: other)
            slot.sequence = out.sequence
            slot.context = context
            if header != nil {
                slot.outHeader = out
                slot.headerChanged = true
            }
        }
        return out
    }

    /// Hands a record to the workers (`RecordStage.work`), with `context`
    /// for them; it goes out in order, with the next sequence number.
    package func transform(_ r: Record, context: AnyObject? = nil) throws {
        let sequence = stamp(r.header.kind)
        try submit { slot in
            try load(slot, r, from: nil)
            slot.sequence = sequence
            slot.transforms = true
            slot.context = context
        }
    }

    /// Puts on a record the stage made: `header`'s kind, flags and volume
    /// with `payload`; the lengths, CRC and sequence follow. Returns the
    /// header it goes out with.
    @discardableResult
    package func insert(like header: RecordHeader, payload: [UInt8]) throws -> RecordHeader {
        var out = header
        out.sequence = stamp(out.kind)
        try submit { slot in
            slot.load(header, payload: payload)
            slot.header.sequence = out.sequence
            slot.sequence = out.sequence
            out = slot.header
        }
        return out
    }

    /// Puts on a record of `kind` in `volume` with `payload`.
    @discardableResult
    package func insert(_ kind: RecordKind, volume: UInt32 = 0, payload: [UInt8]) throws -> RecordHeader {
        try insert(like: RecordHeader(kind: kind, volume: volume, payloadLength: 0), payload: payload)
    }
}

/// Where a runner's records go, each numbered already: a stream
/// (`StreamRecordOutput`), or something that lays them out itself (the
/// drives of seed-writeblk). Called on the pipeline's writing thread.
package protocol RecordOutput: AnyObject {
    /// Writes one record; `slot` carries what the stage gave it.
    func put(_ header: RecordHeader, _ payload: UnsafeRawBufferPointer, _ slot: PipelineSlot) throws
    /// Writes what is buffered, once the last record is put.
    func flush() throws
    /// Makes the output whole (a named file appears under its name).
    func commit() throws
    /// The run failed: stop whatever the output keeps running.
    func abandon(_ error: Error)
}

/// A seed stream on standard output or in a file that appears when whole.
package final class StreamRecordOutput: RecordOutput {
    let output: StreamOutput
    let writer: RecordWriter

    package init(_ output: StreamOutput) {
        self.output = output
        writer = RecordWriter(fd: output.fd, destination: output.name)
    }

    package func put(_ header: RecordHeader, _ payload: UnsafeRawBufferPointer, _ slot: PipelineSlot) throws {
        let given = try writer.write(header: header, payload: payload)
        if given != header.sequence { throw SeedError(.failure, "internal error: record \(header.sequence) went out as record \(given)") }
    }

    package func flush() throws { try writer.flush() }
    package func commit() throws { try output.commit() }
    package func abandon(_ error: Error) { output.discard() }
}

extension StreamMetadata {
    /// Adds `tool` to the stage list; `already`, if given, refuses a stream
    /// that has it.
    package mutating func addStage(_ tool: String, settings: [String: String], refusing already: String? = nil, at loc: String) throws {
        if let already, stages.contains(where: { $0.tool == tool }) { throw SeedError.data("\(loc): \(already)") }
        stages.append(.init(tool: tool, settings: settings))
    }

    /// Removes the last stage `tool` added; `missing`, if given, refuses a
    /// stream without one.
    package mutating func removeStage(_ tool: String, missing: String? = nil, at loc: String) throws {
        if let i = stages.lastIndex(where: { $0.tool == tool }) {
            stages.remove(at: i)
        } else if let missing {
            throw SeedError.data("\(loc): \(missing)")
        }
    }
}
