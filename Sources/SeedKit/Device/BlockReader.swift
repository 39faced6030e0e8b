import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// seed-writeblk -d: reads the labels of the drives given (in any order),
/// checks they are complete volumes of one session with none repeated or
/// missing, and streams the volumes in order.
enum BlockReader {
    static func run(_ o: WriteOptions, diag: Diagnostics) throws -> SeedExit {
        guard !o.targets.isEmpty else { throw SeedError.usage("-d needs the drives to read") }
        // A blank drive, or one of another seed, in the bay is passed over:
        // only a volume missing is an error.
        var passedOver = false
        let (volumes, sets) = try drives(o.targets) { m in
            diag.warning("\(m): passed over")
            passedOver = true
        }
        let last = volumes.first { $0.label.lastVolume }?.label.volume
        let upTo = last ?? volumes.last!.label.volume
        // A label's volume number sizes nothing: the gaps are counted
        // between the drives given, and only the first few named.
        let missing = BlockReader.gaps(in: volumes.map(\.label.volume), upTo: upTo)
        if !o.partial {
            if missing.count > 0 {
                let of = last.map { " of \($0)" } ?? ""
                throw SeedError.data(
                    "volume\(missing.count == 1 ? "" : "s") \(missing.text)\(of) missing",
                    hint: "give every drive, or --partial to read these alone")
            }
            if last == nil {
                throw SeedError.data(
                    "the last volume is missing (no drive given holds the end of the stream; volumes after \(upTo))", hint: "give every drive, or --partial",
                    code: "volume-missing")
            }
        }
        let output = try StreamOutput(path: o.io.output, force: false)
        let progress = ProgressMeter(enabled: o.io.progress, label: "seed-writeblk -d")
        let buf = ByteBuffer(capacity: ChunkSink.chunkSize)
        var short: [String] = []
        var unreadable: [String] = []
        var total: UInt64 = 0
        var rebuiltAny = false
        var damaged: [String] = []
        for (path, l) in volumes {
            if let members = sets[l.volume] {
                let set = try SetReader(volume: l.volume, members: members, partial: o.partial, pread: o.testPread)
                let base = total
                total += try set.stream(to: output.fd) { progress.update(bytes: base + $0) }
                for d in set.damage {
                    if d.warning {
                        diag.warning("\(quoted(d.path)): volume \(l.volume), a parity member: \(d.what)")
                    } else {
                        diag.error("\(quoted(d.path)): volume \(l.volume): \(d.what)")
                        if d.io { unreadable.append("\(quoted(d.path)) (volume \(l.volume))") } else { short.append("\(quoted(d.path)) (volume \(l.volume))") }
                    }
                }
                for m in set.mended {
                    rebuiltAny = true
                    diag.warning(
                        "volume \(l.volume): stripe \(m.stripe) of member \(m.member + 1) mended from the others "
                            + "(record\(m.records.count == 1 ? "" : "s") \(m.records.map(String.init).joined(separator: ", ")))")
                }
                for u in set.unmended {
                    damaged.append("record \(u.record) of volume \(l.volume) on member \(u.member + 1)")
                }
                if !set.rebuilt.isEmpty {
                    rebuiltAny = true
                    let which = set.rebuilt.map { String($0 + 1) }.joined(separator: ", ")
                    diag.warning(
                        "volume \(l.volume): data member\(set.rebuilt.count == 1 ? "" : "s") \(which) of its \(set.set.data)+\(set.set.parity) set rebuilt from the others"
                    )
                }
                if set.given.count < set.set.data && set.rebuilt.isEmpty {
                    diag.info("volume \(l.volume): read from data members \(set.given.map { String($0 + 1) }.joined(separator: ", ")) of \(set.set.data) alone")
                }
                diag.verbose("volume \(l.volume) from its set of \(members.count) drives given")
                continue
            }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw SeedError.io("cannot open \(quoted(path)): \(errnoMessage())") }
            defer { close(fd) }
            // A drive cannot hold more than its size: a label that says so is
            // damage, and reading on would pass zeros for as long as it says.
            // (A file standing in for a drive may have been cut short; the
            // zeros for its missing bytes end at what its label claims.)
            var st = stat()
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFBLK {
                let size = try DriveSizes.deviceSize(path)
                if l.drive(l.streamBytes) > size {
                    throw SeedError.data(
                        "\(quoted(path)): its label says volume \(l.volume) runs to byte \(l.drive(l.streamBytes)), past the drive's end at \(size)")
                }
            }
            _ = posix_fadvise(fd, off_t(l.streamOffset), off_t(l.streamBytes), POSIX_FADV_SEQUENTIAL)
            var done: UInt64 = 0
            var cut = false
            // Sectors that cannot be read go on as zeros, so that the check
            // downstream names the records they hold and reads on past them.
            var reads = SectorReads()
            if let r = o.testPread { reads.pread = r }
            while done < l.streamBytes {
                let want = Int(min(UInt64(buf.capacity), l.streamBytes - done))
                let n = reads.read(fd, into: buf.base, count: want, at: l.drive(done))
                if n < want {
                    // Cut short: zeros keep the volumes after it in place, and
                    // every reader downstream rejects them.
                    memset(buf.base + n, 0, want - n)
                    cut = true
                }
                do { _ = try output.fd.writeAll(UnsafeRawBufferPointer(start: buf.base, count: want)) } catch let e as Errno {
                    throw SeedError.cannotWrite(output.name, e)
                }
                done += UInt64(want)
                total += UInt64(want)
                progress.update(bytes: total)
            }
            if cut { short.append("\(quoted(path)) (volume \(l.volume))") }
            if !reads.unreadable.isEmpty {
                diag.error(
                    "\(quoted(path)): volume \(l.volume): cannot read \(reads.describe()) of the drive (\(reads.bytesLost) bytes): they went on as zeros")
                unreadable.append("\(quoted(path)) (volume \(l.volume))")
            }
            diag.verbose("volume \(l.volume) from \(quoted(path)): \(l.streamBytes) bytes")
        }
        progress.finish(bytes: total)
        // A named output holding zeros for bytes that never came is not the
        // volumes: it is not committed (on a pipe, the zeros went on, and the
        // reader after names the records they damaged).
        if !short.isEmpty {
            output.discard()
            throw SeedError.data("\(short.joined(separator: ", ")) cut short: the missing bytes went on as zeros")
        }
        if !damaged.isEmpty {
            output.discard()
            throw SeedError.data(
                "\(damaged.prefix(10).joined(separator: ", "))\(damaged.count > 10 ? " and \(damaged.count - 10) more" : ""): "
                    + "damaged, and the set's other members could not mend \(damaged.count == 1 ? "it" : "them")")
        }
        if !unreadable.isEmpty {
            output.discard()
            throw SeedError.io(
                "\(unreadable.joined(separator: ", ")): sectors could not be read and went on as zeros",
                hint: "check the stream with seed-journal --check to name the records they held")
        }
        try output.commit()
        if o.partial && missing.count > 0 { diag.info("volumes not read: \(missing.text)") }
        return rebuiltAny || passedOver ? .warnings : .success
    }

    typealias Drive = (path: String, label: VolumeLabel)

    /// For --session-of on a file without a label: the session and what
    /// the stream's first record says (a staging file, a volume), or nil
    /// when it does not start with a seed record.
    static func streamSession(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let reader = RecordReader(fd: FileDescriptor(rawValue: fd), source: quoted(path), bufferSize: 1 << 20)
        // Only a control record is read whole: a data record's payload is passed over.
        reader.skipPayload = StageRunner.bulk
        guard let r = try? reader.next() else { return nil }
        switch r.header.kind {
        case .streamHeader:
            guard let m = try? StreamMetadata.decode(r.payload, record: "") else { return nil }
            return "\(m.session)\ta stream (\(m.stages.map(\.tool).joined(separator: ", ")))"
        case .volumeBegin:
            guard let b = try? VolumeBegin.decode(r.payload, record: "") else { return nil }
            return "\(b.session)\ta stream of volumes, from volume \(b.volume)"
        case .resume:
            guard let p = try? ResumePoint.decode(r.payload, record: "") else { return nil }
            return "\(p.session)\ta resumed stream, from volume \(p.volume)"
        default:
            return nil
        }
    }

    /// --session-of: a line for each target, from its label alone:
    /// the target, its session (`-` without a label), and what it holds.
    /// A bay's drives are told apart before anything is read from them.
    static func printLabels(_ targets: [String]) throws -> SeedExit {
        var text = ""
        for path in targets {
            guard let l = try Target.readLabel(path) else {
                text += "\(path)\t" + (streamSession(path) ?? "-\tno seed label") + "\n"
                continue
            }
            let member = l.set.map { " member \(l.member + 1) of \($0.data)+\($0.parity)" } ?? ""
            let last = l.lastVolume ? ", the last" : ""
            text += "\(path)\t\(l.session)\tvolume \(l.volume)\(member)\(last), \(l.complete ? "complete" : "writing never finished")\n"
        }
        let out = RecordlessOutput(fd: .standardOutput, name: "standard output")
        try out.write(Array(text.utf8))
        try out.flush()
        return .success
    }

    /// The labels of the drives given, checked: complete volumes of one
    /// session, none twice. One drive per volume in volume order (for a
    /// set, its first member given), and each set's members by volume.
    /// With `passOver`, a drive without a label or of another session
    /// (not the one most drives given hold) is told to it and left out;
    /// without, it is an error.
    static func drives(_ targets: [String], passOver: ((SeedMessage) -> Void)? = nil) throws -> (volumes: [Drive], sets: [UInt32: [Drive]]) {
        var volumes: [Drive] = []
        var all: [Drive] = []
        // A set's members, by volume: `volumes` holds the first of them.
        var sets: [UInt32: [Drive]] = [:]
        var labelled: [Drive] = []
        for path in targets {
            guard let label = try Target.readLabel(path) else {
                let m: SeedMessage = "\(quoted(path)) is not a seed drive (it has no seed label)"
                guard let passOver else { throw SeedError.data(m) }
                passOver(m)
                continue
            }
            labelled.append((path, label))
        }
        // The session most of the drives hold; among equals, the first given's.
        var counts: [String: Int] = [:]
        for d in labelled { counts[d.label.session, default: 0] += 1 }
        let best = counts.values.max() ?? 0
        let session = passOver == nil ? labelled.first?.label.session : labelled.first { counts[$0.label.session] == best }?.label.session
        let sessionDrive = labelled.first { $0.label.session == session }
        if let session { EventLog.session = session }
        for (path, label) in labelled {
            guard label.complete else {
                throw SeedError.data("\(quoted(path)) holds volume \(label.volume), but its writing never finished", hint: "write the volume again")
            }
            if let session, let first = sessionDrive, label.session != session {
                let m: SeedMessage =
                    "\(quoted(path)) holds volume \(label.volume) of session \(label.session), not \(session) "
                    + "as \(quoted(first.path)) does (a drive of another seed)"
                guard let passOver else { throw SeedError.data(m) }
                passOver(m)
                continue
            }
            if let twin = all.first(where: { $0.label.volume == label.volume && $0.label.member == label.member }) {
                let what = label.set == nil ? "volume \(label.volume)" : "member \(label.member) of volume \(label.volume)"
                throw SeedError.data("\(quoted(path)) and \(quoted(twin.path)) both hold \(what)")
            }
            if let other = all.first(where: { $0.label.volume == label.volume && ($0.label.set == nil) != (label.set == nil) }) {
                throw SeedError.data("\(quoted(path)) and \(quoted(other.path)) both hold volume \(label.volume), one as a member of a drive set")
            }
            all.append((path, label))
            if label.set != nil {
                sets[label.volume, default: []].append((path, label))
                if sets[label.volume]!.count > 1 { continue }
            }
            volumes.append((path, label))
        }
        guard !volumes.isEmpty else { throw SeedError.data("none of the drives given holds a seed volume") }
        volumes.sort { $0.label.volume < $1.label.volume }
        return (volumes, sets)
    }

    /// The volume numbers from 1 to `upTo` not among `have` (sorted, none
    /// repeated): how many, and the first few as text. The work goes with
    /// the drives given, never with a number a label states.
    static func gaps(in have: [UInt32], upTo: UInt32) -> (count: UInt64, text: String) {
        var count: UInt64 = 0
        var shown: [String] = []
        var next: UInt32 = 1
        func gap(_ a: UInt32, _ b: UInt32) {  // a...b missing
            guard a <= b else { return }
            count += UInt64(b - a) + 1
            if shown.count < 10 { shown.append(a == b ? "\(a)" : b == a + 1 ? "\(a), \(b)" : "\(a) to \(b)") }
        }
        for v in have where v <= upTo {
            if v > next { gap(next, v - 1) }
            if v == UInt32.max { return (count, shown.joined(separator: ", ")) }
            next = v + 1
        }
        if next <= upTo { gap(next, upTo) }
        return (count, shown.joined(separator: ", ") + (shown.count == 10 ? " and more" : ""))
    }
}
