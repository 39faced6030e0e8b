import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

@testable import SeedKit

/// What seed-writeblk adds around a volume on its drive.
let writerBudget = Int(VolumeBudget.standard.label + VolumeBudget.standard.tail)

@Suite(.serialized) struct SplitTests {
    /// A tree with one file larger than the 6 MiB volumes used below.
    func tree(_ s: Scratch) throws {
        let r = try s.sh(
            """
            seed-encrypt --keygen dc.key > /dev/null && seed-encrypt --keygen other.key > /dev/null &&
            mkdir -p src/docs && head -c 15000000 /dev/urandom > src/huge.bin &&
            for n in quarterly-payroll board-minutes merger-plan; do seq 1 20000 | sed "s/^/$n /" > src/docs/$n.txt; done
            """)
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// Ships `src` through snapshot, compress, split (with `splitArgs`) and
    /// encrypt into e.seed, cut into files vol1, vol2, ...; returns their sizes.
    @discardableResult
    func ship(_ s: Scratch, _ splitArgs: String, recordSize: Int = 1 << 20, into name: String = "e.seed", prefix: String = "vol") throws -> [Int] {
        let r = try s.sh("seed-snapshot --record-size \(recordSize) src | seed-compress | seed-split \(splitArgs) | seed-encrypt -r dc.key.pub > \(name)")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "")
        return try StreamSurgery.cutVolumes(s.path(name), prefix: s.path(prefix))
    }

    /// Decrypts and joins the files named, in that order; the result is the
    /// first stage that failed (its status and stderr), or success.
    func receive(_ s: Scratch, _ files: String, identity: String = "dc.key") throws -> ShellResult {
        try s.sh(
            """
            cat \(files) | seed-encrypt -d -i \(identity) > dec.seed 2> enc.err || { s=$?; cat enc.err >&2; exit $s; }
            seed-split -d < dec.seed > joined.seed
            """)
    }

    /// One error line (notices of volumes held, and hints, may come with it).
    func expectRefused(_ r: ShellResult, _ containing: String, _ what: String) {
        #expect(r.status == 65, "\(what): status \(r.status)")
        #expect(r.stderrLines.filter { $0.contains(": error: ") }.count == 1, "\(what): \(r.stderr)")
        #expect(r.stderr.contains(containing), "\(what): \(r.stderr)")
    }

    @Test func volumesInAnyOrderRestoreTheTreeIncludingAFileLargerThanAVolume() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        try tree(s)
        let sizes = try ship(s, "--volume-size 6M")
        #expect(sizes.count >= 3)
        let order = (1...sizes.count).reversed().map { "vol\($0)" }.joined(separator: " ")
        let r = try s.sh("cat \(order) | seed-encrypt -d -i dc.key | seed-split -d | seed-compress -d | seed-snapshot -x out")
        #expect(r.status == 0, "\(r.stderr)")
        expectSameTree(src, s.path("out"))
        #expect(try s.sh("cmp src/huge.bin out/huge.bin").status == 0)
    }

    @Test func drivesOfDifferentSizesEachHoldTheirVolume() throws {
        let s = try Scratch()
        try tree(s)
        let drives = [6 << 20, 9_000_000, 7 << 20]
        let sizes = try ship(s, "--drives \(drives.map(String.init).joined(separator: ",")) --volume-size 8M")
        #expect(sizes.count >= 3)
        for (i, size) in sizes.enumerated() {
            let drive = i < drives.count ? drives[i] : 8 << 20
            #expect(size + writerBudget <= drive, "volume \(i + 1): \(size) bytes on a drive of \(drive)")
        }
        let rest = (4..<(sizes.count + 1)).map { "vol\($0)" }.joined(separator: " ")
        let r = try s.sh("cat vol2 vol1 vol3 \(rest) | seed-encrypt -d -i dc.key | seed-split -d | seed-compress -d | seed-snapshot -x out")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try s.sh("diff -r src out").status == 0)
    }

    @Test func volumesFitTheirDrivesWhereThePerRecordOverheadMatters() throws {
        let s = try Scratch()
        // Small incompressible records: the 16-byte tag and the 48-byte
        // header are 1.5% of every record, the key record and label per volume.
        try s.sh("seed-encrypt --keygen dc.key > /dev/null && mkdir src && head -c 3000000 /dev/urandom > src/r")
        let drives = [1_200_000, 1_250_001, 1_310_720]
        let sizes = try ship(s, "--drives \(drives.map(String.init).joined(separator: ",")) --volume-size 1200000", recordSize: 4096)
        #expect(sizes.count > 5)
        for (i, size) in sizes.enumerated() {
            let drive = i < drives.count ? drives[i] : 1_200_000
            #expect(size + writerBudget <= drive, "volume \(i + 1): \(size) bytes + label on a drive of \(drive)")
            if i < sizes.count - 1 {
                // Full volumes leave no more free than the key record's
                // budget and one record: the bound is tight, not padded.
                #expect(drive - size - writerBudget < Int(VolumeBudget.standard.volume) + 4096 + 64 + 300, "volume \(i + 1) wastes space")
            }
        }
        #expect(try receive(s, "vol*").status == 0)
    }

    @Test func splitThenJoinGivesBackTheSameStreamByteForByte() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh("seed-snapshot src | seed-compress > s.seed && seed-split --volume-size 6M < s.seed | seed-split -d | cmp - s.seed")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func firstVolumeWritesTheSameLaterVolumesAndNothingBefore() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh(
            """
            seed-snapshot --record-size 1048576 src > s.seed && seed-split --volume-size 6M < s.seed > all.seed &&
            seed-split --volume-size 6M --first-volume 2 < s.seed > later.seed
            """)
        #expect(r.status == 0, "\(r.stderr)")
        let all = try StreamSurgery.cutVolumes(s.path("all.seed"), prefix: s.path("all"))
        let later = try StreamSurgery.cutVolumes(s.path("later.seed"), prefix: s.path("later"))
        #expect(later.count == all.count - 1)
        for v in 2...all.count {
            #expect(try s.read("all\(v)") == (try s.read("later\(v)")), "volume \(v)")
        }
        let tooFar = try s.sh("seed-split --volume-size 6M --first-volume 99 < s.seed > /dev/null")
        #expect(tooFar.status == 64)
        #expect(tooFar.stderr.contains("none from --first-volume 99 on"), "\(tooFar.stderr)")
    }

    @Test func volumeRecordsCarrySessionCapacityCountsAndTheVolumeCount() throws {
        let s = try Scratch()
        try tree(s)
        try s.sh("seed-snapshot --record-size 1048576 src | seed-split --volume-size 6M > v.seed")
        let recs = try StreamSurgery.records(s.path("v.seed"))
        let begins = try recs.filter { $0.header.kind == .volumeBegin }.map { r in
            try r.payload.withUnsafeBytes { try VolumeBegin.decode($0, record: "") }
        }
        let ends = try recs.filter { $0.header.kind == .volumeEnd }.map { r in try r.payload.withUnsafeBytes { try VolumeEnd.decode($0, record: "") } }
        #expect(begins.map(\.volume) == Array(1...UInt32(begins.count)))
        #expect(Set(begins.map(\.session)).count == 1)
        #expect(begins.allSatisfy { $0.capacity == 6 << 20 && $0.budget == .standard })
        #expect(ends.map(\.volume) == begins.map(\.volume))
        let perVolume = Dictionary(grouping: recs.filter { $0.header.kind != .volumeEnd }, by: \.header.volume)
        for e in ends {
            #expect(e.records == UInt64(perVolume[e.volume]!.count))
            #expect(e.bytes == perVolume[e.volume]!.reduce(0) { $0 + 48 + UInt64($1.payload.count) })
        }
        let end = try #require(recs.last { $0.header.kind == .end })
        let totals = try end.payload.withUnsafeBytes { try StreamTotals.decode($0, record: "") }
        #expect(totals.volumes == UInt32(begins.count))
        #expect(end.header.volume == UInt32(begins.count))
    }

    // MARK: refusals

    @Test func aFlippedByteAnywhereInAVolumeIsRefusedNamingTheRecord() throws {
        let s = try Scratch()
        try tree(s)
        let sizes = try ship(s, "--volume-size 6M")
        let vol2 = try s.read("vol2")
        let offsets = try StreamSurgery.records(s.path("vol2")).map { Int($0.offset) }
        // Every header byte of the first four records, and payload bytes spread over the volume.
        var positions = offsets.prefix(4).flatMap { o in (o..<(o + 48)).filter { $0 % 3 == o % 3 } }
        positions += stride(from: 60, to: vol2.count, by: vol2.count / 25).map { $0 }
        for p in positions {
            var bad = vol2
            bad[p] ^= 0x10
            try s.write("bad2", bad)
            let r = try receive(s, "vol1 bad2 " + (3...sizes.count).map { "vol\($0)" }.joined(separator: " "))
            #expect(r.status == 65, "byte \(p): status \(r.status)")
            #expect(r.stderrLines.count == 1, "byte \(p): \(r.stderr)")
            #expect(r.stderr.contains("record"), "byte \(p): \(r.stderr)")
        }
    }

    @Test func swappedRecordsInAVolumeFailAuthentication() throws {
        let s = try Scratch()
        try tree(s)
        try ship(s, "--volume-size 6M")
        var recs = try StreamSurgery.records(s.path("vol2"))
        let i = try #require(recs.firstIndex { $0.header.kind == .data })
        recs.swapAt(i, i + 1)
        try StreamSurgery.write(recs, to: s.path("bad2"))
        expectRefused(try receive(s, "vol1 bad2 vol3"), "(volume 2) at byte", "swapped")
        expectRefused(try receive(s, "vol1 bad2 vol3"), "fails authentication", "swapped")
    }

    @Test func aRecordMovedFromAnotherVolumeIsRefused() throws {
        let s = try Scratch()
        try tree(s)
        try ship(s, "--volume-size 6M")
        let one = try StreamSurgery.records(s.path("vol1"))
        var two = try StreamSurgery.records(s.path("vol2"))
        let i = try #require(two.firstIndex { $0.header.kind == .data })
        let moved = try #require(one.last { $0.header.kind == .data })
        two[i] = moved
        try StreamSurgery.write(two, to: s.path("bad2"))
        expectRefused(try receive(s, "vol1 bad2 vol3"), "record of volume 1 inside volume 2", "moved as is")
        two[i].header.volume = 2  // relabelled to pass as volume 2's own
        try StreamSurgery.write(two, to: s.path("bad2"))
        expectRefused(try receive(s, "vol1 bad2 vol3"), "fails authentication", "moved and relabelled")
    }

    @Test func anAlteredVolumeBeginFailsAuthentication() throws {
        let s = try Scratch()
        try tree(s)
        try ship(s, "--volume-size 6M")
        var recs = try StreamSurgery.records(s.path("vol2"))
        let text = String(decoding: recs[0].payload, as: UTF8.self).replacingOccurrences(of: "\"capacity\":6291456", with: "\"capacity\":9291456")
        #expect(text.contains("9291456"))
        recs[0].payload = Array(text.utf8)
        try StreamSurgery.write(recs, to: s.path("bad2"))
        expectRefused(try receive(s, "vol1 bad2 vol3"), "fails authentication", "altered volume begin")
    }

    @Test func aVolumeOfAnotherSessionIsRefused() throws {
        let s = try Scratch()
        try tree(s)
        try ship(s, "--volume-size 6M")
        try ship(s, "--volume-size 6M", into: "other.seed", prefix: "other")
        // seed-encrypt -d finds it first: the other seed's volume 2 is chained to its own volume 1.
        expectRefused(try receive(s, "vol1 other2 vol3"), "volume 2 is not chained to volume 1", "foreign volume")
    }

    @Test func aMissingOrDuplicatedVolumeIsNamed() throws {
        let s = try Scratch()
        try tree(s)
        let n = try ship(s, "--volume-size 6M").count
        let all = (1...n).map { "vol\($0)" }
        let missing = try receive(s, all.filter { $0 != "vol2" }.joined(separator: " "))
        expectRefused(missing, "volume 2 of \(n) is missing", "missing")
        let twice = try receive(s, (all + ["vol2"]).joined(separator: " "))
        expectRefused(twice, "volume 2 appears twice", "duplicated")
        let noLast = try receive(s, all.dropLast().joined(separator: " "))
        expectRefused(noLast, "volume \(n) is missing", "last missing")
    }

    @Test func aTruncatedLastVolumeIsRefused() throws {
        let s = try Scratch()
        try tree(s)
        let n = try ship(s, "--volume-size 6M").count
        try s.sh("head -c -100 vol\(n) > cut")
        let r = try receive(s, (1..<n).map { "vol\($0)" }.joined(separator: " ") + " cut")
        expectRefused(r, "volume \(n)", "truncated")
        #expect(r.stderr.contains("truncated"))
    }

    @Test func aWrongIdentityIsOneNoKeyMatchesError() throws {
        let s = try Scratch()
        try tree(s)
        try ship(s, "--volume-size 6M")
        let r = try receive(s, "vol1 vol2 vol3", identity: "other.key")
        expectRefused(r, "no key matches", "wrong identity")
        #expect(try s.sh("stat -c %s dec.seed").stdout == "0\n")
    }

    @Test func aVolumeWhoseKeyRecordWasRemovedIsRefused() throws {
        let s = try Scratch()
        try tree(s)
        try ship(s, "--volume-size 6M")
        var recs = try StreamSurgery.records(s.path("vol2"))
        recs.removeAll { $0.header.kind == .key }
        try StreamSurgery.write(recs, to: s.path("bad2"))
        expectRefused(try receive(s, "vol1 bad2 vol3"), "volume 2 has no key record", "key removed")
    }

    @Test func fileNamesDoNotAppearInAnyEncryptedVolume() throws {
        let s = try Scratch()
        try tree(s)
        try ship(s, "--volume-size 6M")
        #expect(try s.sh("seed-snapshot src | strings | grep -c merger-plan").stdout != "0\n")
        #expect(try s.sh("cat vol* | strings | grep -cE 'payroll|minutes|merger'").stdout == "0\n")
    }

    // MARK: sizes and plans

    @Test func aDriveTooSmallForOneRecordIsRefusedBeforeAnythingIsWritten() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh("seed-snapshot src | seed-split --volume-size 5M > out.seed")
        #expect(r.status == 64)
        #expect(r.stderrLines.filter { $0.hasPrefix("seed-split: error: ") }.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("is too small"))
        #expect(try s.sh("stat -c %s out.seed").stdout == "0\n")
    }

    @Test func moreDrivesNeededThanGivenIsAnIOError() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh("seed-snapshot --record-size 1048576 src | seed-split --drives 6M,6M > out.seed")
        #expect(r.status == 74)
        #expect(r.stderr.contains("needs more than the 2 drives given"))
        #expect(try s.sh("seed-split -d < out.seed > /dev/null").status == 65)  // never passed off as whole
    }

    @Test func planSaysHowManyDrivesTheSplitWillUseAndWritesNothing() throws {
        let s = try Scratch()
        try tree(s)
        try s.sh("seed-snapshot --record-size 1048576 src | seed-compress > s.seed")
        let plan = try s.sh("seed-split --plan --volume-size 6M < s.seed")
        #expect(plan.status == 0, "\(plan.stderr)")
        let volumes = try s.sh("seed-split --volume-size 6M < s.seed > v.seed")
        #expect(volumes.status == 0)
        let n = try StreamSurgery.records(s.path("v.seed")).filter { $0.header.kind == .volumeBegin }.count
        #expect(plan.stdout.contains("needs \(n) drives\n"), "\(plan.stdout)")
        let short = try s.sh("seed-split --plan --drives 6M,6M < s.seed")
        #expect(short.status == 1)
        #expect(short.stdout.contains("does not fit: needs \(n) drives, 2 given"), "\(short.stdout)")
    }

    @Test func planEstimatesFromATreeWithoutASnapshot() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh("seed-split --plan --estimate-from src --volume-size 6M")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("estimate: 6 entries"), "\(r.stdout)")
        // 15 MB of random data does not compress: three or four 6 MiB drives.
        #expect(r.stdout.contains("needs 3 drives") || r.stdout.contains("needs 4 drives"), "\(r.stdout)")
    }

    /// A mixed corpus of about 100 MB: text that compresses twentyfold,
    /// logs, random data, zeros, a sparse image, hundreds of small files, a
    /// name not UTF-8.
    func mixedCorpus(_ s: Scratch) throws {
        let r = try s.sh(
            """
            mkdir -p src/text src/logs src/bin src/small/a src/small/b
            seq 1 2000000 > src/text/numbers.txt && cat \(scriptsDir)/../man/man*/* > src/text/pages.txt
            awk 'BEGIN{srand(1); for(i=0;i<200000;i++) printf "2026-12-01 12:%02d:%02d host%d GET /api/item/%d 200 %d\\n", i%60, (i*7)%60, i%7, int(rand()*1e6), int(rand()*5000)}' > src/logs/access.log
            for i in 1 2 3 4 5 6; do head -c 12000000 /dev/urandom > src/bin/r$i.bin; done && head -c 4000000 /dev/zero > src/bin/zeros
            truncate -s 1G src/bin/disk.img && printf 'data' | dd of=src/bin/disk.img bs=1 seek=500000000 conv=notrunc status=none
            for i in $(seq 1 600); do printf '{"id":%d,"name":"item-%d","price":%d}\\n' $i $i $((i * 37 % 1000)) > src/small/$((i % 2 == 0 ? 1 : 0))$i.json; done
            mv src/small/0* src/small/a/ && mv src/small/1* src/small/b/ && printf 'x' > "src/small/$(printf 'caf\\xe9')"
            """)
        try #require(r.status == 0, "\(r.stderr)")
    }

    @Test func aPlanFromTheTreePredictsTheCompressedStreamWithinFifteenPerCentAndTheDriveCount() throws {
        let s = try Scratch()
        try mixedCorpus(s)
        let actual = try #require(Int(try s.sh("seed-snapshot src | seed-compress > s.seed && stat -c %s s.seed").stdout.trimmingCharacters(in: .newlines)))
        // Drives of two fifths of the stream, ten records each: three of them.
        let size = actual * 2 / 5
        let plan = try s.sh("seed-split --plan --estimate-from src --volume-size \(size)")
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(!plan.stderr.contains("cannot read"), "\(plan.stderr)")
        let line = try #require(plan.stdout.split(separator: "\n").first { $0.hasPrefix("stream: ") })
        let estimated = try #require(Int(line.dropFirst("stream: ".count).prefix { $0.isNumber }))
        #expect(abs(estimated - actual) * 100 < actual * 15, "estimated \(estimated) bytes, the stream is \(actual)")
        let real = try s.sh("seed-split --plan --volume-size \(size) < s.seed").stdout
        let needs = try #require(real.split(separator: "\n").first { $0.hasPrefix("needs ") })
        #expect(plan.stdout.contains(needs + "\n"), "\(plan.stdout) vs \(real)")
    }

    @Test func aPlanSaysHowLongTheDrivesTakeToFill() throws {
        let s = try Scratch()
        try mixedCorpus(s)
        let r = try s.sh("PATH=\(toolsDir):$PATH \(scriptsDir)/seed-plan --speed 1MB src 40M 20M")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("fill time"), "\(r.stdout)")
        #expect(r.stdout.contains("time to fill at 976.6 KiB/s: "), "\(r.stdout)")
        let measured = try s.sh("truncate -s 64M dev.img && seed-split --plan --estimate-from src --volume-size 40M --measure-speed dev.img")
        #expect(measured.status == 0, "\(measured.stderr)")
        #expect(measured.stdout.contains("measured 'dev.img': reads "), "\(measured.stdout)")
    }

    @Test func drivesFromReadsSizesAndDevicePaths() throws {
        let s = try Scratch()
        try tree(s)
        try s.sh("truncate -s 7M disk1 && printf '# the bays\\n%s/disk1\\n6M  # bay 2\\n\\n9000000\\n8M\\n8M\\n' \"$PWD\" > drives")
        let sizes = try ship(s, "--drives-from drives")
        let drives = [7 << 20, 6 << 20, 9_000_000, 8 << 20, 8 << 20]
        for (i, size) in sizes.enumerated() { #expect(size + writerBudget <= drives[i], "volume \(i + 1)") }
        let begins = try StreamSurgery.records(s.path("e.seed")).filter { $0.header.kind == .volumeBegin }
        let caps = try begins.map { r in try r.payload.withUnsafeBytes { try VolumeBegin.decode($0, record: "") }.capacity }
        #expect(caps == drives.prefix(caps.count).map(UInt64.init))
    }

    @Test func badSizesAreUsageErrors() throws {
        let s = try Scratch()
        for args in ["--volume-size 3X", "--drives 4T,,2T", "--volume-size 4T --drives-from nowhere"] {
            let r = try s.sh("seed-split \(args) < /dev/null")
            #expect(r.status == 64 || r.status == 66, "\(args): \(r.status)")
            #expect(r.stderrLines.first?.hasPrefix("seed-split: error: ") == true, "\(args): \(r.stderr)")
        }
        #expect(try s.sh("seed-split < /dev/null").stderr.contains("no drive size given"))
    }
}
