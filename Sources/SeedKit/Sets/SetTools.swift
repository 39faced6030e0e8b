import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// Keeping a drive set whole on the shelf (seed-writeblk(1), SETS):
/// `--rebuild` writes a lost member again from the others, and `--scrub`
/// reads a whole set and names every stripe whose parity does not match
/// and every record whose checksums fail. Neither needs a key.
public enum SetTools {
    /// Writes the member of the set the targets belong to that is not
    /// among them (or `o.member`) to `o.rebuild`, with its label.
    static func rebuild(_ o: WriteOptions, diag: Diagnostics) throws -> SeedExit {
        let (_, sets) = try BlockReader.drives(o.targets)
        guard sets.count == 1, let (volume, given) = sets.first, given.count == o.targets.count else {
            throw SeedError.usage("--rebuild takes the members of one drive set, and only those")
        }
        let reader = try SetReader(volume: volume, members: given, partial: false)
        let set = reader.set
        let missing = (0..<set.members).filter { !reader.givenMembers.contains($0) }
        let member: Int
        if let m = o.member {
            guard (1...set.members).contains(m), missing.contains(m - 1) else {
                throw SeedError.usage("member \(m) is not one of the set's missing members (\(missing.map { String($0 + 1) }.joined(separator: ", ")))")
            }
            member = m - 1
        } else {
            guard missing.count == 1 else {
                throw SeedError.usage(
                    "members \(missing.map { String($0 + 1) }.joined(separator: ", ")) of volume \(volume) are missing: say which to rebuild",
                    hint: "give --member N")
            }
            member = missing[0]
        }
        let first = given[0].label
        let begin = VolumeBegin(session: first.session, volume: volume, capacity: first.capacity, firstRecord: 0, budget: .standard, set: set)
        let target = try Target.openForWriting(o.rebuild!, begin: begin, o, diag: diag)
        let job = DriveJob(target: target, begin: begin)
        job.label = first
        job.label.member = member + 1
        job.label.complete = false
        job.label.streamBytes = 0
        // The label is the one the member was written with: the set's
        // fields, time and recipe are every member's; its own length and,
        // where the set has them, its digest are computed again.
        let digested = o.verify || first.streamSHA256.count == 64
        let writer = DriveStage(o: o, diag: diag)
        try writer.writeLabel(job.label, target)
        let sink = ChunkSink(target: target, at: job.label.drive(0), checkpoint: o.checkpoint, checksums: digested)
        let length = reader.length(of: member)
        let stripe = ByteBuffer(capacity: Int(set.stripe))
        let progress = ProgressMeter(enabled: o.io.progress, label: "seed-writeblk --rebuild")
        var done: UInt64 = 0
        do {
            while done < length {
                let n = Int(min(set.stripe, length - done))
                try reader.bytes(of: member, into: stripe.base, count: n, at: done)
                try sink.append(UnsafeRawBufferPointer(start: stripe.base, count: n))
                done += UInt64(n)
                progress.update(bytes: done)
            }
            if let sha = try sink.finish() { job.label.streamSHA256 = Hex.encode(sha) }
        } catch {
            sink.abort(error)
            throw error
        }
        progress.finish(bytes: done)
        // A member rebuilt from damaged reads is never labelled complete.
        for (p, what, _, _) in reader.damage { throw SeedError.io("\(quoted(p)): volume \(volume): \(what): the rebuilt member is not to be trusted") }
        job.label.streamBytes = length
        job.label.complete = true
        try writer.writeLabel(job.label, target)
        try target.sync()
        if o.verify { try writer.verify(target, job.label, from: 0, chunks: sink.chunkCRCs) }
        let from = reader.givenMembers.map { String($0 + 1) }.joined(separator: ", ")
        diag.info("member \(member + 1) of volume \(volume) rebuilt on \(target.name) from members \(from)")
        return .success
    }

    /// Reads every set among the targets whole: every stripe's parity
    /// against its data, every record's checksums on its member.
    static func scrub(_ o: WriteOptions, diag: Diagnostics) throws -> SeedExit {
        let (volumes, sets) = try BlockReader.drives(o.targets)
        if let plain = volumes.first(where: { $0.label.set == nil }) {
            throw SeedError.usage("\(quoted(plain.path)) is not a member of a drive set: --scrub reads sets")
        }
        var problems = 0
        for (volume, given) in sets.sorted(by: { $0.key < $1.key }) {
            let reader = try SetReader(volume: volume, members: given, partial: false)
            let set = reader.set
            let missing = (0..<set.members).filter { !reader.givenMembers.contains($0) }
            if !missing.isEmpty {
                let names = missing.map { String($0 + 1) }.joined(separator: ", ")
                throw SeedError.usage("--scrub reads a whole set: members \(names) of volume \(volume) are not given")
            }
            let records = try walkRecords(reader, volume: volume, problems: &problems, diag: diag)
            if let dir = o.journalDir { problems += try holdToJournal(reader, given[0].label, dir: dir, diag: diag) }
            let progress = ProgressMeter(enabled: o.io.progress, label: "seed-writeblk --scrub: volume \(volume)")
            problems += checkParity(reader, volume: volume, records: records, progress: progress, diag: diag)
            for (p, what, _, _) in reader.damage {
                diag.error("\(quoted(p)): volume \(volume): \(what)")
                problems += 1
            }
            diag.verbose("volume \(volume): \(set.members) members scrubbed")
        }
        if problems > 0 { throw SeedError.data("\(problems) inconsistenc\(problems == 1 ? "y" : "ies") found in the set\(sets.count == 1 ? "" : "s")") }
        diag.info("\(sets.count) set\(sets.count == 1 ? "" : "s") scrubbed: every stripe's parity and every record's checksums hold")
        return .success
    }

    /// Each data member's records: where they lie, and those whose header
    /// or payload checksum fails (named).
    private static func walkRecords(_ r: SetReader, volume: UInt32, problems: inout Int, diag: Diagnostics) throws -> [[(Range<UInt64>, UInt64)]] {
        var all: [[(Range<UInt64>, UInt64)]] = []
        let payload = ByteBuffer(capacity: 1 << 20)
        for i in 0..<r.set.data {
            var list: [(Range<UInt64>, UInt64)] = []
            var at: UInt64 = 0
            while at < r.lengths[i] {
                var h: RecordHeader?
                var problem = ""
                withUnsafeTemporaryAllocation(byteCount: RecordHeader.size, alignment: 8) { b in
                    r.given(i, into: b.baseAddress!, count: RecordHeader.size, at: at)
                    switch RecordHeader.decode(b.baseAddress!) {
                    case .success(let x): h = x
                    case .failure(let p): problem = p.message
                    }
                }
                guard let h else {
                    diag.error("volume \(volume), member \(i + 1), byte \(at) of its stream: \(problem); the rest of the member is not walked")
                    problems += 1
                    break
                }
                let n = Int(h.payloadLength)
                payload.reserve(n)
                r.given(i, into: payload.base, count: n, at: at + UInt64(RecordHeader.size))
                if CRC32.checksum(UnsafeRawBufferPointer(start: payload.base, count: n)) != h.payloadCRC {
                    diag.error("volume \(volume), member \(i + 1): record \(h.sequence) at byte \(at) of its stream is damaged (payload checksum mismatch)")
                    problems += 1
                }
                let end = at + UInt64(RecordHeader.size) + UInt64(n)
                list.append((at..<end, h.sequence))
                at = end
            }
            all.append(list)
        }
        return all
    }

    /// Holds every record on the set's data members to its volume's journal
    /// line: where the placement rule puts it (the line's member fields),
    /// and its SHA-256 there; and each member's length to the records the
    /// journal deals it. Returns the number of records that differ.
    private static func holdToJournal(_ r: SetReader, _ label: VolumeLabel, dir: String, diag: Diagnostics) throws -> Int {
        let volume = r.volume
        let path = dir + "/" + JournalNames.name(session: label.session, volume: volume)
        let journal = try JournalReader(path)
        let head = try journal.volumeLine(volume, of: label.session)
        guard head.set == r.set else {
            throw SeedError.data("journal \(quoted(path)): volume \(volume) is not the \(r.set.data)+\(r.set.parity) set its drives say")
        }
        var placement = SetPlacement(data: r.set.data)
        let buffer = ByteBuffer(capacity: 1 << 20)
        var bad = 0
        var endLine: JournalLine.End?
        while let next = try journal.next() {
            if case .end(let e) = next {
                endLine = e
                break
            }
            guard case .record(let line) = next else { continue }
            guard let place = placement.follow(line) else { throw SetPlacement.misplaced(journal: path, line: journal.lineNumber, seq: line.seq) }
            // The line's digest was checked as hex when it was decoded.
            let digest = Hex.decode(line.sha256)!
            let on: [(Int, UInt64)]
            switch place {
            case .member(let m, let at): on = [(m, at)]
            case .every: on = line.memberOffsets!.enumerated().map { ($0, $1) }
            }
            buffer.reserve(Int(line.length))
            for (m, at) in on {
                r.given(m, into: buffer.base, count: Int(line.length), at: at)
                if Array(SHA256.hash(data: UnsafeRawBufferPointer(start: buffer.base, count: Int(line.length)))) != digest {
                    diag.error("volume \(volume), member \(m + 1): record \(line.seq) at byte \(at) of its stream does not match its journal")
                    bad += 1
                }
            }
        }
        for m in 0..<r.set.data where placement.bytes[m] != r.lengths[m] {
            diag.error("volume \(volume), member \(m + 1): its label says \(r.lengths[m]) bytes, its journal's records \(placement.bytes[m])")
            bad += 1
        }
        // The journal names every member's length, the parity members' too.
        if let lengths = endLine?.memberBytes {
            for m in 0..<min(lengths.count, r.set.members) {
                guard let held = r.labelLength(of: m), held != lengths[m] else { continue }
                diag.error("volume \(volume), member \(m + 1): its label says \(held) bytes, its journal \(lengths[m])")
                bad += 1
            }
        }
        return bad
    }

    /// Codes each stripe of the data members again and compares it with
    /// the parity members'; each stripe that differs is named with the
    /// records that lie in it.
    private static func checkParity(
        _ r: SetReader, volume: UInt32, records: [[(Range<UInt64>, UInt64)]], progress: ProgressMeter, diag: Diagnostics
    ) -> Int {
        let set = r.set
        let s = Int(set.stripe)
        let data = (0..<set.data).map { _ in ByteBuffer(capacity: s) }
        let stored = (0..<set.parity).map { _ in ByteBuffer(capacity: s) }
        let coded = (0..<set.parity).map { _ in ByteBuffer(capacity: s) }
        let stripes = r.length(of: set.data) / set.stripe
        var bad = 0
        for j in 0..<stripes {
            for (i, b) in data.enumerated() { r.given(i, into: b.base, count: s, at: j * set.stripe) }
            for (p, b) in stored.enumerated() { r.given(set.data + p, into: b.base, count: s, at: j * set.stripe) }
            r.erasureCode.encode(data: data.map { UnsafeRawPointer($0.base) }, into: coded.map(\.base), length: s)
            let differ = (0..<set.parity).filter { memcmp(coded[$0].base, stored[$0].base, s) != 0 }
            if !differ.isEmpty {
                let span = j * set.stripe..<(j + 1) * set.stripe
                let held = records.enumerated().flatMap { i, list in
                    list.filter { $0.0.overlaps(span) }.map { "\($0.1) (member \(i + 1))" }
                }
                diag.error(
                    "volume \(volume): stripe \(j): parity member\(differ.count == 1 ? "" : "s") \(differ.map { String(set.data + $0 + 1) }.joined(separator: ", ")) "
                        + "\(differ.count == 1 ? "does" : "do") not match the data members"
                        + (held.isEmpty ? "" : "; records in it: \(held.prefix(12).joined(separator: ", "))\(held.count > 12 ? " and more" : "")"))
                bad += 1
            }
            progress.update(bytes: (j + 1) * set.stripe)
        }
        progress.finish(bytes: stripes * set.stripe)
        return bad
    }
}
