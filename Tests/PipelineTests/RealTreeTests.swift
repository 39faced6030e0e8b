import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

/// Trees as file servers hold them: names that differ only in Unicode
/// normalization, thin images with holes anywhere, files that change or
/// cannot be read. Each round-trips byte for byte or ends with a warning
/// and status 2; none aborts a run.
@Suite(.serialized) struct RealTreeTests {
    @Test func namesThatDifferOnlyInNormalizationAreTwoFiles() throws {
        let s = try Scratch()
        // NFC and NFD, a compatibility form and its decomposition, a Hangul
        // syllable and its jamo: each pair is two names, two files.
        let names: [[UInt8]] = [
            [0x63, 0x61, 0x66, 0xc3, 0xa9], [0x63, 0x61, 0x66, 0x65, 0xcc, 0x81],
            [0xef, 0xac, 0x81], [0x66, 0x69],
            [0xea, 0xb0, 0x80], [0xe1, 0x84, 0x80, 0xe1, 0x85, 0xa1],
        ]
        try s.sh("mkdir -p src/dir")
        for (i, n) in names.enumerated() {
            let path = Array("src/dir/".utf8) + n
            try Data("file \(i)\n".utf8).write(to: URL(fileURLWithPath: s.path(String(decoding: path, as: UTF8.self))))
        }
        let listed = try FileManager.default.contentsOfDirectory(atPath: s.path("src/dir")).count
        #expect(listed == names.count)
        let r = try s.sh("seed-snapshot src | seed-compress | seed-compress -d | seed-snapshot -x out")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "")
        expectSameTree(s.path("src"), s.path("out"))
        let t = try s.sh("seed-snapshot src | seed-snapshot -t | grep -c '^dir/'")
        #expect(t.stdout == "\(names.count)\n")
    }

    /// A thin image: `regions` of random data at the given MiB offsets in a
    /// file of `size` MiB; the rest is holes.
    func thinImage(_ s: Scratch, _ name: String, size: Int, regions: [Int], regionSize: Int = 1 << 20) throws {
        let offs = regions.map(String.init).joined(separator: ",")
        try s.sh(
            """
            python3 - <<'PY'
            import os
            with open('src/\(name)', 'wb') as f:
                f.truncate(\(size) << 20)
                for off in (\(offs),):
                    f.seek(off << 20); f.write(os.urandom(\(regionSize)))
            PY
            """)
    }

    @Test func sparseImagesRoundTripWithTheirHoles() throws {
        let s = try Scratch()
        try s.sh("mkdir src")
        try thinImage(s, "vm.img", size: 64, regions: [0, 16, 50, 63])
        try thinImage(s, "tail-only.img", size: 32, regions: [31])
        try thinImage(s, "many-holes.img", size: 400, regions: Array(stride(from: 0, to: 400, by: 2)), regionSize: 4096)
        let r = try s.sh("seed-snapshot src > s.seed && seed-snapshot -x out < s.seed")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "")
        expectSameTree(s.path("src"), s.path("out"))
        // Holes are neither stored nor written: the stream and the restore
        // stay the size of the data.
        let size = try s.sh("stat -c %s s.seed; du -k out | tail -1 | cut -f1")
        let n = size.stdout.split(separator: "\n").compactMap { Int($0) }
        #expect(n.count == 2 && n[0] < 16 << 20 && n[1] < 16 << 10, "\(size.stdout)")
    }

    @Test func aTebibyteOfHolesCostsNeitherReadsNorHashing() throws {
        let s = try Scratch()
        try s.sh("mkdir src && truncate -s 1T src/thin.img && printf end | dd of=src/thin.img bs=1 seek=$((1<<39)) conv=notrunc 2>/dev/null")
        // The timeout stands for "no time at all": hashing a tebibyte of
        // zeros would take ten minutes.
        let r = try s.sh(
            "timeout 20 seed-snapshot src | timeout 20 seed-snapshot -x out && stat -c %s out/thin.img && dd if=out/thin.img bs=1 skip=$((1<<39)) count=3 2>/dev/null"
        )
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "1099511627776\nend", "\(r.stdout)")
    }

    @Test func aFileThatShrinksAndGrowsWhileReadIsFlaggedAndRestoredAsRead() throws {
        let s = try Scratch()
        try s.sh("mkdir src && head -c 60000000 /dev/urandom > src/f && echo calm > src/calm")
        // Cut short and grown again with a hole, over and over: reads end
        // early, and the file turns sparse under the reader. One process
        // with no fork between changes, running before the snapshot starts,
        // and no second read: every read sees the file change, however
        // loaded the machine.
        let r = try s.sh(
            """
            perl -e 'open(my $m, ">", "running"); close $m; while (1) { truncate("src/f", 10e6); truncate("src/f", 60e6) }' & w=$!
            until [ -e running ]; do sleep 0.01; done
            seed-snapshot --retries 0 src > out.seed; st=$?
            kill -9 $w; wait $w 2>/dev/null
            echo status=$st
            """)
        #expect(r.stdout == "status=2\n", "\(r.stderr)")
        #expect(r.stderr.contains("seed-snapshot: warning: 'f': file changed as we read it; kept as read and flagged in the index"), "\(r.stderr)")
        let x = try s.sh("seed-snapshot -x out out.seed")
        #expect(x.status == 2, "\(x.stderr)")
        #expect(x.stderrLines == ["seed-snapshot: warning: 'f': changed while the snapshot was made; restored as it was read"])
        #expect(try s.sh("cmp out/calm src/calm").status == 0)
    }

    @Test func aFileThatVanishesBeforeItIsReadIsSkippedWithAWarning() throws {
        let s = try Scratch()
        try s.sh("mkdir src && head -c 300000000 /dev/zero > src/0big && echo bye > src/z")
        // z is listed with 0big; it goes once 0big is open, before z is reached.
        let r = try s.sh(
            """
            seed-snapshot src > out.seed & pid=$!
            until ls -l /proc/$pid/fd 2>/dev/null | grep -q 0big; do :; done
            rm src/z
            wait $pid; echo status=$?
            """)
        #expect(r.stdout == "status=2\n", "\(r.stderr)")
        #expect(r.stderrLines == ["seed-snapshot: warning: 'z': vanished before it was read; skipped", "seed-snapshot: completed with 1 warning"])
        let l = try s.sh("seed-snapshot -t out.seed")
        #expect(l.stdout == ".\n0big\n")
    }
}
