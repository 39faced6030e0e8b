import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage
import Testing

@testable import SeedKit

@Suite struct RecordReaderTests {
    @Test func readsBackWhatTheWriterWrote() throws {
        let s = try StreamBytes.sample()
        #expect(try s.readAll() == [.streamHeader, .data, .data, .data, .index, .end])
    }

    @Test func writerNumbersRecordsContiguouslyFromZero() throws {
        let s = try StreamBytes.sample()
        let seqs = s.recordOffsets.map { o in
            s.bytes[(o + 16)..<(o + 24)].enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        }
        #expect(seqs == [0, 1, 2, 3, 4, 5])
    }

    @Test func everySingleByteCorruptionIsRejectedAsBadData() throws {
        let s = try StreamBytes.sample(dataRecords: 2, payload: 40)
        for i in 0..<s.bytes.count {
            var damaged = s
            damaged.bytes[i] ^= 0x20
            let e = seedError { _ = try StreamBytes(bytes: damaged.bytes).readAll() }
            #expect(e?.status == .dataError, "byte \(i)")
            #expect(e.map { !$0.message.contains("\n") } ?? false)
        }
    }

    @Test func truncationAnywhereIsRejected() throws {
        let s = try StreamBytes.sample(dataRecords: 2, payload: 40)
        for n in 0..<s.bytes.count {
            let e = seedError { _ = try StreamBytes(bytes: Array(s.bytes[0..<n])).readAll() }
            #expect(e?.status == .dataError, "cut at \(n)")
        }
    }

    @Test func missingEndRecordIsReportedAsTruncation() throws {
        let s = try StreamBytes.sample()
        let cut = Array(s.bytes[0..<s.recordOffsets.last!])
        let e = seedError { _ = try StreamBytes(bytes: cut).readAll() }
        #expect(e?.message.contains("no end record") == true)
    }

    @Test func trailingGarbageAfterTheEndRecordIsRejected() throws {
        var s = try StreamBytes.sample()
        s.bytes += [0, 1, 2]
        let e = seedError { _ = try s.readAll() }
        #expect(e?.message.contains("trailing data after the end record") == true)
    }

    @Test func droppedRecordIsNamedBySequence() throws {
        let s = try StreamBytes.sample()
        let o = s.recordOffsets
        let dropped = Array(s.bytes[0..<o[2]] + s.bytes[o[3]...])
        let e = seedError { _ = try StreamBytes(bytes: dropped).readAll() }
        #expect(e?.message.contains("record 3 at byte \(o[2]): expected record 2") == true)
    }

    @Test func swappedRecordsAreRejected() throws {
        let s = try StreamBytes.sample()
        let o = s.recordOffsets
        let swapped = Array(s.bytes[0..<o[1]] + s.bytes[o[2]..<o[3]] + s.bytes[o[1]..<o[2]] + s.bytes[o[3]...])
        let e = seedError { _ = try StreamBytes(bytes: swapped).readAll() }
        #expect(e?.message.contains("expected record 1") == true)
    }

    @Test func recordLengthOfFourGiBIsRejectedWithoutReadingIt() throws {
        let s = try StreamBytes.make { w in
            try w.write(kind: .streamHeader, bytes: StreamMetadata(stages: []).encoded())
        }
        let bogus = RecordHeader(kind: .data, sequence: 1, payloadLength: 4 << 30).bytes
        let e = seedError { _ = try StreamBytes(bytes: s.bytes + bogus + [UInt8](repeating: 0, count: 100)).readAll() }
        #expect(e?.message.contains("record length 4294967296 exceeds the 64 MiB limit") == true)
    }

    @Test func emptyInputIsNotAStream() {
        let e = seedError { _ = try StreamBytes(bytes: []).readAll() }
        #expect(e?.message == "test: empty input, not a seed stream")
    }

    @Test func streamMustStartWithAStreamHeader() throws {
        let s = try StreamBytes.make { w in try w.write(kind: .data, bytes: [1, 2, 3]) }
        let e = seedError { _ = try s.readAll() }
        #expect(e?.message.contains("does not start with a stream header") == true)
    }

    @Test func reservedRecordKindsAndFlagBitsAreRefused() throws {
        for (kind, flags) in [(UInt8(0), UInt16(0)), (11, 0), (200, 0), (2, 0x0010), (2, 0x8000), (2, 0x0003), (1, 0x0001), (4, 0x0008)] {
            let s = try StreamBytes.make { w in
                try w.write(kind: .streamHeader, bytes: [0x7b, 0x7d])
                try w.write(kind: RecordKind(rawValue: kind), flags: RecordFlags(rawValue: flags), bytes: [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9])
                try w.write(kind: .end, bytes: [])
            }
            let e = seedError { _ = try s.readAll() }
            #expect(e?.status == .dataError, "kind \(kind) flags \(flags)")
            #expect(e?.message.hasPrefix("test: record 1 at byte 50: ") == true, "\(e?.message ?? "")")
        }
    }

    @Test func aSecondStreamHeaderOrAMisplacedKeyRecordIsRefused() throws {
        for second in [RecordKind.streamHeader, .key] {
            let s = try StreamBytes.make { w in
                try w.write(kind: .streamHeader, bytes: [0x7b, 0x7d])
                try w.write(kind: .data, bytes: [1])
                try w.write(kind: second, bytes: [0x7b, 0x7d])
                try w.write(kind: .end, bytes: [])
            }
            let e = seedError { _ = try s.readAll() }
            #expect(e?.message.contains("record 2 at byte") == true, "\(e?.message ?? "")")
        }
    }

    @Test func recordsLargerThanTheBufferAreRead() throws {
        let s = try StreamBytes.sample(dataRecords: 2, payload: 100_000)
        #expect(try s.readAll().count == 5)
    }

    @Test func skippedPayloadsOfAFileAreNotChecked() throws {
        var s = try StreamBytes.sample(dataRecords: 2, payload: 10_000)
        let o = s.recordOffsets
        s.bytes[o[1] + RecordHeader.size + 5000] ^= 1  // inside a skipped data payload
        #expect(try s.readAll { $0.skipPayload = { $0.kind == .data } }.count == 5)
        #expect(seedError { _ = try s.readAll() }?.status == .dataError)
    }
}

@Suite struct DeferredPayloadTests {
    /// Reads `bytes` with data payloads deferred and taken; returns what
    /// was taken, or throws what the reader throws.
    func move(_ bytes: [UInt8]) throws -> [UInt8] {
        let inPath = tempPath("in")
        try Data(bytes).write(to: URL(fileURLWithPath: inPath))
        defer { unlink(inPath) }
        let fd = try FileDescriptor.open(inPath, .readOnly)
        defer { try? fd.close() }
        let r = RecordReader(fd: fd, source: "test", bufferSize: 4096)
        r.deferPayload = { $0.kind == .data }
        var taken: [UInt8] = []
        while let rec = try r.next() {
            if rec.header.kind == .data {
                #expect(rec.payload.count == 0)
                taken += try r.takePayload()
            }
        }
        return taken
    }

    @Test func deferredPayloadsAreMovedWhole() throws {
        let s = try StreamBytes.sample(dataRecords: 3, payload: 10_000)
        let want: [UInt8] = (0..<3).flatMap { i in (0..<10_000).map { (j: Int) in UInt8(truncatingIfNeeded: j &* 7 &+ i) } }
        #expect(try move(s.bytes) == want)
    }

    @Test func aDamagedDeferredPayloadIsRefusedBeforeItIsHandedOn() throws {
        var s = try StreamBytes.sample(dataRecords: 3, payload: 10_000)
        s.bytes[s.recordOffsets[2] + RecordHeader.size + 17] ^= 0x40
        let e = seedError { _ = try move(s.bytes) }
        #expect(e?.status == .dataError)
        #expect(e?.message.contains("payload checksum mismatch (data record damaged)") == true, "\(e?.message ?? "")")
    }

    @Test func aDeferredPayloadCutShortIsATruncatedRecord() throws {
        let s = try StreamBytes.sample(dataRecords: 3, payload: 10_000)
        let cut = Array(s.bytes[0..<(s.recordOffsets[2] + 5000)])
        let e = seedError { _ = try move(cut) }
        #expect(e?.status == .dataError)
        #expect(e?.message.contains("record 2 at byte") == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("truncated record (the input ends") == true, "\(e?.message ?? "")")
    }
}
