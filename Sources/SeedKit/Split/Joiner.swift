import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// seed-split -d: joins volumes back into one stream. Volumes may arrive in
/// any order; one that arrives before its turn is held in an unlinked
/// temporary file until then. Each volume is checked against its begin and
/// end records (session, number, where it starts in the stream, record
/// count, bytes and header digest); a missing, duplicated or foreign volume
/// is an error naming it.
final class JoinStage: RecordStage {
    let o: SplitOptions
    let diag: Diagnostics
    var session: String?
    var nextVolume: UInt32 = 1
    /// Known once the end record (in the last volume) is seen.
    var volumeCount: UInt32?
    var joinedVolumes: [UInt32] = []
    var held: [UInt32: HeldVolume] = [:]
    /// The volume being copied aside, between its begin and end records.
    var holding: HeldVolume?
    /// The volume being joined: its number, what has been read of it, and
    /// whether its first record after the begin is still to come.
    var joining: (volume: UInt32, tally: VolumeTally, first: Bool)?

    init(_ o: SplitOptions, diag: Diagnostics) {
        self.o = o
        self.diag = diag
    }

    static func run(_ o: SplitOptions, diag: Diagnostics) throws -> SeedExit {
        let runner = try StageRunner(o.io, threads: 1, label: "seed-split -d")
        return try runner.run(JoinStage(o, diag: diag))
    }

    func streamHeader(_ r: Record, _ meta: StreamMetadata, _ run: StageRunner) throws {
        try record(r, at: run.locate(r), run)
    }

    func record(_ r: Record, at loc: String, _ run: StageRunner) throws {
        guard run.volumed else {
            throw SeedError.data("\(loc): the stream is not split into volumes", hint: "seed-split -d reads what seed-split wrote")
        }
        if r.header.kind == .volumeBegin {
            // The reader lets a new volume start only with its begin record.
            let begin = try admit(r, loc)
            if begin.volume == nextVolume {
                try start(begin, r.header, source: run.source, run)
            } else {
                diag.info("volume \(begin.volume) arrived before volume \(nextVolume); holding it in a temporary file until then")
                holding = try HeldVolume(first: r, directory: o.temporaryDirectory)
            }
        } else if let h = holding {
            try h.append(r, payload: try run.takePayload(r))
            if r.header.kind == .volumeEnd {
                held[h.volume] = h
                holding = nil
            }
        } else if try join(r, loc, source: run.source, run, from: nil) {
            try releaseHeld(run)
        }
    }

    /// A resume record lies inside a volume: joined like any record.
    func resume(_ r: Record, _ point: ResumePoint, _ run: StageRunner) throws {
        try record(r, at: run.locate(r), run)
    }

    func finish(_ run: StageRunner) throws {
        if run.stoppedResumable { return }
        if volumeCount == nil || nextVolume <= volumeCount! {
            let total = volumeCount ?? held.values.compactMap(\.volumeCount).first
            let of = total.map { " of \($0)" } ?? ""
            let seen = (joinedVolumes + held.keys).sorted().map(String.init).joined(separator: ", ")
            throw SeedError.data(
                "\(run.source): volume \(nextVolume)\(of) is missing (volumes read: \(seen.isEmpty ? "none" : seen))",
                hint: total == nil ? "the last volume, which holds the end record, was not read either" : nil, code: "volume-missing")
        }
        // A volume of this session numbered past the last is no part of the
        // stream: said, never dropped in silence.
        if let past = held.keys.min() {
            throw SeedError.data(
                "\(run.source): volume \(past) of session \(session ?? "") comes after the last volume \(volumeCount ?? 0): it is no part of the stream")
        }
    }

    /// Checks a volume begin record against what has been seen so far.
    func admit(_ r: Record, _ loc: String) throws -> VolumeBegin {
        let b = try VolumeBegin.decode(r.payload, record: loc)
        if b.volume != r.header.volume {
            throw SeedError.data("\(loc): volume begin record names volume \(b.volume) in a record of volume \(r.header.volume)")
        }
        if let s = session, s != b.session {
            throw SeedError.data("\(loc): volume \(b.volume) belongs to session \(b.session), not \(s) (a volume of another seed)")
        }
        session = b.session
        if joinedVolumes.contains(b.volume) || held[b.volume] != nil {
            throw SeedError.data("\(loc): volume \(b.volume) appears twice")
        }
        if let n = volumeCount, b.volume > n {
            throw SeedError.data("\(loc): volume \(b.volume) is not part of this \(n)-volume stream")
        }
        return b
    }

    /// Joins the volumes held aside whose turn has come.
    func releaseHeld(_ run: StageRunner) throws {
        while let h = held.removeValue(forKey: nextVolume) {
            let reader = try h.reader()
            reader.deferPayload = StageRunner.bulk
            guard let r = try reader.next() else { throw SeedError.io("temporary copy of volume \(h.volume) is empty") }
            try start(try VolumeBegin.decode(r.payload, record: "volume \(h.volume)"), r.header, source: h.source, run)
            var ended = false
            while !ended, let r = try reader.next() {
                ended = try join(r, "\(h.source): \(r.location)", source: h.source, run, from: reader)
            }
            if !ended { throw SeedError.data("\(h.source): volume \(h.volume) ends without its volume end record") }
        }
    }

    /// Starts joining the volume `info` describes, which must take up the
    /// stream where the volume before it left off.
    func start(_ info: VolumeBegin, _ begin: RecordHeader, source: String, _ run: StageRunner) throws {
        let v = info.volume
        if info.firstRecord != run.nextSequence {
            throw SeedError.data(
                "\(source): volume \(v) starts at record \(info.firstRecord) of the stream, but volume \(v - 1) ended before record \(run.nextSequence)")
        }
        var tally = VolumeTally()
        tally.add(begin)
        joining = (v, tally, true)
    }

    /// Passes one record of the volume being joined on, or, at its volume
    /// end record, checks the volume whole; true then.
    func join(_ r: Record, _ loc: String, source: String, _ run: StageRunner, from reader: RecordReader?) throws -> Bool {
        guard var j = joining else { preconditionFailure("a record outside a volume") }
        let v = j.volume
        var h = r.header
        h.volume = 0
        switch r.header.kind {
        case .volumeEnd:
            let end = try VolumeEnd.decode(r.payload, record: loc)
            let want = j.tally.end(volume: v)
            if end != want {
                throw SeedError.data(
                    "\(loc): volume \(v) does not match its volume end record (\(want.records) records, \(want.bytes) bytes read; "
                        + "\(end.records) records, \(end.bytes) bytes written)")
            }
            joinedVolumes.append(v)
            nextVolume = v + 1
            joining = nil
            diag.verbose("volume \(v): \(end.records) records, \(end.bytes) bytes")
            return true
        case .streamHeader:
            j.tally.add(r.header)
            guard v == 1, j.first else { throw SeedError.data("\(loc): stream header outside the start of volume 1") }
            var meta = try StreamMetadata.decode(r.payload, record: loc)
            try meta.removeStage("seed-split", missing: "the stream header does not name seed-split among its stages", at: loc)
            if meta.session != session { throw SeedError.data("\(loc): stream header of session \(meta.session) in a volume of session \(session ?? "")") }
            try run.insert(like: h, payload: meta.encoded())
        case .resume:
            // The volume end counts from here; the interrupted run's part
            // before it must end just where the resume record says.
            let p = try ResumePoint.decode(r.payload, record: loc)
            if p.session != session || p.volume != v {
                throw SeedError.data("\(loc): resume record of volume \(p.volume) of session \(p.session) in volume \(v) of session \(session ?? "")")
            }
            if p.sequence != run.nextSequence {
                throw SeedError.data("\(loc): resume record for record \(p.sequence) of the stream after record \(run.nextSequence) (records missing)")
            }
            j.tally = VolumeTally()
            j.tally.add(r.header)
            try run.pass(r, header: h, from: reader)
        case .end:
            j.tally.add(r.header)
            var totals = try StreamTotals.decode(r.payload, record: loc)
            guard let n = totals.volumes, n == v else {
                throw SeedError.data("\(loc): the end record lies in volume \(v) but names \(totals.volumes.map(String.init) ?? "no") volume count")
            }
            volumeCount = n
            totals.volumes = nil
            try run.insert(like: h, payload: totals.encoded())
        default:
            j.tally.add(r.header)
            if v == 1 && j.first { throw SeedError.data("\(loc): volume 1 does not start with the stream header") }
            try run.pass(r, header: h, from: reader)
        }
        j.first = false
        joining = j
        return false
    }
}

/// A volume that arrived before its turn, copied to an unlinked temporary
/// file as read (every record checked on the way in and again on the way out).
final class HeldVolume {
    let volume: UInt32
    let fd: FileDescriptor
    let source: String
    private let writer: RecordWriter
    /// The volume count named by an end record inside, if any.
    private(set) var volumeCount: UInt32?

    init(first: Record, directory: String) throws {
        volume = first.header.volume
        fd = FileDescriptor(rawValue: try TempFile.open(in: directory))
        source = "volume \(volume) (held in \(quoted(directory)))"
        writer = RecordWriter(fd: fd, destination: "a temporary file in \(quoted(directory))")
        try writer.write(header: first.header, payload: first.payload)
    }

    func append(_ r: Record, payload: UnsafeRawBufferPointer) throws {
        if r.header.kind == .end, let t = try? StreamTotals.decode(payload, record: "") { volumeCount = t.volumes }
        try writer.write(header: r.header, payload: payload)
        if r.header.kind == .volumeEnd { try writer.flush() }
    }

    func reader() throws -> RecordReader {
        if lseek(fd.rawValue, 0, SEEK_SET) < 0 { throw SeedError.io("cannot rewind the temporary copy of volume \(volume): \(errnoMessage())") }
        return RecordReader(fd: fd, source: source)
    }

    deinit { try? fd.close() }
}

extension SplitOptions {
    /// Where early volumes wait: $TMPDIR, or /tmp.
    var temporaryDirectory: String {
        TempFile.directory
    }
}
