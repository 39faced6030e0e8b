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

/// What is wrong with a record --check names (the report's `problem`).
enum RecordProblem: String, Codable {
    /// The input ended before it.
    case missing
    /// The input ended inside it.
    case cutShort = "cut short"
    /// Its bytes are not those the journal took the digest of.
    case digestMismatch = "digest mismatch"
}

/// What --check found in one volume.
struct VolumeReport: Codable {
    var volume: UInt32
    var journal: String
    var records: UInt64 = 0
    var good: UInt64 = 0
    var damaged: [DamagedRecord] = []
    var journalComplete = true
    /// Records the journal does not name (it is incomplete), not checked.
    var unchecked: UInt64 = 0
    /// In a set's volume read from some of its data members: those not
    /// given (from 1), and how many records on them were not checked.
    var membersNotGiven: [Int]?
    var notGiven: UInt64?

    struct DamagedRecord: Codable {
        var seq: UInt64
        var kind: RecordKind?
        var offset: UInt64
        var length: UInt64
        var dataRecord: UInt64?
        var problem: RecordProblem
        /// The files the record carries: names that are UTF-8 in `files`,
        /// the others' bytes in base64 in `filesB64` (as the index keeps
        /// `path` and `pathB64` apart, so no name can pass for another).
        var files: [String]?
        var filesB64: [String]?
        var filesUnknown: Bool?
    }
}

struct CheckReport: Codable {
    var ok: Bool
    var session: String?
    var volumes: [VolumeReport]
    var error: String?
}

/// seed-journal --check: reads volumes as they came off the drives and
/// checks every record against its volume's journal: in place, whole,
/// with its digest. Good records go on; every missing or damaged one is
/// named with the files it carries. Positions come from the journal, so
/// damage never throws the check off the records after it.
enum JournalChecker {
    static func run(_ o: JournalOptions, diag: Diagnostics) throws -> SeedExit {
        // The check goes on to the end if the next stage stops reading.
        let runner = try StageRunner(o.io, label: "seed-journal --check")
        runner.reportsVolumes = true
        // The check frames its input itself and never stops at a record: a
        // signal ends it at once (status 130), with no report written.
        if runner.isFirstStage { GracefulStop.install(.none) }
        let source = runner.source
        let output = try StreamOutput(path: o.io.output, force: false, input: runner.input)
        var checker = VolumeChecker(o: o, diag: diag, input: RawInput(fd: runner.input), source: source)
        var report = CheckReport(ok: true, volumes: [])
        var failure: SeedError?
        // Workers digest records; the sink passes on the good ones and keeps
        // only what went wrong.
        let sink = CheckSink(output: output)
        var volumes: [VolumeProgress] = []
        do {
            try runner.run(CheckStage(), output: sink) {
                while let v = try checker.feedVolume(runner) { volumes.append(v) }
            }
        } catch let e as SeedError {
            failure = e
            report.error = e.message
        }
        // A signal let pass: the input was cut by the stop upstream, and
        // what it lacks is named nowhere, neither here nor in a report.
        let stopped = GracefulStop.signalLetPass != 0
        for v in volumes {
            report.session = report.session ?? checker.session
            report.volumes.append(try checker.finish(v, naming: !stopped))
        }
        checker.outputBroken = sink.broken
        let bad = report.volumes.filter { !$0.damaged.isEmpty || !$0.journalComplete }
        report.ok = failure == nil && bad.isEmpty && !checker.outputBroken
        // A stop upstream cut the input short: that is not damage, and no
        // report says it is (the run ends interrupted; see Tool).
        if stopped, failure != nil || !bad.isEmpty {
            throw failure ?? SeedError(.interrupted, "interrupted")
        }
        if let path = o.report {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .prettyPrinted]
            guard let data = try? e.encode(report), FileManager.default.createFile(atPath: path, contents: data + [0x0a]) else {
                throw SeedError(.cannotCreate, "cannot write the report \(quoted(path))")
            }
        }
        if let f = failure { throw f }
        if checker.outputBroken { diag.warning("the next stage stopped reading; every record was still checked") }
        let damaged = bad.filter { !$0.damaged.isEmpty }
        if damaged.isEmpty, let v = bad.first {
            throw SeedError.data(
                "the journal of volume \(v.volume) is incomplete: \(v.records) records checked, \(v.unchecked) more not named by it and not checked")
        }
        if !bad.isEmpty {
            let bad = damaged
            let n = bad.reduce(0) { $0 + $1.damaged.count }
            throw SeedError.data(
                "\(n) record\(n == 1 ? "" : "s") missing or damaged in volume\(bad.count == 1 ? "" : "s") \(bad.map { String($0.volume) }.joined(separator: ", "))"
            )
        }
        if report.volumes.isEmpty { throw SeedError.data("\(source): empty input, no volume to check") }
        return checker.outputBroken ? .failure : .success
    }
}

/// Exact reads from the input: a buffer refilled with large reads.
final class RawInput {
    let fd: FileDescriptor
    private let buffer = ByteBuffer(capacity: 4 << 20)
    private var start = 0
    private(set) var position: UInt64 = 0

    init(fd: FileDescriptor) { self.fd = fd }

    /// Reads up to `count` bytes into `dst`; fewer only at the end of the input.
    func read(into dst: UnsafeMutableRawPointer, count: Int) throws -> Int {
        var got = 0
        while got < count {
            if start == buffer.count {
                start = 0
                buffer.count = 0
                let n: Int
                do { n = try fd.read(into: UnsafeMutableRawBufferPointer(start: buffer.base, count: buffer.capacity)) } catch let e as Errno {
                    throw SeedError.io("read error at byte \(position): \(e.message)")
                }
                if n == 0 { break }
                buffer.count = n
            }
            let n = min(count - got, buffer.count - start)
            (dst + got).copyMemory(from: buffer.base + start, byteCount: n)
            start += n
            got += n
        }
        position += UInt64(got)
        return got
    }
}

/// The expected record a slot is checked against.
final class ExpectedRecord {
    let line: JournalLine.Entry
    let digest: [UInt8]
    let volume: VolumeProgress
    var problem: RecordProblem?
    init(_ line: JournalLine.Entry, digest: [UInt8], volume: VolumeProgress) {
        self.line = line
        self.digest = digest
        self.volume = volume
    }
}

/// A volume being checked: counts, and only the records that failed.
final class VolumeProgress {
    let volume: UInt32
    let file: JournalFile
    var journal: String { file.path }
    var records: UInt64 = 0
    var good: UInt64 = 0
    var bad: [(record: ExpectedRecord, problem: RecordProblem)] = []
    var journalComplete = true
    /// Records past the end of an incomplete journal.
    var unchecked: UInt64 = 0
    /// A set's data members (from 0) none of whose records came, and how
    /// many records they hold.
    var membersNotGiven: Set<Int> = []
    var notGiven: UInt64 = 0
    init(volume: UInt32, journal: JournalFile) {
        self.volume = volume
        self.file = journal
    }
}

/// Put on in order where the records that follow cannot be checked (past
/// an incomplete journal): nothing after it goes on.
final class WithholdRest {}

/// Each record's digest against its journal's, in the workers.
final class CheckStage: RecordStage {
    func record(_ r: Record, at loc: String, _ run: StageRunner) throws {}

    func work(_ slot: PipelineSlot, lane: Int) throws {
        guard let e = slot.context as? ExpectedRecord, e.problem == nil else { return }
        if Array(SHA256.hash(data: slot.input.bytes)) != e.digest { e.problem = .digestMismatch }
    }
}

/// The pipeline's writing end: good records go on until the first missing
/// or damaged one; from there on nothing more is passed (the next stage
/// must not take a stream with a hole for a whole one), but every record
/// is still checked, so the report names all the damage. On a broken pipe
/// the check goes on without passing anything.
final class CheckSink: RecordOutput {
    let output: StreamOutput
    var broken = false
    private(set) var withheld = false
    init(output: StreamOutput) { self.output = output }

    func flush() throws {}
    func abandon(_ error: Error) { output.discard() }

    /// A stream with records withheld is not passed off as whole: a named
    /// output file appears only when every record went on.
    func commit() throws {
        if withheld { output.discard() } else { try output.commit() }
    }

    func put(_ header: RecordHeader, _ payload: UnsafeRawBufferPointer, _ slot: PipelineSlot) throws {
        guard let e = slot.context as? ExpectedRecord else {
            withheld = withheld || slot.context is WithholdRest
            return
        }
        if let problem = e.problem {
            e.volume.bad.append((e, problem))
            withheld = true
            return
        }
        e.volume.good += 1
        if broken || withheld { return }
        do { _ = try output.fd.writeAll(slot.input.bytes) } catch Errno.brokenPipe { broken = true } catch let err as Errno {
            throw SeedError.cannotWrite(output.name, err)
        }
    }
}

struct VolumeChecker {
    let o: JournalOptions
    let diag: Diagnostics
    let input: RawInput
    let source: String
    var session: String?
    var outputBroken = false
    var lastVolume: UInt32?
    var checked: Set<UInt32> = []

    /// Reads the next volume in the input into the pipeline, record by
    /// record as its journal places them; nil at the end of the input.
    mutating func feedVolume(_ run: StageRunner) throws -> VolumeProgress? {
        let at = input.position
        let first = ByteBuffer(capacity: 1 << 20)
        let n = try input.read(into: first.base, count: RecordHeader.size)
        if n == 0 { return nil }
        first.count = n
        var ident: (session: String, volume: UInt32)?
        var headerVolume: UInt32?
        if n == RecordHeader.size, case .success(let h) = RecordHeader.decode(first.base) {
            headerVolume = h.kind == .volumeBegin ? h.volume : nil
            first.reserveKeeping(RecordHeader.size + Int(h.payloadLength))
            let got = try input.read(into: first.base + RecordHeader.size, count: Int(h.payloadLength))
            first.count = RecordHeader.size + got
            let payload = UnsafeRawBufferPointer(start: first.base + RecordHeader.size, count: got)
            if h.kind == .volumeBegin, let b = try? VolumeBegin.decode(payload, record: "") {
                ident = (b.session, b.volume)
            } else if h.kind == .streamHeader, let m = try? StreamMetadata.decode(payload, record: "") {
                ident = (m.session, 0)
            }
        }
        if ident == nil {
            // A damaged volume begin: the volume after the last one checked,
            // or the one its header names, if the journals say which.
            let guess = lastVolume.map { $0 + 1 } ?? headerVolume
            if let v = guess, let known = try findSession(volume: v) {
                ident = (known, v)
                diag.warning("byte \(at): the volume begin record is damaged; checking it as volume \(v), which the journals expect next")
            }
        }
        guard let (s, volume) = ident else {
            throw SeedError.data("\(source): byte \(at): no volume starts here (its volume begin record is damaged): cannot tell which volume this is")
        }
        if checked.contains(volume) { throw SeedError.data("\(source): byte \(at): volume \(volume) appears twice") }
        checked.insert(volume)
        lastVolume = volume
        if let known = session, known != s {
            diag.warning("volume \(volume) belongs to session \(s), not \(known)")
        }
        session = session ?? s
        let path = o.directory + "/" + JournalNames.name(session: s, volume: volume)
        let file = try VolumeChecker.open(path, session: s, volume: volume, signers: o.signers)
        let journal = JournalReader(file)
        let head = try journal.volumeLine(volume, of: s)
        try head.set?.check("journal \(quoted(path))")
        var placement = head.set.map { SetPlacement(data: $0.data) }
        // A set's data members whose first record came (or came damaged).
        var given: Set<Int> = []
        let peeked = ByteBuffer(capacity: RecordHeader.size)
        let progress = VolumeProgress(volume: volume, journal: file)
        var merkle = MerkleRoot()
        var ended = false
        var offset: UInt64 = 0
        var inputEnded = false
        var pending: ByteBuffer? = first
        while let next = try journal.next() {
            if case .end(let end) = next {
                ended = true
                if Hex.encode(merkle.root) != end.merkleRoot || end.records != progress.records {
                    throw SeedError.data("journal \(quoted(path)) is damaged: its records do not add up to its Merkle root")
                }
                if let p = placement, let set = head.set, let given = end.memberBytes {
                    let want = p.bytes + Array(repeating: VolumeLabel.parityBytes(p.bytes, stripe: set.stripe), count: set.parity)
                    guard given == want else {
                        throw SeedError.data("journal \(quoted(path)) is damaged: the members' lengths its end line gives are not its records'")
                    }
                }
                break
            }
            guard case .record(let line) = next else { continue }
            let length = line.length
            // A length no record can have is a damaged journal, never an allocation.
            guard length >= UInt64(RecordHeader.size), length <= UInt64(RecordHeader.size) + RecordHeader.maxPayload,
                let digest = Hex.decode(line.sha256), digest.count == 32
            else {
                throw SeedError.data("journal \(quoted(path)) line \(journal.lineNumber): record \(line.seq) has a length or digest no record has")
            }
            merkle.add(digest)
            progress.records += 1
            if line.offset != offset {
                throw SeedError.data("journal \(quoted(path)) line \(journal.lineNumber): record \(line.seq) out of place")
            }
            offset += length
            if placement != nil {
                guard let place = placement!.follow(line) else {
                    throw SetPlacement.misplaced(journal: path, line: journal.lineNumber, seq: line.seq)
                }
                if case .member(let m, _) = place {
                    // Read from some data members (seed-writeblk -d --partial), a
                    // member whose first record is not there was not given: its
                    // records are passed over, not missing.
                    if progress.membersNotGiven.contains(m) {
                        if !inputEnded, pending == nil || pending === peeked, let h = try peek(&pending, peeked), h.volume == volume,
                            h.sequence == line.seq
                        {
                            throw SeedError.data(
                                "\(source): volume \(volume) record \(line.seq) is on member \(m + 1), whose first records are missing")
                        }
                        progress.notGiven += 1
                        continue
                    }
                    if !given.contains(m) {
                        if !inputEnded, pending == nil || pending === peeked, let h = try peek(&pending, peeked), h.volume == volume,
                            h.sequence > line.seq
                        {
                            progress.membersNotGiven.insert(m)
                            progress.notGiven += 1
                            continue
                        }
                        given.insert(m)
                    }
                }
            }
            try run.putFramed { slot in
                let e = ExpectedRecord(line, digest: digest, volume: progress)
                slot.context = e
                slot.input.count = 0
                if inputEnded {
                    e.problem = .missing
                    return
                }
                slot.input.reserve(Int(length))
                var have = 0
                if let p = pending {
                    pending = nil
                    have = min(p.count, Int(length))
                    slot.input.base.copyMemory(from: p.base, byteCount: have)
                    if have < p.count {
                        // The first record is shorter than its header says: the
                        // volume cannot be followed past it.
                        throw SeedError.data("\(source): volume \(volume) record 0 does not match its journal (damaged volume begin)")
                    }
                }
                let n = try input.read(into: slot.input.base + have, count: Int(length) - have)
                slot.input.count = have + n
                if have + n < Int(length) {
                    inputEnded = true
                    e.problem = have + n == 0 ? .missing : .cutShort
                }
            }
        }
        progress.journalComplete = ended && !journal.torn
        // Signature lines follow the end line; unchecked unless asked.
        if ended && o.signers.isEmpty, case .signature? = try? journal.next() {
            diag.info("journal of volume \(volume) is signed, but no --signer was given: the signature is not checked")
        }
        if !progress.journalComplete {
            diag.warning("journal \(quoted(path)) is incomplete (the run that wrote it stopped): checking the \(progress.records) records it names")
            // The records it does not name are not checked, so nothing goes on after them.
            try run.putFramed { $0.context = WithholdRest() }
            if !inputEnded && pending == nil { try skipUnjournaled(volume, progress) }
        }
        return progress
    }

    /// The header of the next record in the input, read ahead into
    /// `buffer` (then `pending`) if nothing is; nil at the input's end or
    /// where no header decodes.
    func peek(_ pending: inout ByteBuffer?, _ buffer: ByteBuffer) throws -> RecordHeader? {
        if pending == nil {
            buffer.count = try input.read(into: buffer.base, count: RecordHeader.size)
            pending = buffer
        }
        guard let p = pending, p.count >= RecordHeader.size, case .success(let h) = RecordHeader.decode(p.base) else { return nil }
        return h
    }

    /// A volume's journal, read once: with signers, held to them before
    /// any of its lines is used (its last line must be a signature by one
    /// of them over every byte before it), and then read from the copy
    /// that was checked.
    static func open(_ path: String, session: String, volume: UInt32, signers: [String]) throws -> JournalFile {
        if signers.isEmpty { return try JournalFile(path) }
        let keys = try signers.flatMap { try SigningKeys.publics($0) }
        return try JournalFile(path, session: session, volume: volume, signers: keys)
    }

    /// Follows the volume's own framing past the records an incomplete
    /// journal does not name, up to its volume end, so the next volume is
    /// found where it starts. Those records are passed over, unchecked.
    func skipUnjournaled(_ volume: UInt32, _ progress: VolumeProgress) throws {
        let scratch = ByteBuffer(capacity: 1 << 20)
        while true {
            let n = try input.read(into: scratch.base, count: RecordHeader.size)
            if n == 0 { return }
            guard n == RecordHeader.size, case .success(let h) = RecordHeader.decode(scratch.base), h.volume == volume else {
                throw SeedError.data("\(source): volume \(volume): cannot follow the records its incomplete journal does not name")
            }
            var left = Int(h.payloadLength)
            while left > 0 {
                let got = try input.read(into: scratch.base, count: min(left, scratch.capacity))
                if got == 0 { return }
                left -= got
            }
            progress.unchecked += 1
            if h.kind == .volumeEnd { return }
        }
    }

    /// Turns what the pipeline found in a volume into its report, naming
    /// the files in damaged data records from the journal's file lines;
    /// with `naming`, each damaged record in a line on stderr too.
    func finish(_ v: VolumeProgress, naming: Bool = true) throws -> VolumeReport {
        var report = VolumeReport(volume: v.volume, journal: v.journal)
        report.records = v.records
        report.good = v.good
        report.journalComplete = v.journalComplete
        report.unchecked = v.unchecked
        if !v.membersNotGiven.isEmpty {
            report.membersNotGiven = v.membersNotGiven.sorted().map { $0 + 1 }
            report.notGiven = v.notGiven
            let names = report.membersNotGiven!.map(String.init).joined(separator: ", ")
            diag.info(
                "volume \(v.volume): data member\(v.membersNotGiven.count == 1 ? "" : "s") \(names) not given: \(v.notGiven) record\(v.notGiven == 1 ? "" : "s") on \(v.membersNotGiven.count == 1 ? "it" : "them") not checked"
            )
        }
        var damagedData: [UInt64: Int] = [:]
        for (e, problem) in v.bad {
            let l = e.line
            report.damaged.append(
                .init(
                    seq: l.seq, kind: l.kind, offset: l.offset, length: l.length, dataRecord: l.dataRecord,
                    problem: problem))
            if let d = l.dataRecord { damagedData[d] = report.damaged.count - 1 }
        }
        if !damagedData.isEmpty {
            let keys = damagedData.keys.sorted()
            let journal = JournalReader(v.file)
            var named = false
            while let next = try journal.next() {
                guard case .file(let line) = next else { continue }
                let (a, b) = (line.firstData, line.lastData)
                named = true
                var i = keys.partitioningIndex { $0 >= a }
                while i < keys.count && keys[i] <= b {
                    let r = damagedData[keys[i]]!
                    if let p = line.path {
                        report.damaged[r].files = (report.damaged[r].files ?? []) + [p]
                    } else if let b = line.pathB64 {
                        report.damaged[r].filesB64 = (report.damaged[r].filesB64 ?? []) + [b]
                    }
                    i += 1
                }
            }
            if !named { for r in damagedData.values { report.damaged[r].filesUnknown = true } }
        }
        if naming {
            for d in report.damaged { diag.error(SeedMessage(verbatim: describe(v.volume, d)), volume: v.volume, record: d.seq, code: "record-damaged") }
        }
        diag.verbose("volume \(v.volume): \(report.records) records, \(report.good) good, \(report.damaged.count) missing or damaged")
        return report
    }

    /// The session of the one journal in the directory for `volume`.
    func findSession(volume: UInt32) throws -> String? {
        if let s = session {
            return FileManager.default.fileExists(atPath: o.directory + "/" + JournalNames.name(session: s, volume: volume)) ? s : nil
        }
        let suffix = "." + JournalNames.name(session: "", volume: volume).dropFirst()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: o.directory)) ?? []
        let found = names.filter { $0.hasSuffix(suffix) }
        return found.count == 1 ? String(found[0].dropLast(suffix.count)) : nil
    }

    func describe(_ volume: UInt32, _ d: VolumeReport.DamagedRecord) -> String {
        var s =
            "volume \(volume): record \(d.seq) (\(d.kind?.token ?? "?"), bytes \(d.offset)-\(d.offset + d.length - 1) of the volume) is \(d.problem == .missing ? "missing" : "damaged (\(d.problem.rawValue))")"
        switch d.kind {
        case .data?:
            if let f = d.files, !f.isEmpty {
                let shown = f.prefix(5).map { quoted($0) }.joined(separator: ", ")
                s += "; it carries \(shown)\(f.count > 5 ? " and \(f.count - 5) more" : "")"
            } else if d.filesUnknown == true {
                s += "; the journal names no files (it was written without the index)"
            }
        case .index?: s += "; it holds part of the index (file names and digests)"
        case .key?: s += "; it holds the volume's key: nothing in the volume can be decrypted"
        default: break
        }
        return s
    }
}

extension Array where Element == UInt64 {
    /// The first index whose element satisfies `p`, in a sorted array.
    func partitioningIndex(where p: (UInt64) -> Bool) -> Int {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if p(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
