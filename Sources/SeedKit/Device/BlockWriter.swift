import CSeedSys
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

/// What seed-writeblk is asked to do.
public struct WriteOptions {
    public var targets: [String] = []
    public var decode = false
    public var partial = false
    public var verify = false
    public var format = false
    public var yes = false
    public var nextDrive: String?
    public var checkpoint: UInt64 = 1 << 30
    public var input: String?
    public var output: String?
    public var progress = false
    public init() {}
}

/// seed-writeblk: writes volume N of a split stream to the N-th target,
/// after a label, in large aligned writes, synced at checkpoints, and
/// (with --verify) reads each one back.
public enum BlockWriter {
    public static func run(_ o: WriteOptions, diag: Diagnostics) throws -> SeedExit {
        if o.decode { return try BlockReader.run(o, diag: diag) }
        let inFD = try StreamFiles.openInput(o.input)
        let source = (o.input == nil || o.input == "-") ? "standard input" : quoted(o.input!)
        let reader = RecordReader(fd: inFD, source: source)
        reader.deferPayload = { $0.kind != .volumeBegin }
        var w = VolumeWriter(o: o, diag: diag, reader: reader, source: source)
        return try w.run()
    }
}

struct VolumeWriter {
    let o: WriteOptions
    let diag: Diagnostics
    let reader: RecordReader
    let source: String
    var targets: [String]
    var progress: ProgressMeter

    init(o: WriteOptions, diag: Diagnostics, reader: RecordReader, source: String) {
        self.o = o
        self.diag = diag
        self.reader = reader
        self.source = source
        targets = o.targets
        progress = ProgressMeter(enabled: o.progress, label: "seed-writeblk")
    }

    mutating func run() throws -> SeedExit {
        while let r = try reader.next() {
            let loc = "\(source): \(r.location)"
            guard r.header.kind == .volumeBegin else {
                throw SeedError.data("\(loc): the stream is not split into volumes", hint: "run seed-split before seed-writeblk")
            }
            try r.verifyPayload(source: source)
            let begin = try VolumeBegin.decode(r.payload, record: loc)
            guard let path = try nextTarget(begin) else {
                diag.info(
                    "volume \(begin.volume) needs a drive of at least \(begin.capacity) bytes; "
                        + "go on later with seed-split --first-volume \(begin.volume) and the next drive")
                return .nextDrive
            }
            try writeVolume(r, begin, to: path)
        }
        progress.finish()
        if !targets.isEmpty { diag.info("not needed, nothing written: \(targets.map { quoted($0) }.joined(separator: ", "))") }
        return .success
    }

    /// The drive for `begin`: the next one named, else one a --next-drive
    /// command or a person on the terminal gives, else nil.
    mutating func nextTarget(_ begin: VolumeBegin) throws -> String? {
        if !targets.isEmpty { return targets.removeFirst() }
        if let cmd = o.nextDrive {
            let p = Foundation.Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", cmd]
            var env = ProcessInfo.processInfo.environment
            env["SEED_SESSION"] = begin.session
            env["SEED_VOLUME"] = String(begin.volume)
            env["SEED_CAPACITY"] = String(begin.capacity)
            p.environment = env
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardInput = FileHandle.nullDevice
            do { try p.run() } catch { throw SeedError(.failure, "cannot run --next-drive command: \(error)") }
            let out = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { return nil }
            let line = String(decoding: out, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            let path = line.trimmingCharacters(in: .whitespaces)
            return path.isEmpty ? nil : path
        }
        guard Terminal.isTerminal(2),
            let path = Terminal.ask("seed-writeblk: volume \(begin.volume) needs a drive of at least \(begin.capacity) bytes: its path (empty to stop): ")
        else { return nil }
        return path.isEmpty ? nil : path
    }

    mutating func writeVolume(_ first: Record, _ begin: VolumeBegin, to path: String) throws {
        let target = try Target.openForWriting(path, begin: begin, o, diag: diag)
        let offset = VolumeBudget.standard.label
        var label = VolumeLabel(session: begin.session, volume: begin.volume, capacity: begin.capacity, streamOffset: offset)
        label.written = ISO8601DateFormatter().string(from: Date())
        label.readBack = recipe(begin.stages ?? [], encrypted: false)
        // A drive stopped mid-write says so: the label goes first, marked unfinished.
        try writeLabel(label, target)
        let sink = ChunkSink(target: target, at: offset, checkpoint: o.checkpoint, checksums: o.verify)
        var encrypted = false
        do {
            try first.header.encodedBytes { try sink.append($0) }
            try sink.append(first.payload)
            while let r = try reader.next() {
                try r.header.encodedBytes { try sink.append($0) }
                if reader.payloadLeft > 0 { try sink.appendPayload(of: r, from: reader, source: source) } else { try sink.append(r.payload) }
                if r.header.kind == .key { encrypted = true }
                if r.header.kind == .end { label.lastVolume = true }
                progress.update(bytes: sink.bytes)
                if r.header.kind == .volumeEnd { break }
            }
        } catch {
            sink.abort(error)
            throw error
        }
        let digest = try sink.finish()
        if offset + sink.bytes + UInt64(ChunkSink.alignment) > begin.capacity + VolumeBudget.standard.tail {
            diag.warning("volume \(begin.volume) takes \(offset + sink.bytes) bytes, more than the \(begin.capacity) planned")
        }
        label.complete = true
        label.streamBytes = sink.bytes
        label.streamSHA256 = digest.map { Hex.encode($0) } ?? "none (written without --verify)"
        label.readBack = recipe(begin.stages ?? [], encrypted: encrypted)
        try writeLabel(label, target)
        try target.sync()
        if o.verify { try verify(target, label, chunks: sink.chunkCRCs) }
        diag.verbose("volume \(begin.volume): \(sink.bytes) bytes to \(target.name)\(o.verify ? ", read back and verified" : "")")
    }

    func writeLabel(_ l: VolumeLabel, _ t: Target) throws {
        let buf = ByteBuffer(capacity: VolumeLabel.size)
        buf.set(l.encoded())
        try t.pwriteAll(buf.base, VolumeLabel.size, at: 0)
    }

    /// Reads the volume back from the drive, past the page cache, and
    /// compares every chunk's CRC-32 (to say where) and the whole stream's
    /// SHA-256 with what was written.
    func verify(_ t: Target, _ l: VolumeLabel, chunks: [UInt32]) throws {
        let flags = O_RDONLY | O_CLOEXEC | (t.direct ? CSeedSys_O_DIRECT : 0)
        let fd = open(t.path, flags)
        if fd < 0 { throw SeedError.io("cannot open \(t.name) to verify: \(errnoMessage())") }
        defer { close(fd) }
        if !t.direct { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) }  // read the disk, not the cache
        let buf = ByteBuffer(capacity: ChunkSink.chunkSize)
        var done: UInt64 = 0
        var i = 0
        var sha = SHA256()
        while done < l.streamBytes {
            let want = Int(min(UInt64(ChunkSink.chunkSize), l.streamBytes - done))
            let aligned = (want + ChunkSink.alignment - 1) & ~(ChunkSink.alignment - 1)
            let at = l.streamOffset + done
            let n = pread(fd, buf.base, aligned, off_t(at))
            if n < want { throw SeedError.io("\(t.name): verify: cannot read volume \(l.volume) back at byte \(at)") }
            let b = UnsafeRawBufferPointer(start: buf.base, count: want)
            sha.update(bufferPointer: b)
            if i >= chunks.count || CRC32.checksum(b) != chunks[i] {
                throw SeedError.io("\(t.name): verify: volume \(l.volume) reads back differently at bytes \(at)-\(at + UInt64(want) - 1)")
            }
            done += UInt64(want)
            i += 1
        }
        if Hex.encode(Array(sha.finalize())) != l.streamSHA256 {
            throw SeedError.io("\(t.name): verify: volume \(l.volume) reads back with another SHA-256 than was written")
        }
        if (try Target.readLabel(t.path)) != l { throw SeedError.io("\(t.name): verify: the label reads back differently") }
    }

    /// The one-line recipe to read the drive back, for the label.
    func recipe(_ stages: [StreamMetadata.Stage], encrypted: Bool) -> String {
        var steps = ["seed-writeblk -d DRIVE...", "seed-journal --check JOURNAL-DIR"]
        if encrypted { steps.append("seed-encrypt -d -i IDENTITY") }
        for s in stages.reversed() {
            switch s.tool {
            case "seed-split": steps.append("seed-split -d")
            case "seed-compress": steps.append("seed-compress -d")
            case "seed-snapshot": steps.append("seed-snapshot -x DIR")
            default: break
            }
        }
        return steps.joined(separator: " | ")
    }
}

extension RecordHeader {
    /// The header's 48 bytes, encoded on the stack.
    func encodedBytes(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try withUnsafeTemporaryAllocation(byteCount: RecordHeader.size, alignment: 8) { b in
            encode(into: b.baseAddress!)
            try body(UnsafeRawBufferPointer(b))
        }
    }
}
