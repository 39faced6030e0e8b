import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

/// The golden streams (Fixtures/golden, seed-stream(5)): one small tree at
/// every stage with the keys that open them. Each stage must turn the one
/// before it into the next byte for byte, and each decoder must give the
/// one before back. `RECORD=1 scripts/test` records them anew (review the
/// diff); a changed format then shows as a failure until then.
@Suite(.serialized) struct GoldenStreamTests {
    let golden = fixturesDir + "/golden"

    func run(_ script: String) throws -> ShellResult {
        try runProcess("set -o pipefail\ncd '\(golden)'\n" + script, cwd: golden)
    }

    func expectSame(_ pipeline: String, _ file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try run("\(pipeline) | cmp - \(file)")
        #expect(r.status == 0, "\(pipeline) differs from \(file): \(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func goldenStreamsAreRecordedOnlyOnRequest() throws {
        guard ProcessInfo.processInfo.environment["RECORD"] == "1" else { return }
        let r = try run("./make")
        #expect(r.status == 0, "\(r.stderr)")
        Issue.record("recorded new golden streams: review the diff, then run the tests without RECORD")
    }

    @Test func thePlainStreamListsAndRestoresItsTree() throws {
        try expectSame("seed-snapshot -tv plain.seed", "listing.txt")
        let s = try Scratch()
        let r = try runProcess(
            "set -o pipefail\nseed-snapshot -x out < '\(golden)/plain.seed' && cat out/hello.txt out/docs/hard && stat -c '%s %b' out/thin.img && ls out/docs | od -An -c",
            cwd: s.dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("hello, seed\nhello, seed\n1048576 8\n"), "\(r.stdout)")
        #expect(r.stdout.contains("c   a   f   e 314 201  \\n   c   a   f 303 251"), "\(r.stdout)")
    }

    @Test func compressionIsByteForByte() throws {
        try expectSame("seed-compress < plain.seed", "compressed.seed")
        try expectSame("seed-compress -d < compressed.seed", "plain.seed")
    }

    @Test func splittingIsByteForByte() throws {
        try expectSame("seed-split --volume-size 2M < compressed.seed", "split.seed")
        try expectSame("seed-split -d < split.seed", "compressed.seed")
    }

    @Test func decryptionGivesTheStageBeforeBack() throws {
        try expectSame("seed-encrypt -d -i dc.key < encrypted.seed", "compressed.seed")
        try expectSame("seed-encrypt -d -i dc.key < encrypted-split.seed", "split.seed")
        try expectSame("seed-encrypt -d --key-file file.key < encrypted-split.seed", "split.seed")
    }

    @Test func theJournalOfTheEncryptedStreamWithItsKeyLinesChecksIt() throws {
        try expectSame("seed-journal --check J-encrypted < encrypted-split.seed", "encrypted-split.seed")
    }

    @Test func theDriveReadsBackAsTheStreamWrittenToIt() throws {
        try expectSame("seed-writeblk -d drive.img", "encrypted-split.seed")
        let label = try run("head -c 4096 drive.img | grep -a -c -e '^state: complete$' -e '^volume: 1$' -e '^last-volume: yes$'")
        #expect(label.stdout == "3\n", "\(label.stdout)")
    }

    @Test func theJournalChecksTheSplitStream() throws {
        try expectSame("seed-journal --check J < split.seed", "split.seed")
        let r = try run("seed-split -d < split.seed | seed-compress -d | cmp - plain.seed")
        #expect(r.status == 0, "\(r.stderr)")
    }
}
