import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct IndexEntryTests {
    @Test func utf8NamesAreKeptAsText() {
        let e = IndexEntry(pathBytes: Array("grüße/a".utf8), type: .file)
        #expect(e.path == "grüße/a")
        #expect(e.pathB64 == nil)
        #expect(e.pathBytes == Array("grüße/a".utf8))
    }

    @Test func namesThatAreNotUTF8AreKeptByteForByte() throws {
        let raw: [UInt8] = [0x63, 0x61, 0x66, 0xe9, 0xff]
        let e = IndexEntry(pathBytes: raw, type: .file)
        #expect(e.path == nil)
        let line = try IndexCoding.encoder().encode(e)
        let back = try JSONDecoder().decode(IndexEntry.self, from: line)
        #expect(back.pathBytes == raw)
    }

    @Test func indexLinesDecodeOneEntryPerLine() throws {
        var a = IndexEntry(pathBytes: Array("a".utf8), type: .file)
        a.sha256 = String(repeating: "0", count: 64)
        let b = IndexEntry(pathBytes: Array("b".utf8), type: .dir)
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

    @Test func indexLinesAreWhatJSONEncoderWritesForEveryField() throws {
        var full = IndexEntry(pathBytes: Array("dir/\"q\\ / \u{1}\t\n grüße 📁".utf8), type: .char)
        full.size = 1 << 40
        full.mode = 0o4755
        full.uid = 4_000_000_000
        full.gid = 7
        full.user = "ü\u{7f}"
        full.group = "g\r"
        full.mtime = -86_400 * 365 * 70
        full.mtimeNsec = 999_999_999
        full.setLink([0xff, 0x2f, 0x61])
        full.devMajor = 8
        full.devMinor = 17
        full.xattrs = [
            .init(nameBytes: Array("user.b".utf8), value: [0x61]), .init(nameBytes: Array("user.a".utf8), value: []),
            .init(nameBytes: Array("user.\"".utf8), value: [0x22]), .init(nameBytes: [0x75, 0xff], value: [1]),
        ]
        full.sha256 = String(repeating: "ab", count: 32)
        full.sparse = true
        full.changed = false
        full.incomplete = true
        full.record = 12
        full.offset = 4096
        full.archiveOffset = 12 * 4096 + 4096
        var bare = IndexEntry(pathBytes: [0x80], type: .dir)
        bare.xattrs = []
        let everyByte = IndexEntry(pathBytes: (1...127).map { UInt8($0) }, type: .file)
        for e in [full, bare, everyByte, IndexEntry(pathBytes: Array("a".utf8), type: .fifo)] {
            var line: [UInt8] = []
            e.appendJSONLine(to: &line)
            #expect(line == Array(try IndexCoding.encoder().encode(e)) + [0x0a])
            #expect(try JSONDecoder().decode(IndexEntry.self, from: Data(line.dropLast())) == e)
        }
    }
}
