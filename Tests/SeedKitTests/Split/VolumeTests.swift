import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

/// A split stream built record by record with the real writer: volumes of
/// `perVolume` data records each.
func volumedStream(volumes: [UInt32], session: String = "s1", perVolume: Int = 2) throws -> StreamBytes {
    try StreamBytes.make { w in
        for v in volumes {
            let begin = VolumeBegin(session: session, volume: v, capacity: 1 << 30, firstRecord: 0, budget: .standard)
            try w.write(kind: .volumeBegin, volume: v, bytes: begin.encoded())
            for i in 0..<perVolume { try w.write(kind: .data, volume: v, bytes: Array(repeating: UInt8(i), count: 64)) }
            try w.write(kind: .volumeEnd, volume: v, bytes: Array("{}".utf8))
        }
    }
}

@Suite struct SplitStreamReadingTests {
    @Test func eachVolumeNumbersItsRecordsFromZero() throws {
        let s = try volumedStream(volumes: [1, 2])
        let seqs = s.recordOffsets.map { o in s.bytes[o + 16] }
        #expect(seqs == [0, 1, 2, 3, 0, 1, 2, 3])
    }

    @Test func volumesAreReadInAnyOrderAndOneAlone() throws {
        #expect(try volumedStream(volumes: [2, 1, 3]).readAll().count == 12)
        #expect(try volumedStream(volumes: [3]).readAll() == [.volumeBegin, .data, .data, .volumeEnd])
    }

    @Test func aVolumeWithoutItsEndIsTruncated() throws {
        let s = try volumedStream(volumes: [1, 2])
        let cut = Array(s.bytes[0..<s.recordOffsets[7]])
        let e = seedError { _ = try StreamBytes(bytes: cut).readAll() }
        #expect(e?.status == .dataError)
        #expect(e?.message.contains("volume 2 truncated after record 2") == true, "\(e?.message ?? "")")
    }

    @Test func aRecordOfAnotherVolumeIsRefused() throws {
        var s = try volumedStream(volumes: [1, 2])
        // Rewrite record 1 of volume 1 as belonging to volume 2, checksums valid.
        let o = s.recordOffsets[1]
        guard case .success(var h) = s.bytes.withUnsafeBytes({ RecordHeader.decode($0.baseAddress! + o) }) else {
            Issue.record("bad header")
            return
        }
        h.volume = 2
        s.bytes.replaceSubrange(o..<(o + RecordHeader.size), with: h.bytes)
        let e = seedError { _ = try s.readAll() }
        #expect(e?.message.contains("record of volume 2 inside volume 1") == true, "\(e?.message ?? "")")
    }

    @Test func recordsBetweenVolumesAreRefused() throws {
        let a = try volumedStream(volumes: [1])
        let b = try StreamBytes.sample()
        let e = seedError { _ = try StreamBytes(bytes: a.bytes + b.bytes).readAll() }
        #expect(e?.message.contains("after the end of volume 1") == true, "\(e?.message ?? "")")
    }

    @Test func aVolumeBeginInAStreamNotSplitIsRefused() throws {
        let a = try StreamBytes.sample()
        let b = try volumedStream(volumes: [1])
        let withBegin = Array(a.bytes[0..<a.recordOffsets[2]]) + b.bytes
        let e = seedError { _ = try StreamBytes(bytes: withBegin).readAll() }
        #expect(e?.status == .dataError)
    }
}

@Suite struct ByteSizeTests {
    @Test func suffixesCountInPowersOf1024OrOf1000() throws {
        #expect(try ByteSize.parse("4096") == 4096)
        #expect(try ByteSize.parse("8K") == 8192)
        #expect(try ByteSize.parse("2M") == 2 << 20)
        #expect(try ByteSize.parse("1.5G") == 3 << 29)
        #expect(try ByteSize.parse("8T") == 8 << 40)
        #expect(try ByteSize.parse("8TB") == 8_000_000_000_000)
        #expect(try ByteSize.parse("500GB") == 500_000_000_000)
        #expect(try ByteSize.parse("1MiB") == 1 << 20)
        #expect(try ByteSize.parse("2kb") == 2000)
    }

    @Test func nonsenseIsAUsageError() {
        for bad in ["", "T", "-1G", "3X", "1.5", "0"] {
            #expect(seedError { _ = try ByteSize.parse(bad) }?.status == .usage, "\(bad)")
        }
    }
}

@Suite struct VolumePlannerTests {
    @Test func aVolumeKeepsRoomForEveryLaterStage() {
        let b = VolumeBudget.standard
        var p = VolumePlanner(drives: DriveSizes(thereafter: 10 << 20), budget: b)
        p.start(1, size: 10 << 20, beginPayload: 300)
        var n: UInt64 = 0
        while p.fits(1 << 20) {
            p.place(1 << 20)
            n += 1
        }
        let worst = 348 + n * (48 + (1 << 20) + 16) + (48 + VolumeEnd.maxPayload + 16) + b.volume + b.label + b.tail
        #expect(worst <= 10 << 20)
        #expect(worst + (48 + (1 << 20) + 16) > 10 << 20)  // and one more record would not fit
        #expect(p.driveBytes == worst)
    }

    @Test func drivesListedComeFirstThenTheVolumeSize() {
        let d = DriveSizes(listed: [1, 2], thereafter: 7)
        #expect([1, 2, 3, 4].map { d.capacity(of: $0) } == [1, 2, 7, 7])
        #expect(DriveSizes(listed: [5]).capacity(of: 2) == nil)
    }
}
