import Foundation
import Testing

/// seed-snapshot --incremental BASE and applying increments (seed-snapshot(1),
/// INCREMENTS): after the seed, only what changed travels, and a restore
/// follows the tree increment by increment.
@Suite struct IncrementalTests {
    /// The session a stream (or index stream) names in its stream header.
    func session(_ s: Scratch, _ file: String) throws -> String {
        try s.sh("head -c 2000 \(file) | grep -ao '\"session\":\"[^\"]*\"' | head -1 | cut -d'\"' -f4").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A base seed of the awkward tree, restored to `out`.
    func seeded(_ s: Scratch) throws {
        _ = try s.awkwardTree()
        let r = try s.sh(
            """
            mkdir -p src/work/old src/move && for i in 1 2 3; do head -c 300000 /dev/urandom > src/move/m$i; done
            echo v1 > src/work/doc.txt && echo gone > src/work/old/a && echo gone > src/work/old/b && echo x > src/work/flip
            seed-snapshot --index-file s0.idx src | seed-compress > base.seed && seed-snapshot -x out < base.seed
            """)
        try #require(r.status == 0, "\(r.stderr)")
    }

    /// One increment against `base`, encrypted and compressed on the way, applied over `out`.
    func increment(_ s: Scratch, _ n: Int, base: String, onto: String? = nil) throws -> ShellResult {
        let made = try s.sh(
            "seed-snapshot --incremental \(base) --index-file s\(n).idx src | seed-compress | seed-encrypt --key-file kf > inc\(n).seed")
        try #require(made.status == 0, "\(made.stderr)")
        return try s.sh("seed-encrypt -d --key-file kf < inc\(n).seed | seed-compress -d | seed-snapshot -x out --session \(onto ?? session(s, base))")
    }

    @Test func threeIncrementsAppliedInOrderReproduceTheTreeExactly() throws {
        let s = try Scratch()
        try seeded(s)
        try s.sh("head -c 32 /dev/urandom > kf")
        // 1: a new file and directory, a changed file, a deletion, renames, a mode change.
        try s.sh(
            """
            echo new > src/work/new.txt && mkdir src/fresh && echo f > src/fresh/f && echo v2 >> src/work/doc.txt
            rm -r src/work/old && mv src/move/m1 src/work/m1-moved && mv src/move src/moved && chmod 600 src/work/flip
            """)
        let one = try increment(s, 1, base: "s0.idx")
        #expect(one.status == 0, "\(one.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
        // Only what changed traveled: the moved files' 900 kB did not.
        #expect(try Int(s.sh("stat -c %s inc1.seed").stdout.trimmingCharacters(in: .newlines))! < 200_000)
        // 2: xattrs changed and removed, a file becomes a directory and a directory a file, a symlink retargeted.
        try s.sh(
            """
            setfattr -n user.note -v changed src/work/doc.txt && rm src/work/flip && mkdir src/work/flip && echo in > src/work/flip/in
            rm -r src/fresh && echo now-a-file > src/fresh && ln -s work/doc.txt src/link && ln src/work/new.txt src/work/hard
            """)
        let two = try increment(s, 2, base: "s1.idx")
        #expect(two.status == 0, "\(two.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
        // 3: deletions only, and a rename into a new directory.
        try s.sh("rm src/link src/fresh && mkdir src/later && mv src/moved/m2 src/later/m2 && rm -r src/work/flip")
        let three = try increment(s, 3, base: "s2.idx")
        #expect(three.status == 0, "\(three.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
        let compare = try s.sh("seed-snapshot --compare out s3.idx")
        #expect(compare.status == 0, "\(compare.stdout) \(compare.stderr)")
    }

    @Test func directoriesKeepTheirTimesWhenAnIncrementRewritesFilesInThem() throws {
        let s = try Scratch()
        try seeded(s)
        try s.sh("head -c 32 /dev/urandom > kf")
        // Content rewritten in place: no directory changes, so none is in
        // the increment, and none may change in the restore either.
        try s.sh("sleep 0.05; echo v2 >> src/work/doc.txt && head -c 1000 /dev/urandom >> src/move/m2")
        let one = try increment(s, 1, base: "s0.idx")
        #expect(one.status == 0, "\(one.stderr)")
        let compare = try s.sh("seed-snapshot --compare out s1.idx")
        #expect(compare.status == 0, "\(compare.stdout) \(compare.stderr)")
        #expect(try (s.sh("stat -c %y out out/work out/move").stdout == s.sh("stat -c %y src src/work src/move").stdout))
    }

    @Test func anIncrementOutOfOrderOrOntoAnotherBaseIsRefusedBeforeAnythingIsWritten() throws {
        let s = try Scratch()
        try seeded(s)
        try s.sh("head -c 32 /dev/urandom > kf && echo a > src/a1")
        try s.sh("seed-snapshot --incremental s0.idx --index-file s1.idx src > inc1.seed")
        try s.sh("echo b > src/b2")
        try s.sh("seed-snapshot --incremental s1.idx --index-file s2.idx src > inc2.seed")
        let base = try session(s, "s0.idx")
        // The second before the first: the restore holds the base, not the first increment.
        let early = try s.sh("seed-snapshot -x out --session \(base) < inc2.seed")
        #expect(early.status == 65)
        #expect(early.stderr.contains("is an increment on session"), "\(early.stderr)")
        #expect(!s.exists("out/a1") && !s.exists("out/b2"))
        let unsaid = try s.sh("seed-snapshot -x out < inc1.seed")
        #expect(unsaid.status == 64)
        #expect(unsaid.stderr.contains("give --session \(base)"), "\(unsaid.stderr)")
        let inOrder = try s.sh("seed-snapshot -x out --session \(base) < inc1.seed && seed-snapshot -x out --session \(try session(s, "s1.idx")) < inc2.seed")
        #expect(inOrder.status == 0, "\(inOrder.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test func theBaseIndexMayBeTheSeedItselfOrItsStagingFile() throws {
        let s = try Scratch()
        try seeded(s)
        let r = try s.sh("echo more >> src/work/doc.txt && seed-snapshot --incremental base.seed src > inc.seed && seed-snapshot -t inc.seed")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("work/doc.txt\n") && !r.stdout.contains("move/m1"), "\(r.stdout)")
    }

    @Test func withChecksumACopiedTreeShipsOnlyWhatChangedInContent() throws {
        let s = try Scratch()
        try seeded(s)
        // A copy renews every ctime; one file gets other bytes under the same size and mtime.
        try s.sh("cp -a src copy && printf 'v9\\n' > copy/work/doc.txt && touch -r src/work/doc.txt copy/work/doc.txt")
        let plain = try s.sh("seed-snapshot --incremental s0.idx copy | seed-snapshot -t | grep -c . ")
        let summed = try s.sh("seed-snapshot --incremental s0.idx --checksum copy | seed-snapshot -t")
        #expect(summed.status == 0, "\(summed.stderr)")
        #expect(summed.stdout == "work/doc.txt\n", "\(summed.stdout)")
        #expect(Int(plain.stdout.trimmingCharacters(in: .whitespacesAndNewlines))! > 10, "\(plain.stdout)")
    }

    @Test func aLongListingOfAnIncrementNamesItsRenamesAndDeletions() throws {
        let s = try Scratch()
        try seeded(s)
        let r = try s.sh("mv src/move/m1 src/move/renamed && rm src/work/old/a && seed-snapshot --incremental s0.idx src | seed-snapshot -tv")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("renamed move/m1 to move/renamed\n"), "\(r.stdout)")
        #expect(r.stdout.contains("deleted work/old/a\n"), "\(r.stdout)")
    }
}
