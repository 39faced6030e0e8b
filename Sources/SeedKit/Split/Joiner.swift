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
struct Joiner {
    let o: SplitOptions
    let diag: Diagnostics
    let source: String
    let writer: RecordWriter
    var session: String?
    var nextVolume: UInt32 = 1
    /// Known once the end record (in the last volume) is seen.
    var volumeCount: UInt32?
    var joinedVolumes: [UInt32] = []
    var held: [UInt32: HeldVolume] = [:]
    let progress: ProgressMeter

    static func run(_ o: SplitOptions, diag: Diagnostics) throws -> SeedExit {
        let inFD = try StreamFiles.openInput(o.input)
        let source = (o.input == nil || o.input == "-") ? "standard input" : quoted(o.input!)
        let reader = RecordReader(fd: inFD, source: source)
        reader.deferPayload = movedKinds
        let output = try StreamOutput(path: o.output, force: false, input: inFD)
        var j = Joiner(
            o: o, diag: diag, source: source, writer: RecordWriter(fd: output.fd, destination: output.name),
            progress: ProgressMeter(enabled: o.progress, label: "seed-split -d"))
        try j.join(reader)
        try j.writer.flush()
        try output.commit()
        j.progress.finish()
        return .success
    }

    /// Payloads read straight into the reader's buffer and checked there (see `RecordReader.deferPayload`).
    static let movedKinds: (RecordHeader) -> Bool = { $0.kind == .data || $0.kind == .index }

    mutating func join(_ reader: RecordReader) throws {
        while let r = try reader.next() {
            let loc = "\(source): \(r.location)"
            guard reader.volumed else {
                throw SeedError.data("\(loc): the stream is not split into volumes", hint: "seed-split -d reads what seed-split wrote")
            }
            // The reader lets a new volume start only with its begin record.
            let begin = try admit(r, loc)
            if begin.volume == nextVolume {
                try joinVolume(reader, begin: r.header, info: begin, source: source)
                try releaseHeld()
            } else {
                diag.info("volume \(begin.volume) arrived before volume \(nextVolume); holding it in a temporary file until then")
                held[begin.volume] = try HeldVolume(reader, first: r, directory: o.temporaryDirectory)
            }
        }
        if volumeCount == nil || nextVolume <= volumeCount! {
            let total = volumeCount ?? held.values.compactMap(\.volumeCount).first
            let of = total.map { " of \($0)" } ?? ""
            let seen = (joinedVolumes + held.keys).sorted().map(String.init).joined(separator: ", ")
            throw SeedError.data(
                "\(source): volume \(nextVolume)\(of) is missing (volumes read: \(seen.isEmpty ? "none" : seen))",
                hint: total == nil ? "the last volume, which holds the end record, was not read either" : nil)
        }
    }

    /// Checks a volume begin record against what has been seen so far.
    mutating func admit(_ r: Record, _ loc: String) throws -> VolumeBegin {
        try r.verifyPayload(source: source)
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

    mutating func releaseHeld() throws {
        while let h = held.removeValue(forKey: nextVolume) {
            let reader = try h.reader()
            reader.deferPayload = Joiner.movedKinds
            guard let r = try reader.next() else { throw SeedError.io("temporary copy of volume \(h.volume) is empty") }
            let info = try VolumeBegin.decode(r.payload, record: "volume \(h.volume)")
            try joinVolume(reader, begin: r.header, info: info, source: h.source)
        }
    }

    /// Passes one volume's records on, from just after its begin record to
    /// its end record, which must agree with what came before it.
    mutating func joinVolume(_ reader: RecordReader, begin: RecordHeader, info: VolumeBegin, source: String) throws {
        let v = info.volume
        if info.firstRecord != writer.nextSequence {
            throw SeedError.data(
                "\(source): volume \(v) starts at record \(info.firstRecord) of the stream, but volume \(v - 1) ended before record \(writer.nextSequence)")
        }
        var tally = VolumeTally()
        tally.add(begin)
        var first = true
        while let r = try reader.next() {
            let loc = "\(source): \(r.location)"
            var h = r.header
            h.volume = 0
            switch r.header.kind {
            case .volumeEnd:
                try r.verifyPayload(source: source)
                let end = try VolumeEnd.decode(r.payload, record: loc)
                let want = tally.end(volume: v)
                if end != want {
                    throw SeedError.data(
                        "\(loc): volume \(v) does not match its volume end record (\(want.records) records, \(want.bytes) bytes read; "
                            + "\(end.records) records, \(end.bytes) bytes written)")
                }
                joinedVolumes.append(v)
                nextVolume = v + 1
                diag.verbose("volume \(v): \(end.records) records, \(end.bytes) bytes")
                return
            case .streamHeader:
                tally.add(r.header)
                guard v == 1, first else { throw SeedError.data("\(loc): stream header outside the start of volume 1") }
                try r.verifyPayload(source: source)
                var meta = try StreamMetadata.decode(r.payload, record: loc)
                guard let i = meta.stages.lastIndex(where: { $0.tool == "seed-split" }) else {
                    throw SeedError.data("\(loc): the stream header does not name seed-split among its stages")
                }
                if meta.session != session { throw SeedError.data("\(loc): stream header of session \(meta.session) in a volume of session \(session ?? "")") }
                meta.stages.remove(at: i)
                try write(h, meta.encoded())
            case .end:
                tally.add(r.header)
                try r.verifyPayload(source: source)
                var totals = try StreamTotals.decode(r.payload, record: loc)
                guard let n = totals.volumes, n == v else {
                    throw SeedError.data("\(loc): the end record lies in volume \(v) but names \(totals.volumes.map(String.init) ?? "no") volume count")
                }
                volumeCount = n
                totals.volumes = nil
                try write(h, totals.encoded())
            default:
                tally.add(r.header)
                if v == 1 && first { throw SeedError.data("\(loc): volume 1 does not start with the stream header") }
                let payload = reader.deferPayload?(r.header) == true ? try reader.takePayload() : r.payload
                try writer.write(header: h, payload: payload)
                progress.advance(by: UInt64(RecordHeader.size) + h.payloadLength)
            }
            first = false
        }
        throw SeedError.data("\(source): volume \(v) ends without its volume end record")
    }

    private func write(_ h: RecordHeader, _ payload: [UInt8]) throws {
        var h = h
        h.payloadLength = UInt64(payload.count)
        h.rawLength = h.payloadLength
        try payload.withUnsafeBytes { p in
            h.payloadCRC = CRC32.checksum(p)
            _ = try writer.write(header: h, payload: p)
        }
    }
}

/// A volume that arrived before its turn, copied to an unlinked temporary
/// file as read (every record checked on the way in and again on the way out).
final class HeldVolume {
    let volume: UInt32
    let fd: FileDescriptor
    let source: String
    /// The volume count named by an end record inside, if any.
    private(set) var volumeCount: UInt32?

    init(_ reader: RecordReader, first: Record, directory: String) throws {
        volume = first.header.volume
        var template = Array((directory + "/seed-split-volume.XXXXXX").utf8CString)
        let raw = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if raw < 0 { throw SeedError(.cannotCreate, "cannot create a temporary file in \(quoted(directory)): \(errnoMessage())") }
        let path = String(cString: template)
        unlink(path)
        fd = FileDescriptor(rawValue: raw)
        source = "volume \(volume) (held in \(quoted(directory)))"
        let w = RecordWriter(fd: fd, destination: "a temporary file in \(quoted(directory))")
        try w.write(header: first.header, payload: first.payload)
        while let r = try reader.next() {
            if r.header.kind == .end, let t = try? StreamTotals.decode(r.payload, record: "") { volumeCount = t.volumes }
            try w.write(header: r.header, payload: reader.deferPayload?(r.header) == true ? try reader.takePayload() : r.payload)
            if r.header.kind == .volumeEnd { break }
        }
        try w.flush()
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
        if let t = ProcessInfo.processInfo.environment["TMPDIR"], !t.isEmpty { return t }
        return "/tmp"
    }
}
