import Foundation
import SeedCore
import SeedFormat
import Testing

@testable import SeedKit

/// --only PATTERN (seed-snapshot(1), Decoding): as tar chooses members.
@Suite struct PathPatternsTests {
    @Test func aPatternMatchingADirectoryChoosesAllBelowIt() throws {
        let p = try #require(PathPatterns(["docs"]))
        #expect(p.matches(Array("docs".utf8)))
        #expect(p.matches(Array("docs/a/b.txt".utf8)))
        #expect(!p.matches(Array("docs2/a".utf8)))
        #expect(!p.matches(Array("other/docs".utf8)))
    }

    @Test func aGlobMatchingADirectoryChoosesAllBelowItToo() throws {
        let p = try #require(PathPatterns(["d?cs/[ab]"]))
        #expect(p.matches(Array("docs/a".utf8)))
        #expect(p.matches(Array("dxcs/b/deep/c.txt".utf8)))
        #expect(!p.matches(Array("docs/c/a".utf8)))
        #expect(!p.matches(Array("dcs/a/x".utf8)))
        // The same path matched again, after the one before was cut in place.
        #expect(p.matches(Array("docs/a/x".utf8)) && !p.matches(Array("docs/ab".utf8)))
    }

    @Test func aStarMatchesSlashesToo() throws {
        let p = try #require(PathPatterns(["*.pdf"]))
        #expect(p.matches(Array("a/b/report.pdf".utf8)))
        #expect(!p.matches(Array("a/b/report.txt".utf8)))
    }

    @Test func aLeadingDotSlashAndATrailingSlashAreDropped() throws {
        let p = try #require(PathPatterns(["./a/b/"]))
        #expect(p.matches(Array("a/b".utf8)))
        #expect(p.matches(Array("a/b/c".utf8)))
    }

    @Test func namesAreComparedAsBytes() throws {
        // NFC é against NFD e + combining acute: two names, never one.
        let p = try #require(PathPatterns(["caf\u{e9}"]))
        #expect(p.matches([0x63, 0x61, 0x66, 0xc3, 0xa9]))
        #expect(!p.matches([0x63, 0x61, 0x66, 0x65, 0xcc, 0x81]))
        // A name that is not UTF-8 is matched byte for byte by a wildcard.
        let any = try #require(PathPatterns(["caf?"]))
        #expect(any.matches([0x63, 0x61, 0x66, 0xe9]))
    }

    @Test func patternsThatChoseNothingAreNamed() throws {
        let p = try #require(PathPatterns(["a", "b"]))
        _ = p.matches(Array("a/x".utf8))
        #expect(p.unmatched == ["b"])
        #expect(PathPatterns([]) == nil)
    }
}

/// An increment's change lines (seed-stream(5), kind 10).
@Suite struct ChangeLineTests {
    func decode(_ text: String) throws -> [ChangeLine] {
        var out: [ChangeLine] = []
        try Array(text.utf8).withUnsafeBytes { b in try ChangeLine.decode(b, location: "test") { out.append($0) } }
        return out
    }

    @Test func renamesAndDeletionsRoundTripWithNamesThatAreNotUTF8() throws {
        let lines = [
            ChangeLine(op: .rename, path: [0x61, 0xff], from: Array("old".utf8), type: .file),
            ChangeLine(op: .delete, path: Array("gone/dir".utf8), type: .dir),
        ]
        let text = lines.map { String(decoding: $0.encodedLine(), as: UTF8.self) }.joined()
        let back = try decode(text)
        #expect(back == lines)
        #expect(back[0].pathBytes == [0x61, 0xff] && back[0].fromBytes == Array("old".utf8))
    }

    @Test func linesThatBreakTheRulesAreRefused() throws {
        for bad in [
            #"{"op":"rename","path":"a","type":"file"}"#,  // no from
            #"{"op":"delete","path":"a","from":"b","type":"file"}"#,  // a delete with a from
            #"{"op":"delete","path":"","type":"file"}"#,  // no path
            #"{"op":"move","path":"a","type":"file"}"#,  // no such op
            #"{"op":"delete","path":"a","pathB64":"YQ==","type":"file"}"#,  // both path forms
            #"{"op":"delete","path":"a","type":"socket"}"#,  // no such type
        ] {
            #expect(throws: SeedError.self, "\(bad)") { _ = try decode(bad + "\n") }
        }
        #expect(throws: SeedError.self) { _ = try decode(#"{"op":"delete","path":"a","type":"file"}"#) }  // cut inside a line
    }
}
