import Foundation
import Testing

/// seed-snapshot -x writes the tree itself, relative to directories it
/// holds open: what is already at an entry's name is replaced, never
/// followed; modes the umask would take are set back; a tree deeper than
/// the directories it holds open is written whole.
@Suite(.serialized) struct ExtractionTests {
    @Test func aSymlinkAlreadyAtAFilesNameIsReplacedNotWrittenThrough() throws {
        let s = try Scratch()
        try s.sh("mkdir -p src/sub outside out/sub && printf 'new\\n' > src/f && printf 'deep\\n' > src/sub/g && echo original > outside/target")
        try s.sh("ln -s ../outside/target out/f && ln -s ../../outside/target out/sub/g")
        let r = try s.sh("seed-snapshot src | seed-snapshot -x out")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try s.sh("cat outside/target").stdout == "original\n")
        #expect(try s.sh("test -f out/f && ! test -L out/f && cat out/f out/sub/g").stdout == "new\ndeep\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test func aSymlinkAlreadyAtADirectorysNameIsNotEnteredAndTheEntryIsNamed() throws {
        let s = try Scratch()
        try s.sh("mkdir -p src/sub outside out && printf 'x\\n' > src/sub/planted && ln -s ../outside out/sub")
        let r = try s.sh("seed-snapshot src | seed-snapshot -x out")
        // The directory entry replaces the link; nothing lands outside.
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try s.sh("ls outside").stdout == "")
        #expect(try s.sh("test -d out/sub && ! test -L out/sub && cat out/sub/planted").stdout == "x\n")
    }

    @Test func whatStandsInAnEntrysWayIsReplacedUnlessItIsADirectoryWithEntries() throws {
        let s = try Scratch()
        try s.sh("mkdir -p src/d src/e && printf 'f\\n' > src/f && printf 'g\\n' > src/e/g")
        // A file where a directory goes, an empty directory where a file goes.
        try s.sh("mkdir -p out/f && printf 'old\\n' > out/d")
        let r = try s.sh("seed-snapshot src | seed-snapshot -x out")
        #expect(r.status == 0, "\(r.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
        // A directory with entries in it stays, and the run says which entry could not be written.
        try s.sh("rm -rf out && mkdir -p out/f && touch out/f/keep")
        let r2 = try s.sh("seed-snapshot src | seed-snapshot -x out")
        expectOneLineError(r2, tool: "seed-snapshot", containing: "entry 'f': cannot replace what is there", "non-empty directory")
        #expect(try s.sh("ls out/f").stdout == "keep\n")
    }

    @Test func aTreeDeeperThanTheDirectoriesHeldOpenIsRestoredWithItsModesAndTimes() throws {
        let s = try Scratch()
        // 300 levels, past the 128 directories held open, a file and a
        // mode and time at several depths.
        try s.sh(
            """
            p=src; for i in $(seq 1 300); do p=$p/d; done; mkdir -p "$p"
            p=src; for i in $(seq 1 300); do p=$p/d; if (( i % 50 == 0 )); then printf "$i\\n" > "$p/f$i"; chmod 750 "$p"; fi; done
            find src -depth -type d -exec touch -d '2011-01-01 00:00:00' {} +
            """)
        let r = try s.sh("seed-snapshot src | seed-snapshot -x out")
        #expect(r.status == 0, "\(r.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test func aPathLongerThanPathMaxIsRestoredWithItsOwnerAndTimesAndNoWarning() throws {
        let s = try Scratch()
        // 24 directories of 250 bytes: a path of about 6,000 bytes.
        try s.sh(
            """
            mkdir src && cd src && for i in $(seq 1 24); do n="$(printf 'd%.0s' $(seq 1 250))$i"; mkdir "$n"; cd "$n"; done
            printf 'far\n' > leaf && touch -d '2005-05-05 05:05:05' leaf . && chmod 700 .
            """)
        let r = try s.sh("seed-snapshot src | seed-snapshot -x out")
        #expect(r.status == 0 && r.stderr == "", "\(r.stderr)")
        // Listed again from the restore (the comparison of trees stops at
        // PATH_MAX): the same modes, owners, sizes, times and names.
        let lists = try s.sh("diff <(seed-snapshot src | seed-snapshot -t -v) <(seed-snapshot out | seed-snapshot -t -v)")
        #expect(lists.status == 0 && lists.stdout == "", "\(lists.stdout)")
        let leaf = try s.sh("cd out && while cd d*/ 2>/dev/null; do :; done; cat leaf")
        #expect(leaf.stdout == "far\n")
    }

    @Test func modesTheUmaskWouldTakeAreSetAndAReadOnlyDirectoryIsFilled() throws {
        let s = try Scratch()
        try s.sh(
            """
            mkdir -p src/ro src/open && printf 'a\\n' > src/ro/inside && printf 'b\\n' > src/all && printf 'c\\n' > src/suid
            chmod 777 src/all && chmod 4755 src/suid && chmod 1777 src/open && chmod 555 src/ro && mkfifo -m 666 src/fifo
            """)
        let r = try s.sh("umask 077 && seed-snapshot src | seed-snapshot -x out && stat -c '%n %a' out/all out/ro out/open out/fifo out/suid")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "out/all 777\nout/ro 555\nout/open 1777\nout/fifo 666\nout/suid 4755\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test func aHardLinkReachedThroughASymlinkIsRefused() throws {
        let s = try Scratch()
        // The link entry names a path whose way runs through a symlink.
        let r = try extractHostile(s, "link('l', '\(s.path("outside"))', tarfile.SYMTYPE); link('h', 'l/target', tarfile.LNKTYPE)")
        expectOneLineError(r, tool: "seed-snapshot", containing: "entry 'h'", "hard link through a symlink")
        #expect(try s.sh("stat -c %h outside/target").stdout == "1\n")
        #expect(!s.exists("out/h"))
    }

    /// A file whose bytes are not those the index's digest names is named
    /// and removed, whether it is hashed where it is read (a small file)
    /// or on a hash lane (a large one); a byte of its data changed with
    /// every record's checksum made good again.
    @Test(arguments: [("small", 100), ("large", 300_000)])
    func aFileWhoseBytesAreNotTheIndexsIsNamedAndRemoved(name: String, size: Int) throws {
        let s = try Scratch()
        try s.sh("mkdir src && head -c \(size) /dev/zero | tr '\\0' 'q' > src/\(name) && echo other > src/other")
        try s.sh("seed-snapshot src > s.seed")
        var records = try StreamSurgery.records(s.path("s.seed"))
        let data = try #require(records.firstIndex { $0.header.kind == .data })
        let run = Array(repeating: UInt8(ascii: "q"), count: 64)
        let at = try #require(records[data].payload.firstRange(of: run)).lowerBound
        records[data].payload[at + 10] = UInt8(ascii: "Q")
        try StreamSurgery.write(records, to: s.path("bad.seed"))
        let r = try s.sh("seed-snapshot -x out < bad.seed")
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("'\(name)': content does not match the index"), "\(r.stderr)")
        #expect(!s.exists("out/\(name)"))
        #expect(try s.sh("seed-snapshot -x out2 < s.seed && cmp src/\(name) out2/\(name) && echo same").stdout == "same\n")
    }

    @Test func aFileIsOpenedOnceAndNoUmaskOrFcntlIsCalledPerEntry() throws {
        let s = try Scratch()
        try s.sh("mkdir -p src empty && for d in 1 2 3 4; do mkdir src/$d; for f in $(seq 1 100); do echo $f > src/$d/$f; done; done")
        try s.sh("seed-snapshot src > s.seed && seed-snapshot empty > e.seed")
        /// The calls a run makes, by name, counted by strace.
        func calls(_ stream: String, into dir: String) throws -> [String: Int] {
            let r = try s.sh("strace -f -c -o calls -e trace=openat,umask,fcntl,newfstatat seed-snapshot -x \(dir) \(stream)")
            #expect(r.status == 0, "\(r.stderr)")
            var counts: [String: Int] = [:]
            for line in try s.sh("cat calls").stdout.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count >= 5, let n = Int(f[3]) { counts[String(f.last!)] = n }
            }
            return counts
        }
        // What a run makes besides its entries (libraries, its input, a
        // temporary file), from a tree with none; then 405 entries.
        let base = try calls("e.seed", into: "out-empty")
        let full = try calls("s.seed", into: "out")
        func added(_ call: String) -> Int { full[call, default: 0] - base[call, default: 0] }
        // Each file once; each directory to enter it and to set its time.
        #expect(added("openat") <= 400 + 2 * 5, "\(base) \(full)")
        #expect(added("umask") == 0, "\(base) \(full)")
        #expect(added("fcntl") == 0, "\(base) \(full)")
        #expect(added("newfstatat") <= 8, "\(base) \(full)")
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test(.enabled(if: SnapshotBehaviourTests.canMountTmpfs, "needs to mount a tmpfs (root)"))
    func aFullDiskFailsTheRunNamingTheEntryAndLeavesNoFilePartWritten() throws {
        let s = try Scratch()
        // Small files (written on the workers) and a large one (written
        // from the stream), more than the 1 MiB the target holds.
        try s.sh("mkdir -p src && for i in $(seq 100 400); do head -c 8192 /dev/urandom > src/f$i; done && head -c 600000 /dev/urandom > src/f250big")
        try s.sh("seed-snapshot src > s.seed")
        let m = try s.sh("mkdir out && mount -t tmpfs -o size=1M none out && echo mounted")
        try #require(m.stdout == "mounted\n", "\(m.stderr)")
        defer { _ = try? s.sh("umount \(s.path("out"))") }
        let r = try s.sh("seed-snapshot -x out s.seed")
        expectOneLineError(r, tool: "seed-snapshot", containing: "No space left on device", status: 74, "full disk")
        #expect(r.stderr.contains("entry 'f"), "\(r.stderr)")
        // What is left is whole: no file cut short, none empty where the tree has bytes.
        let left = try s.sh("cd out && ls | wc -l && for f in *; do cmp -s \"$f\" \"../src/$f\" || echo \"part: $f\"; done")
        #expect(!left.stdout.contains("part:"), "\(left.stdout)")
        #expect((Int(left.stdout.split(separator: "\n").first ?? "") ?? 0) > 10, "\(left.stdout)")
    }
}
