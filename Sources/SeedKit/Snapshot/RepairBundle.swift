import Foundation
import SeedCore
import SeedFormat
import SeedIO

/// What `seed-snapshot --repair REPORT DIR` brings: the entries whose data
/// lies in the records a `seed-journal --check --report` found missing or
/// damaged, taken again from the source tree (seed-snapshot(1), REPAIR).
struct RepairSelection {
    /// The session the bundle mends.
    let session: String
    /// The entries to bring, by path (with the directories above them), and
    /// the directories on the way to them.
    private(set) var chosen = Set<[UInt8]>()
    private(set) var ancestors = Set<[UInt8]>()
    /// Each chosen entry as it was shipped, when the index is at hand.
    private(set) var shipped: [[UInt8]: IndexEntry] = [:]
    /// Chosen entries the walk found.
    var seen = Set<[UInt8]>()

    /// From the report at `report`, with the seed's index from `index` (an
    /// index stream or the stream before seed-encrypt), or else the file
    /// names the report gives.
    init(report: String, index: String?, diag: Diagnostics) throws {
        let data = try SmallFile.read(report, what: "the report", max: 1 << 30)
        let r: CheckReport
        do { r = try JSONDecoder().decode(CheckReport.self, from: data) } catch {
            throw SeedError.data("\(quoted(report)) is not a report of seed-journal --check (JSON)")
        }
        guard let session = r.session, Session.isValid(session) else {
            throw SeedError.data("\(quoted(report)) names no session (the check found no volume)")
        }
        self.session = session
        var damagedData: [UInt64] = []
        var indexDamaged = false
        var names: [[UInt8]] = []
        var unnamed: [UInt64] = []
        for v in r.volumes {
            if !v.journalComplete {
                throw SeedError.data("volume \(v.volume): its journal is incomplete, so the report cannot say what it lacks", hint: "write the volume again")
            }
            for d in v.damaged {
                switch d.kind {
                case .data?:
                    guard let n = d.dataRecord, n < StreamMetadata.maxDataRecords else {
                        throw SeedError.data("\(quoted(report)): volume \(v.volume) record \(d.seq): a data record without a number any stream could have")
                    }
                    damagedData.append(n)
                    if d.filesUnknown == true || (d.files == nil && d.filesB64 == nil) { unnamed.append(n) }
                    var given = (d.files ?? []).map { Array($0.utf8) }
                    for b in d.filesB64 ?? [] {
                        guard let bytes = Data(base64Encoded: b) else {
                            throw SeedError.data("\(quoted(report)): volume \(v.volume) record \(d.seq): a filesB64 name that is not base64")
                        }
                        given.append(Array(bytes))
                    }
                    for name in given {
                        if let why = EntryName.pathProblem(name) {
                            throw SeedError.data("\(quoted(report)): volume \(v.volume) record \(d.seq): the file name \(quoted(bytes: name)) \(why)")
                        }
                        names.append(name)
                    }
                case .index?: indexDamaged = true
                case .volumeEnd?, .end?: continue
                default:
                    throw SeedError.data(
                        "volume \(v.volume) record \(d.seq) (\(d.kind.map { "\($0)" } ?? "of unknown kind")) is damaged: every record of its volume depends on it, "
                            + "which a repair cannot mend", hint: "write the volume again (seed-split --first-volume)")
                }
            }
        }
        if indexDamaged {
            diag.warning("the index records are damaged too: send the index stream (seed-snapshot --index-file) with the repair, and restore with --index")
        }
        damagedData.sort()
        if let index {
            try choose(fromIndex: index, damaged: damagedData)
        } else {
            if let n = unnamed.first {
                throw SeedError.usage("the report does not name the files of data record \(n)", hint: "give --index with the seed's index stream")
            }
            for n in names { add(n) }
        }
    }

    /// Chooses `path` and the directories above it: written into, they
    /// get their times back only if the bundle brings them too.
    private mutating func add(_ path: [UInt8]) {
        chosen.insert(path)
        var p = path
        while let slash = p.lastIndex(of: 0x2f) {
            p = Array(p[..<slash])
            ancestors.insert(p)
            chosen.insert(p)
        }
        if path != [0x2e] {
            ancestors.insert([0x2e])
            chosen.insert([0x2e])
        }
    }

    /// The entries whose bytes (from their archive offset to the next
    /// entry's) touch a damaged data record, and hard links to and from them.
    private mutating func choose(fromIndex path: String, damaged: [UInt64]) throws {
        var recordSize: UInt64?
        func each(_ body: (IndexEntry, UInt64?) throws -> Void) throws {
            let src = try SnapshotSource(input: path)
            var previous: IndexEntry?
            while let item = try src.next(decodeData: false) {
                if let m = src.metadata, m.session != session {
                    throw SeedError.data("\(src.source): the index of session \(m.session), not of the report's \(session)")
                }
                if recordSize == nil { recordSize = src.metadata.flatMap { StreamMetadata.recordSize($0.stages) } }
                guard item.kind == .index else { continue }
                try IndexLines.decode(item.payload, location: item.location) { e in
                    if let p = previous { try body(p, e.archiveOffset) }
                    previous = e
                }
            }
            if let p = previous { try body(p, nil) }
        }
        var files = Set<[UInt8]>()
        var targets = Set<[UInt8]>()
        try each { e, end in
            guard let size = recordSize, size > 0 else { throw SeedError.data("\(quoted(path)): the index does not say its record size") }
            // The first damaged record that ends after the entry starts.
            var lo = 0
            var hi = damaged.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if (damaged[mid] + 1) * size > e.archiveOffset { hi = mid } else { lo = mid + 1 }
            }
            guard lo < damaged.count, end.map({ damaged[lo] * size < $0 }) ?? true else { return }
            add(e.pathBytes)
            shipped[e.pathBytes] = e
            if e.type == .file { files.insert(e.pathBytes) }
            if e.type == .hardlink, let l = e.linkBytes { targets.insert(l) }
        }
        guard !targets.isEmpty || !files.isEmpty else { return }
        // A hard link comes back with its file, and a file with its links.
        try each { e, _ in
            let p = e.pathBytes
            if targets.contains(p) || (e.type == .hardlink && e.linkBytes.map { files.contains($0) || targets.contains($0) } == true) {
                if shipped[p] == nil {
                    add(p)
                    shipped[p] = e
                }
            }
        }
    }

    /// Whether the entry was shipped as it is now; a message when not.
    func differs(_ now: IndexEntry) -> String? {
        guard let was = shipped[now.pathBytes] else { return nil }
        if was.type != now.type { return "was a \(was.type), is a \(now.type)" }
        if was.sha256 != now.sha256 || was.size != now.size { return "its content changed" }
        if was.mode != now.mode || was.linkBytes != now.linkBytes { return "its mode or link changed" }
        return nil
    }
}
