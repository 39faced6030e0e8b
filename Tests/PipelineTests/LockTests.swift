import Foundation
import Testing

/// One run at a time on a journal directory or a drive: a second is refused
/// naming the first, and a run killed with -9 leaves no lock behind.
@Suite struct LockTests {
    /// A stream of a small tree, split for 8 MiB drives, in `v.seed`.
    func stream(_ s: Scratch) throws {
        try s.sh("mkdir src && head -c 300000 /dev/urandom > src/f && seed-snapshot src | seed-split --volume-size 8M > v.seed")
    }

    /// Runs `holder` in the background reading a FIFO that is kept open, so
    /// it holds its lock and waits; runs `second`, kills the holder with
    /// -9, then runs `third`. Prints the holder's pid, then the two exit
    /// statuses, one per line; stderr is the second's, then the third's.
    /// A holder that ended before the second run started (a loop device
    /// another test had just let go of can still be busy for a moment) is
    /// no contention: the round is run again, up to three times.
    func contend(_ s: Scratch, holder: String, second: String, third: String) throws -> (pid: String, second: String, third: String, stderr: String) {
        var died = ""
        for _ in 1...3 {
            let r = try s.sh(
                """
                rm -f in && mkfifo in
                \(holder) < in > /dev/null 2> holder.err &
                pid=$!
                exec 7> in
                head -c 2000 v.seed >&7
                for i in $(seq 50); do grep -q "^[0-9]*: FLOCK .* $pid " /proc/locks && break; ls -l /proc/$pid/fd 2>/dev/null | grep -q loop && break; sleep 0.1; done
                if ! kill -0 $pid 2> /dev/null; then echo died; cat holder.err; exit 0; fi
                echo $pid
                \(second) > /dev/null; echo $?
                kill -9 $pid; wait $pid 2>/dev/null
                exec 7>&-
                \(third) > /dev/null; echo $?
                """)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            if lines.first == "died" {
                died += r.stdout
                continue
            }
            try #require(lines.count == 3, "\(r.stdout)\(r.stderr)")
            return (lines[0], lines[1], lines[2], r.stderr)
        }
        Issue.record("the holder ended before the second run, three times: \(died)")
        return ("", "", "", "")
    }

    @Test func aSecondRunOnAJournalDirectoryIsRefusedNamingTheFirstAndAKilledOneLeavesNoLock() throws {
        let s = try Scratch()
        try stream(s)
        let r = try contend(
            s, holder: "seed-journal --journal-dir J", second: "seed-journal --journal-dir J < v.seed", third: "seed-journal --journal-dir J < v.seed")
        #expect(r.second == "74")
        #expect(r.stderr.contains("seed-journal: error: journal directory 'J' is in use by pid \(r.pid) (seed-journal --journal-dir J)"), "\(r.stderr)")
        #expect(r.third == "0", "\(r.stderr)")
    }

    @Test func checksRunSideBySideButNotBesideARunWritingTheJournals() throws {
        let s = try Scratch()
        try stream(s)
        try s.sh("seed-journal --journal-dir J < v.seed > /dev/null")
        let checks = try contend(s, holder: "seed-journal --check J", second: "seed-journal --check J < v.seed", third: "true")
        #expect(checks.second == "0", "\(checks.stderr)")
        let beside = try contend(s, holder: "seed-journal --journal-dir J", second: "seed-journal --check J < v.seed", third: "seed-journal --check J < v.seed")
        #expect(beside.second == "74")
        #expect(beside.stderr.contains("is in use by pid \(beside.pid)"), "\(beside.stderr)")
    }

    @Test func aSecondWriterToADriveFileIsRefusedNamingTheFirstAndAKilledOneLeavesNoLock() throws {
        let s = try Scratch()
        try stream(s)
        try s.sh("truncate -s 16M d1")
        let r = try contend(s, holder: "seed-writeblk d1", second: "seed-writeblk d1 < v.seed", third: "seed-writeblk d1 < v.seed")
        #expect(r.second == "74")
        #expect(r.stderr.contains("seed-writeblk: error: drive 'd1' is in use by pid \(r.pid) (seed-writeblk d1)"), "\(r.stderr)")
        #expect(r.third == "0", "\(r.stderr)")
        #expect(try s.sh("seed-writeblk -d d1 | cmp - v.seed").status == 0)
    }

    @Test(.enabled(if: LoopDevices.available, "needs root and losetup: loop devices are skipped here"))
    func aSecondWriterToABlockDeviceIsRefusedNamingTheFirst() throws {
        let s = try Scratch()
        let loops = LoopDevices(s)
        try stream(s)
        let dev = try loops.attach("drive.img", size: "16M")
        let r = try contend(
            s, holder: "seed-writeblk \(dev)", second: "seed-writeblk \(dev) < v.seed", third: "seed-writeblk --format --yes \(dev) < v.seed")
        #expect(r.second == "74")
        #expect(r.stderr.contains("seed-writeblk: error: '\(dev)' is in use by pid \(r.pid) (seed-writeblk \(dev))"), "\(r.stderr)")
        #expect(r.third == "0", "\(r.stderr)")
    }
}
