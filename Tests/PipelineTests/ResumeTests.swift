import Foundation
import SeedFormat
import Testing

let scriptsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("scripts").path

/// seed(7), RESUMING and STOPPING: an interrupted run goes on from its
/// journal with --resume on the first stage only, and restores as an
/// uninterrupted one does.
@Suite(.serialized) struct ResumeTests {
    /// A tree of `mb` MiB of random files, its snapshot staged in snap.seed.
    func staged(_ s: Scratch, mb: Int = 40) throws {
        let r = try s.sh(
            """
            mkdir -p src/a src/b && head -c 32 /dev/urandom > kf
            for i in $(seq 1 \(mb)); do head -c $((1024 * 1024 - i * 1000)) /dev/urandom > src/$([ $((i % 2)) = 0 ] && echo a || echo b)/f$i; done
            seq 1 20000 > src/a/text
            seed-snapshot --record-size 256K src -o snap.seed
            """)
        try #require(r.status == 0, "\(r.stderr)")
    }

    /// The shipping pipeline from snap.seed onto drive files d1..d6, `first`
    /// being the first stage's extra options; `tee` files keep what
    /// seed-encrypt wrote. Each stage's pid goes to STAGE.pid; prints every
    /// stage's status.
    func ship(_ first: String = "", volume: String = "16M", tee: String? = nil) -> String {
        let keep = tee.map { " | tee \($0)" } ?? ""
        return """
            { echo $BASHPID > compress.pid; exec seed-compress --resume J \(first) < snap.seed; } \
              | { echo $BASHPID > split.pid; exec seed-split --volume-size \(volume); } | seed-encrypt --key-file kf\(keep) \
              | seed-journal --journal-dir J | { echo $BASHPID > writeblk.pid; exec seed-writeblk d1 d2 d3 d4 d5 d6; }; echo ${PIPESTATUS[*]}
            """
    }

    /// Runs `ship(first)` in the background until d1 holds `bytes`, stops
    /// it there with SIGTERM to its first stage, and prints the statuses.
    func stopAt(_ bytes: Int, _ first: String = "-l 19", tee: String? = nil) -> String {
        """
        ( \(ship(first, volume: "64M", tee: tee)) ) > statuses 2> err &
        for i in $(seq 400); do [ "$(stat -c %s d1 2>/dev/null || echo 0)" -ge \(bytes) ] && break; sleep 0.05; done
        kill -TERM $(cat compress.pid); wait; cat statuses
        """
    }

    /// Reads the drives back through every decoder into `out`; prints every stage's status.
    let restore = """
        rm -rf out && mkdir out && seed-writeblk -d d? | seed-journal --check J | seed-encrypt -d --key-file kf \
          | seed-split -d | seed-compress -d | seed-snapshot -x out; echo ${PIPESTATUS[*]}
        """

    /// Runs `script` in the background as `launch` starts it (`bash script`
    /// with the signal dispositions it sets up), in a process group of its
    /// own; once `settle` is done, SIGINT goes to the whole group, as a
    /// terminal sends it. The script's shell traps SIGINT, so it goes on to
    /// print the statuses whichever stage the signal ends first; its
    /// children take SIGINT as they were started. Prints the statuses, and
    /// the script's stderr on stderr.
    func ctrlC(_ s: Scratch, _ script: String, launch: String, settle: String = "sleep 2") throws -> ShellResult {
        try s.sh(
            """
            set -m
            cat > script <<'SH'
            trap : INT
            \(script)
            SH
            \(launch) > statuses 2> err &
            \(settle); kill -INT -- -$!; wait
            cat statuses; cat err >&2
            """)
    }

    @Test func theTortureKillsEveryStageAndEveryRoundRestoresIdentically() throws {
        let s = try Scratch()
        let faults = LoopDevices.available ? " --faults" : ""
        let r = try s.sh("\(scriptsDir)/torture --rounds 12 --size 80 --bin '\(toolsDir)' --work '\(s.dir)/t'\(faults) --seed 7")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let line = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.contains("12 rounds") && line.contains("every round restored identically"), "\(line)")
        // One kill a round, and every one of the six stages killed twice.
        #expect(line.contains("12 kills"), "\(line)")
        for stage in ["snapshot", "compress", "split", "encrypt", "journal", "writeblk"] {
            #expect(line.contains(" \(stage)=2 "), "\(stage): \(line)")
        }
        if !faults.isEmpty { #expect(line.contains("4 fault runs"), "\(line)") }
    }

    @Test func theTortureOfA3Plus1SetResumesEveryStageWithItsParityWhole() throws {
        let s = try Scratch()
        // 240 MB: each kill lands past the 64 MiB a resume goes back, so runs go on mid-set.
        let r = try s.sh("\(scriptsDir)/torture --rounds 6 --size 240 --set 3+1 --bin '\(toolsDir)' --work '\(s.dir)/t' --seed 5")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let line = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.contains("6 rounds of 3+1 sets") && line.contains("6 kills") && line.contains("every round restored identically"), "\(line)")
    }

    @Test func aRunStoppedByItsDeadlineEndsEveryStageWith75AndTheResumedRunRestoresIdentically() throws {
        let s = try Scratch()
        try staged(s, mb: 8)
        // 100 MB of text at zstd level 19 keeps the first stage busy past the deadline.
        try s.sh("seq 1 12000000 > src/b/slow && seed-snapshot --record-size 256K src -o snap.seed")
        let stopped = try s.sh(ship("-l 19 --max-duration 2s", volume: "64M"))
        #expect(stopped.stdout == "75 75 75 75 75\n", "\(stopped.stderr)")
        #expect(stopped.stderr.contains("seed-compress: stopped on the deadline"), "\(stopped.stderr)")
        #expect(stopped.stderr.contains("seed-writeblk: volume 1: stopped after byte"), "\(stopped.stderr)")
        let label = try s.sh("head -c 4096 d1 | grep -a '^state:'")
        #expect(label.stdout == "state: writing\n")
        let resumed = try s.sh(ship(volume: "64M"))
        #expect(resumed.stdout == "0 0 0 0 0\n", "\(resumed.stderr)")
        let back = try s.sh(restore)
        #expect(back.stdout == "0 0 0 0 0 0\n", "\(back.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
        // Read at random, the resumed run's key segment opens as the first one does.
        let drives = try s.sh("ls d? | sed 's/^/--from /' | tr '\\n' ' '").stdout
        let random = try s.sh("seed-snapshot -x out2 \(drives) --journal-dir J --key-file kf")
        #expect(random.status == 0, "\(random.stderr)")
        expectSameTree(s.path("src"), s.path("out2"))
    }

    @Test func ctrlCOnThePipelineStopsEveryStageResumably() throws {
        let s = try Scratch()
        try staged(s, mb: 8)
        try s.sh("seq 1 12000000 > src/b/slow && seed-snapshot --record-size 256K src -o snap.seed")
        // SIGINT to the whole process group, as a terminal sends it, to a
        // pipeline started with SIGINT at its default (the test runner
        // leaves it ignored).
        let r = try ctrlC(s, ship("-l 19", volume: "64M"), launch: "env --default-signal=INT bash script")
        #expect(r.stdout == "75 75 75 75 75\n", "\(r.stdout) \(r.stderr)")
        #expect(try s.sh(ship(volume: "64M")).stdout == "0 0 0 0 0\n")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// A script's background jobs start with SIGINT ignored, and the tools
    /// keep it so: Ctrl-C on the terminal stops only the foreground.
    @Test func aPipelineStartedWithSIGINTIgnoredRunsOnThroughIt() throws {
        let s = try Scratch()
        try staged(s, mb: 8)
        try s.sh("seq 1 12000000 > src/b/slow && seed-snapshot --record-size 256K src -o snap.seed")
        let r = try ctrlC(s, ship("-l 19", volume: "64M"), launch: "( trap '' INT; exec bash script )")
        #expect(r.stdout == "0 0 0 0 0\n", "\(r.stdout) \(r.stderr)")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// Ctrl-C on the receiving pipeline is a stop, never damage: no stage
    /// reports the records it did not get as missing, and the check writes
    /// no report a repair could be made from.
    @Test func ctrlCOnTheReceivingPipelineIsAStopNotDamage() throws {
        let s = try Scratch()
        try staged(s)
        try #require(try s.sh(ship()).stdout == "0 0 0 0 0\n")
        // The restore is held after its first records (dd passes exactly
        // 256 KiB on), so SIGINT finds every stage in the middle. It runs
        // with SIGINT at its default, as from a terminal, whatever the test
        // runner left ignored.
        let receive = """
            mkdir out && seed-writeblk -d d? | seed-journal --check J --report report.json \
              | { dd bs=64K count=4 iflag=fullblock 2>/dev/null; sleep 60; cat; } \
              | seed-encrypt -d --key-file kf | seed-split -d | seed-compress -d | seed-snapshot -x out; echo ${PIPESTATUS[*]}
            """
        // Once the first entry is in out, every stage is reading.
        let settle = "for i in $(seq 400); do [ -n \"$(ls -A out 2>/dev/null)\" ] && break; sleep 0.05; done; sleep 0.5"
        let r = try ctrlC(s, receive, launch: "env --default-signal=INT bash script", settle: settle)
        #expect(r.stdout == "130 130 130 130 130 130 130\n", "\(r.stdout) \(r.stderr)")
        #expect(!s.exists("report.json"), "\(r.stderr)")
        #expect(!r.stderr.contains("error"), "\(r.stderr)")
        for tool in ["seed-journal", "seed-encrypt", "seed-split", "seed-compress"] {
            #expect(r.stderr.contains("\(tool): interrupted by SIGINT before the stream's end (status 130)"), "\(r.stderr)")
        }
        // And the same restore, left alone, is whole.
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// seed-journal writes a volume's end before seed-writeblk has labelled
    /// it complete: a writer killed in between leaves whole journals and a
    /// drive still "writing". The same pipeline run again says so (never
    /// "complete"), and with --resume-back the drive is finished.
    @Test func wholeJournalsWithADriveNeverFinishedAreNotCalledComplete() throws {
        let s = try Scratch()
        try staged(s)
        try #require(try s.sh(ship()).stdout == "0 0 0 0 0\n")
        try s.sh(
            """
            python3 - <<'PY'
            import zlib
            b = bytearray(open("d3", "rb").read())
            text = bytes(b[:4096]).split(b"\\0")[0].decode()
            assert "last-volume: yes" in text
            body = text[:text.index("\\ncrc32: ")].replace("state: complete", "state: writing") + "\\n"
            label = (body + "crc32: %08x\\n" % zlib.crc32(body.encode())).encode()
            b[:4096] = label + b"\\0" * (4096 - len(label))
            open("d3", "wb").write(b)
            PY
            """)
        let again = try s.sh(ship())
        #expect(again.stdout == "0 0 0 0 74\n", "\(again.stdout) \(again.stderr)")
        #expect(again.stderr.contains("seed-writeblk: error: 'd3' holds volume 3 of session "), "\(again.stderr)")
        #expect(again.stderr.contains("whose writing never finished"), "\(again.stderr)")
        #expect(try s.sh(ship("--resume-back 1G")).stdout == "0 0 0 0 0\n")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test func aKilledDriveWriterStopsTheOthersWithOneLineEachAndTheRunResumes() throws {
        let s = try Scratch()
        try staged(s)
        let r = try s.sh(
            """
            ( \(ship("-l 19")) ) > statuses 2> err &
            for i in $(seq 400); do [ -s d2 ] && break; sleep 0.05; done
            kill -9 $(cat writeblk.pid); wait; cat statuses err
            """)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "141 141 141 141 137", "\(r.stdout)")
        for tool in ["seed-compress", "seed-split", "seed-encrypt", "seed-journal"] {
            #expect(
                lines.filter { $0.hasPrefix(tool + ": error:") } == [
                    "\(tool): error: cannot write to standard output: the next stage stopped reading (broken pipe)"
                ], "\(r.stdout)")
        }
        #expect(try s.sh(ship()).stdout == "0 0 0 0 0\n")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// Stopped, then resumed going back 8 MiB: the bytes written again are
    /// those from the resume record to where the drive ended, at most 8 MiB.
    @Test func theResumedRunRewritesAtMostTheIntervalItGoesBack() throws {
        let s = try Scratch()
        try staged(s)
        let stopped = try s.sh(stopAt(20_000_000) + "\nhead -c 4096 d1 | grep -a '^stream-bytes:' | cut -d' ' -f2")
        let lines = stopped.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 2 && lines[0] == "75 75 75 75 75", "\(stopped.stdout)")
        let before = try #require(UInt64(lines[1]))
        try #require(before > 16 << 20, "the run stopped too early to go back 8 MiB: \(before)")
        let resumed = try s.sh(ship("--resume-back 8M", volume: "64M"))
        #expect(resumed.stdout == "0 0 0 0 0\n", "\(resumed.stderr)")
        let line = try s.sh("grep -h '\"kind\":\"resume\"' J/*.jrn").stdout
        let offset = try #require(line.split(separator: ",").first { $0.hasPrefix("\"offset\":") }.flatMap { UInt64($0.dropFirst(9)) }, "\(line)")
        #expect(offset < before && before - offset <= 8 << 20, "resumed at \(offset), the drive held \(before)")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// A graceful stop (status 75, every stage synced) goes on from the last
    /// record its journals name: that record alone is sent again.
    @Test func aRunStoppedGracefullyGoesOnWhereItStopped() throws {
        let s = try Scratch()
        try staged(s)
        let stopped = try s.sh(stopAt(20_000_000) + "\nls J/*.stopped | wc -l; tail -1 J/*.v001.jrn | jq -r '.offset + .length'")
        let lines = stopped.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 3 && lines[0] == "75 75 75 75 75" && lines[1] == "1", "\(stopped.stdout)\(stopped.stderr)")
        let journaled = try #require(UInt64(lines[2]))
        let resumed = try s.sh(ship(volume: "64M") + "\nls J/*.stopped 2> /dev/null | wc -l")
        #expect(resumed.stdout == "0 0 0 0 0\n0\n", "\(resumed.stderr)")
        let line = try s.sh("grep -h '\"kind\":\"resume\"' J/*.jrn").stdout
        let offset = try #require(line.split(separator: ",").first { $0.hasPrefix("\"offset\":") }.flatMap { UInt64($0.dropFirst(9)) }, "\(line)")
        // One record of 256 KiB (compressed at most a little larger, sealed) back, not 64 MiB.
        #expect(offset < journaled && journaled - offset <= 300_000, "resumed at \(offset), the journal ended at \(journaled)")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// A run killed leaves no stop mark: the next goes a checkpoint interval back.
    @Test func aRunKilledGoesOnACheckpointIntervalBack() throws {
        let s = try Scratch()
        try staged(s)
        let killed = try s.sh(
            """
            ( \(ship("-l 19", volume: "64M")) ) > statuses 2> err &
            for i in $(seq 400); do [ "$(stat -c %s d1 2>/dev/null || echo 0)" -ge 20000000 ] && break; sleep 0.05; done
            kill -KILL $(cat compress.pid) $(cat split.pid) $(cat writeblk.pid); wait
            ls J/*.stopped 2> /dev/null | wc -l
            """)
        #expect(killed.stdout == "0\n", "\(killed.stdout)")
        #expect(try s.sh(ship(volume: "64M")).stdout.hasSuffix(" 0\n"))
        // 64 MiB back from about 20 MiB is the start: the run began again.
        #expect(try s.sh("grep -h -c '\"kind\":\"resume\"' J/*.jrn").stdout == "0\n")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// Every key segment has a key of its own: no data key seals records
    /// in both the interrupted and the resumed run, and on the drive each
    /// (key, nonce) seals one record.
    @Test func noKeyAndNonceSealTwoPlaintexts() throws {
        let s = try Scratch()
        try staged(s)
        let first = try s.sh(stopAt(20_000_000, tee: "run1.seed"))
        // tee, after seed-encrypt, ends with 0 at the stop record.
        try #require(first.stdout == "75 75 75 0 75 75\n", "\(first.stdout)")
        #expect(try s.sh(ship("--resume-back 4M", volume: "64M", tee: "run2.seed")).stdout == "0 0 0 0 0 0\n")
        func sealed(_ path: String) throws -> [(key: String, volume: UInt32, nonce: UInt64)] {
            var key = ""
            var out: [(String, UInt32, UInt64)] = []
            for r in try StreamSurgery.records(path) {
                if r.header.kind == .key { key = try r.payload.withUnsafeBytes { try KeyRecord.decode($0, record: path) }.keyId }
                if r.header.flags.isEncrypted { out.append((key, r.header.volume, r.header.sequence)) }
            }
            return out
        }
        let one = try sealed(s.path("run1.seed")), two = try sealed(s.path("run2.seed"))
        #expect(Set(one.map(\.key)).isDisjoint(with: Set(two.map(\.key))))
        try s.sh("seed-writeblk -d d? > drive.seed")
        let onDrive = try sealed(s.path("drive.seed"))
        #expect(Set(onDrive.map(\.key)).count == 2, "one key before the resume record, one after")
        #expect(Set(onDrive.map { "\($0.key) \($0.volume) \($0.nonce)" }).count == onDrive.count)
    }

    /// A resume record altered (it says it goes elsewhere) or taken out
    /// is refused: by the journal, and without it by the key segment's
    /// binding and the order of the records.
    @Test func aForgedResumeRecordOrKeySegmentIsRefused() throws {
        let s = try Scratch()
        try staged(s)
        try s.sh(
            """
            \(stopAt(20_000_000))
            \(ship("--resume-back 4M", volume: "64M")) > /dev/null 2>&1
            seed-writeblk -d d1 > drive.seed
            """)
        let records = try StreamSurgery.records(s.path("drive.seed"))
        let at = try #require(records.firstIndex { $0.header.kind == .resume })
        try #require(records[at + 1].header.kind == .key)
        // The resume record saying it lies one data record further on.
        var point = try records[at].payload.withUnsafeBytes { try ResumePoint.decode($0, record: "") }
        point.dataRecord += 1
        var moved = records
        moved[at].payload = point.encoded()
        try StreamSurgery.write(moved, to: s.path("moved.seed"), renumber: false)
        let decrypt = "seed-encrypt -d --key-file kf | seed-split -d | seed-compress -d | seed-snapshot -t > /dev/null; echo ${PIPESTATUS[*]}"
        let checked = try s.sh("seed-journal --check J < moved.seed > /dev/null; echo $?")
        #expect(checked.stdout == "65\n", "\(checked.stderr)")
        let opened = try s.sh("seed-encrypt -d --key-file kf < moved.seed > /dev/null; echo $?")
        #expect(opened.stdout == "65\n")
        #expect(opened.stderr.contains("fails authentication"), "\(opened.stderr)")
        // The resume record taken out: the key segment after it is out of place.
        var cut = records
        cut.remove(at: at)
        try StreamSurgery.write(cut, to: s.path("cut.seed"), renumber: true)
        let r = try s.sh("seed-encrypt -d --key-file kf < cut.seed > /dev/null; echo $?")
        #expect(r.stdout == "65\n")
        #expect(r.stderr.contains("key record out of place"), "\(r.stderr)")
        // The untouched drive reads back whole.
        #expect(try s.sh("seed-journal --check J < drive.seed | " + decrypt).stdout == "0 0 0 0 0\n")
    }

    /// A staging file of the volumes seed-split wrote, resumed by the
    /// stage after it: the volume ends and begins after the resume record
    /// are counted again, and the drives read back whole.
    @Test func aStagingFileWrittenAfterSplitResumesThroughTheStageAfterIt() throws {
        let s = try Scratch()
        try staged(s, mb: 100)
        let ship = """
            seed-encrypt --key-file kf --resume J --resume-back 40M < vols.seed | seed-journal --journal-dir J \
              | { [ -e cut ] && exec head -c 60000000 || exec cat; } | seed-writeblk d1 d2 d3 d4 d5 d6 d7 d8; echo ${PIPESTATUS[*]}
            """
        try s.sh("seed-split --volume-size 16M < snap.seed > vols.seed && touch cut")
        // The drive writer's input cut short: it fails, and the others with it.
        let cut = try s.sh(ship)
        #expect(cut.stdout == "141 141 0 65\n", "\(cut.stdout) \(cut.stderr)")
        try s.sh("rm cut")
        let r = try s.sh(ship)
        #expect(r.stdout == "0 0 0 0\n", "\(r.stderr)")
        #expect(r.stderr.contains("seed-encrypt: resuming session"), "\(r.stderr)")
        let back = try s.sh(
            """
            rm -rf out && mkdir out && seed-writeblk -d d? | seed-journal --check J | seed-encrypt -d --key-file kf \
              | seed-split -d | seed-snapshot -x out; echo ${PIPESTATUS[*]}
            """)
        #expect(back.stdout == "0 0 0 0 0\n", "\(back.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test func resumingAStreamNothingWasJournaledOfYetStartsFromTheBeginning() throws {
        let s = try Scratch()
        try staged(s, mb: 4)
        let r = try s.sh(ship())
        #expect(r.stdout == "0 0 0 0 0\n")
        #expect(r.stderr.contains("seed-compress: nothing of session"), "\(r.stderr)")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// A finished seed run again with --resume (a cron job's habit) sends
    /// nothing: every stage exits 0 and the drives keep their bytes.
    @Test func aFinishedSeedRunAgainIsCompleteAndLeavesItsDrivesAlone() throws {
        let s = try Scratch()
        try staged(s, mb: 4)
        #expect(try s.sh(ship()).stdout == "0 0 0 0 0\n")
        let before = try s.sh("sha256sum d? J/*").stdout
        let again = try s.sh(ship())
        #expect(again.stdout == "0 0 0 0 0\n", "\(again.stderr)")
        #expect(again.stderr.contains("is complete"), "\(again.stderr)")
        #expect(!again.stderr.contains("starting it again"), "\(again.stderr)")
        #expect(try s.sh("sha256sum d? J/*").stdout == before)
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// A finished seed given drives that hold another seed is refused:
    /// the run was meant for them, and nothing went onto them.
    @Test func aFinishedSeedGivenOtherSeedsDrivesIsRefused() throws {
        let s = try Scratch()
        try staged(s, mb: 4)
        #expect(try s.sh(ship()).stdout == "0 0 0 0 0\n")
        try s.sh("seed-snapshot src/a | seed-split --volume-size 16M | seed-writeblk e1 e2")
        let before = try s.sh("sha256sum e1").stdout
        let r = try s.sh(
            """
            seed-compress --resume J < snap.seed | seed-split --volume-size 16M | seed-encrypt --key-file kf | seed-journal --journal-dir J \
              | seed-writeblk e1 e2; echo ${PIPESTATUS[*]}; ls e2 2> /dev/null | wc -l
            """)
        #expect(r.stdout == "0 0 0 0 64\n0\n", "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("is complete, but none of the drives given holds its last volume"), "\(r.stderr)")
        #expect(try s.sh("sha256sum e1").stdout == before)
    }

    /// A writer killed after the journal saw the end but before it reached
    /// the last volume's drive leaves whole journals and that drive blank:
    /// the next run says so, never "complete", and with --resume-back it
    /// goes on from the volume before and writes it.
    @Test func wholeJournalsWithTheLastDriveNeverReachedAreNotCalledComplete() throws {
        let s = try Scratch()
        try staged(s)
        try #require(try s.sh(ship()).stdout == "0 0 0 0 0\n")
        try #require(try s.sh("seed-writeblk --session-of d3").stdout.contains("the last"))
        try s.sh("rm d3")
        let again = try s.sh(ship())
        #expect(again.stdout == "0 0 0 0 74\n", "\(again.stdout) \(again.stderr)")
        #expect(again.stderr.contains("no drive given holds its last volume, and 'd3' holds no seed volume"), "\(again.stderr)")
        let d1 = try s.sh("sha256sum d1").stdout
        let resumed = try s.sh(ship("--resume-back 20M"))
        #expect(resumed.stdout == "0 0 0 0 0\n", "\(resumed.stderr)")
        #expect(try s.sh("sha256sum d1").stdout == d1)
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// The same when the writer never wrote at all: every drive blank.
    @Test func wholeJournalsWithNoDriveWrittenResumeFromTheBeginning() throws {
        let s = try Scratch()
        try staged(s, mb: 4)
        try s.sh("seed-compress --resume J < snap.seed | seed-split --volume-size 16M | seed-encrypt --key-file kf | seed-journal --journal-dir J > /dev/null")
        let again = try s.sh(ship())
        #expect(again.stdout == "0 0 0 0 74\n", "\(again.stdout) \(again.stderr)")
        #expect(again.stderr.contains("'d1' holds no seed volume"), "\(again.stderr)")
        #expect(try s.sh(ship("--resume-back 2G")).stdout == "0 0 0 0 0\n")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
    }

    /// seed-snapshot --resume of a finished seed from another tree is refused.
    @Test func aFinishedSnapshotGivenAnotherTreeIsRefused() throws {
        let s = try Scratch()
        try staged(s, mb: 2)
        let run = { (tree: String) in
            """
            seed-snapshot --resume J \(tree) | seed-split --volume-size 16M | seed-encrypt --key-file kf | seed-journal --journal-dir J \
              | seed-writeblk d1 d2; echo ${PIPESTATUS[*]}
            """
        }
        #expect(try s.sh(run("src")).stdout == "0 0 0 0 0\n")
        let other = try s.sh("mkdir other && echo x > other/f\n" + run("other"))
        #expect(other.stdout.hasPrefix("64 "), "\(other.stdout)")
        #expect(other.stderr.contains("seed-snapshot: error: 'J' keeps the run of session "), "\(other.stderr)")
    }

    /// The same for seed-snapshot --resume as the first stage.
    @Test func aFinishedSnapshotRunAgainWithResumeSendsNothing() throws {
        let s = try Scratch()
        try staged(s, mb: 2)
        let run = """
            seed-snapshot --resume J src | seed-split --volume-size 16M | seed-encrypt --key-file kf | seed-journal --journal-dir J \
              | seed-writeblk d1 d2; echo ${PIPESTATUS[*]}
            """
        #expect(try s.sh(run).stdout == "0 0 0 0 0\n")
        let before = try s.sh("sha256sum d? J/*").stdout
        let again = try s.sh(run)
        #expect(again.stdout == "0 0 0 0 0\n", "\(again.stderr)")
        #expect(again.stderr.contains("seed-snapshot: session") && again.stderr.contains("is complete"), "\(again.stderr)")
        #expect(try s.sh("sha256sum d? J/*").stdout == before)
    }

    @Test func resumeNeedsTheStagingFileNotAPipe() throws {
        let s = try Scratch()
        try staged(s, mb: 1)
        let r = try s.sh("cat snap.seed | seed-compress --resume J > /dev/null")
        #expect(r.status == 64)
        #expect(r.stderrLines.first?.hasPrefix("seed-compress: error: --resume needs the input as a file") == true, "\(r.stderr)")
    }

    @Test func aDriveThatLostWritesTheJournalNamesIsRefused() throws {
        let s = try Scratch()
        try staged(s)
        try s.sh(stopAt(20_000_000) + "\ntruncate -s 2M d1")
        let r = try s.sh(ship("--resume-back 4M", volume: "64M"))
        #expect(r.stdout.hasSuffix(" 74\n"), "\(r.stdout)")
        #expect(r.stderr.contains("seed-writeblk: error: 'd1' does not hold volume 1 up to byte"), "\(r.stderr)")
    }
}

/// scripts/seed-window: a pipeline in a window, night after night (here,
/// windows of seconds), until the stream is on the drives.
@Suite struct SeedWindowTests {
    @Test func windowAfterWindowTheStreamGetsOntoTheDrivesAndThenNothingIsDone() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && for i in $(seq 1 80); do head -c 1000000 /dev/urandom > src/f$i; done
            seed-snapshot --record-size 256K src | seed-compress -o files.seed
            window() { \(scriptsDir)/seed-window --max-duration "$1" --staging files.seed --journal-dir J --volume-size 40M d1 d2 d3 > out 2>&1; echo $? >> statuses; }
            window 0.05s
            for night in 1 2 3 4 5; do tail -1 statuses | grep -qx 0 && break; window 60s; done
            window 60s
            cat statuses; cat out
            """)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let statuses = lines.prefix { Int($0) != nil }
        #expect(statuses.first == "75", "\(r.stdout)\(r.stderr)")
        #expect(statuses.suffix(2) == ["0", "0"], "\(r.stdout)")
        #expect(r.stdout.contains("seed-window: nothing to do: the stream was on the drives by"), "\(r.stdout)")
        let back = try s.sh(
            "mkdir out2 && seed-writeblk -d d? | seed-journal --check J | seed-split -d | seed-compress -d | seed-snapshot -x out2; echo ${PIPESTATUS[*]}")
        #expect(back.stdout == "0 0 0 0 0\n", "\(back.stderr)")
        expectSameTree(s.path("src"), s.path("out2"))
    }
}

extension SeedWindowTests {
    /// --metrics: a node_exporter textfile from the window's events, and a
    /// summary that says what this window wrote.
    @Test func aWindowWritesItsMetricsAndSummaryFromItsEvents() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && for i in $(seq 1 30); do head -c 1000000 /dev/urandom > src/f$i; done
            seed-snapshot --record-size 256K src | seed-compress -o files.seed
            \(scriptsDir)/seed-window --max-duration 60s --staging files.seed --journal-dir J --volume-size 20M --metrics seed.prom d1 d2; echo $?
            cat seed.prom
            jq -r 'select(.event == "drive-done") | .drive' J/events.jsonl
            """)
        #expect(r.stdout.contains("\n0\n"), "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("seed-window: done: the whole stream of session "), "\(r.stdout)")
        #expect(r.stdout.contains("drives finished: d1 (volume 1), d2 (volume 2)"), "\(r.stdout)")
        #expect(r.stdout.contains("seed_window_drives_done{journal=\"J\"} 2\n"), "\(r.stdout)")
        #expect(r.stdout.contains("seed_window_exit_status{journal=\"J\"} 0\n"), "\(r.stdout)")
        #expect(r.stdout.hasSuffix("d1\nd2\n"), "\(r.stdout)")
        let bytes = try s.sh("sed -n 's/^seed_window_bytes_written{journal=\"J\"} //p' seed.prom").stdout
        let staged = try s.sh("stat -c %s files.seed").stdout
        #expect((Int(bytes.dropLast()) ?? 0) > (Int(staged.dropLast()) ?? .max), "\(bytes) against \(staged)")
        let success = try s.sh("sed -n 's/^seed_window_last_success_timestamp_seconds{journal=\"J\"} //p' seed.prom").stdout
        #expect((Int(success.dropLast()) ?? 0) > 1_700_000_000)
        // Node_exporter's own check of a textfile: every sample's metric has HELP and TYPE.
        let names = try s.sh("grep -v '^#' seed.prom | sed 's/{.*//' | sort -u").stdout.split(separator: "\n")
        for n in names { #expect(try s.sh("grep -c '^# TYPE \(n) gauge' seed.prom").stdout == "1\n") }
    }

    @Test func aFailedWindowNamesTheErrorWithItsCode() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            head -c 100000 /dev/urandom > files.seed
            \(scriptsDir)/seed-window --max-duration 60s --staging files.seed --journal-dir J --volume-size 20M --metrics seed.prom d1; echo $?
            grep exit_status seed.prom
            """)
        #expect(r.stdout.contains("  seed-split: standard input: record 0 at byte 0: not a seed stream (bad magic) [not-a-seed-stream]"), "\(r.stdout)")
        #expect(r.stdout.contains("seed_window_exit_status{journal=\"J\"} 65"), "\(r.stdout)")
    }
}

/// seed-snapshot as the first stage: --resume goes on from the journals and
/// the state it keeps beside them, in the middle of a file if need be.
@Suite(.serialized) struct SnapshotResumeTests {
    /// The pipeline from the tree `src` onto d1 (one 64 MiB volume), zstd
    /// at level 19 keeping it slow; the first stage's pid goes to snapshot.pid.
    func ship(_ first: String = "") -> String {
        """
        { echo $BASHPID > snapshot.pid; exec seed-snapshot --record-size 256K --resume J \(first) src; } | seed-compress -l 19 \
          | seed-split --volume-size 64M | seed-encrypt --key-file kf | seed-journal --journal-dir J | seed-writeblk d1; echo ${PIPESTATUS[*]}
        """
    }

    /// Stops the pipeline with SIGTERM to seed-snapshot once d1 holds `bytes`.
    func stopAt(_ bytes: Int) -> String {
        """
        ( \(ship()) ) > statuses 2> err &
        for i in $(seq 400); do [ "$(stat -c %s d1 2>/dev/null || echo 0)" -ge \(bytes) ] && break; sleep 0.05; done
        kill -TERM $(cat snapshot.pid); wait; cat statuses
        """
    }

    let restore = """
        rm -rf out && mkdir out && seed-writeblk -d d1 | seed-journal --check J | seed-encrypt -d --key-file kf \
          | seed-split -d | seed-compress -d | seed-snapshot -x out; echo ${PIPESTATUS[*]}
        """

    func tree(_ s: Scratch) throws {
        try s.sh(
            """
            mkdir -p src/a src/z && head -c 32 /dev/urandom > kf
            for i in $(seq 1 9); do head -c 1000000 /dev/urandom > src/a/f$i; done
            for i in $(seq 10 39); do head -c 1000000 /dev/urandom > src/z/g$i; done
            ln src/a/f3 src/z/link-to-f3
            """)
    }

    @Test func aStoppedSnapshotResumesInTheMiddleOfAFileToAnIdenticalTree() throws {
        let s = try Scratch()
        try tree(s)
        #expect(try s.sh(stopAt(20_000_000)).stdout == "75 75 75 75 75 75\n")
        let r = try s.sh(ship("--resume-back 4M"))
        #expect(r.stdout == "0 0 0 0 0 0\n", "\(r.stderr)")
        #expect(r.stderr.contains("seed-snapshot: resuming session"), "\(r.stderr)")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        expectSameTree(s.path("src"), s.path("out"))
        #expect(try s.sh("stat -c %h out/z/link-to-f3").stdout == "2\n", "the hard link across the resume point stays one")
    }

    @Test func aTreeChangedBeforeTheResumePointIsSaidAndTheSeedHoldsWhatWasShipped() throws {
        let s = try Scratch()
        try tree(s)
        #expect(try s.sh(stopAt(20_000_000)).stdout == "75 75 75 75 75 75\n")
        try s.sh(
            """
            cp src/a/f1 f1.shipped && cp src/a/f2 f2.shipped
            echo more >> src/a/f1; rm src/a/f2; echo new > src/a/f0new; echo later >> src/z/g39
            """)
        let r = try s.sh(ship("--resume-back 4M"))
        #expect(r.stdout == "2 0 0 0 0 0\n", "\(r.stderr)")
        #expect(r.stderr.contains("seed-snapshot: warning: 'a/f1': changed since the interrupted run shipped it"), "\(r.stderr)")
        #expect(r.stderr.contains("seed-snapshot: warning: 'a/f2': gone since the interrupted run shipped it"), "\(r.stderr)")
        #expect(r.stderr.contains("seed-snapshot: warning: 'a/f0new': new since the interrupted run"), "\(r.stderr)")
        #expect(try s.sh(restore).stdout == "0 0 0 0 0 0\n")
        #expect(
            try s.sh("cmp out/a/f1 f1.shipped && cmp out/a/f2 f2.shipped && ! test -e out/a/f0new && cmp out/z/g39 src/z/g39 && echo same").stdout == "same\n")
    }

    @Test func aKeptStateOfAnotherTreeIsRefused() throws {
        let s = try Scratch()
        try tree(s)
        #expect(try s.sh(stopAt(8_000_000)).stdout == "75 75 75 75 75 75\n")
        try s.sh("mkdir other && echo x > other/x")
        let r = try s.sh("seed-snapshot --resume J other > /dev/null")
        #expect(r.status == 64)
        #expect(r.stderrLines.first?.contains("keeps the run of session") == true, "\(r.stderr)")
    }
}
