import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

@Suite(.serialized) struct RoundTripTests {
    @Test func awkwardTreeRoundTripsThroughSnapshotAndCompression() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        let r = try s.sh("seed-snapshot src | seed-compress | seed-compress -d | seed-snapshot -x out")
        #expect(r.status == 0)
        #expect(r.stderr == "")
        expectSameTree(src, s.path("out"))
    }

    @Test func gzipRoundTripsTheSameTree() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        let r = try s.sh("seed-snapshot src | seed-compress --gzip -l 1 -T 3 | seed-compress -d -T 1 | seed-snapshot -x out")
        #expect(r.status == 0)
        #expect(r.stderr == "")
        expectSameTree(src, s.path("out"))
    }

    @Test func stagingFilesWorkAsInputAndOutput() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        let r = try s.sh(
            """
            seed-snapshot -o stage.seed src
            seed-compress -o stage.seed.zst stage.seed
            seed-compress -d stage.seed.zst -o back.seed
            cmp stage.seed back.seed
            seed-snapshot -x out back.seed
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "")
        expectSameTree(src, s.path("out"))
    }

    @Test func snapshotReadsCompressedStreamsDirectly() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        let r = try s.sh("seed-snapshot src | seed-compress | seed-snapshot -x out")
        #expect(r.status == 0)
        expectSameTree(src, s.path("out"))
    }

    @Test func fileLargerThanEightGiBKeepsItsSizeContentAndHoles() throws {
        let s = try Scratch()
        try s.sh(
            "mkdir src && truncate -s 9G src/huge.img && printf 'past eight gibibytes' | dd of=src/huge.img bs=1 seek=$((8*1024*1024*1024+12345)) conv=notrunc status=none"
        )
        let r = try s.sh(
            "seed-snapshot src | seed-compress | seed-compress -d | seed-snapshot -x out && seed-snapshot src | seed-snapshot -t -v | grep huge.img")
        #expect(r.status == 0)
        #expect(r.stdout.contains(" 9663676416 "))
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test func pathsLongerThanPathMaxAreSnapshottedAndListed() throws {
        let s = try Scratch()
        try s.sh("mkdir -p src && cd src && for i in $(seq 1 20); do n=$(printf 'd%.0s' $(seq 1 250))$i; mkdir $n; cd $n; done && echo deep > leaf.txt")
        let r = try s.sh(
            "seed-snapshot src | seed-snapshot -t | grep -c leaf.txt; seed-snapshot src | seed-snapshot -t | awk '{ if (length($0) > m) m = length($0) } END { print m }'"
        )
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "1")
        #expect((Int(lines.last ?? "") ?? 0) > 4096)
    }

    @Test func sameTreeGivesTheSameEntryOrderEveryTime() throws {
        let s = try Scratch()
        _ = try s.awkwardTree()
        let r = try s.sh(
            "seed-snapshot src | seed-snapshot -t > a; seed-snapshot src | seed-snapshot -t > b; cmp a b && LC_ALL=C sort -c <(grep -av '^\\.$' a | head -3)")
        #expect(r.status == 0, "\(r.stderr)")
    }
}

@Suite(.serialized) struct InteroperabilityTests {
    @Test func gnuTarExtractsTheDecodedArchive() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        let r = try s.sh("mkdir out && seed-snapshot src | seed-snapshot -d | tar -x --acls --xattrs --xattrs-include='*' -C out -f -")
        #expect(r.status == 0, "\(r.stderr)")
        var o = CompareOptions()
        o.preEpochFractionTolerance = true
        expectSameTree(src, s.path("out"), o)
    }

    static let hasBsdtar = (try? runProcess("command -v bsdtar", cwd: "/"))?.status == 0

    @Test(.enabled(if: hasBsdtar, "needs bsdtar (libarchive-tools, which scripts/bootstrap installs)"))
    func bsdtarExtractsTheDecodedArchive() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        let r = try s.sh("mkdir out && seed-snapshot src | seed-snapshot -d | bsdtar -x -p --acls --xattrs -C out -f -")
        #expect(r.status == 0, "\(r.stderr)")
        var o = CompareOptions()
        o.rootTime = false
        expectSameTree(src, s.path("out"), o)
    }

    @Test func zstdPayloadsDecompressWithStockZstd() throws {
        try payloadsDecompressWithStockTool(codecFlag: "", tool: "zstd -dq")
    }

    @Test func gzipPayloadsDecompressWithStockGzip() throws {
        try payloadsDecompressWithStockTool(codecFlag: "--gzip", tool: "gzip -dc")
    }

    func payloadsDecompressWithStockTool(codecFlag: String, tool: String) throws {
        let s = try Scratch()
        _ = try s.awkwardTree()
        try s.sh("seed-snapshot src > plain.seed && seed-compress \(codecFlag) < plain.seed > packed.seed")
        let plain = try StreamSurgery.records(s.path("plain.seed"))
        let packed = try StreamSurgery.records(s.path("packed.seed"))
        #expect(plain.count == packed.count)
        var frames: [UInt8] = []
        var expected: [UInt8] = []
        var compressed = 0
        for (a, b) in zip(plain, packed) where b.header.flags.codecBits != 0 {
            frames += b.payload
            expected += a.payload
            compressed += 1
        }
        #expect(compressed >= 2)  // data and index records
        try s.write("frames", frames)
        try s.write("expected", expected)
        let r = try s.sh("\(tool) < frames | cmp - expected")
        #expect(r.status == 0, "\(r.stderr)")
    }
}
