import Foundation
import Testing

@testable import SeedKit

@Suite struct IndexEntryTests {
    @Test func utf8NamesAreKeptAsText() {
        let e = IndexEntry(pathBytes: Array("grüße/a".utf8), type: "file")
        #expect(e.path == "grüße/a")
        #expect(e.pathB64 == nil)
        #expect(e.pathBytes == Array("grüße/a".utf8))
    }

    @Test func namesThatAreNotUTF8AreKeptByteForByte() throws {
        let raw: [UInt8] = [0x63, 0x61, 0x66, 0xe9, 0xff]
        let e = IndexEntry(pathBytes: raw, type: "file")
        #expect(e.path == nil)
        let line = try IndexCoding.encoder().encode(e)
        let back = try JSONDecoder().decode(IndexEntry.self, from: line)
        #expect(back.pathBytes == raw)
    }

    @Test func indexLinesDecodeOneEntryPerLine() throws {
        var a = IndexEntry(pathBytes: Array("a".utf8), type: "file")
        a.sha256 = String(repeating: "0", count: 64)
        let b = IndexEntry(pathBytes: Array("b".utf8), type: "dir")
        let enc = IndexCoding.encoder()
        let payload = Array(try enc.encode(a)) + [0x0a] + Array(try enc.encode(b)) + [0x0a]
        var seen: [String] = []
        try payload.withUnsafeBytes { try IndexLines.decode($0, location: "r") { seen.append($0.path ?? "") } }
        #expect(seen == ["a", "b"])
    }

    @Test func indexRecordCutInsideALineIsRejected() throws {
        let payload = Array("{\"path\":\"a\"".utf8)
        let e = seedError { try payload.withUnsafeBytes { try IndexLines.decode($0, location: "record 4") { _ in } } }
        #expect(e?.message == "record 4: index record ends inside a line")
    }
}
