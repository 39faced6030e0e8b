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

/// What seed-journal is asked to do.
public struct JournalOptions {
    public var directory = ""
    public var check = false
    public var report: String?
    /// A plaintext seed stream to take the index from when the stream
    /// passing through has it encrypted.
    public var index: String?
    /// Devices the journal must not live on.
    public var targets: [String] = []
    public var checkpoint: UInt64 = 1 << 30
    /// A signing key file: each volume's journal is signed with it.
    public var sign: String?
    /// With --check: public key files of the signers accepted.
    public var signers: [String] = []
    public var io = StreamIO()
    public init() {}
}

/// A record's SHA-256, computed by a worker.
final class RecordDigest {
    var bytes: [UInt8] = []
}

/// seed-journal: passes the stream through unchanged and keeps, for every
/// volume, a journal of what it holds (seed-journal(5)).
public enum Journaler {
    public static func run(_ o: JournalOptions, diag: Diagnostics) throws -> SeedExit {
        try prepareDirectory(o)
        // A check reads the journals beside other checks, never beside a run writing them.
        let lock = try RunLock(path: o.directory, what: "journal directory \(quoted(o.directory))", exclusive: !o.check)
        return try withExtendedLifetime(lock) {
            if o.check { return try JournalChecker.run(o, diag: diag) }
            let runner = try StageRunner(o.io, label: "seed-journal")
            try FirstStageResume.install(on: runner, o.io, diag: diag)
            return try runner.run(JournalStage(try JournalState(o, source: runner.source, diag: diag)))
        }
    }

    /// Makes the journal directory, and refuses one on a target device.
    static func prepareDirectory(_ o: JournalOptions) throws {
        var st = stat()
        if stat(o.directory, &st) != 0 {
            if o.check { throw SeedError(.noInput, "journal directory \(quoted(o.directory)) does not exist") }
            guard mkdirP(o.directory) == 0, stat(o.directory, &st) == 0 else {
                throw SeedError(.cannotCreate, "cannot create \(quoted(o.directory)): \(errnoMessage())")
            }
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw SeedError.usage("\(quoted(o.directory)) is not a directory") }
        for t in o.targets {
            var ts = stat()
            guard stat(t, &ts) == 0 else { throw SeedError(.noInput, "cannot open target \(quoted(t)): \(errnoMessage())") }
            let onIt: Bool
            if (ts.st_mode & S_IFMT) == S_IFBLK {
                onIt = BlockDevices.sameDisk(st.st_dev, ts.st_rdev)
            } else {
                onIt = false  // a file-backed drive may share a filesystem with the journal
            }
            if onIt {
                throw SeedError.usage(
                    "journal directory \(quoted(o.directory)) lives on the target \(quoted(t))", hint: "keep the journal off the drives it describes")
            }
        }
    }
}

/// Every record goes to the workers for its digest, and out unchanged
/// after its journal line.
final class JournalStage: RecordStage {
    var state: JournalState

    init(_ state: JournalState) { self.state = state }

    func streamHeader(_ r: Record, _ meta: StreamMetadata, _ run: StageRunner) throws {
        try run.transform(r, context: RecordDigest())
    }

    func record(_ r: Record, at loc: String, _ run: StageRunner) throws {
        try run.transform(r, context: RecordDigest())
    }

    /// A resumed run: the journal of the volume it goes on in is cut back
    /// to the record before the resume record, and goes on from there.
    func resume(_ r: Record, _ point: ResumePoint, _ run: StageRunner) throws {
        if run.startsResumed {
            try state.resume(point, r.header, at: run.locate(r))
            run.continueNumbering(at: r.header.sequence)
        }
        try run.transform(r, context: RecordDigest())
    }

    func work(_ slot: PipelineSlot, lane: Int) throws {
        var h = SHA256()
        withUnsafeTemporaryAllocation(byteCount: RecordHeader.size, alignment: 8) { b in
            slot.header.encode(into: b.baseAddress!)
            h.update(bufferPointer: UnsafeRawBufferPointer(b))
        }
        h.update(bufferPointer: slot.input.bytes)
        (slot.context as! RecordDigest).bytes = Array(h.finalize())
    }

    /// The journal line first; at a checkpoint, on the disk before the record goes on.
    func emitting(_ slot: PipelineSlot, _ header: RecordHeader) throws { try state.record(slot) }

    func finish(_ run: StageRunner) throws {
        if run.stoppedResumable { try state.pause() } else { try state.finish() }
    }
}

/// What the journal knows of each volume as the stream passes.
struct JournalState {
    let o: JournalOptions
    let source: String
    let diag: Diagnostics
    var journal: JournalWriter?
    var volume: UInt32 = 0
    var session = ""
    var offset: UInt64 = 0
    var records: UInt64 = 0
    var merkle = MerkleRoot()
    var sinceSync: UInt64 = 0
    /// Data records seen before the current one, in the whole stream.
    var dataRecord: UInt64 = 0
    var recordSize: UInt64?
    /// In a set's volume, its shape and where each record lies on its
    /// data members.
    var setGeometry: SetGeometry?
    var placement: SetPlacement?
    /// Per journaled volume: its file and the data records it holds.
    var volumes: [(volume: UInt32, path: String, first: UInt64, last: UInt64?)] = []
    var files = IndexToFiles()
    let codecs = CodecContext(level: 0)
    let decoded = ByteBuffer(capacity: 1 << 20)
    let signingKey: Curve25519.Signing.PrivateKey?

    init(_ o: JournalOptions, source: String, diag: Diagnostics) throws {
        self.o = o
        self.source = source
        self.diag = diag
        signingKey = try o.sign.map(SigningKeys.secret)
    }

    mutating func record(_ slot: PipelineSlot) throws {
        let h = slot.header
        // The stop record never reaches a drive.
        if h.kind == .stop { return }
        let loc = "\(source): \(slot.location)"
        switch h.kind {
        case .volumeBegin:
            let b = try VolumeBegin.decode(slot.input.bytes, record: loc)
            if let d = b.firstDataRecord { dataRecord = d }
            recordSize = recordSize ?? StreamMetadata.recordSize(b.stages ?? [])
            try b.set?.check(loc)
            try open(session: b.session, volume: b.volume) { l in
                l.capacity = b.capacity
                l.firstRecord = b.firstRecord
                l.firstDataRecord = b.firstDataRecord
                l.stages = b.stages
                l.set = b.set
            }
            placement = b.set.map { SetPlacement(data: $0.data) }
            setGeometry = b.set
        case .streamHeader where journal == nil:
            let m = try StreamMetadata.decode(slot.input.bytes, record: loc)
            recordSize = StreamMetadata.recordSize(m.stages)
            (placement, setGeometry) = (nil, nil)
            try open(session: m.session, volume: 0) { l in l.stages = m.stages }
        case .streamHeader:
            let m = try StreamMetadata.decode(slot.input.bytes, record: loc)
            recordSize = recordSize ?? StreamMetadata.recordSize(m.stages)
        case .key:
            if let k = try? KeyRecord.decode(slot.input.bytes, record: loc) {
                journal?.append(.key(.init(cipher: k.cipher, slots: k.slots.map(\.kind))))
            }
        default:
            break
        }
        guard let j = journal else { throw SeedError.data("\(loc): \(h.kind) record before the stream header or volume begin") }
        let digest = (slot.context as! RecordDigest).bytes
        let length = UInt64(RecordHeader.size) + h.payloadLength
        var line = JournalLine.Entry(
            seq: h.sequence, kind: h.kind, offset: offset, length: length, sha256: Hex.encode(digest),
            dataRecord: h.kind == .data ? dataRecord : nil)
        if placement != nil { line.place(placement!.place(h.kind, size: length), placement!, size: length) }
        j.append(.record(line))
        if h.kind == .data { dataRecord += 1 }
        merkle.add(digest)
        records += 1
        offset += length
        sinceSync += length
        if h.kind == .index && !h.flags.isEncrypted { try readIndex(slot, loc) }
        let ends = h.kind == .volumeEnd || (h.kind == .end && volume == 0)
        if ends {
            try close()
        } else {
            // Every line is written before its record goes on; at a checkpoint
            // it is on the disk first.
            try j.flush(sync: sinceSync >= o.checkpoint)
            if sinceSync >= o.checkpoint { sinceSync = 0 }
        }
    }

    mutating func open(session: String, volume: UInt32, _ fill: (inout JournalLine.Volume) -> Void) throws {
        if journal != nil { try close() }
        if volumes.isEmpty {
            // A run from the start: journals of later volumes, from a run of
            // the session that went further, would mislead a resume.
            for (n, later) in try ResumePlanner.journals(o.directory, session: session) where n > volume { unlink(later) }
            StopMark.clear(o.directory, session: session)
        }
        self.session = session
        self.volume = volume
        let path = o.directory + "/" + JournalNames.name(session: session, volume: volume)
        let j = try JournalWriter(create: path)
        var l = JournalLine.Volume(session: session, volume: volume, created: ISO8601DateFormatter().string(from: Date()))
        l.checkpoint = o.checkpoint
        fill(&l)
        j.append(.volume(l))
        journal = j
        offset = 0
        records = 0
        merkle = MerkleRoot()
        volumes.append((volume, path, dataRecord, nil))
    }

    /// A run stopped: what is journaled goes to the disk, the volume stays
    /// open, and the stop mark says where the journals ended, so that the
    /// next run goes on from there rather than a checkpoint interval back.
    mutating func pause() throws {
        try journal?.flush(sync: true)
        if !session.isEmpty { try StopMark.write(o.directory, session: session, volume: volume, bytes: offset) }
    }

    /// Goes on with the journal of the volume a resumed run continues:
    /// its lines up to the record before the resume record are kept (and
    /// must be that record: the resume record names it), the rest dropped,
    /// and journals of later volumes removed, for the run writes them anew.
    mutating func resume(_ point: ResumePoint, _ h: RecordHeader, at loc: String) throws {
        guard h.volume == point.volume else {
            throw SeedError.data(
                "\(loc): the run goes on in volume \(point.volume), the stream here is \(h.volume == 0 ? "not split" : "in volume \(h.volume)")",
                hint: "resume through the same stages as the interrupted run")
        }
        let all = try ResumePlanner.journals(o.directory, session: point.session)
        guard let path = all.first(where: { $0.0 == point.volume })?.1 else {
            throw SeedError(.noInput, "\(loc): \(quoted(o.directory)) holds no journal of volume \(point.volume) of session \(point.session)")
        }
        let reader = try JournalReader(path)
        var line: JournalLine.Volume?
        var last: JournalLine.Entry?
        var keep: UInt64 = 0
        merkle = MerkleRoot()
        records = 0
        // Lines are in stream order: from the first record at the resume
        // point on, nothing is kept.
        reading: while true {
            let at = reader.offset
            guard let l = try reader.next() else { break }
            switch l {
            case .volume(let v):
                line = v
                placement = v.set.map { SetPlacement(data: $0.data) }
                setGeometry = v.set
            case .record(let e) where e.offset < point.offset:
                _ = placement?.place(e.kind, size: e.length)
                guard let d = Hex.decode(e.sha256) else { throw SeedError.data("journal \(quoted(path)): a record line's digest is not hex") }
                merkle.add(d)
                records += 1
                last = e
            case .record, .end, .file:
                keep = at
                break reading
            default: break
            }
            keep = reader.offset
        }
        guard let line, let last, last.offset == point.previousOffset, last.sha256 == point.previousSHA256,
            last.offset + last.length == point.offset
        else {
            throw SeedError.data("\(loc): the journal \(quoted(path)) does not name the record before the resume point at byte \(point.offset)")
        }
        // One truncate(2): the journal is whole before and after it.
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0, ftruncate(fd, off_t(keep)) == 0, fdatasync(fd) == 0 else {
            let e = errnoMessage()
            if fd >= 0 { Glibc.close(fd) }
            throw SeedError.io("cannot cut journal \(quoted(path)) back: \(e)")
        }
        Glibc.close(fd)
        for (n, later) in all where n > point.volume { unlink(later) }
        StopMark.clear(o.directory, session: point.session)
        journal = try JournalWriter(append: path)
        session = point.session
        volume = point.volume
        offset = point.offset
        dataRecord = point.dataRecord
        recordSize = StreamMetadata.recordSize(point.stages) ?? StreamMetadata.recordSize(line.stages ?? [])
        volumes = []
        for (n, p) in all where n < point.volume {
            let first = try JournalScan.volumeLine(p).firstDataRecord ?? 0
            if !volumes.isEmpty { volumes[volumes.count - 1].last = first }
            volumes.append((n, p, first, nil))
        }
        if !volumes.isEmpty { volumes[volumes.count - 1].last = line.firstDataRecord ?? 0 }
        volumes.append((point.volume, path, line.firstDataRecord ?? 0, nil))
    }

    /// Ends the current volume's journal: totals and Merkle root, synced.
    mutating func close() throws {
        guard let j = journal else { return }
        var end = JournalLine.End(records: records, bytes: offset, merkleRoot: Hex.encode(merkle.root))
        if let p = placement, let set = setGeometry {
            let parity = VolumeLabel.parityBytes(p.bytes, stripe: set.stripe)
            end.memberBytes = p.bytes + Array(repeating: parity, count: set.parity)
        }
        j.append(.end(end))
        try sign(j, volume)
        try j.flush(sync: true)
        sinceSync = 0
        volumes[volumes.count - 1].last = dataRecord
        journal = nil
        diag.verbose("journal \(quoted(j.path)): \(records) records, \(offset) bytes")
    }

    /// With --sign: a signature line over everything the journal holds.
    /// A volume's journal is signed when the volume ends, and again once
    /// its file lines follow; the last line is always a signature.
    func sign(_ j: JournalWriter, _ volume: UInt32) throws { try JournalState.sign(j, session, volume, signingKey) }

    static func sign(_ j: JournalWriter, _ session: String, _ volume: UInt32, _ key: Curve25519.Signing.PrivateKey?) throws {
        guard let k = key else { return }
        try j.sign(session: session, volume: volume) { message in
            .init(signer: k.publicKey.rawRepresentation.base64EncodedString(), signature: try k.signature(for: message).base64EncodedString())
        }
    }

    /// Index records that pass in the clear are kept, decoded, in a
    /// temporary file, and become file lines once every volume is closed.
    mutating func readIndex(_ slot: PipelineSlot, _ loc: String) throws {
        var payload = slot.input.bytes
        if let codec = slot.header.flags.codec, codec != .none {
            decoded.reserve(Int(slot.header.rawLength))
            try codecs.decompress(
                codec, payload, into: UnsafeMutableRawBufferPointer(start: decoded.base, count: Int(slot.header.rawLength)), what: loc)
            decoded.count = Int(slot.header.rawLength)
            payload = decoded.bytes
        }
        if indexSpool == nil { indexSpool = try LineSpool(what: "the index", maxLine: IndexLines.maxLine) }
        try indexSpool!.append(payload)
    }

    var indexSpool: LineSpool?

    mutating func addIndex(_ payload: UnsafeRawBufferPointer, _ loc: String) throws {
        var f = files
        let known = (recordSize, volumes, dataRecord)
        try IndexLines.decode(payload, location: loc) { e in try f.add(e, known) }
        files = f
    }

    mutating func finish() throws {
        try close()
        // The stream's own index, when it passed in the clear, names the
        // files; --index is for a stream whose index is encrypted, and
        // read besides it would name every file twice.
        let sawIndex = indexSpool != nil
        if let spool = indexSpool {
            try spool.forEachChunk { try addIndex($0, "the index") }
            indexSpool = nil
        }
        if let index = o.index, !sawIndex {
            let src = try SnapshotSource(input: index)
            while let item = try src.next(decodeData: false) {
                if let m = src.metadata, !session.isEmpty, m.session != session {
                    throw SeedError.data("\(src.source): the index of session \(m.session), not of this stream's \(session)")
                }
                if item.kind == .index {
                    if recordSize == nil { recordSize = src.metadata.flatMap { StreamMetadata.recordSize($0.stages) } }
                    try addIndex(item.payload, item.location)
                }
            }
        }
        let (session, key) = (session, signingKey)
        try files.finish((recordSize, volumes, dataRecord)) { w, volume in try JournalState.sign(w, session, volume, key) }
        if !files.seen && !volumes.isEmpty {
            diag.warning("the index was encrypted: journals name no files (give --index with the stream before seed-encrypt)")
        }
    }
}

/// Turns index entries into file lines in the journals of the volumes that
/// hold their data: an entry runs from its archive offset to the next one's.
struct IndexToFiles {
    /// The record size, the volumes journaled, and the data records seen.
    typealias Known = (recordSize: UInt64?, volumes: [(volume: UInt32, path: String, first: UInt64, last: UInt64?)], dataRecords: UInt64)
    private var previous: IndexEntry?
    private var writers: [UInt32: JournalWriter] = [:]
    private(set) var seen = false

    mutating func add(_ e: IndexEntry, _ k: Known) throws {
        seen = true
        if let p = previous { try place(p, endOffset: e.archiveOffset, k) }
        previous = e
    }

    /// Places the last entry, and hands each journal given file lines to
    /// `sign` before it is synced.
    mutating func finish(_ k: Known, sign: (JournalWriter, UInt32) throws -> Void) throws {
        if let p = previous { try place(p, endOffset: nil, k) }
        previous = nil
        for (volume, w) in writers.sorted(by: { $0.key < $1.key }) {
            try sign(w, volume)
            try w.flush(sync: true)
        }
        writers = [:]
    }

    private mutating func place(_ e: IndexEntry, endOffset: UInt64?, _ k: Known) throws {
        guard let size = k.recordSize, size > 0 else { return }
        let first = e.archiveOffset / size
        let last = endOffset.map { $0 > e.archiveOffset ? ($0 - 1) / size : first } ?? max(k.dataRecords, 1) - 1
        for v in k.volumes {
            guard let vLast = v.last, vLast > v.first, first < vLast, last >= v.first else { continue }
            let w: JournalWriter
            if let open = writers[v.volume] {
                w = open
            } else {
                w = try JournalWriter(append: v.path)
                writers[v.volume] = w
            }
            w.append(.file(.init(path: e.path, pathB64: e.pathB64, firstData: first, lastData: last)))
            try w.flush(sync: false)
        }
    }
}

extension StreamMetadata {
    /// The data record size seed-snapshot used, from its stage settings.
    /// Only a size seed-snapshot could have used (a multiple of 512 from
    /// 4 KiB to 32 MiB): a stream's word is never taken as a loop bound.
    static func recordSize(_ stages: [Stage]) -> UInt64? {
        stages.first(where: { $0.tool == "seed-snapshot" })?.settings?["recordSize"].flatMap { StreamMetadata.recordSize($0) }
    }

    /// More data records than any stream could hold (2^36, so that with a
    /// record size it stays far from overflow): a number past
    /// it in a journal or report is damage, and never multiplied out.
    static let maxDataRecords: UInt64 = 1 << 36
}
