import Foundation
import SeedCore
import SeedFormat
import SystemPackage
import Testing

@Suite struct RecordFramerTests {
    /// The sample stream in a file, and a framer on it.
    func framer(_ s: StreamBytes) throws -> (RecordFramer, () -> Void) {
        let path = tempPath("framer")
        try Data(s.bytes).write(to: URL(fileURLWithPath: path))
        let fd = try FileDescriptor.open(path, .readOnly)
        return (
            RecordFramer(fd: fd, source: "test"),
            {
                try? fd.close(); unlink(path)
            }
        )
    }

    @Test func framesEveryRecordAtItsOffsetInAnyOrder() throws {
        let s = try StreamBytes.sample()
        let (f, done) = try framer(s)
        defer { done() }
        let kinds: [RecordKind] = [.streamHeader, .data, .data, .data, .index, .end]
        for i in s.recordOffsets.indices.reversed() {
            let r = try f.record(at: UInt64(s.recordOffsets[i]))
            #expect(r.header.kind == kinds[i])
            #expect(r.header.sequence == UInt64(i))
            #expect(r.payload.count == Int(r.header.payloadLength))
        }
    }

    @Test func anOffsetInsideARecordIsNoRecord() throws {
        let s = try StreamBytes.sample()
        let (f, done) = try framer(s)
        defer { done() }
        let e = seedError { _ = try f.record(at: UInt64(s.recordOffsets[2] + 7)) }
        #expect(e?.status == .dataError)
        #expect(e?.message == "test: byte \(s.recordOffsets[2] + 7): no record starts here (bad magic)")
    }

    @Test func aDamagedPayloadIsRefused() throws {
        var s = try StreamBytes.sample()
        s.bytes[s.recordOffsets[2] + RecordHeader.size + 5] ^= 1
        let (f, done) = try framer(s)
        defer { done() }
        let e = seedError { _ = try f.record(at: UInt64(s.recordOffsets[2])) }
        #expect(e?.message.contains("payload checksum mismatch") == true)
    }

    @Test func aRecordCutOffByTheEndOfTheFileIsTruncated() throws {
        var s = try StreamBytes.sample()
        s.bytes = Array(s.bytes[0..<(s.recordOffsets[2] + RecordHeader.size + 10)])
        let (f, done) = try framer(s)
        defer { done() }
        let e = seedError { _ = try f.record(at: UInt64(s.recordOffsets[2])) }
        #expect(e?.message == "test: byte \(s.recordOffsets[2]): truncated data record (10 of 100 payload bytes)")
        #expect(seedError { _ = try f.record(at: UInt64(s.bytes.count)) }?.message.contains("the file ends there") == true)
    }
}

@Suite struct StreamOrderTests {
    func header(_ kind: RecordKind, volume: UInt32 = 0, sequence: UInt64) -> RecordHeader {
        var h = RecordHeader(kind: kind, volume: volume, payloadLength: 0)
        h.sequence = sequence
        return h
    }

    @Test func fromTheStartAStreamMustBeginWithItsHeader() throws {
        let o = StreamOrder(source: "test")
        let e = seedError { try o.check(header(.data, sequence: 0), "record 0") }
        #expect(e?.message == "test: record 0: stream does not start with a stream header, volume begin, resume or stop record")
    }

    @Test func fromAGivenVolumeAndSequenceTheNextRecordMustFollowOn() throws {
        var o = StreamOrder(source: "test", volume: 2, sequence: 5)
        #expect(o.volumed && o.currentVolume == 2 && o.nextSequence == 5)
        #expect(seedError { try o.check(header(.data, volume: 2, sequence: 6), "here") }?.message.contains("expected record 5") == true)
        #expect(seedError { try o.check(header(.data, volume: 3, sequence: 5), "here") }?.message.contains("moved from another volume") == true)
        #expect(seedError { try o.check(header(.streamHeader, volume: 2, sequence: 5), "here") }?.message.contains("a second stream header") == true)
        try o.check(header(.data, volume: 2, sequence: 5), "here")
        o.accept(header(.data, volume: 2, sequence: 5))
        try o.check(header(.volumeEnd, volume: 2, sequence: 6), "here")
        o.accept(header(.volumeEnd, volume: 2, sequence: 6))
        try o.checkEnd(at: 0)
    }

    @Test func aReaderStartedMidVolumeReadsOnToTheVolumeEnd() throws {
        let s = try StreamBytes.make { w in
            try w.write(kind: .volumeBegin, volume: 1, bytes: [1])
            try w.write(kind: .streamHeader, volume: 1, bytes: StreamMetadata(stages: []).encoded())
            for _ in 0..<3 { try w.write(kind: .data, volume: 1, bytes: [7, 7, 7]) }
            try w.write(kind: .volumeEnd, volume: 1, bytes: [2])
        }
        let path = tempPath("order")
        try Data(s.bytes[s.recordOffsets[3]...]).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let fd = try FileDescriptor.open(path, .readOnly)
        defer { try? fd.close() }
        let r = RecordReader(fd: fd, source: "test", order: StreamOrder(source: "test", volume: 1, sequence: 3))
        var kinds: [RecordKind] = []
        while let rec = try r.next() { kinds.append(rec.header.kind) }
        #expect(kinds == [.data, .data, .volumeEnd])
    }
}

@Suite struct ResumePointTests {
    static let session = "0b7e8a52-4a43-4f55-9b0c-3f1d2a6e9c11"
    static func point(session: String = session, sequence: UInt64 = 1, offset: UInt64 = 100) -> ResumePoint {
        ResumePoint(
            session: session, sequence: sequence, dataRecord: 0, volume: 0, volumeSequence: 1, offset: offset, keyRecords: 0,
            previousOffset: 0, previousSHA256: String(repeating: "ab", count: 32), stages: [])
    }

    @Test func aResumePointReadsBackAsWritten() throws {
        let p = ResumePoint(
            session: ResumePointTests.session, sequence: 812, dataRecord: 790, volume: 2, volumeSequence: 15, offset: 50_331_696,
            keyRecords: 1, previousOffset: 46_137_344, previousSHA256: String(repeating: "0f", count: 32),
            stages: [.init(tool: "seed-snapshot")])
        let bytes = p.encoded()
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("{\"dataRecord\":790,\"keyRecords\":1,\"offset\":50331696,"))
        #expect(try bytes.withUnsafeBytes { try ResumePoint.decode($0, record: "r") } == p)
    }

    @Test func aResumePointOfASessionThatIsNoUUIDIsRefused() throws {
        let bytes = ResumePointTests.point(session: "../x").encoded()
        let e = seedError { _ = try bytes.withUnsafeBytes { try ResumePoint.decode($0, record: "r") } }
        #expect(e?.message == "r: session id is not a lower-case UUID")
    }

    @Test func aResumePointWithNoRecordBeforeItIsRefused() throws {
        var p = ResumePointTests.point()
        p.previousOffset = p.offset
        let bytes = p.encoded()
        #expect(seedError { _ = try bytes.withUnsafeBytes { try ResumePoint.decode($0, record: "r") } }?.status == .dataError)
    }

    @Test func aSetsResumePointNamesTheLastRecordOnEveryDataMember() throws {
        var p = ResumePointTests.point()
        p.memberBytes = [4000, 5000]
        p.memberPrevious = [.init(offset: 3000, sha256: String(repeating: "01", count: 32)), .init(offset: 4100, sha256: String(repeating: "02", count: 32))]
        let good = p.encoded()
        #expect(try good.withUnsafeBytes { try ResumePoint.decode($0, record: "r") } == p)
        // One member short, a record past its member's end, and memberPrevious alone are refused.
        for bad in [
            { (q: inout ResumePoint) in q.memberPrevious!.removeLast() },
            { (q: inout ResumePoint) in q.memberPrevious![1].offset = 5000 },
            { (q: inout ResumePoint) in q.memberBytes = nil },
        ] {
            var q = p
            bad(&q)
            let bytes = q.encoded()
            #expect(seedError { _ = try bytes.withUnsafeBytes { try ResumePoint.decode($0, record: "r") } }?.status == .dataError)
        }
    }

    @Test func aResumeRecordInTheMiddleOfAStreamMustFollowOn() throws {
        let good = try StreamBytes.make { w in
            try w.write(kind: .streamHeader, bytes: StreamMetadata(stages: []).encoded())
            try w.write(kind: .resume, bytes: ResumePointTests.point().encoded())
        }
        #expect(seedError { _ = try good.readAll() }?.message.contains("no end record") == true)
    }

    @Test func nothingMayFollowAStopRecord() throws {
        let s = try StreamBytes.make { w in
            try w.write(kind: .streamHeader, bytes: StreamMetadata(stages: []).encoded())
            try w.write(kind: .stop, bytes: [])
            try w.write(kind: .end, bytes: StreamTotals().encoded())
        }
        #expect(seedError { _ = try s.readAll() }?.message.contains("end record after the stop record") == true)
    }

    @Test func aStreamMayEndAtItsStopRecord() throws {
        let s = try StreamBytes.make { w in
            try w.write(kind: .streamHeader, bytes: StreamMetadata(stages: []).encoded())
            try w.write(kind: .stop, bytes: [])
        }
        #expect(try s.readAll().count == 2)
    }
}
