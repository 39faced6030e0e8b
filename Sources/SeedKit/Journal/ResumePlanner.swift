import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// A record line of a volume's journal as a resume needs it: the line,
/// the one before it, and what came before it in the volume.
struct JournaledRecord {
    var volume: UInt32
    var line: JournalLine.Volume
    var entry: JournalLine.Entry
    var previous: JournalLine.Entry
    /// Record lines before it of the kinds the joined stream keeps (stream
    /// header, data, index, end, resume), of resume records, of key records.
    var joined: UInt64
    var resumes: UInt64
    var keys: UInt64
    /// The last data record before it.
    var lastData: UInt64?
    /// In a set's volume: each data member's length just before it, and
    /// the last record on each before it.
    var memberBytes: [UInt64]?
    var memberPrevious: [ResumePoint.MemberRecord?]?
}

/// Reads one volume's journal line by line, in constant memory.
enum JournalScan {
    /// A journal's first line, read alone.
    static func volumeLine(_ path: String) throws -> JournalLine.Volume {
        guard case .volume(let v) = try JournalReader(path).next() else {
            throw SeedError.data("journal \(quoted(path)) has no volume line")
        }
        return v
    }

    /// The bytes of the volume's stream its record lines name; nil for a
    /// journal without its volume line (killed before it was whole).
    static func bytes(_ path: String) throws -> UInt64? {
        let r = try JournalReader(path)
        guard case .volume = try r.next() else { return nil }
        var end: UInt64 = 0
        while let l = try r.next() { if case .record(let e) = l { end = e.offset + e.length } }
        return end
    }

    /// Calls `take` with every record line after the first (which has none
    /// before it), in order, until it says stop.
    static func records(_ path: String, volume: UInt32, _ take: (JournaledRecord) throws -> Bool) throws {
        let r = try JournalReader(path)
        var line: JournalLine.Volume?
        var previous: JournalLine.Entry?
        var (joined, resumes, keys): (UInt64, UInt64, UInt64) = (0, 0, 0)
        var lastData: UInt64?
        let joinedKinds: Set<RecordKind> = [.streamHeader, .data, .index, .changes, .end, .resume]
        var placement: SetPlacement?
        var lastOn: [ResumePoint.MemberRecord?] = []
        while let l = try r.next() {
            switch l {
            case .volume(let v):
                line = v
                try v.set?.check("journal \(quoted(path))")
                placement = v.set.map { SetPlacement(data: $0.data) }
                lastOn = Array(repeating: nil, count: v.set?.data ?? 0)
            case .record(let e):
                if let line, let previous {
                    var at = JournaledRecord(
                        volume: volume, line: line, entry: e, previous: previous, joined: joined, resumes: resumes, keys: keys, lastData: lastData)
                    at.memberBytes = placement?.bytes
                    at.memberPrevious = placement == nil ? nil : lastOn
                    if try !take(at) { return }
                }
                if placement != nil {
                    guard let place = placement!.follow(e) else { throw SetPlacement.misplaced(journal: path, line: r.lineNumber, seq: e.seq) }
                    switch place {
                    case .member(let m, let at): lastOn[m] = .init(offset: at, sha256: e.sha256)
                    case .every: for (m, at) in (e.memberOffsets ?? []).enumerated() { lastOn[m] = .init(offset: at, sha256: e.sha256) }
                    }
                }
                if joinedKinds.contains(e.kind) { joined += 1 }
                if e.kind == .resume { resumes += 1 }
                if e.kind == .key { keys += 1 }
                if e.kind == .data { lastData = e.dataRecord }
                previous = e
            default: break
            }
        }
    }

    /// Resume records a journal names.
    static func resumes(_ path: String) throws -> UInt64 {
        var n: UInt64 = 0
        try records(path, volume: 0) { r in
            if r.entry.kind == .resume { n += 1 }
            return true
        }
        return n
    }
}

/// Where a run interrupted goes on, from its journals (seed-journal(5),
/// RESUMING): one checkpoint interval back from the last record the
/// journals name, since the drive may lag the journal by what the pipes
/// and seed-writeblk held, at the first data or index record from there.
enum ResumePlanner {
    /// The journals of `session` in `directory`, by volume number.
    /// The names in a journal directory (none when it is not made yet:
    /// seed-journal makes it as the first run starts). Only names of the
    /// forms seed makes are looked for, so decoding them as UTF-8 loses nothing.
    static func names(in directory: String) throws -> [String] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw SeedError(.noInput, "cannot read journal directory \(quoted(directory)): \(errnoMessage())")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            names.append(withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return names
    }

    /// Whether the journals say the session was sent whole: every volume
    /// from the first to the last has a journal that ends with its end
    /// line, and the last one's record lines name the stream's end record.
    static func isComplete(_ directory: String, session: String) throws -> Bool {
        let all = try journals(directory, session: session)
        guard let last = all.last else { return false }
        // Volume 0 alone (a stream not split), or volumes 1, 2, ... with none left out.
        let numbered = all.enumerated().allSatisfy { UInt64($0.element.0) == UInt64($0.offset) + 1 }
        if !(all.count == 1 && last.0 == 0) && !numbered { return false }
        for (n, path) in all {
            let r = try JournalReader(path)
            var (ended, endRecord) = (false, false)
            while let l = try r.next() {
                switch l {
                case .record(let e): endRecord = endRecord || e.kind == .end
                case .end: ended = true
                default: break
                }
            }
            if !ended || (n == last.0 && !endRecord) { return false }
        }
        return true
    }

    static func completeMessage(_ session: String, _ dir: String) -> String {
        "session \(session) is complete: its journals in \(quoted(dir)) name every record through the end; nothing to send "
            + "(--resume-back SIZE sends the last SIZE again)"
    }

    static func journals(_ directory: String, session: String) throws -> [(UInt32, String)] {
        let names = try names(in: directory)
        let prefix = session + ".v"
        var found: [(UInt32, String)] = []
        for n in names where n.hasPrefix(prefix) && n.hasSuffix(".jrn") {
            let digits = n.dropFirst(prefix.count).dropLast(4)
            guard digits.count >= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt32(digits),
                n == JournalNames.name(session: session, volume: v)
            else { continue }
            found.append((v, directory + "/" + n))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    /// The least a resume goes back: more than seed-writeblk and the pipes
    /// before it hold of what the journal has named.
    static let leastBack: UInt64 = 64 << 20

    typealias Plan = (point: ResumePoint, sourceSequence: UInt64, kind: RecordKind)

    /// The resume point, and the sequence number of the record it goes on
    /// with in the stream the first stage reads; nil when the journals name
    /// no data or index record to go on at (the run starts over).
    static func plan(_ directory: String, session: String, back given: UInt64? = nil) throws -> Plan? {
        let all = try journals(directory, session: session)
        // The volumes the last checkpoint interval reaches back into.
        var loaded: [(number: UInt32, path: String, bytes: UInt64)] = []
        var span: UInt64 = 0
        var interval: UInt64 = given ?? leastBack
        for (n, path) in all.reversed() {
            guard let bytes = try JournalScan.bytes(path) else {
                // A journal killed before its first line was whole names nothing.
                if loaded.isEmpty { continue }
                throw SeedError.data("journal \(quoted(path)) has no volume line")
            }
            if loaded.isEmpty && given == nil {
                // A graceful stop synced every stage: nothing lags the journal.
                if let m = StopMark.read(directory, session: session), m.volume == n, m.bytes == bytes {
                    interval = 0
                } else {
                    interval = max(try JournalScan.volumeLine(path).checkpoint ?? 1 << 30, leastBack)
                }
            }
            loaded.insert((n, path, bytes), at: 0)
            // Each volume's bytes are bounded (seed-journal(5)); their sum is not.
            span = span.addingReportingOverflow(bytes).overflow ? .max : span + bytes
            if span >= interval { break }
        }
        guard let earliest = loaded.first else { return nil }
        let target = span > interval ? span - interval : 0
        // The first data or index record at or after the target, else the last one before it.
        var chosen: JournaledRecord?
        var first = true
        var reached = false
        var base: UInt64 = 0
        for v in loaded where !reached {
            try JournalScan.records(v.path, volume: v.number) { r in
                guard r.entry.kind == .data || r.entry.kind == .index else { return true }
                first = chosen == nil
                chosen = r
                reached = base.addingReportingOverflow(r.entry.offset).overflow || base + r.entry.offset >= target
                return !reached
            }
            base = base.addingReportingOverflow(v.bytes).overflow ? .max : base + v.bytes
        }
        // Going on at the stream's first data or index record gains nothing
        // over starting again, which needs no drive to hold anything yet.
        guard let r = chosen, !(first && earliest.number == all[0].0) else { return nil }
        return try point(r, session: session, all: all)
    }

    /// The resume point at data record `n`, which the journals must name.
    static func plan(_ directory: String, session: String, dataRecord n: UInt64) throws -> Plan {
        let all = try journals(directory, session: session)
        for (number, path) in all.reversed() {
            guard try JournalScan.bytes(path) != nil else { continue }
            var found: JournaledRecord?
            try JournalScan.records(path, volume: number) { r in
                if r.entry.dataRecord == n { found = r }
                return found == nil
            }
            if let r = found { return try point(r, session: session, all: all) }
            if let first = try JournalScan.volumeLine(path).firstDataRecord, first <= n { break }
        }
        throw SeedError.data("the journals in \(quoted(directory)) do not name data record \(n)")
    }

    /// The resume point at record line `r`.
    static func point(_ r: JournaledRecord, session: String, all: [(UInt32, String)]) throws -> Plan {
        let sequence = (r.line.firstRecord ?? 0) + r.joined
        var resumes = r.resumes
        for (n, path) in all where n < r.volume { resumes += try JournalScan.resumes(path) }
        let dataRecord = r.entry.dataRecord ?? r.lastData.map { $0 + 1 } ?? r.line.firstDataRecord ?? 0
        var point = ResumePoint(
            session: session, sequence: sequence, dataRecord: dataRecord, volume: r.volume, volumeSequence: r.entry.seq,
            offset: r.entry.offset, keyRecords: r.keys, previousOffset: r.previous.offset, previousSHA256: r.previous.sha256,
            stages: r.line.stages ?? [])
        if let bytes = r.memberBytes, let last = r.memberPrevious {
            // Every member holds the volume begin: each has a record before the point.
            guard last.allSatisfy({ $0 != nil }) else {
                throw SeedError.data("the journal of volume \(r.volume) names a data member with no record before the resume point")
            }
            point.memberBytes = bytes
            point.memberPrevious = last.map { $0! }
        }
        guard resumes <= sequence else {
            throw SeedError.data("the journals of session \(session) name \(resumes) resume records before record \(sequence): they do not hold together")
        }
        return (point, sequence - resumes, r.entry.kind)
    }
}

/// A first stage given --resume JOURNAL-DIR: reads its input, a staging
/// file holding the stream before seed-split or the volumes seed-split
/// wrote (not yet encrypted), from the record the resume point names,
/// after a resume record that tells the later stages.
enum FirstStageResume {
    static func install(on runner: StageRunner, _ io: StreamIO, diag: Diagnostics) throws {
        guard let dir = io.resume else { return }
        var st = stat()
        guard fstat(runner.input.rawValue, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw SeedError.usage("--resume needs the input as a file (a staging file), not a pipe", hint: "see RESUMING in seed(7)", code: "resume-needs-file")
        }
        let source = runner.source
        let input = runner.input
        runner.resumer = { r, meta in
            if io.resumeBack == nil, try ResumePlanner.isComplete(dir, session: meta.session) {
                diag.info(ResumePlanner.completeMessage(meta.session, dir))
                try runner.sendComplete(meta.session)
                return nil
            }
            guard let (point, sequence, kind) = try ResumePlanner.plan(dir, session: meta.session, back: io.resumeBack) else {
                diag.info("nothing of session \(meta.session) journaled in \(quoted(dir)) yet: starting from the beginning")
                return nil
            }
            if meta.stages.contains(where: { $0.tool == "seed-encrypt" }) {
                throw SeedError.usage(
                    "\(source) is already encrypted: a resumed run seals what it sends under a key of its own",
                    hint: "keep the staging file from before seed-encrypt, and resume from it")
            }
            let known = point.stages.map(\.tool)
            let here = meta.stages.map(\.tool)
            guard known.starts(with: here) else {
                throw SeedError.data(
                    "\(source): the stream was made by \(here.joined(separator: ", ")), the journaled one by \(known.joined(separator: ", "))",
                    hint: "resume with the staging file the interrupted run read")
            }
            var p = point
            p.stages = meta.stages
            // A staging file written after seed-split holds the volumes as
            // seed-split numbered them, before encryption added key records.
            let split = r.header.kind == .volumeBegin
            let (volume, at) = split ? (point.volume, point.volumeSequence - point.keyRecords) : (0, sequence)
            let offset = try seek(
                input, source: source, to: (volume, at), kind: kind, dataRecord: split ? nil : point.dataRecord, from: r.offset)
            diag.info(
                "resuming session \(meta.session) at \(point.volume == 0 ? "" : "volume \(point.volume) ")byte \(point.offset) "
                    + "(data record \(point.dataRecord)), from byte \(offset) of \(source)")
            var start = ResumeStart(
                point: p, inputOffset: offset, order: StreamOrder(source: source, volume: volume, sequence: at), volume: volume,
                sequence: split ? at : point.sequence)
            // The resume records before it, and itself, in the joined stream.
            if split { start.firstRecordShift = point.sequence - sequence + 1 }
            return start
        }
    }

    /// The byte where record `sequence` starts, found by reading headers
    /// only, each checked, from the stream header at `start`.
    static func seek(
        _ fd: FileDescriptor, source: String, to place: (volume: UInt32, sequence: UInt64), kind: RecordKind, dataRecord: UInt64?, from start: UInt64
    ) throws -> UInt64 {
        let sequence = place.sequence
        var at = start
        var data: UInt64 = 0
        var b = [UInt8](repeating: 0, count: RecordHeader.size)
        while true {
            let n = try b.withUnsafeMutableBytes { p in try StreamFiles.preadFully(fd, p, at: at, source: source) }
            guard n == RecordHeader.size else {
                throw SeedError.data("\(source): ends at byte \(at), before record \(sequence) the journal names: not the stream the journal was made from")
            }
            let h: RecordHeader
            switch b.withUnsafeBytes({ RecordHeader.decode($0.baseAddress!) }) {
            case .success(let x): h = x
            case .failure(let p): throw SeedError.data("\(source): byte \(at): \(p.message)")
            }
            if h.volume == place.volume && h.sequence == sequence && h.kind != .volumeBegin {
                guard h.kind == kind, kind != .data || dataRecord == nil || data == dataRecord else {
                    throw SeedError.data(
                        "\(source): record \(sequence) is not the \(kind) record the journal names: not the stream the journal was made from")
                }
                return at
            }
            if h.kind == .data { data += 1 }
            at += UInt64(RecordHeader.size) + h.payloadLength
        }
    }
}
