import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

@Suite(.serialized) struct SnapshotBehaviourTests {
    @Test func listingNamesEveryEntryOnce() throws {
        let s = try Scratch()
        try s.sh("mkdir -p src/a/b && echo 1 > src/a/one && echo 2 > src/a/b/two && ln -s one src/a/sym")
        let r = try s.sh("seed-snapshot src | seed-snapshot -t")
        #expect(r.status == 0)
        #expect(r.stdout == ".\na\na/b\na/b/two\na/one\na/sym\n")
    }

    @Test func longListingShowsTypeModeOwnerSizeAndLinkTarget() throws {
        let s = try Scratch()
        try s.sh("mkdir src && printf 12345 > src/f && chmod 640 src/f && ln -s f src/l && touch -d '2020-01-02 03:04:00 UTC' src/f")
        let r = try s.sh("seed-snapshot src | seed-snapshot -t -v")
        #expect(r.status == 0)
        #expect(r.stdout.contains("-rw-r----- root/root          5 2020-01-02 03:04 f\n"))
        #expect(r.stdout.contains("lrwxrwxrwx root/root          0 "))
        #expect(r.stdout.contains(" l -> f\n"))
    }

    @Test func excludedPatternsAreLeftOut() throws {
        let s = try Scratch()
        try s.sh("mkdir -p src/keep src/cache/deep && touch src/a.tmp src/keep/b.tmp src/keep/c.txt src/cache/deep/d")
        let r = try s.sh("seed-snapshot --exclude '*.tmp' --exclude cache src | seed-snapshot -t")
        #expect(r.stdout == ".\nkeep\nkeep/c.txt\n")
        let r2 = try s.sh("seed-snapshot --exclude 'keep/*.tmp' src | seed-snapshot -t")
        #expect(r2.stdout == ".\na.tmp\ncache\ncache/deep\ncache/deep/d\nkeep\nkeep/c.txt\n")
    }

    /// A file whose list of extended attributes is empty costs no ACL or
    /// attribute look-up; one with an ACL or an attribute keeps it, small
    /// or large, and every file's digest is checked on the way back.
    @Test func aStreamWrittenIntoItsOwnTreeIsLeftOutOfItWithAWarning() throws {
        let s = try Scratch()
        try s.sh("mkdir src && echo a > src/a")
        // -o, twice: the second run also finds the first run's stream, which it replaces.
        for run in 1...2 {
            let r = try s.sh("seed-snapshot -o src/s.seed --index-file src/i.seed src")
            #expect(r.status == 2, "\(r.stderr)")
            #expect(r.stderr.contains("'s.seed.seed-partial."), "\(r.stderr)")
            #expect(r.stderr.contains("'i.seed.seed-partial."), "\(r.stderr)")
            #expect(r.stderr.contains("; not dumped\n"), "\(r.stderr)")
            #expect(r.stderr.contains("warning: 's.seed': ") == (run == 2), "\(r.stderr)")
            #expect(try s.sh("seed-snapshot -t src/s.seed").stdout == ".\na\n")
        }
        let out = try s.sh("seed-snapshot src > src/o.seed")
        #expect(out.status == 2)
        #expect(out.stderr.contains("warning: 'o.seed': is the stream this run writes"), "\(out.stderr)")
        #expect(try s.sh("seed-snapshot -t src/o.seed").stdout == ".\na\ni.seed\ns.seed\n")
        // Excluded, it is left out without a word.
        let quiet = try s.sh("rm src/?.seed && seed-snapshot -o src/s.seed --exclude 's.seed*' src")
        #expect(quiet.status == 0 && quiet.stderr == "", "\(quiet.stderr)")
    }

    @Test func filesWithoutExtendedAttributesAreNotAskedForACLs() throws {
        let s = try Scratch()
        try s.sh("mkdir -p src && for f in $(seq 1 200); do echo $f > src/$f; done")
        // The root directory's own look-ups alone, not one per file.
        let r = try s.sh(
            """
            strace -f -c -o calls -e trace=fgetxattr,getxattr,lgetxattr seed-snapshot src > s.seed; echo $?
            awk '$NF ~ /getxattr$/ { n += $4 } END { print n + 0 }' calls
            """)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "0", "\(r.stdout)\(r.stderr)")
        #expect((lines.last.flatMap { Int($0) } ?? 999) <= 4, "\(r.stdout)")
        let marked = try s.sh(
            """
            setfattr -n user.k -v small src/1 && setfattr -n user.k -v large src/2 && head -c 3000000 /dev/urandom >> src/2 \
              && setfacl -m u:nobody:r-- src/3 && echo ok
            """)
        try #require(marked.stdout == "ok\n", "\(marked.stderr)")
        let back = try s.sh("seed-snapshot src | seed-snapshot -x out && getfattr -n user.k --only-values out/1 out/2 && getfacl -p out/3 | grep nobody")
        #expect(back.stdout == "smalllargeuser:nobody:r--\n", "\(back.stdout)\(back.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// Whether this machine lets the tests mount a tmpfs (root, and no
    /// sandbox that forbids it).
    static let canMountTmpfs: Bool = {
        guard let s = try? Scratch(),
            let r = try? s.sh("mkdir m && mount -t tmpfs -o size=1M none m 2>/dev/null && umount m && echo yes")
        else { return false }
        return r.stdout == "yes\n"
    }()

    @Test(.enabled(if: canMountTmpfs, "needs to mount a tmpfs (root)"))
    func oneFileSystemKeepsTheMountPointButNotItsContents() throws {
        let s = try Scratch()
        let r0 = try s.sh("mkdir -p src/mnt && echo a > src/a && mount -t tmpfs -o size=1M none src/mnt && echo inside > src/mnt/x && echo mounted")
        #expect(r0.stdout == "mounted\n", "\(r0.stderr)")
        defer { _ = try? s.sh("umount src/mnt") }
        let r = try s.sh("seed-snapshot --one-file-system src | seed-snapshot -t")
        #expect(r.stdout == ".\na\nmnt\n")
        let all = try s.sh("seed-snapshot src | seed-snapshot -t")
        #expect(all.stdout == ".\na\nmnt\nmnt/x\n")
    }

    @Test func unreadableFileIsSkippedWithAWarningAndStatusTwo() throws {
        let s = try Scratch()
        try s.sh("mkdir src && echo ok > src/ok && echo secret > src/secret && chmod 000 src/secret && chmod 755 src && chmod o+rx \(s.dir)")
        // Root reads everything: drop to nobody where we are root.
        let asUser = getuid() == 0 ? "setpriv --reuid=nobody --regid=nogroup --clear-groups" : ""
        let r = try s.sh("\(asUser) \(toolsDir)/seed-snapshot src > out.seed; echo status=$?")
        #expect(r.stdout == "status=2\n")
        #expect(
            r.stderrLines == [
                "seed-snapshot: warning: 'secret': cannot open: Permission denied; skipped",
                "seed-snapshot: completed with 1 warning",
            ])
        let l = try s.sh("seed-snapshot -t out.seed")
        #expect(l.stdout == ".\nok\n")
    }

    @Test func fileThatKeepsChangingIsRetriedThenFlagged() throws {
        let s = try Scratch()
        try s.sh("mkdir src && head -c 64000000 /dev/zero > src/growing && echo calm > src/calm")
        let r = try s.sh(
            """
            ( while :; do echo more >> src/growing; done ) & w=$!
            sleep 0.2
            seed-snapshot -v src > out.seed; st=$?
            kill -9 $w; wait $w 2>/dev/null
            echo status=$st
            """)
        #expect(r.stdout == "status=2\n")
        #expect(r.stderr.contains("'growing': changed while read; trying again (1 of 2)"))
        #expect(r.stderr.contains("'growing': changed while read; trying again (2 of 2)"))
        #expect(r.stderr.contains("seed-snapshot: warning: 'growing': file changed as we read it; kept as read and flagged in the index"))
        let l = try s.sh("seed-snapshot -t -v out.seed | grep growing")
        #expect(l.stdout.contains("[changed]"))
        let x = try s.sh("seed-snapshot -x out out.seed")
        #expect(x.status == 2)
        #expect(x.stderrLines == ["seed-snapshot: warning: 'growing': changed while the snapshot was made; restored as it was read"])
        #expect(try s.sh("cmp out/calm src/calm").status == 0)
    }

    @Test func extractionCreatesTheTargetAndItsParents() throws {
        let s = try Scratch()
        try s.sh("mkdir src && echo a > src/a && seed-snapshot src > s.seed")
        #expect(try s.sh("seed-snapshot -x x s.seed && cat x/a").stdout == "a\n")
        #expect(try s.sh("seed-snapshot -x deep/er/target s.seed && cat deep/er/target/a").stdout == "a\n")
        #expect(try s.sh("seed-snapshot -x \(s.path("abs/t")) s.seed && cat abs/t/a").stdout == "a\n")
        let r = try s.sh("echo f > file && seed-snapshot -x file/sub s.seed")
        #expect(r.status == 73)
        #expect(r.stderr == "seed-snapshot: error: cannot create 'file/sub': Not a directory\n")
    }

    @Test func plainArchiveOfDecodeIsByteForByteTheDataPayloads() throws {
        let s = try Scratch()
        try s.sh("mkdir src && seq 1 100000 > src/n")
        let r = try s.sh("seed-snapshot src | seed-compress | seed-snapshot -d > a.tar && seed-snapshot src | seed-snapshot -d | cmp - a.tar && tar -tf a.tar")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "./\nn\n")
    }
}
