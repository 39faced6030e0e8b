import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage
import Testing

/// A stage that does a little of everything: doubles every data byte in
/// the workers, puts an index record of its own after the stream header,
/// drops the stream's index records and adds itself to the stage list.
final class DoublingStage: RecordStage {
    var finished = false

    func editStages(_ meta: inout StreamMetadata, at loc: String) throws {
        try meta.addStage("test-doubling", settings: [:], at: loc)
    }

    func streamHeader(_ r: Record, _ meta: StreamMetadata, _ run: StageRunner) throws {
        var m = meta
        try editStages(&m, at: run.locate(r))
        try run.insert(like: r.header, payload: m.encoded())
        let h = try run.insert(.index, payload: Array("{}\n".utf8))
        #expect(h.sequence == 1)
    }

    func record(_ r: Record, at loc: String, _ run: StageRunner) throws {
        switch r.header.kind {
        case .data: try run.transform(r)
        case .index: break
        default: try run.pass(r)
        }
    }

    func work(_ slot: PipelineSlot, lane: Int) throws {
        slot.output.set(slot.input.bytes)
        for i in 0..<slot.output.count {
            slot.output.base.storeBytes(of: slot.output.base.load(fromByteOffset: i, as: UInt8.self) &* 2, toByteOffset: i, as: UInt8.self)
        }
        var h = slot.header
        h.payloadCRC = CRC32.checksum(slot.output.bytes)
        slot.outHeader = h
        slot.useOutput = true
    }

    func finish(_ run: StageRunner) throws { finished = true }
}

@Suite struct StageRunnerTests {
    /// Runs `stage` over `input`; the output's records (header, payload).
    func run(_ stage: RecordStage, _ input: StreamBytes) throws -> [(RecordHeader, [UInt8])] {
        let inPath = tempPath("runner-in")
        let outPath = tempPath("runner-out")
        try Data(input.bytes).write(to: URL(fileURLWithPath: inPath))
        defer {
            unlink(inPath)
            unlink(outPath)
        }
        let runner = try StageRunner(StreamIO(input: inPath, output: outPath, threads: 2), label: "test")
        try runner.run(stage)
        let out = try StreamBytes(bytes: Array(Data(contentsOf: URL(fileURLWithPath: outPath))))
        return out.recordOffsets.map { o in
            let h = try! RecordHeader.decode(out.bytes.withUnsafeBytes { $0.baseAddress! + o }).get()
            return (h, Array(out.bytes[(o + RecordHeader.size)..<(o + RecordHeader.size + Int(h.payloadLength))]))
        }
    }

    @Test func recordsAreNumberedAsTheyArePutOnWhateverTheStageInsertsOrDrops() throws {
        let stage = DoublingStage()
        let out = try run(stage, try StreamBytes.sample(dataRecords: 3, payload: 100))
        // The header, the inserted record, three data records; the index dropped; the end.
        #expect(out.map(\.0.kind) == [.streamHeader, .index, .data, .data, .data, .end])
        #expect(out.map(\.0.sequence) == [0, 1, 2, 3, 4, 5])
        #expect(stage.finished)
    }

    @Test func workersTransformAndRecordsGoOutInOrder() throws {
        let input = try StreamBytes.sample(dataRecords: 5, payload: 1000)
        let out = try run(DoublingStage(), input)
        let datas = out.filter { $0.0.kind == .data }
        #expect(datas.count == 5)
        for (i, d) in datas.enumerated() {
            #expect(d.1 == (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) &* 2 }, "data record \(i)")
            #expect(d.0.payloadCRC == d.1.withUnsafeBytes { CRC32.checksum($0) })
        }
        let meta = try out[0].1.withUnsafeBytes { try StreamMetadata.decode($0, record: "out") }
        #expect(meta.stages.map(\.tool) == ["test", "test-doubling"])
    }

    @Test func aDroppedRecordsPayloadIsStillCheckedAndNothingAfterDamageGoesOut() throws {
        var input = try StreamBytes.sample(dataRecords: 2, payload: 100)
        let index = input.recordOffsets[3]
        input.bytes[index + RecordHeader.size] ^= 1
        let e = seedError { _ = try run(DoublingStage(), input) }
        #expect(e?.status == .dataError)
        #expect(e?.message.contains("payload checksum mismatch (index record damaged)") == true)
    }

    @Test func aFailedRunLeavesNoOutputFile() throws {
        var input = try StreamBytes.sample(dataRecords: 2, payload: 100)
        input.bytes[input.recordOffsets[1] + RecordHeader.size] ^= 1
        let outPath = tempPath("runner-out")
        let inPath = tempPath("runner-in")
        try Data(input.bytes).write(to: URL(fileURLWithPath: inPath))
        defer { unlink(inPath) }
        let runner = try StageRunner(StreamIO(input: inPath, output: outPath), label: "test")
        #expect(seedError { try runner.run(DoublingStage()) }?.status == .dataError)
        #expect(!FileManager.default.fileExists(atPath: outPath))
        let dir = (outPath as NSString).deletingLastPathComponent
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix((outPath as NSString).lastPathComponent) }
        #expect(left.isEmpty, "\(left)")
    }

    @Test func stopEndsTheRunWithItsStatusAfterWhatWasPutOn() throws {
        final class StopAtData: RecordStage {
            func record(_ r: Record, at loc: String, _ run: StageRunner) throws {
                if r.header.kind == .data { return run.stop(.nextDrive) }
                try run.pass(r)
            }
        }
        let inPath = tempPath("runner-in")
        let outPath = tempPath("runner-out")
        try Data(try StreamBytes.sample().bytes).write(to: URL(fileURLWithPath: inPath))
        defer {
            unlink(inPath)
            unlink(outPath)
        }
        let runner = try StageRunner(StreamIO(input: inPath, output: outPath), label: "test")
        #expect(try runner.run(StopAtData()) == .nextDrive)
        let out = try StreamBytes(bytes: Array(Data(contentsOf: URL(fileURLWithPath: outPath))))
        #expect(out.recordOffsets.count == 1)
    }
}
