import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

/// seed-snapshot --index-file: the index beside the stream, so that
/// seed-journal names the files of damaged records in a streaming pipeline
/// where the index passes only encrypted.
@Suite(.serialized) struct IndexStreamTests {
    func seed(_ s: Scratch) throws {
        try s.sh("mkdir src && seq 1 300000 > src/numbers && head -c 3000000 /dev/urandom > src/random.bin && echo hi > src/hi")
        try s.sh("seed-encrypt --keygen dc.key > /dev/null")
        let r = try s.sh(
            "seed-snapshot --record-size 64K --index-file idx.seed src | seed-compress | seed-split --volume-size 3M"
                + " | seed-encrypt -r dc.key.pub | seed-journal --journal-dir J --index idx.seed > j.seed")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "")
    }

    @Test func theIndexStreamListsLikeTheStream() throws {
        let s = try Scratch()
        try seed(s)
        let r = try s.sh("seed-snapshot -tv idx.seed > a && seed-encrypt -d -i dc.key < j.seed | seed-split -d | seed-snapshot -tv > b && cmp a b")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func damageInAStreamingPipelineIsNamedWithItsFile() throws {
        let s = try Scratch()
        try seed(s)
        var bytes = try s.read("j.seed")
        bytes[2_000_000] ^= 0x01
        try s.write("bad.seed", bytes)
        let r = try s.sh("seed-journal --check J < bad.seed > /dev/null")
        #expect(r.status == 65)
        #expect(r.stderrLines.first?.hasSuffix("is damaged (digest mismatch); it carries 'random.bin'") == true, "\(r.stderr)")
    }

    @Test func anIndexOfAnotherSessionIsRefused() throws {
        let s = try Scratch()
        try seed(s)
        let r = try s.sh("seed-snapshot --index-file other.seed src > /dev/null && seed-journal --journal-dir J2 --index other.seed < j.seed > /dev/null")
        #expect(r.status == 65)
        #expect(r.stderr.contains("'other.seed': the index of session"), "\(r.stderr)")
    }
}
