import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

@testable import SeedKit

/// Damaged and hostile input: every case ends with a non-zero status and one
/// line on stderr that names the record or the entry; nothing is written
/// outside the target directory.
@Suite(.serialized) struct BadInputTests {
    func smallStream(_ s: Scratch, compressed: Bool = true) throws -> [UInt8] {
        try s.sh("mkdir src && seq 1 20000 > src/numbers && printf hi > src/hi && ln -s hi src/link")
        try s.sh("seed-snapshot --record-size 16384 src \(compressed ? "| seed-compress" : "") > good.seed")
        return try s.read("good.seed")
    }

    @Test func everyHeaderByteAndSampledPayloadBytesAreCaughtByEachDecoder() throws {
        let s = try Scratch()
        let good = try smallStream(s)
        let recs = try StreamSurgery.records(s.path("good.seed"))
        var offsets: [Int] = []
        for r in recs.prefix(4) { offsets += (Int(r.offset)..<Int(r.offset) + RecordHeader.size).map { $0 } }
        for r in recs where r.payload.count > 8 {
            let base = Int(r.offset) + RecordHeader.size
            offsets += [base, base + r.payload.count / 2, base + r.payload.count - 1]
        }
        for o in offsets {
            var bad = good
            bad[o] ^= 0x01
            try s.write("bad.seed", bad)
            let x = try s.sh("rm -rf out; seed-snapshot -x out bad.seed")
            expectOneLineError(x, tool: "seed-snapshot", containing: "record", "snapshot -x, byte \(o)")
            let d = try s.sh("seed-compress -d bad.seed > /dev/null")
            expectOneLineError(d, tool: "seed-compress", containing: "record", "compress -d, byte \(o)")
        }
    }

    @Test func flippedPayloadByteIsNamedByRecordAndOffset() throws {
        let s = try Scratch()
        var good = try smallStream(s, compressed: false)
        let recs = try StreamSurgery.records(s.path("good.seed"))
        let victim = recs[2]
        good[Int(victim.offset) + RecordHeader.size + 100] ^= 0xff
        try s.write("bad.seed", good)
        let r = try s.sh("seed-snapshot -x out < bad.seed")
        expectOneLineError(r, tool: "seed-snapshot", "flipped payload")
        #expect(r.stderr == "seed-snapshot: error: standard input: record 2 at byte \(victim.offset): payload checksum mismatch (data record damaged)\n")
    }

    @Test func truncatedStreamIsRejected() throws {
        let s = try Scratch()
        let good = try smallStream(s)
        for cut in [10, good.count / 3, good.count - 10] {
            try s.sh("head -c \(cut) good.seed > cut.seed")
            expectOneLineError(try s.sh("seed-snapshot -x out cut.seed"), tool: "seed-snapshot", containing: "truncated", "cut at \(cut)")
            expectOneLineError(try s.sh("seed-compress -d < cut.seed > /dev/null"), tool: "seed-compress", containing: "truncated", "cut at \(cut)")
        }
    }

    @Test func trailingGarbageIsRejected() throws {
        let s = try Scratch()
        _ = try smallStream(s)
        try s.sh("cat good.seed > long.seed; printf garbage >> long.seed")
        expectOneLineError(
            try s.sh("seed-snapshot -t long.seed > /dev/null"), tool: "seed-snapshot", containing: "trailing data after the end record", "trailing")
        expectOneLineError(
            try s.sh("seed-compress -d long.seed > /dev/null"), tool: "seed-compress", containing: "trailing data after the end record", "trailing")
    }

    @Test func recordLengthOfFourGiBIsRejectedAtOnce() throws {
        let s = try Scratch()
        let good = try smallStream(s)
        let recs = try StreamSurgery.records(s.path("good.seed"))
        var h = recs[1].header
        h.payloadLength = 4 << 30
        var bad = good
        bad.replaceSubrange(Int(recs[1].offset)..<Int(recs[1].offset) + 48, with: h.bytes)
        try s.write("bad.seed", bad)
        let r = try s.sh("timeout 20 seed-compress -d bad.seed > /dev/null")
        expectOneLineError(r, tool: "seed-compress", containing: "record length 4294967296 exceeds the 64 MiB limit", "4 GiB")
    }

    @Test func notASeedStreamIsRejected() throws {
        let s = try Scratch()
        try s.sh("echo hello > text")
        expectOneLineError(try s.sh("seed-snapshot -t text"), tool: "seed-snapshot", containing: "not a seed stream", "text")
        expectOneLineError(try s.sh("seed-compress -d < /dev/null"), tool: "seed-compress", containing: "empty input", "empty")
    }

    // MARK: hostile archives

    @Test func dotDotEntryIsRefused() throws {
        let s = try Scratch()
        let r = try extractHostile(s, "file('ok.txt'); file('../escape.txt')")
        expectOneLineError(r, tool: "seed-snapshot", containing: "entry '../escape.txt'", "dotdot")
        #expect(!s.exists("escape.txt"))
    }

    @Test func absolutePathEntryIsRefused() throws {
        let s = try Scratch()
        let target = s.path("outside/absolute.txt")
        let r = try extractHostile(s, "file('\(target)')")
        expectOneLineError(r, tool: "seed-snapshot", containing: "entry '\(target)'", "absolute")
        #expect(!s.exists("outside/absolute.txt"))
    }

    @Test func writingThroughASymlinkIsRefused() throws {
        let s = try Scratch()
        let r = try extractHostile(s, "link('link', '\(s.path("outside"))', tarfile.SYMTYPE); file('link/planted.txt')")
        expectOneLineError(r, tool: "seed-snapshot", containing: "entry 'link/planted.txt'", "symlink")
        #expect(!s.exists("outside/planted.txt"))
    }

    @Test func relativeSymlinkOutOfTheTargetCannotBeWrittenThrough() throws {
        let s = try Scratch()
        let r = try extractHostile(s, "link('up', '../outside', tarfile.SYMTYPE); file('up/planted.txt')")
        #expect(r.status != 0)
        #expect(!s.exists("outside/planted.txt"))
    }

    @Test func hardLinkOutOfTheTargetIsRefused() throws {
        let s = try Scratch()
        let r = try extractHostile(s, "link('h', '../outside/target', tarfile.LNKTYPE)")
        expectOneLineError(r, tool: "seed-snapshot", containing: "entry 'h'", "hardlink dotdot")
        let r2 = try extractHostile(s, "link('h2', '\(s.path("outside/target"))', tarfile.LNKTYPE)")
        expectOneLineError(r2, tool: "seed-snapshot", containing: "entry 'h2'", "hardlink absolute")
        #expect(try s.sh("cat outside/target").stdout == "original\n")
        #expect(try s.sh("stat -c %h outside/target").stdout == "1\n")
    }

    // MARK: output

    @Test func failedRunLeavesNoPartialOutputFile() throws {
        let s = try Scratch()
        _ = try smallStream(s)
        try s.sh("head -c 3000 good.seed > cut.seed")
        let r = try s.sh("seed-compress -d -o out.seed cut.seed")
        #expect(r.status == 65)
        #expect(try s.sh("ls").stdout.contains("out.seed") == false)
    }

    @Test func fullDiskIsAnIOErrorNamingTheOutput() throws {
        let s = try Scratch()
        _ = try smallStream(s)
        let r = try s.sh("seed-compress -d good.seed > /dev/full")
        expectOneLineError(r, tool: "seed-compress", containing: "cannot write to standard output: No space left on device", status: 74, "full disk")
        let r2 = try s.sh("seed-snapshot src > /dev/full")
        expectOneLineError(r2, tool: "seed-snapshot", containing: "No space left on device", status: 74, "full disk snapshot")
    }

    @Test func aDeadNextStageIsOneLineAndStatus141() throws {
        let s = try Scratch()
        try s.sh("mkdir src && head -c 20000000 /dev/urandom > src/r")
        let r = try s.sh("seed-snapshot src | head -c 100 > /dev/null; echo ${PIPESTATUS[0]}")
        #expect(r.stdout == "141\n")
        #expect(r.stderrLines == ["seed-snapshot: error: cannot write to standard output: the next stage stopped reading (broken pipe)"])
        // The stage before it fails the same way, unless it had written all
        // it had before the next one went.
        let r2 = try s.sh("seed-snapshot src | seed-compress | head -c 100 > /dev/null; echo ${PIPESTATUS[*]}")
        #expect(r2.stdout == "141 141 0\n" || r2.stdout == "0 141 0\n", "\(r2.stdout)")
        #expect(
            r2.stderrLines.contains("seed-compress: error: cannot write to standard output: the next stage stopped reading (broken pipe)")
                && r2.stderrLines.allSatisfy { $0.hasSuffix("the next stage stopped reading (broken pipe)") }, "\(r2.stderr)")
    }
}
