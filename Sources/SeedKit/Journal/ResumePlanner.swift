import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// One volume's journal as a resume reads it.
struct JournaledVolume {
    let number: UInt32
    let path: String
    var line: JournalLine.Volume?
    var records: [JournalLine.Entry] = []

    init(number: UInt32, path: String) throws {
        self.number = number
        self.path = path
        let r = try JournalReader(path)
        while let l = try r.next() {
            switch l {
            case .volume(let v): line = v
            case .record(let e): records.append(e)
            default: break
            }
        }
    }

    /// A journal's first line, read alone.
    static func volumeLine(_ path: String) throws -> JournalLine.Volume {
        guard case .volume(let v) = try JournalReader(path).next() else {
            throw SeedError.data("journal \(quoted(path)) has no volume line")
        }
        return v
    }

    /// Bytes of the volume's stream its record lines name.
    var bytes: UInt64 { records.last.map { $0.offset + $0.length } ?? 0 }
}

/// Where a run interrupted goes on, from its journals (seed-journal(5),
/// RESUMING): one checkpoint interval back from the last record the
/// journals name, since the drive may lag the journal by what the pipes
/// and seed-writeblk held, at the first data or index record from there.
enum ResumePlanner {
    /// The journals of `session` in `directory`, by volume number.
    static func journals(_ directory: String, session: String) throws -> [(UInt32, String)] {
        guard let dir = opendir(directory) else {
            // Not made yet: seed-journal makes it as the first run starts.
            if errno == ENOENT { return [] }
            throw SeedError(.noInput, "cannot read journal directory \(quoted(directory)): \(errnoMessage())")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            names.append(withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
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

    /// The resume point, and the sequence number of the record it goes on
    /// with in the stream the first stage reads; nil when the journals name
    /// no data or index record yet (the run starts over).
    /// The least a resume goes back: more than seed-writeblk and the pipes
    /// before it hold of what the journal has named.
    static let leastBack: UInt64 = 64 << 20

    static func plan(_ directory: String, session: String, back given: UInt64? = nil) throws -> (point: ResumePoint, sourceSequence: UInt64, kind: RecordKind)?
    {
        let all = try journals(directory, session: session)
        guard !all.isEmpty else { return nil }
        // The volumes the last checkpoint interval reaches back into.
        var loaded: [JournaledVolume] = []
        var span: UInt64 = 0
        var interval: UInt64 = given ?? leastBack
        for (n, path) in all.reversed() {
            let v = try JournaledVolume(number: n, path: path)
            // A journal killed before its first line was whole names nothing.
            if v.line == nil && loaded.isEmpty { continue }
            guard v.line != nil else { throw SeedError.data("journal \(quoted(path)) has no volume line") }
            if loaded.isEmpty && given == nil { interval = max(v.line?.checkpoint ?? 1 << 30, leastBack) }
            loaded.insert(v, at: 0)
            span += v.bytes
            if span >= interval { break }
        }
        let target = span > interval ? span - interval : 0
        // The first data or index record at or after the target, else the last one before it.
        var chosen: (v: Int, i: Int)?
        var first = true
        var base: UInt64 = 0
        search: for (vi, v) in loaded.enumerated() {
            for (i, e) in v.records.enumerated() where e.kind == .data || e.kind == .index {
                first = chosen == nil
                chosen = (vi, i)
                if base + e.offset >= target { break search }
            }
            base += v.bytes
        }
        // Going on at the stream's first data or index record gains nothing
        // over starting again, which needs no drive to hold anything yet.
        guard let (vi, i) = chosen, i > 0, !(first && loaded[0].number == all[0].0) else { return nil }
        return try point(loaded[vi], i, session: session, all: all)
    }

    /// The resume point at data record `n`, which the journals must name.
    static func plan(_ directory: String, session: String, dataRecord n: UInt64) throws -> (point: ResumePoint, sourceSequence: UInt64, kind: RecordKind) {
        let all = try journals(directory, session: session)
        for (number, path) in all.reversed() {
            let v = try JournaledVolume(number: number, path: path)
            if let i = v.records.firstIndex(where: { $0.dataRecord == n }), i > 0 {
                return try point(v, i, session: session, all: all)
            }
            if let first = v.line?.firstDataRecord, first <= n { break }
        }
        throw SeedError.data("the journals in \(quoted(directory)) do not name data record \(n)")
    }

    /// The resume point at record line `i` of volume `v`.
    static func point(_ v: JournaledVolume, _ i: Int, session: String, all: [(UInt32, String)]) throws
        -> (point: ResumePoint, sourceSequence: UInt64, kind: RecordKind)
    {
        let r = v.records[i]
        let before = v.records[i - 1]
        let joinedKinds: Set<RecordKind> = [.streamHeader, .data, .index, .end, .resume]
        let earlier = v.records[..<i]
        let sequence = (v.line?.firstRecord ?? 0) + UInt64(earlier.filter { joinedKinds.contains($0.kind) }.count)
        var resumes = UInt64(earlier.filter { $0.kind == .resume }.count)
        for (n, path) in all where n < v.number { resumes += try countResumes(path) }
        let dataRecord = r.dataRecord ?? (earlier.last { $0.kind == .data }?.dataRecord.map { $0 + 1 } ?? v.line?.firstDataRecord ?? 0)
        let point = ResumePoint(
            session: session, sequence: sequence, dataRecord: dataRecord, volume: v.number, volumeSequence: r.seq, offset: r.offset,
            keyRecords: UInt64(earlier.filter { $0.kind == .key }.count), previousOffset: before.offset, previousSHA256: before.sha256,
            stages: v.line?.stages ?? [])
        return (point, sequence - resumes, r.kind)
    }

    /// Resume records a journal names (its lines are sorted JSON objects).
    static func countResumes(_ path: String) throws -> UInt64 {
        guard let data = FileManager.default.contents(atPath: path) else { throw SeedError.io("cannot read journal \(quoted(path))") }
        let needle = Data("\"kind\":\"resume\"".utf8)
        var n: UInt64 = 0
        var from = data.startIndex
        while let hit = data.range(of: needle, in: from..<data.endIndex) {
            n += 1
            from = hit.upperBound
        }
        return n
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
            throw SeedError.usage("--resume needs the input as a file (a staging file), not a pipe", hint: "see RESUMING in seed(7)")
        }
        let source = runner.source
        let input = runner.input
        runner.resumer = { r, meta in
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
