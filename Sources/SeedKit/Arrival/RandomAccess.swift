import Foundation
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// Where `seed-snapshot -t` and `-x` read when given drives
/// (`--from`) instead of a stream: the drives, the journals that say where
/// each record lies on them, the index (from the drives, or an index
/// stream), and the keys.
public struct RandomAccessOptions {
    public var drives: [String] = []
    public var journalDir: String?
    public var index: String?
    public var signers: [String] = []
    public var keys = KeyOptions()
    /// Restore what the drives given hold: an entry whose records lie on a
    /// drive not given (and not rebuildable) is named and left out.
    public var partial = false
    public init() {}
}

/// A stretch of the archive to read: from a chosen entry's first byte to
/// the first entry after it that is not chosen (nil: the archive's end).
struct Stretch {
    var start: UInt64
    var end: UInt64?
}

/// Random access to a seed on its drives (seed-snapshot(1), Random access):
/// the index tells which entries are chosen and where they lie in the
/// archive; the archive offset gives the data records (record size from
/// the stream's stages); the journals give where each record lies on which
/// drive. Only those records are read, each checked against its journal
/// line, opened with its key segment's key and decoded, one by one.
public final class RandomAccess {
    let o: RandomAccessOptions
    let drives: DriveSet
    let journals: SessionJournals
    let keys: SegmentKeys
    private let codecs = CodecContext(level: 0)
    private let plain = ByteBuffer(capacity: 4 << 20)
    /// Index records on the drives, in order, when no index stream is given.
    private var indexLines: [(volume: UInt32, line: JournalLine.Entry, segment: [JournalLine.Entry])] = []
    /// The data records each volume holds, first to last.
    private var dataRange: [UInt32: (first: UInt64, last: UInt64)] = [:]
    private(set) var lastData: UInt64 = 0
    private(set) var recordSize: UInt64 = 0

    init(_ o: RandomAccessOptions) throws {
        guard let dir = o.journalDir else {
            throw SeedError.usage("--from needs --journal-dir: the journals say where each record lies on the drives")
        }
        var o = o
        // The index is read again from inside the target: by its full path.
        if let i = o.index, i != "-" {
            guard let full = realpath(i, nil) else { throw SeedError(.noInput, "cannot open \(quoted(i)): \(errnoMessage())") }
            o.index = String(cString: full)
            free(full)
        } else if o.index == "-" {
            throw SeedError.usage("--index reads the index more than once: give a file, not standard input")
        }
        self.o = o
        drives = try DriveSet(paths: o.drives)
        journals = try SessionJournals(dir: dir, session: drives.session, signers: o.signers)
        keys = try SegmentKeys(o.keys)
        var begins: [(UInt32, JournalLine.Entry)] = []
        var headers: [(UInt32, JournalLine.Entry)] = []
        let walk = journals.cursor()
        var sawData = false
        while let (v, e, seg) = try walk.read() {
            switch e.kind {
            case .data:
                guard let d = e.dataRecord, d < StreamMetadata.maxDataRecords else {
                    throw SeedError.data("journal of volume \(v): data record \(e.seq) without a dataRecord any stream could have")
                }
                let r = dataRange[v]
                dataRange[v] = (min(r?.first ?? d, d), max(r?.last ?? d, d))
                lastData = sawData ? max(lastData, d) : d
                sawData = true
            case .index where o.index == nil: indexLines.append((v, e, seg))
            case .volumeBegin: begins.append((v, e))
            case .streamHeader: headers.append((v, e))
            default: break
            }
        }
        for (v, _) in dataRange where !journals.volumes.contains(where: { $0.volume == v }) {
            throw SeedError.data("journal of volume \(v) is missing")
        }
        if let path = o.index {
            // The index stream's header says the record size.
            let src = try SnapshotSource(input: path)
            _ = try src.next(decodeData: false)
            recordSize = src.metadata.flatMap { StreamMetadata.recordSize($0.stages) } ?? 0
        } else {
            try findRecordSize(begins: begins, headers: headers)
        }
    }

    /// The data record size, from the stages a volume begin or the stream
    /// header on a drive at hand records.
    private func findRecordSize(begins: [(UInt32, JournalLine.Entry)], headers: [(UInt32, JournalLine.Entry)]) throws {
        for (v, line) in begins where drives.has(v) {
            let r = try drives.read(v, line)
            if let s = try VolumeBegin.decode(r.payload, record: "volume \(v) record 0").stages, let size = StreamMetadata.recordSize(s) {
                recordSize = size
                return
            }
        }
        for (v, line) in headers where drives.has(v) {
            let r = try drives.read(v, line)
            if let size = StreamMetadata.recordSize(try StreamMetadata.decode(r.payload, record: "volume \(v) stream header").stages) {
                recordSize = size
                return
            }
        }
        throw SeedError.data("no drive given says the snapshot's record size (its stream header or volume begin)")
    }

    // MARK: records

    /// The payload of the record `line` names, read, opened and decoded;
    /// valid until the next call.
    func decoded(_ v: UInt32, _ line: JournalLine.Entry, _ segment: [JournalLine.Entry]) throws -> UnsafeRawBufferPointer {
        let what = "volume \(v) record \(line.seq)"
        // The key first: reading its records reuses the drive buffer.
        let key = segment.contains { $0.kind == .key } ? try keys.key(volume: v, clear: segment, drives: drives) : nil
        let r = try drives.read(v, line)
        var h = r.header
        var payload = r.payload
        var opened = Data()
        if h.flags.isEncrypted {
            guard let key else { throw SeedError.data("\(what): encrypted, with no key record before it in its volume") }
            opened = try Encryptor.openPayload(h, payload, key, what)
            h.payloadLength = UInt64(opened.count)
        } else if key != nil {
            throw SeedError.data("\(what): \(h.kind) record is not encrypted in an encrypted stream")
        }
        return try opened.withUnsafeBytes { clear in
            if h.flags.isEncrypted { payload = clear }
            guard let codec = h.flags.codec, codec != .none else {
                plain.set(payload)
                return plain.bytes
            }
            plain.reserve(Int(h.rawLength))
            try codecs.decompress(codec, payload, into: UnsafeMutableRawBufferPointer(start: plain.base, count: Int(h.rawLength)), what: what)
            plain.count = Int(h.rawLength)
            return plain.bytes
        }
    }

    // MARK: the index

    /// Every index entry, from the index stream given or the drives.
    /// With `worth`, only the lines it does not pass over (each line is
    /// checked in full by a pass without it).
    func forEachIndexEntry(worth: ((UnsafeRawBufferPointer) -> Bool)? = nil, _ body: (IndexEntry) throws -> Void) throws {
        if let path = o.index {
            let src = try SnapshotSource(input: path)
            while let item = try src.next(decodeData: false) {
                if let m = src.metadata, m.session != drives.session {
                    throw SeedError.data("\(src.source): the index of session \(m.session), not of the drives' \(drives.session)")
                }
                if recordSize == 0, let s = src.metadata.flatMap({ StreamMetadata.recordSize($0.stages) }) { recordSize = s }
                if item.kind == .index { try IndexLines.decode(item.payload, location: item.location, recordSize: src.recordSize, worth: worth, body) }
            }
            return
        }
        guard !indexLines.isEmpty else {
            throw SeedError.data("the journals name no index record (the run never finished)", hint: "give the index stream with --index")
        }
        let missing = Set(indexLines.map(\.volume).filter { !drives.has($0) }).sorted()
        if !missing.isEmpty {
            throw SeedError(
                .nextDrive, "the index is on volume \(missing.map(String.init).joined(separator: ", ")): give its drive",
                hint: "or give --index with the index stream seed-snapshot --index-file wrote")
        }
        for (v, line, segment) in indexLines {
            let payload: UnsafeRawBufferPointer
            do { payload = try decoded(v, line, segment) } catch let e as SeedError where e.status == .dataError {
                throw SeedError(
                    .dataError, SeedMessage(verbatim: e.message), hint: "the index is damaged on the drive: give --index with the index stream", code: e.code)
            }
            try IndexLines.decode(payload, location: "volume \(v) record \(line.seq)", recordSize: recordSize == 0 ? nil : recordSize, worth: worth, body)
        }
    }

    /// Which entries are chosen: those the patterns match (all without
    /// any), and the files chosen hard links link to.
    struct Selection {
        let only: PathPatterns?
        func picks(_ e: IndexEntry) -> Bool { only?.matches(e.pathBytes) ?? true }
    }

    /// The selection: a first pass over the index finds the files chosen
    /// hard links link to that the patterns leave out (kept by path).
    func choose(_ only: PathPatterns?) throws -> Selection {
        guard let only else { return Selection(only: nil) }
        var targets = Set<[UInt8]>()
        // Only hard links matter here: other lines are not decoded.
        try forEachIndexEntry(worth: IndexLines.mayBeHardLink) { e in
            guard only.matches(e.pathBytes), e.type == .hardlink, let l = e.linkBytes, !only.matches(l) else { return }
            targets.insert(l)
        }
        only.extra = targets
        return Selection(only: only)
    }

    /// The chosen entries in archive order, each with where the next entry
    /// starts (nil for the last), streamed from the index: memory does not
    /// grow with the number of entries.
    func forEachChosen(_ s: Selection, _ body: (IndexEntry, UInt64?) throws -> Void) throws {
        var held: IndexEntry?
        try forEachIndexEntry { e in
            if let h = held { try body(h, e.archiveOffset) }
            held = s.picks(e) ? e : nil
        }
        if let h = held { try body(h, nil) }
    }

    /// The stretches of archive the chosen entries fill, and a check that
    /// the drives given hold them all (else the volumes still needed).
    func stretches(_ selection: Selection) throws -> [Stretch] {
        guard recordSize > 0 else { throw SeedError.data("the snapshot's record size is unknown") }
        var out: [Stretch] = []
        // The archive ends within the last data record the journals name.
        let archiveEnd = (lastData + 1) * recordSize
        try forEachChosen(selection) { e, end in
            guard e.archiveOffset < archiveEnd, (end ?? 0) <= archiveEnd else {
                throw SeedError.data("\(e.displayPath): the index puts it past the archive the journals describe")
            }
            if let last = out.last, last.end == e.archiveOffset {
                out[out.count - 1].end = end
            } else {
                out.append(Stretch(start: e.archiveOffset, end: end))
            }
        }
        var needed = Set<UInt32>()
        for s in out {
            let first = s.start / recordSize
            let last = s.end.map { $0 > s.start ? ($0 - 1) / recordSize : first } ?? lastData
            for (v, r) in dataRange where r.first <= last && r.last >= first { needed.insert(v) }
        }
        let missing = needed.filter { !drives.has($0) }.sorted()
        if !missing.isEmpty && !o.partial {
            throw SeedError(
                .nextDrive,
                "the entries chosen need volume\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")): give \(missing.count == 1 ? "its drive" : "their drives")"
            )
        }
        return out
    }

    // MARK: the tools

    /// seed-snapshot -x DIR [--only PATTERN...] --from DRIVE...: what a
    /// damaged record holds is named and left out, the rest restored.
    public static func extract(_ x: ExtractOptions, _ o: RandomAccessOptions, diag: Diagnostics) throws -> SeedExit {
        let only = PathPatterns(x.only)
        let a = try RandomAccess(o)
        let selection = try a.choose(only)
        let ex = SnapshotExtractor(source: "the drives", only: only, diag: diag)
        var lost = 0
        let stretches = try a.stretches(selection)
        if !stretches.isEmpty {
            let feed = RandomFeed(a, stretches, selection: selection, diag: diag)
            try ex.writeEntries(x, feed)
            _ = try ex.check { body in
                try a.forEachChosen(selection) { e, _ in if !feed.lostOffsets.contains(e.archiveOffset) { try body(e) } }
            }
            lost = feed.lostOffsets.count
        }
        for line in a.drives.mends { diag.warning(SeedMessage(verbatim: line)) }
        for line in a.drives.readSummary { diag.verbose(line) }
        if lost > 0 {
            throw SeedError.data(
                "\(lost) entr\(lost == 1 ? "y" : "ies") not restored, for damaged records\(o.partial ? " or drives not given" : "")",
                hint: "seed-snapshot --repair at the source makes a bundle of them from seed-journal --check --report")
        }
        let status = ex.finish()
        return a.drives.mends.isEmpty || status != .success ? status : .warnings
    }

    /// seed-snapshot -t --from DRIVE...: the index, read from the drives.
    public static func list(long: Bool, only: [String], _ o: RandomAccessOptions, diag: Diagnostics) throws -> SeedExit {
        let a = try RandomAccess(o)
        let lister = SnapshotLister(long: long, only: PathPatterns(only))
        try a.forEachIndexEntry { try lister.list($0) }
        try lister.out.flush()
        for line in a.drives.mends { diag.warning(SeedMessage(verbatim: line)) }
        for line in a.drives.readSummary { diag.verbose(line) }
        return lister.finish(diag)
    }
}

/// A data record that could not be read whole and checked.
struct DamagedRecord: Error {
    let number: UInt64
    let error: SeedError
    /// On a drive not given (with --partial), rather than damaged.
    var absent = false
}

/// The chosen stretches of the archive, one after another, read record by
/// record from the drives; then the two zero blocks that end an archive.
/// Past a damaged record it goes on with the next chosen entry that lies
/// wholly after it, naming the entries lost.
final class RandomFeed: ExtractFeed {
    private let access: RandomAccess
    private let stretches: [Stretch]
    private let selection: RandomAccess.Selection
    private let diag: Diagnostics
    /// Chosen entries lost to damage: their archive offsets and paths.
    private(set) var lostOffsets = Set<UInt64>()
    private var lostPaths = Set<[UInt8]>()
    private let cursor: JournalCursor
    private var stretch = 0
    private var position: UInt64
    /// Bytes handed out so far, and where each stretch starts among them.
    private var handed: UInt64 = 0
    private var starts: [(handed: UInt64, archive: UInt64)] = []
    /// The data record decoded last, kept for a stretch that goes on in it.
    private var current: (number: UInt64, payload: UnsafeRawBufferPointer)?
    private var ended = false
    /// The two zero blocks that end an archive.
    private let endBlocks: ByteBuffer = {
        let b = ByteBuffer(capacity: 1024)
        memset(b.base, 0, 1024)
        b.count = 1024
        return b
    }()

    init(_ access: RandomAccess, _ stretches: [Stretch], selection: RandomAccess.Selection, diag: Diagnostics) {
        self.access = access
        self.stretches = stretches
        self.selection = selection
        self.diag = diag
        cursor = access.journals.cursor()
        position = stretches.first?.start ?? 0
        if let s = stretches.first { starts.append((0, s.start)) }
    }

    /// Data record `n` decoded; numbers only rise.
    private func record(_ n: UInt64) throws -> UnsafeRawBufferPointer {
        if let c = current, c.number == n { return c.payload }
        while let (v, line, segment) = try cursor.read() {
            guard line.kind == .data, let d = line.dataRecord else { continue }
            if d < n { continue }
            guard d == n else { break }
            do {
                let p = try access.decoded(v, line, segment)
                current = (n, p)
                return p
            } catch let e as SeedError where e.status == .dataError || e.status == .ioError {
                // A record that fails its checks, or a sector that cannot be read.
                throw DamagedRecord(number: n, error: e)
            } catch let e as SeedError where e.status == .nextDrive && access.o.partial {
                throw DamagedRecord(number: n, error: e, absent: true)
            }
        }
        throw SeedError.data("data record \(n) is in no journal")
    }

    func next() throws -> UnsafeRawBufferPointer? {
        let size = access.recordSize
        while stretch < stretches.count {
            let s = stretches[stretch]
            let n = position / size
            let done = s.end.map { position >= $0 } ?? (n > access.lastData)
            if done {
                stretch += 1
                if stretch < stretches.count {
                    position = stretches[stretch].start
                    starts.append((handed, position))
                }
                continue
            }
            let payload = try record(n)
            let from = Int(position - n * size)
            // Every data record but the last holds exactly the record size.
            guard payload.count == Int(size) || n == access.lastData, from < payload.count else {
                throw SeedError.data("data record \(n) holds \(payload.count) bytes, not the record size \(size)")
            }
            let to = s.end.map { min(Int(min($0 - n * size, UInt64(payload.count))), payload.count) } ?? payload.count
            position = n * size + UInt64(to)
            handed += UInt64(to - from)
            if to == payload.count && s.end == nil && n == access.lastData { position = (access.lastData + 1) * size }
            return UnsafeRawBufferPointer(rebasing: payload[from..<to])
        }
        guard !ended else { return nil }
        ended = true
        return endBlocks.bytes
    }

    func goOn(after error: Error, entryStarted: UInt64?) throws -> Bool {
        guard let damage = error as? DamagedRecord else { return false }
        let size = access.recordSize
        let (from, to) = (damage.number * size, (damage.number + 1) * size)
        // The chosen entries from the one being written (or the first
        // reaching into the damaged record) to the first wholly after it
        // are lost; the index is read again to find them.
        var hit: [(offset: UInt64, path: [UInt8])] = []
        var until = UInt64.max
        try access.forEachChosen(selection) { e, end in
            guard until == .max else { return }
            if e.archiveOffset >= to {
                until = e.archiveOffset
            } else if (end ?? .max) > from || e.archiveOffset >= (entryStarted ?? .max) {
                hit.append((e.archiveOffset, e.pathBytes))
            }
        }
        let start = min(entryStarted ?? .max, hit.first?.offset ?? .max)
        diag.error(damage.error)
        for h in hit where h.offset >= start { lose(path: h.path, at: h.offset, linkingTo: nil, absent: damage.absent) }
        // A fresh archive reader starts at the next whole entry.
        current = nil
        ended = false
        handed = 0
        if until == .max {
            stretch = stretches.count
            starts = [(0, position)]
        } else {
            stretch = stretches.lastIndex { $0.start <= until } ?? 0
            position = until
            starts = [(0, until)]
        }
        return true
    }

    func lost(path: [UInt8]) -> Bool { lostPaths.contains(path) }

    func lose(path: [UInt8], at offset: UInt64, linkingTo target: [UInt8]?) { lose(path: path, at: offset, linkingTo: target, absent: false) }

    func lose(path: [UInt8], at offset: UInt64, linkingTo target: [UInt8]?, absent: Bool) {
        guard lostOffsets.insert(offset).inserted else { return }
        lostPaths.insert(path)
        let lies = absent ? "its data lies on a drive not given" : "its data lies in a damaged record"
        let why = target.map { "it is a hard link to \(quoted(bytes: $0)), which was not" } ?? lies
        diag.error("\(quoted(bytes: path)): not restored: \(why)")
    }

    func useRing(depth: Int, willReuse: @escaping (Int) -> Void) -> Bool { false }

    func ringBuffer(holding p: UnsafeRawPointer, count: Int) -> Int? { nil }

    func archiveOffset(_ position: UInt64) -> UInt64 {
        var lo = 0
        var hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid].handed <= position { lo = mid } else { hi = mid - 1 }
        }
        guard let s = starts.indices.contains(lo) ? starts[lo] : nil else { return position }
        return s.archive + (position - s.handed)
    }
}
