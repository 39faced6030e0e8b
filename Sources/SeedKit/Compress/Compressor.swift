import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

/// What seed-compress is asked to do.
public struct CompressOptions {
    public var decode = false
    public var codec: Codec = .zstd
    public var level: Int?
    public var threads = 0
    public var input: String?
    public var output: String?
    public var force = false
    public var progress = false

    public init() {}

    public var effectiveLevel: Int { level ?? (codec == .gzip ? 6 : 3) }
    public var effectiveThreads: Int {
        threads > 0 ? threads : max(ProcessInfo.processInfo.activeProcessorCount, 1)
    }
}

/// seed-compress: compresses every data and index record on its own into
/// one zstd frame or gzip member (kept as is where that does not shrink it),
/// on a pool of threads with output in input order; `-d` undoes whatever
/// codec each record names. Everything else passes through.
public enum Compressor {
    public static func run(_ o: CompressOptions, diag: Diagnostics) throws -> SeedExit {
        if !o.decode {
            let range = o.codec == .gzip ? 1...9 : 1...19
            if !range.contains(o.effectiveLevel) {
                throw SeedError.usage("compression level \(o.effectiveLevel) is out of range \(range.lowerBound)-\(range.upperBound) for \(o.codec.name)")
            }
        }
        let inFD = try StreamFiles.openInput(o.input)
        let source = (o.input == nil || o.input == "-") ? "standard input" : quoted(o.input!)
        let output = try StreamOutput(path: o.output, force: o.force, input: inFD)
        let reader = RecordReader(fd: inFD, source: source)
        reader.verifyPayloads = false  // workers verify, in parallel
        reader.deferPayload = { $0.kind == .data || $0.kind == .index }  // straight into the slots
        let writer = RecordWriter(fd: output.fd, destination: output.name)
        let threads = o.effectiveThreads
        let contexts = (0..<threads).map { _ in CodecContext(level: o.effectiveLevel) }
        let progress = ProgressMeter(enabled: o.progress, label: "seed-compress")
        let pipeline = OrderedPipeline(
            threads: threads,
            work: { slot, i in
                try slot.verifyInput(source: source)
                if o.decode { try decode(slot, contexts[i], source) } else { try encode(slot, contexts[i], o.codec) }
            },
            emit: { slot in
                if slot.useOutput {
                    try writer.write(header: slot.outHeader, payload: slot.output.bytes)
                } else {
                    try writer.write(header: slot.header, payload: slot.input.bytes)
                }
                progress.advance(by: UInt64(RecordHeader.size) + slot.header.payloadLength)
            })
        try pipeline.run {
            while let r = try reader.next() {
                try pipeline.submit { slot in
                    slot.header = r.header
                    slot.offset = r.offset
                    if r.header.kind == .streamHeader {
                        try r.verifyPayload(source: source)
                        var meta = try StreamMetadata.decode(r.payload, record: "\(source): \(r.location)")
                        if o.decode {
                            if let i = meta.stages.lastIndex(where: { $0.tool == "seed-compress" }) { meta.stages.remove(at: i) }
                        } else {
                            meta.stages.append(.init(tool: "seed-compress", settings: ["codec": o.codec.name, "level": "\(o.effectiveLevel)"]))
                        }
                        slot.load(r.header, payload: meta.encoded())
                    } else {
                        try slot.load(r, from: reader)
                    }
                }
            }
        }
        try writer.flush()
        try output.commit()
        progress.finish()
        return .success
    }

    static func encode(_ slot: PipelineSlot, _ ctx: CodecContext, _ codec: Codec) throws {
        let h = slot.header
        guard h.kind == .data || h.kind == .index, h.flags.codecBits == 0, !h.flags.isEncrypted, slot.input.count > 0 else { return }
        slot.output.reserve(CodecContext.bound(codec, slot.input.count))
        // Only a result smaller than the input is worth keeping.
        let room = UnsafeMutableRawBufferPointer(start: slot.output.base, count: slot.input.count - 1)
        guard room.count > 0, let n = try ctx.compress(codec, slot.input.bytes, into: room) else { return }
        slot.output.count = n
        var out = h
        out.flags.setCodec(codec)
        out.payloadLength = UInt64(n)
        out.rawLength = UInt64(slot.input.count)
        out.payloadCRC = CRC32.checksum(slot.output.bytes)
        slot.outHeader = out
        slot.useOutput = true
    }

    static func decode(_ slot: PipelineSlot, _ ctx: CodecContext, _ source: String) throws {
        let h = slot.header
        guard h.flags.codecBits != 0 else { return }
        let what = "\(source): \(slot.location)"
        if h.flags.isEncrypted { throw SeedError.data("\(what): record is encrypted", hint: "decrypt with seed-encrypt -d first") }
        guard let codec = h.flags.codec else { throw SeedError.data("\(what): unknown codec \(h.flags.codecBits)") }
        slot.output.reserve(Int(h.rawLength))
        try ctx.decompress(codec, slot.input.bytes, into: UnsafeMutableRawBufferPointer(start: slot.output.base, count: Int(h.rawLength)), what: what)
        slot.output.count = Int(h.rawLength)
        var out = h
        out.flags.setCodec(.none)
        out.payloadLength = h.rawLength
        out.payloadCRC = CRC32.checksum(slot.output.bytes)
        slot.outHeader = out
        slot.useOutput = true
    }
}
