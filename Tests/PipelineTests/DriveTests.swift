import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

@testable import SeedKit

/// The shipping pipeline of all six tools: `seed-snapshot src | seed-compress`
/// into staged.seed (once), then `seed-split ARGS | seed-encrypt |
/// seed-journal --journal-dir J | seed-writeblk TARGETS`.
func shipToDrives(_ s: Scratch, _ splitArgs: String, _ targets: String, writeblkArgs: String = "") throws -> ShellResult {
    try s.sh(
        """
        { [ -f staged.seed ] || seed-snapshot --record-size 1048576 src | seed-compress > staged.seed; } &&
        seed-split \(splitArgs) < staged.seed | seed-encrypt -r dc.key.pub \
          | seed-journal --journal-dir J --index staged.seed | seed-writeblk \(writeblkArgs) \(targets)
        """)
}

/// The receiving pipeline, from the drives given (in that order) to `out`.
func receiveFromDrives(_ s: Scratch, _ targets: String, checkArgs: String = "") throws -> ShellResult {
    try s.sh(
        """
        seed-writeblk -d \(targets) | seed-journal --check J \(checkArgs) | seed-encrypt -d -i dc.key \
          | seed-split -d | seed-compress -d | seed-snapshot -x out
        """)
}

@Suite(.serialized) struct DriveTests {
    func setUp(_ s: Scratch) throws {
        let r = try s.sh(
            """
            seed-encrypt --keygen dc.key > /dev/null && mkdir -p src/docs &&
            head -c 12000000 /dev/urandom > src/huge.bin &&
            for n in payroll minutes merger; do seq 1 40000 | sed "s/^/$n /" > src/docs/$n.txt; done
            """)
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func sixToolRoundTripThroughFileDrivesInAnyOrder() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        try setUp(s)
        let ship = try shipToDrives(s, "--volume-size 6M", "d1 d2 d3 d4 d5 d6 d7 d8", writeblkArgs: "--verify")
        #expect(ship.status == 0, "\(ship.stderr)")
        let n = try s.sh("ls d? | wc -l").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int(n)! >= 3)
        // Every drive fits the size it was planned for, label and padding included.
        #expect(try s.sh("for f in d?; do [ $(stat -c %s $f) -le 6291456 ] || echo $f; done").stdout == "")
        let back = try receiveFromDrives(s, try s.sh("ls d? | sort -r | tr '\\n' ' '").stdout)
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.stderr == "")
        expectSameTree(src, s.path("out"))
    }

    @Test(.enabled(if: LoopDevices.available, "needs root and losetup: loop devices are skipped here"))
    func sixToolRoundTripThroughLoopDevices() throws {
        let s = try Scratch()
        let loops = LoopDevices(s)
        try setUp(s)
        let devs = try (1...4).map { try loops.attach("disk\($0).img", size: "8M") }
        try s.sh("printf '%s\\n' \(devs.joined(separator: " ")) > drives")
        let r = try shipToDrives(s, "--drives-from drives", devs.joined(separator: " "), writeblkArgs: "--verify")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try s.sh("head -c 4096 \(devs[1]) | grep -a '^volume: 2$'").status == 0)
        let used = Int(try s.sh("ls J/*.jrn | wc -l").stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(used >= 2)
        let back = try receiveFromDrives(s, devs.prefix(used).reversed().joined(separator: " "))
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try s.sh("diff -r src out").status == 0)
    }

    static let canMountRamfs: Bool = {
        guard let s = try? Scratch(), let r = try? s.sh("mkdir m && mount -t ramfs none m 2>/dev/null && umount m && echo yes") else { return false }
        return r.stdout == "yes\n"
    }()

    /// On a tmpfs every file lives in the page cache: nothing to see there.
    static let scratchIsOffTmpfs: Bool = {
        guard let s = try? Scratch(), let r = try? s.sh("stat -f -c %T . && command -v fincore > /dev/null") else { return false }
        return r.status == 0 && r.stdout != "tmpfs\n"
    }()

    @Test(.enabled(if: scratchIsOffTmpfs, "needs the temporary directory off a tmpfs, and fincore"))
    func aDriveFileIsWrittenPastThePageCache() throws {
        let s = try Scratch()
        try setUp(s)
        let r = try shipToDrives(s, "--volume-size 64M", "d1")
        #expect(r.status == 0, "\(r.stderr)")
        let size = Int(try s.sh("stat -c %s d1").stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
        let cached = Int(try s.sh("fincore --bytes --noheadings --output RES d1").stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(size > 10_000_000)
        #expect(cached < 1 << 20, "\(cached) of \(size) bytes of the drive file are in the page cache")
        let back = try receiveFromDrives(s, "d1")
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try s.sh("diff -r src out").status == 0)
    }

    @Test(.enabled(if: canMountRamfs, "needs to mount a ramfs (root)"))
    func aDriveFileOnAFilesystemWithoutDirectIOIsWrittenBuffered() throws {
        let s = try Scratch()
        try setUp(s)
        // A ramfs refuses O_DIRECT.
        let m = try s.sh("mkdir r && mount -t ramfs none r && echo mounted")
        try #require(m.stdout == "mounted\n", "\(m.stderr)")
        defer { _ = try? s.sh("umount \(s.path("r"))") }
        let r = try shipToDrives(s, "--volume-size 64M", "r/d1", writeblkArgs: "--verify")
        #expect(r.status == 0, "\(r.stderr)")
        let back = try receiveFromDrives(s, "r/d1")
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try s.sh("diff -r src out").status == 0)
    }

    // MARK: damage found by --check

    func shippedToFiles(_ s: Scratch) throws -> [String] {
        try setUp(s)
        let r = try shipToDrives(s, "--volume-size 6M", "d1 d2 d3 d4 d5 d6")
        #expect(r.status == 0, "\(r.stderr)")
        return try s.sh("ls d?").stdout.split(separator: "\n").map(String.init)
    }

    /// Runs the check over all drives; returns it and the JSON report's damaged records.
    func check(_ s: Scratch, _ drives: [String]) throws -> (ShellResult, [String]) {
        let r = try s.sh("seed-writeblk -d \(drives.joined(separator: " ")) | seed-journal --check J --report report.json > /dev/null")
        let damaged = try s.sh(
            "jq -r '.volumes[] | .volume as $v | .damaged[] | \"\\($v) \\(.seq) \\(.kind) \\(.problem) \\(.files // [] | join(\",\"))\"' report.json")
        #expect(damaged.status == 0, "jq: \(damaged.stderr)")
        return (r, damaged.stdout.split(separator: "\n").map(String.init))
    }

    @Test func aFlippedByteAnywhereOnADriveIsNamedWithItsFiles() throws {
        let s = try Scratch()
        let drives = try shippedToFiles(s)
        try s.sh("cp d2 d2.good")
        // Anywhere in volume 2's stream, as its label places it: the volume
        // begin's header and payload, its last byte, and a random offset.
        let label = try #require(try Target.readLabel(s.path("d2")))
        for at in [0, 47, 200, label.streamBytes - 1, UInt64.random(in: 0..<label.streamBytes)] {
            // Every bit of the byte flipped, so it differs whatever it was.
            let seek = label.streamOffset + at
            try s.sh(
                "cp d2.good d2 && b=$(od -An -tu1 -j \(seek) -N1 d2) && printf \"\\\\x$(printf %02x $((b ^ 255)))\" | dd of=d2 bs=1 seek=\(seek) conv=notrunc status=none"
            )
            let (r, damaged) = try check(s, drives)
            #expect(r.status == 65, "byte \(at): \(r.stderr)")
            #expect(damaged.count == 1, "byte \(at): \(damaged)")
            #expect(damaged.first?.hasPrefix("2 ") == true, "byte \(at): \(damaged)")
            let hit = try s.sh("jq -r '.volumes[] | select(.volume == 2) | .damaged[0] | \"\\(.offset) \\(.length) \\(.kind)\"' report.json").stdout
            let f = hit.split(separator: "\n").first?.split(separator: " ").map(String.init) ?? []
            let start = f.count == 3 ? UInt64(f[0]) : nil
            let length = f.count == 3 ? UInt64(f[1]) : nil
            #expect(start != nil && length != nil && start! <= at && at < start! + length!, "byte \(at) not in \(hit)")
            if f.count == 3 && f[2] == "data" {
                #expect(damaged.first?.contains("huge.bin") == true, "\(damaged)")
                #expect(r.stderr.contains("it carries 'huge.bin'"), "\(r.stderr)")
            }
            #expect(try s.sh("jq -e '.ok == false' report.json").status == 0)
        }
        // The other drives check clean on their own.
        for d in drives where d != "d2" {
            let alone = try s.sh("seed-writeblk -d --partial \(d) | seed-journal --check J > /dev/null")
            #expect(alone.status == 0, "\(d): \(alone.stderr)")
        }
    }

    @Test func aZeroedMebibyteIsNamedRecordByRecord() throws {
        let s = try Scratch()
        let drives = try shippedToFiles(s)
        try s.sh("dd if=/dev/zero of=d3 bs=1M seek=2 count=1 conv=notrunc status=none")
        let (r, damaged) = try check(s, drives)
        #expect(r.status == 65)
        #expect(damaged.count >= 1 && damaged.count <= 2, "\(damaged)")
        #expect(damaged.allSatisfy { $0.hasPrefix("3 ") && $0.contains("digest mismatch") }, "\(damaged)")
        #expect(try s.sh("jq -e '[.volumes[] | select(.volume != 3) | .damaged | length] | add == 0' report.json").status == 0)
    }

    @Test func aTruncatedDriveIsNamedAndTheVolumesAfterItStillCheck() throws {
        let s = try Scratch()
        let drives = try shippedToFiles(s)
        try s.sh("truncate -s 3500000 d2")
        let (r, damaged) = try check(s, drives)
        #expect(r.status == 65)
        #expect(r.stderr.contains("'d2' (volume 2) cut short"), "\(r.stderr)")
        #expect(damaged.allSatisfy { $0.hasPrefix("2 ") }, "\(damaged)")
        #expect(damaged.contains { $0.contains("volume-end") }, "\(damaged)")
        #expect(try s.sh("jq -e '[.volumes[] | select(.volume != 2) | .good] | all(. > 0)' report.json").status == 0)
    }

    @Test func aTornJournalLineIsToleratedAndRepaired() throws {
        let s = try Scratch()
        let drives = try shippedToFiles(s)
        let j = try s.sh("ls J/*.v002.jrn").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try s.sh("printf '{\"type\":\"file\",\"pa' >> \(j)")
        let (r, _) = try check(s, drives)
        #expect(r.status == 0, "\(r.stderr)")
        // Appending to it again cuts the torn line off first.
        let w = try JournalWriter(append: s.path(j))
        w.append(.file(.init(path: "x", pathB64: nil, firstData: 0, lastData: 0)))
        try w.flush(sync: true)
        #expect(try s.sh("tail -1 \(j)").stdout == "{\"firstData\":0,\"lastData\":0,\"path\":\"x\",\"type\":\"file\"}\n")
        #expect(try s.sh("grep -c '\"pa$' \(j)").stdout == "0\n")
    }

    @Test func anIncompleteJournalIsCheckedAsFarAsItGoesAndTheNextVolumeStillChecks() throws {
        let s = try Scratch()
        let drives = try shippedToFiles(s)
        // The journal of volume 2 as a run stopped mid-volume would leave it.
        let j = try s.sh("ls J/*.v002.jrn").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try s.sh("head -n 5 \(j) > cut && mv cut \(j)")
        let (r, damaged) = try check(s, drives)
        #expect(r.status == 65)
        #expect(damaged.isEmpty, "\(damaged)")
        #expect(r.stderr.contains("the journal of volume 2 is incomplete: 3 records checked"), "\(r.stderr)")
        #expect(try s.sh("jq -e '[.volumes[] | select(.volume == 3) | .good > 0] | all' report.json").status == 0)
        #expect(try s.sh("jq -e '.volumes[] | select(.volume == 2) | .journalComplete == false and .unchecked > 0' report.json").status == 0)
        // What it did not check does not go on, and a named output is not passed off as whole.
        let named = try s.sh("seed-writeblk -d \(drives.joined(separator: " ")) | seed-journal --check J -o out.seed")
        #expect(named.status == 65)
        #expect(!s.exists("out.seed"))
    }

    // MARK: refusals

    @Test func aDriveOfAnotherSessionOrAMissingOneIsRefusedOnTheWayBack() throws {
        let s = try Scratch()
        let drives = try shippedToFiles(s)
        try s.sh("mkdir other && cd other && cp -r ../src ../dc.key.pub . && seed-snapshot src | seed-split --volume-size 6M | seed-writeblk o1 o2 o3 o4 o5 o6")
        let foreign = try s.sh("seed-writeblk -d d1 other/o2 d3 > /dev/null")
        #expect(foreign.status == 65)
        #expect(foreign.stderr.contains("'other/o2' holds volume 2 of session"), "\(foreign.stderr)")
        #expect(foreign.stderr.contains("a drive of another seed"))
        let missing = try s.sh("seed-writeblk -d \(drives.filter { $0 != "d2" }.joined(separator: " ")) > /dev/null")
        #expect(missing.status == 65)
        #expect(missing.stderr.hasPrefix("seed-writeblk: error: volume 2 of \(drives.count) missing"), "\(missing.stderr)")
        let twice = try s.sh("seed-writeblk -d d1 d1 > /dev/null")
        #expect(twice.stderr.contains("both hold volume 1"))
    }

    @Test func aBlankDriveOrOneOfAnotherSeedInTheBayIsPassedOverWithAWarning() throws {
        let s = try Scratch()
        let drives = try shippedToFiles(s).joined(separator: " ")
        try s.sh("mkdir other && cd other && cp -r ../src . && seed-snapshot src | seed-split --volume-size 6M | seed-writeblk o1 o2 o3 o4 o5 o6")
        try s.sh("truncate -s 64M blank && seed-writeblk -d \(drives) > whole")
        // The bay's every drive, in any order: the seed's volumes stream whole.
        let r = try s.sh("seed-writeblk -d blank other/o2 \(drives) > read")
        #expect(r.status == 2, "\(r.stderr)")
        #expect(
            r.stderrLines == [
                "seed-writeblk: warning: 'blank' is not a seed drive (it has no seed label): passed over",
                r.stderrLines.last ?? "",
            ], "\(r.stderr)")
        #expect(r.stderrLines.last?.hasPrefix("seed-writeblk: warning: 'other/o2' holds volume 2 of session") == true, "\(r.stderr)")
        #expect(r.stderrLines.last?.hasSuffix("(a drive of another seed): passed over") == true, "\(r.stderr)")
        #expect(try s.sh("cmp read whole").status == 0)
        let checked = try s.sh("seed-writeblk -d blank other/o2 \(drives) 2> /dev/null | seed-journal --check J > /dev/null; echo ${PIPESTATUS[*]}")
        #expect(checked.stdout == "2 0\n")
        // Blank drives alone hold nothing to read.
        let none = try s.sh("seed-writeblk -d blank > /dev/null")
        #expect(none.status == 65 && none.stderr.contains("none of the drives given holds a seed volume"), "\(none.stderr)")
    }

    @Test func sessionOfTellsEachDrivesSeedVolumeAndStateFromItsLabel() throws {
        let s = try Scratch()
        let drives = try shippedToFiles(s)
        try s.sh("truncate -s 8M blank")
        let r = try s.sh("seed-writeblk --session-of \(drives.last!) d1 blank")
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        try #require(lines.count == 3, "\(r.stdout)")
        let session = lines[1][1]
        #expect(UUID(uuidString: session) != nil, "\(session)")
        #expect(lines[0] == [drives.last!, session, "volume \(drives.count), the last, complete"])
        #expect(lines[1] == ["d1", session, "volume 1, complete"])
        #expect(lines[2] == ["blank", "-", "no seed label"])
        #expect(try s.sh("seed-writeblk --session-of -d d1").status == 64)
    }

    @Test func fewerDrivesThanVolumesStopsWithNextDriveNeededAndGoesOnLater() throws {
        let s = try Scratch()
        try setUp(s)
        let first = try shipToDrives(s, "--volume-size 6M", "d1 d2")
        #expect(first.status == 3, "\(first.stderr)")
        #expect(first.stderr.contains("volume 3 needs a drive of at least 6291456 bytes; go on later with seed-split --first-volume 3"), "\(first.stderr)")
        #expect(try s.sh("head -c 4096 d2 | grep -a -c '^state: complete$'").stdout == "1\n")
        let rest = try shipToDrives(s, "--volume-size 6M --first-volume 3", "d3 d4 d5 d6")
        #expect(rest.status == 0, "\(rest.stderr)")
        let back = try receiveFromDrives(s, try s.sh("ls d? | tr '\\n' ' '").stdout)
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try s.sh("diff -r src out").status == 0)
    }

    @Test func aNextDriveCommandGivesTheDrivesAsNeeded() throws {
        let s = try Scratch()
        try setUp(s)
        try s.sh("printf '#!/bin/sh\\necho \"$SEED_VOLUME $SEED_CAPACITY\" >> asked\\necho \"$PWD/bay$SEED_VOLUME\"\\n' > give && chmod +x give")
        let r = try shipToDrives(s, "--volume-size 6M", "d1", writeblkArgs: "--next-drive ./give")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try s.sh("head -1 asked").stdout == "2 6291456\n")
        let back = try receiveFromDrives(s, "d1 " + (try s.sh("ls bay* | tr '\\n' ' '").stdout))
        #expect(back.status == 0, "\(back.stderr)")
    }

    @Test(.enabled(if: LoopDevices.available, "needs root and losetup: loop devices are skipped here"))
    func devicesInUseHoldingAFilesystemOrTooSmallAreRefused() throws {
        let s = try Scratch()
        let loops = LoopDevices(s)
        try setUp(s)
        try s.sh("seed-snapshot src | seed-split --volume-size 8M > v.seed")
        let ext4 = try loops.attach("ext4.img", size: "8M")
        try s.sh("mkfs.ext4 -q \(ext4)")
        let held = try s.sh("seed-writeblk -i v.seed \(ext4)")
        #expect(held.status == 74)
        #expect(held.stderr.contains("holds an ext4 filesystem"), "\(held.stderr)")
        #expect(held.stderr.contains("give --format"))
        let noTerminal = try s.sh("setsid seed-writeblk -i v.seed --format \(ext4) < /dev/null")
        #expect(noTerminal.status == 64)
        #expect(noTerminal.stderr.contains("no terminal to ask on"), "\(noTerminal.stderr)")
        try s.sh("mkdir mnt && mount \(ext4) mnt")
        let mounted = try s.sh("seed-writeblk -i v.seed --format --yes \(ext4)")
        #expect(mounted.status == 74)
        #expect(mounted.stderr.contains("is in use (mounted on "), "\(mounted.stderr)")
        let journalOnTarget = try s.sh("seed-journal --journal-dir mnt/J --target \(ext4) < v.seed > /dev/null")
        #expect(journalOnTarget.status == 64)
        #expect(journalOnTarget.stderr.contains("lives on the target"), "\(journalOnTarget.stderr)")
        try s.sh("umount mnt")
        let small = try loops.attach("small.img", size: "4M")
        let tooSmall = try s.sh("seed-writeblk -i v.seed \(small)")
        #expect(tooSmall.status == 74)
        #expect(tooSmall.stderr.contains("less than the 8388608 bytes volume 1 was planned for"), "\(tooSmall.stderr)")
        // None of them was written to.
        #expect(try s.sh("head -c 4096 \(small) | grep -a -c 'SEED VOLUME'").stdout == "0\n")
    }
}
