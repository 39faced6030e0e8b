import Foundation
import Testing

/// seed-snapshot -t and -x with --only, and with --from (seed-snapshot(1),
/// RANDOM ACCESS): chosen entries back from the drives that hold them,
/// reading only their records.
@Suite struct RandomAccessTests {
    let keys = "seed-encrypt --keygen dc.key > /dev/null"
    let ship = "seed-snapshot --record-size 256K src | seed-compress | seed-split --volume-size 24M | seed-encrypt -r dc.key.pub | seed-journal --journal-dir J"

    /// The awkward tree plus files enough to fill two volumes, shipped to d1 d2.
    func shipped(_ s: Scratch) throws {
        _ = try s.awkwardTree()
        let r = try s.sh(
            """
            mkdir -p src/bulk/deep && for i in $(seq 1 30); do head -c 1000000 /dev/urandom > src/bulk/f$i; done
            head -c 3000000 /dev/urandom > src/bulk/deep/big.bin && ln src/bulk/deep/big.bin src/bulk/zlink
            \(keys) && \(ship) | seed-writeblk d1 d2 d3 2> /dev/null
            """)
        try #require(r.status == 0 && s.exists("d2"), "\(r.stderr)")
    }

    @Test func chosenEntriesComeBackFromTheDrivesThroughDecryptionAndDecompression() throws {
        let s = try Scratch()
        try shipped(s)
        let r = try s.sh("seed-snapshot -x out --only bulk --from d1 --from d2 --journal-dir J -i dc.key")
        #expect(r.status == 0, "\(r.stderr)")
        expectSameTree(s.path("src/bulk"), s.path("out/bulk"))
        #expect(try s.sh("ls out").stdout == "bulk\n")
    }

    @Test func theSameEntriesComeBackAsFromTheWholeStream() throws {
        let s = try Scratch()
        try shipped(s)
        let all = try s.sh("seed-snapshot -t --from d1 --from d2 --journal-dir J -i dc.key | sed -n '2p;7p;11p;19p'").stdout
        let patterns = all.split(separator: "\n").map { "--only '\($0)'" }.joined(separator: " ")
        try #require(patterns.count > 0)
        let a = try s.sh("seed-snapshot -x a \(patterns) --from d1 --from d2 --journal-dir J -i dc.key")
        let b = try s.sh(
            "seed-writeblk -d d1 d2 | seed-encrypt -d -i dc.key | seed-split -d | seed-compress -d | seed-snapshot -x b \(patterns)")
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        // Directories above the chosen entries are made, not restored, on both.
        var o = CompareOptions()
        o.skipDirTimes = true
        expectSameTree(s.path("a"), s.path("b"), o)
    }

    @Test func anEntryOnADriveNotGivenNamesTheVolumeNeeded() throws {
        let s = try Scratch()
        try shipped(s)
        // The index lies at the end, on volume 2; volume 1 alone cannot say.
        let r = try s.sh("seed-snapshot -x out --only bulk/f1 --from d1 --journal-dir J -i dc.key")
        #expect(r.status == 3)
        #expect(r.stderr.contains("the index is on volume 2: give its drive"), "\(r.stderr)")
        // Given the index, what lies on volume 2 is named.
        let last = try s.sh("seed-snapshot -t --from d1 --from d2 --journal-dir J -i dc.key | tail -1").stdout.trimmingCharacters(in: .newlines)
        let d = try s.sh("seed-snapshot -x out --only '\(last)' --from d2 --journal-dir J -i dc.key")
        #expect(d.status == 0, "\(d.stderr)")
        let f = try s.sh("seed-snapshot -x out --only bulk --from d2 --journal-dir J -i dc.key")
        #expect(f.status == 3)
        #expect(f.stderr.contains("the entries chosen need volume 1: give its drive"), "\(f.stderr)")
        #expect(!s.exists("out/bulk/f1"))
    }

    @Test func anIndexStreamSparesTheDriveHoldingTheIndex() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && for i in $(seq 1 20); do head -c 1000000 /dev/urandom > src/f$i; done
            seed-snapshot --record-size 256K --index-file idx.seed src | seed-split --volume-size 12M | seed-journal --journal-dir J \
              | seed-writeblk d1 d2 2> /dev/null
            seed-snapshot -x out --only f1 --from d1 --journal-dir J --index idx.seed
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try s.sh("cmp src/f1 out/f1").status == 0)
    }

    @Test func aDamagedRecordOnTheDriveIsRefusedNamingItsVolumeAndRecord() throws {
        let s = try Scratch()
        try shipped(s)
        // A byte inside data record 4, on the drive.
        let at = try s.sh(
            """
            base=$(head -c 4096 d1 | sed -n 's/^stream-offset: //p')
            off=$(grep '"dataRecord":4,' J/*.v001.jrn | sed 's/.*"offset":\\([0-9]*\\).*/\\1/')
            echo $((base + off + 1000))
            """
        ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(Int(at) != nil, "\(at)")
        try s.sh(flipByte + "flip d1 \(at)")
        let r = try s.sh("seed-snapshot -x out --only '*' --from d1 --from d2 --journal-dir J -i dc.key")
        #expect(r.status == 65)
        #expect(r.stderr.contains("volume 1 record ") && r.stderr.contains("does not match its journal (damaged on the drive)"), "\(r.stderr)")
    }

    @Test func aChosenHardLinkBringsTheFileItLinksTo() throws {
        let s = try Scratch()
        try shipped(s)
        let r = try s.sh("seed-snapshot -x out --only bulk/zlink --from d1 --from d2 --journal-dir J -i dc.key; stat -c %h out/bulk/zlink")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "2\n")
        #expect(try s.sh("cmp src/bulk/zlink out/bulk/zlink && cmp src/bulk/deep/big.bin out/bulk/deep/big.bin").status == 0)
    }

    @Test func journalsNotSignedByTheSignerGivenAreRefused() throws {
        let s = try Scratch()
        try shipped(s)
        try s.sh("seed-journal --keygen sk > /dev/null")
        let r = try s.sh("seed-snapshot -x out --only bulk --from d1 --from d2 --journal-dir J -i dc.key --signer sk.pub")
        #expect(r.status == 65)
        #expect(r.stderr.contains("is not signed"), "\(r.stderr)")
        #expect(!s.exists("out"))
    }

    @Test func listingWithPatternsShowsOnlyTheChosenEntriesAndNamesThoseThatChoseNothing() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir -p src/a/b src/c && echo 1 > src/a/b/x && echo 2 > src/a/y && echo 3 > src/c/z
            seed-snapshot src > s.seed && seed-snapshot -t --only a/b --only 'c/*' --only nothere s.seed
            """)
        #expect(r.status == 2)
        #expect(r.stdout == "a/b\na/b/x\nc/z\n")
        #expect(r.stderr.contains("'nothere': not in the snapshot"), "\(r.stderr)")
    }

    @Test func extractingWithPatternsWritesOnlyTheChosenEntries() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir -p src/a/b src/c && echo 1 > src/a/b/x && echo 2 > src/a/y && echo 3 > src/c/z
            seed-snapshot src | seed-compress | seed-snapshot -x out --only './a/b/' --only 'c/?'
            cd out && find . | sort
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == ".\n./a\n./a/b\n./a/b/x\n./c\n./c/z\n")
    }

    @Test func patternsMatchNamesAsBytes() throws {
        let s = try Scratch()
        // The same name in NFC and NFD: a pattern naming one never chooses the other.
        let r = try s.sh(
            """
            mkdir src && echo nfc > "src/$(printf 'caf\\xc3\\xa9')" && echo nfd > "src/$(printf 'cafe\\xcc\\x81')"
            seed-snapshot src | seed-snapshot -x out --only "$(printf 'caf\\xc3\\xa9')" && ls out | od -An -c | tr -s ' '
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("c a f 303 251"), "\(r.stdout)")
        #expect(!r.stdout.contains("314"), "\(r.stdout)")
    }

    @Test(.enabled(if: LoopDevices.available, "needs root and losetup: loop devices are skipped here"))
    func restoringOneFileFromAMultiGigabyteSeedOnALoopDeviceReadsUnderOnePercentOfIt() throws {
        let s = try Scratch()
        let loops = LoopDevices(s)
        let dev = try loops.attach("disk.img", size: "2600M")
        let made = try s.sh(
            """
            mkdir -p src/bulk && head -c 64000000 /dev/urandom > block
            for i in $(seq 1 34); do cp block src/bulk/part$i; done && rm block
            mkdir src/docs && head -c 1048576 /dev/urandom > src/docs/report.pdf
            \(keys) && seed-snapshot src | seed-compress | seed-split --volume-size 2600M | seed-encrypt -r dc.key.pub \
              | seed-journal --journal-dir J | seed-writeblk \(dev)
            """)
        try #require(made.status == 0, "\(made.stderr)")
        let name = (dev as NSString).lastPathComponent
        let r = try s.sh(
            """
            blockdev --flushbufs \(dev)
            before=$(awk '{print $3}' /sys/block/\(name)/stat)
            seed-snapshot -x out --only docs/report.pdf --from \(dev) --journal-dir J -i dc.key -v || exit $?
            after=$(awk '{print $3}' /sys/block/\(name)/stat)
            echo $(( (after - before) * 512 ))
            """)
        #expect(r.status == 0, "\(r.stderr)")
        let read = try #require(UInt64(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let volume = try #require(
            UInt64(
                try s.sh("grep -h '\"type\":\"end\"' J/*.jrn | sed 's/.*\"bytes\":\\([0-9]*\\).*/\\1/'").stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        )
        #expect(volume > 2_000_000_000)
        #expect(read < volume / 100, "read \(read) of \(volume) bytes")
        #expect(r.stderr.contains("of volume 1's"), "\(r.stderr)")
        #expect(try s.sh("cmp src/docs/report.pdf out/docs/report.pdf").status == 0)
    }
}

/// seed-snapshot --compare DIR FILE (seed-snapshot(1)): a tree held against
/// a snapshot's index, as tar --compare holds one against an archive.
@Suite struct CompareTests {
    @Test func aRestoredTreeComparesCleanAndEachChangeIsNamed() throws {
        let s = try Scratch()
        _ = try s.awkwardTree()
        let r = try s.sh("seed-snapshot src > s.seed && seed-snapshot -x out s.seed && seed-snapshot --compare out s.seed")
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r.stdout) \(r.stderr)")
        let changed = try s.sh(
            """
            mkdir -p t/d && echo one > t/d/a && echo two > t/b && ln -s d/a t/l && seed-snapshot t > t.seed && seed-snapshot -x u t.seed
            printf 'ONE\\n' > u/d/a && touch -r t/d/a u/d/a && chmod 600 u/b && rm u/l && ln -s b u/l
            seed-snapshot --compare u t.seed
            """)
        #expect(changed.status == 1)
        #expect(changed.stdout.contains("d/a: content differs"), "\(changed.stdout)")
        #expect(changed.stdout.contains("b: mode 600, not 644"), "\(changed.stdout)")
        #expect(changed.stdout.contains("l: links elsewhere"), "\(changed.stdout)")
        #expect(changed.stderr.contains("3 of 5 entries differ from the index"), "\(changed.stderr)")
    }
}
