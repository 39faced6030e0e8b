import Foundation
import SeedFormat
import Testing

/// Index lines as seed writes them are read without JSONDecoder; every
/// other line is read by it, and the two never disagree.
@Suite struct IndexLineReaderTests {
    /// Entries with every field, and names that need escapes or base64.
    static func samples() -> [IndexEntry] {
        var out: [IndexEntry] = []
        var f = IndexEntry(pathBytes: Array("docs/report \"final\".pdf".utf8), type: .file)
        (f.size, f.mode, f.uid, f.gid, f.mtime, f.mtimeNsec) = (123_456_789, 0o4755, 1000, 100, -86_400, 999_999_999)
        (f.record, f.offset, f.archiveOffset) = (3, 512, 3 * 65536 + 512)
        (f.user, f.group, f.ctime, f.ctimeNsec) = ("ünïcode", "staff", 1_700_000_000, 5)
        f.sha256 = String(repeating: "ab", count: 32)
        (f.sparse, f.changed, f.incomplete) = (true, false, true)
        f.xattrs = [IndexEntry.Xattr(nameBytes: Array("user.a".utf8), value: [0, 1, 2]), IndexEntry.Xattr(nameBytes: [0xff, 0x41], value: [])]
        out.append(f)
        var l = IndexEntry(pathBytes: [0x64, 0xff, 0x0a, 0x5c, 0x01], type: .symlink)
        l.setLink(Array("../a\tb/\u{7f}c".utf8))
        out.append(l)
        var d = IndexEntry(pathBytes: Array("a/b".utf8), type: .char)
        (d.devMajor, d.devMinor, d.mtime, d.archiveOffset) = (UInt32.max, 0, Int64.min, UInt64.max)
        out.append(d)
        var h = IndexEntry(pathBytes: Array("x".utf8), type: .hardlink)
        h.setLink([0xe9])
        h.xattrs = []
        out.append(h)
        return out
    }

    static func line(_ e: IndexEntry) -> [UInt8] {
        var b: [UInt8] = []
        e.appendJSONLine(to: &b)
        b.removeLast()
        return b
    }

    static func decoded(_ line: [UInt8]) -> IndexEntry? { try? JSONDecoder().decode(IndexEntry.self, from: Data(line)) }
    static func fast(_ line: [UInt8]) -> IndexEntry? { line.withUnsafeBytes { IndexLineReader.read($0) } }

    @Test func aLineAsSeedWritesItIsReadAsJSONDecoderReadsIt() throws {
        for e in Self.samples() {
            let line = Self.line(e)
            let fast = try #require(Self.fast(line), "\(String(decoding: line, as: UTF8.self))")
            #expect(fast == e)
            #expect(fast == Self.decoded(line))
        }
    }

    @Test func anyOtherFormIsHandedBackAndJSONDecoderReadsIt() throws {
        let base = String(decoding: Self.line(Self.samples()[2]), as: UTF8.self)
        let others = [
            base.replacingOccurrences(of: "{\"archiveOffset\"", with: "{ \"archiveOffset\""),
            base.replacingOccurrences(of: ",\"gid\":0", with: "") + "",
            "{\"type\":\"dir\"," + base.dropFirst().replacingOccurrences(of: ",\"type\":\"char\"", with: ""),
            base.replacingOccurrences(of: "\"gid\":0", with: "\"gid\":-0"),
            base.replacingOccurrences(of: "\"gid\":0", with: "\"gid\":0.0"),
            base.replacingOccurrences(of: "\"gid\":0", with: "\"gid\":00"),
            base.replacingOccurrences(of: "\"gid\":0", with: "\"gid\":1e2"),
            base.replacingOccurrences(of: "\"gid\":0", with: "\"gid\":4294967296"),
            base.replacingOccurrences(of: "\"path\":\"a/b\"", with: "\"path\":\"a\\/b\",\"zzz\":1"),
            base.replacingOccurrences(of: "\"path\":\"a/b\"", with: "\"path\":\"\\ud83d\\ude00\""),
            base.replacingOccurrences(of: "\"path\":\"a/b\"", with: "\"path\":null"),
            base.replacingOccurrences(of: "\"type\":\"char\"", with: "\"type\":\"char\",\"type\":\"dir\""),
        ]
        for o in others {
            let line = Array(o.utf8)
            #expect(Self.fast(line) == nil, "\(o)")
        }
        // JSONDecoder still reads the valid ones.
        #expect(Self.decoded(Array(others[0].utf8)) == Self.samples()[2])
        #expect(Self.decoded(Array(others[9].utf8))?.path == "\u{1F600}")
    }

    @Test func aDamagedLineIsNeverReadDifferentlyFromJSONDecoder() {
        // Every byte of every sample replaced by bytes that matter to
        // JSON: where the reader takes the line, JSONDecoder takes it the same.
        let probes: [UInt8] = [0x00, 0x0a, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x31, 0x39, 0x3a, 0x5c, 0x5b, 0x5d, 0x65, 0x6e, 0x75, 0x7b, 0x7d, 0x80, 0xff]
        var taken = 0
        for e in Self.samples() {
            let line = Self.line(e)
            for i in line.indices {
                for b in probes where b != line[i] {
                    var m = line
                    m[i] = b
                    guard let fast = Self.fast(m) else { continue }
                    taken += 1
                    #expect(fast == Self.decoded(m), "byte \(i) set to \(b): \(String(decoding: m, as: UTF8.self))")
                }
                var cut = line
                cut.remove(at: i)
                if let fast = Self.fast(cut) { #expect(fast == Self.decoded(cut), "byte \(i) cut") }
            }
        }
        #expect(taken > 100)
    }

    @Test func onlyALineThatCouldBeAHardLinksIsWorthAHardLinkPass() {
        func worth(_ line: [UInt8]) -> Bool { line.withUnsafeBytes { IndexLines.mayBeHardLink($0) } }
        let samples = Self.samples()
        #expect(worth(Self.line(samples[3])))
        #expect(!worth(Self.line(samples[2])))
        // "hard\u006cink" spells it too: a line with any escape is decoded.
        #expect(worth(Array(#"{"type":"hard\u006cink"}"#.utf8)))
    }
}
