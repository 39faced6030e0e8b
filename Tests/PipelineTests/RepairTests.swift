import Foundation
import Testing

/// seed-snapshot --repair and applying a repair bundle (seed-snapshot(1),
/// REPAIR): what a courier damaged comes back without shipping the seed again.
@Suite struct RepairTests {
    /// A tree with hard links, shipped encrypted to d1 d2 with its index
    /// stream beside it; then one byte flipped inside data record 5 on d1.
    func damaged(_ s: Scratch) throws {
        let r = try s.sh(
            flipByte + """
                mkdir -p src/a/b src/c && for i in $(seq 1 30); do head -c $((i * 37000)) /dev/urandom > src/a/f$i; done
                head -c 2000000 /dev/urandom > src/a/b/big && ln src/a/b/big src/c/link && echo x > src/c/small
                chmod 750 src/a/b && touch -d 2020-01-02 src/a src/a/b src/c
                seed-encrypt --keygen dc.key > /dev/null
                seed-snapshot --record-size 256K --index-file idx.seed src | seed-compress | seed-split --volume-size 12M \
                  | seed-encrypt -r dc.key.pub | seed-journal --journal-dir J --index idx.seed | seed-writeblk d1 d2 d3 2> /dev/null
                base=$(head -c 4096 d1 | sed -n 's/^stream-offset: //p')
                off=$(grep '"dataRecord":5,' J/*.v001.jrn | sed 's/.*"offset":\\([0-9]*\\).*/\\1/')
                flip d1 $((base + off + 1000))
                seed-writeblk -d d1 d2 | seed-journal --check J --report check.json > /dev/null
                """)
        // The check finds the damage: status 65, and a report naming it.
        try #require(r.status == 65 && s.exists("check.json"), "\(r.stderr)")
    }

    var session: String { "$(jq -r .session check.json)" }
    let restore = "seed-snapshot -x out --from d1 --from d2 --journal-dir J -i dc.key"
    let apply = "seed-encrypt -d -i dc.key < repair.seed | seed-compress -d | seed-snapshot -x out"

    @Test func aRestoreFromADamagedDriveNamesWhatItLeftOutAndRestoresTheRest() throws {
        let s = try Scratch()
        try damaged(s)
        let r = try s.sh(restore)
        #expect(r.status == 65)
        #expect(r.stderr.contains("does not match its journal (damaged on the drive)"), "\(r.stderr)")
        #expect(r.stderr.contains("entries not restored, for damaged records"), "\(r.stderr)")
        // Whatever is not named came back whole.
        let left = r.stderrLines.filter { $0.contains(": not restored: ") }.count
        #expect(left > 0)
        let restored = try s.sh("cd out && find . -type f | wc -l").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let all = try s.sh("cd src && find . -type f | wc -l").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int(restored)! + left == Int(all)!, "\(r.stderr)")
        #expect(try s.sh("cd src && for f in $(cd ../out && find . -type f); do cmp $f ../out/$f || exit 1; done").status == 0)
    }

    @Test func aRepairBundleFromTheCheckReportMakesTheRestoreWhole() throws {
        let s = try Scratch()
        try damaged(s)
        try s.sh(restore)
        let r = try s.sh(
            """
            seed-snapshot --repair check.json --index idx.seed src | seed-compress | seed-encrypt -r dc.key.pub > repair.seed
            \(apply) --session \(session)
            """)
        #expect(r.status == 0, "\(r.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
        // Held against the seed's own index, the restore is now clean.
        let clean = try s.sh("seed-snapshot --compare out idx.seed")
        #expect(clean.status == 0 && clean.stdout.isEmpty, "\(clean.stdout) \(clean.stderr)")
        // Small beside what it mends: the damaged entries and the directories above them.
        let sizes = try s.sh(
            """
            stat -c %s repair.seed
            seed-encrypt -d -i dc.key < repair.seed | seed-compress -d | seed-snapshot -t | grep -v '/$' | while read p; do [ -f "src/$p" ] && [ ! -L "src/$p" ] && stat -c %s "src/$p"; done | sort -u | paste -sd+ | bc
            """
        ).stdout.split(separator: "\n").compactMap { Int($0) }
        try #require(sizes.count == 2)
        #expect(sizes[0] < 2 * sizes[1] + 64 * 1024, "bundle \(sizes[0]) bytes for \(sizes[1]) bytes of damaged files")
        // The bundle carries what the report names, and what it links to.
        let listed = try s.sh("seed-encrypt -d -i dc.key < repair.seed | seed-compress -d | seed-snapshot -t").stdout
        #expect(listed.contains("a/b/big\n") && listed.contains("c/link\n"), "\(listed)")
        #expect(!listed.contains("c/small"), "\(listed)")
    }

    @Test func aRepairOfAnotherSessionIsRefusedBeforeAnythingIsWritten() throws {
        let s = try Scratch()
        try damaged(s)
        try s.sh("seed-snapshot --repair check.json --index idx.seed src > repair.seed")
        let other = try s.sh("seed-snapshot -x out --session 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9 < repair.seed")
        #expect(other.status == 65)
        #expect(other.stderr.contains("is a repair of session"), "\(other.stderr)")
        #expect(try s.sh("find out -type f 2>/dev/null | wc -l").stdout == "0\n")
        let unsaid = try s.sh("seed-snapshot -x out < repair.seed")
        #expect(unsaid.status == 64)
        #expect(unsaid.stderr.contains("give --session"), "\(unsaid.stderr)")
        let notRepair = try s.sh("seed-snapshot src | seed-snapshot -x out2 --session \(session)")
        #expect(notRepair.status == 65)
        #expect(notRepair.stderr.contains("is not a repair bundle"), "\(notRepair.stderr)")
    }

    @Test func withoutTheIndexTheBundleBringsTheFilesTheReportNames() throws {
        let s = try Scratch()
        try damaged(s)
        try s.sh(restore)
        let r = try s.sh("seed-snapshot --repair check.json src > repair.seed && seed-snapshot -x out --session \(session) < repair.seed")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try s.sh("cmp src/a/b/big out/a/b/big").status == 0)
    }

    @Test func aFileChangedSinceTheSeedComesAsItIsNowWithAWarning() throws {
        let s = try Scratch()
        try damaged(s)
        let r = try s.sh("echo more >> src/a/b/big && seed-snapshot --repair check.json --index idx.seed src > repair.seed")
        #expect(r.status == 2)
        #expect(r.stderr.contains("'a/b/big': changed since the seed (its content changed)"), "\(r.stderr)")
    }

    @Test func aDamagedKeyRecordIsNotARepairsToMend() throws {
        let s = try Scratch()
        try damaged(s)
        try s.sh(
            """
            jq '.volumes[0].damaged[0].kind = "key"' check.json > k.json
            """)
        let r = try s.sh("seed-snapshot --repair k.json --index idx.seed src > repair.seed")
        #expect(r.status == 65)
        #expect(r.stderr.contains("which a repair cannot mend"), "\(r.stderr)")
    }
}
