import CZstd
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
    public var io = StreamIO()

    public init() {}

    public var effectiveLevel: Int { level ?? (codec == .gzip ? 6 : 3) }
}

/// seed-compress: compresses every data and index record on its own into
/// one zstd frame or gzip member (kept as is where that does not shrink it),
/// on a pool of threads with output in input order; `-d` undoes whatever
/// codec each record names. Everything else passes through.
public enum Compressor {
    public static func run(_ o: CompressOptions, diag: Diagnostics) throws -> SeedExit {
        if !o.decode {
            // zstd's negative levels are its --fast ones.
            let range = o.codec == .gzip ? 1...9 : Int(ZSTD_minCLevel())...19
            if !range.contains(o.effectiveLevel) || o.effectiveLevel == 0 {
                throw SeedError.usage(
                    o.codec == .gzip
                        ? "compression level \(o.effectiveLevel) is out of range 1-9 for gzip"
                        : "compression level \(o.effectiveLevel) is out of range 1-19 for zstd (or --fast=1 to --fast=\(-ZSTD_minCLevel()))")
            }
        }
        let runner = try StageRunner(o.io, label: "seed-compress")
        try FirstStageResume.install(on: runner, o.io, diag: diag)
        return try runner.run(CompressStage(o, threads: runner.threads, source: runner.source))
    }
}

/// Data and index records go to the workers; everything else passes.
final class CompressStage: RecordStage {
    let o: CompressOptions
    let contexts: [CodecContext]
    let source: String

    init(_ o: CompressOptions, threads: Int, source: String) {
        self.o = o
        contexts = (0..<threads).map { _ in CodecContext(level: o.effectiveLevel) }
        self.source = source
    }

    func editStages(_ meta: inout StreamMetadata, at loc: String) throws {
        if o.decode {
            try meta.removeStage("seed-compress", at: loc)
        } else {
            try meta.addStage("seed-compress", settings: ["codec": o.codec.name, "level": "\(o.effectiveLevel)"], at: loc)
        }
    }

    func record(_ r: Record, at loc: String, _ run: StageRunner) throws {
        if r.header.kind.mayBeCompressed { try run.transform(r) } else { try run.pass(r) }
    }

    func work(_ slot: PipelineSlot, lane: Int) throws {
        if o.decode { try Compressor.decode(slot, contexts[lane], source) } else { try Compressor.encode(slot, contexts[lane], o.codec) }
    }
}

extension Compressor {
    static func encode(_ slot: PipelineSlot, _ ctx: CodecContext, _ codec: Codec) throws {
        let h = slot.header
        guard h.kind.mayBeCompressed, h.flags.codecBits == 0, !h.flags.isEncrypted, slot.input.count > 0 else { return }
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
