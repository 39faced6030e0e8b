import Foundation
import SeedCore
import Testing

@testable import SeedKit

/// Drive sets (seed-writeblk(1), SETS): a volume's data drives written at
/// once, parity drives beside them, and the stream read back whole with
/// any members lost that the parity covers.
@Suite(.serialized) struct DriveSetTests {
    /// Ships the awkward tree and 12 MB more as sets of `k` data drives of
    /// 4 MiB and `m` parity drives, to files named s<set>m<member>.
    func shipSets(_ s: Scratch, k: Int, m: Int) throws -> (src: String, sets: Int) {
        let src = try s.awkwardTree()
        let r = try s.sh(
            """
            seed-encrypt --keygen dc.key > /dev/null && head -c 12000000 /dev/urandom > src/huge.bin &&
            seed-snapshot --record-size 1048576 src | seed-compress > staged.seed &&
            seed-split --drives \(Array(repeating: "4M", count: k).joined(separator: ",")) --parity \(m) --plan < staged.seed
            """)
        #expect(r.status == 0, "\(r.stderr)")
        let sets = Int(r.stdout.split(separator: "\n").last!.split(separator: " ")[1])!
        let targets = (1...sets).flatMap { v in (1...(k + m)).map { "s\(v)m\($0)" } }.joined(separator: " ")
        let ship = try shipToDrives(s, "--drives \(Array(repeating: "4M", count: k).joined(separator: ",")) --parity \(m)", targets)
        #expect(ship.status == 0, "\(ship.stderr)")
        return (src, sets)
    }

    /// The receiving pipeline from every member but those numbered in
    /// `lost`, in each set; each stage's status, and standard error.
    func receive(_ s: Scratch, sets: Int, members: Int, lost: [Int]) throws -> (statuses: String, stderr: String) {
        let given = (1...sets).flatMap { v in (1...members).filter { !lost.contains($0) }.map { "s\(v)m\($0)" } }.reversed()
        let r = try s.sh(
            """
            rm -rf out
            seed-writeblk -d \(given.joined(separator: " ")) | seed-journal --check J | seed-encrypt -d -i dc.key \
              | seed-split -d | seed-compress -d | seed-snapshot -x out
            echo "${PIPESTATUS[*]}"
            """)
        return (r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), r.stderr)
    }

    private func combinations(_ n: Int, _ k: Int) -> [[Int]] {
        guard k > 0 else { return [[]] }
        guard n >= k else { return [] }
        return combinations(n - 1, k - 1).map { $0 + [n] } + combinations(n - 1, k)
    }

    @Test(arguments: [(4, 1), (4, 2)])
    func theSeedRestoresWithAnyMembersLostThatParityCovers(_ k: Int, _ m: Int) throws {
        let s = try Scratch()
        let (src, sets) = try shipSets(s, k: k, m: m)
        #expect(sets >= 2)
        // Every member is labelled with the set's shape and its place.
        #expect(try s.sh("head -c 4096 s1m\(k + m) | grep -a -x 'set: \(k)+\(m)' && head -c 4096 s1m\(k + m) | grep -a -x 'member: \(k + m)'").status == 0)
        let whole = try receive(s, sets: sets, members: k + m, lost: [])
        #expect(whole.statuses == "0 0 0 0 0 0", "\(whole.stderr)")
        expectSameTree(src, s.path("out"))
        for n in 1...m {
            for lost in combinations(k + m, n) {
                let r = try receive(s, sets: sets, members: k + m, lost: lost)
                // Rebuilding a data member is a warning (2); parity members lost cost nothing.
                let rebuilt = lost.contains { $0 <= k }
                #expect(r.statuses == (rebuilt ? "2 0 0 0 0 0" : "0 0 0 0 0 0"), "members \(lost) lost: \(r.stderr)")
                if rebuilt {
                    let named = lost.filter { $0 <= k }.map(String.init).joined(separator: ", ")
                    #expect(
                        r.stderr.contains("data member\(lost.filter { $0 <= k }.count == 1 ? "" : "s") \(named) of its \(k)+\(m) set rebuilt"), "\(r.stderr)")
                }
                expectSameTree(src, s.path("out"))
            }
        }
    }

    @Test func damageOnTwoMembersInDifferentStripesIsMendedAndNamed() throws {
        let s = try Scratch()
        let (src, sets) = try shipSets(s, k: 3, m: 1)
        // Zeroed sectors in member 1's first stripe, two bytes flipped in
        // member 2's second.
        let r = try s.sh(
            """
            dd if=/dev/zero of=s1m1 bs=512 seek=$(( (1048576 + 300000) / 512 )) count=40 conv=notrunc status=none &&
            printf '\\377\\376' | dd of=s1m2 bs=1 seek=$(( 1048576 + 1048576 + 500000 )) conv=notrunc status=none
            """)
        #expect(r.status == 0, "\(r.stderr)")
        let back = try receive(s, sets: sets, members: 4, lost: [])
        #expect(back.statuses == "2 0 0 0 0 0", "\(back.stderr)")
        #expect(back.stderr.contains("volume 1: stripe 0 of member 1 mended from the others (record "), "\(back.stderr)")
        #expect(back.stderr.contains("volume 1: stripe 1 of member 2 mended from the others (record "), "\(back.stderr)")
        #expect(back.stderr.components(separatedBy: "mended").count == 3, "\(back.stderr)")
        expectSameTree(src, s.path("out"))
    }

    @Test func sectorsThatCannotBeReadAreMendedFromTheOthers() throws {
        let s = try Scratch()
        _ = try shipSets(s, k: 3, m: 1)
        let label = try #require(try Target.readLabel(s.path("s1m3")))
        let bad = off_t(label.streamOffset) + 600_064..<off_t(label.streamOffset) + 601_088
        let victim = open(s.path("s1m3"), O_RDONLY)
        defer { close(victim) }
        var o = WriteOptions()
        o.decode = true
        o.targets = (1...4).map { s.path("s1m\($0)") }
        o.partial = true
        o.io.output = s.path("set1.seed")
        o.testPread = { fd, p, n, at in
            var a = stat()
            var b = stat()
            fstat(fd, &a)
            fstat(victim, &b)
            if a.st_ino == b.st_ino && at < bad.upperBound && at + off_t(n) > bad.lowerBound {
                errno = EIO
                return -1
            }
            return pread(fd, p, n, at)
        }
        let status = try BlockReader.run(o, diag: Diagnostics(tool: "test"))
        #expect(status == .warnings)
        let whole = try s.sh("seed-writeblk -d --partial s1m1 s1m2 s1m3 s1m4 | cmp - set1.seed")
        #expect(whole.status == 0, "\(whole.stdout)")
    }

    @Test func aRebuiltMemberIsByteIdenticalToTheOneLost() throws {
        let s = try Scratch()
        _ = try shipSets(s, k: 3, m: 1)
        for lost in [1, 4] {
            let r = try s.sh(
                """
                sum=$(sha256sum < s1m\(lost)) && rm s1m\(lost) &&
                seed-writeblk --rebuild new $(ls s1m? | sort) && [ "$(sha256sum < new)" = "$sum" ] && mv new s1m\(lost)
                """)
            #expect(r.status == 0, "member \(lost): \(r.stderr)")
            #expect(r.stderr.contains("member \(lost) of volume 1 rebuilt on 'new' from members"), "\(r.stderr)")
        }
        #expect(try s.sh("seed-writeblk --scrub $(ls s?m?)").status == 0)
    }

    @Test func aRebuildWithTwoMembersMissingMustBeToldWhich() throws {
        let s = try Scratch()
        _ = try shipSets(s, k: 2, m: 2)
        let r = try s.sh("seed-writeblk --rebuild new s1m1 s1m3")
        #expect(r.status == 64)
        #expect(r.stderr.contains("members 2, 4 of volume 1 are missing: say which to rebuild"), "\(r.stderr)")
        #expect(try s.sh("seed-writeblk --rebuild new --member 4 s1m1 s1m3 && cmp new s1m4").status == 0)
    }

    @Test func scrubOfAWholeSetIsCleanAndNamesAFlippedParityByte() throws {
        let s = try Scratch()
        _ = try shipSets(s, k: 3, m: 1)
        let clean = try s.sh("seed-writeblk --scrub $(ls s?m?)")
        #expect(clean.status == 0, "\(clean.stderr)")
        let r = try s.sh(
            """
            printf '\\001' | dd of=s1m4 bs=1 seek=$(( 1048576 + 1048576 + 4242 )) conv=notrunc status=none
            seed-writeblk --scrub $(ls s?m?)
            """)
        #expect(r.status == 65)
        #expect(r.stderr.contains("volume 1: stripe 1: parity member 4 does not match the data members; records in it:"), "\(r.stderr)")
        #expect(r.stderr.contains("1 inconsistency found"), "\(r.stderr)")
    }

    @Test func scrubWithTheJournalsHoldsEveryRecordToItsLine() throws {
        let s = try Scratch()
        _ = try shipSets(s, k: 3, m: 1)
        let clean = try s.sh("seed-writeblk --scrub --journal-dir J $(ls s?m?)")
        #expect(clean.status == 0, "\(clean.stderr)")
        let r = try s.sh(
            """
            printf '\\001' | dd of=s1m2 bs=1 seek=$(( 1048576 + 600000 )) conv=notrunc status=none
            seed-writeblk --scrub --journal-dir J s1m1 s1m2 s1m3 s1m4
            """)
        #expect(r.status == 65)
        #expect(r.stderr.contains("volume 1, member 2: record "), "\(r.stderr)")
        #expect(r.stderr.contains("of its stream does not match its journal"), "\(r.stderr)")
    }

    @Test func moreMembersLostThanParityNameTheMissingMembers() throws {
        let s = try Scratch()
        let (_, sets) = try shipSets(s, k: 3, m: 1)
        let r = try receive(s, sets: sets, members: 4, lost: [2, 4])
        #expect(r.statuses.hasPrefix("65 "), "\(r.stderr)")
        #expect(r.stderr.contains("volume 1 is a set of 3+1 drives and members 2, 4 are missing: any 3 of its 4 are needed"), "\(r.stderr)")
    }

    @Test func membersOfDifferentSetsAreNeverReadTogether() throws {
        let s = try Scratch()
        _ = try shipSets(s, k: 2, m: 1)
        // The same staged stream, as a 2+2 set: the same session and volume.
        let r = try s.sh(
            """
            { seed-split --drives 4M,4M --parity 2 < staged.seed | seed-writeblk t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11 t12 t13 t14 t15 t16; } > /dev/null 2>&1
            seed-writeblk -d --partial s1m1 t2 t3 > /dev/null
            """)
        #expect(r.status == 65)
        #expect(r.stderr.contains("members of different sets are never read together"), "\(r.stderr)")
    }

    @Test func labelsThatDisagreeWithTheirStreamAreRefused() throws {
        let s = try Scratch()
        _ = try shipSets(s, k: 2, m: 1)
        // Every member's label made to say bigger drives, its checksum whole.
        for m in 1...3 {
            let path = s.path("s1m\(m)")
            var label = try #require(try Target.readLabel(path))
            label.capacity += 1 << 20
            let fd = open(path, O_WRONLY)
            let bytes = label.encoded()
            #expect(pwrite(fd, bytes, bytes.count, 0) == bytes.count)
            close(fd)
        }
        let r = try s.sh("seed-writeblk -d --partial s1m1 s1m2 s1m3 > /dev/null")
        #expect(r.status == 65)
        #expect(r.stderr.contains("the labels do not belong to the stream"), "\(r.stderr)")
    }

    @Test func twoCopiesOfOneMemberAreNeverReadTogether() throws {
        let s = try Scratch()
        _ = try shipSets(s, k: 2, m: 1)
        for command in ["-d", "--scrub", "--rebuild new"] {
            let r = try s.sh("cp s1m1 copy && seed-writeblk \(command) s1m1 copy s1m2 > /dev/null")
            #expect(r.status == 65, "\(command)")
            #expect(r.stderr.contains("'copy' and 's1m1' both hold member 1 of volume 1"), "\(command): \(r.stderr)")
        }
    }

    @Test func oneDriveNamedTwiceForASetIsRefused() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && echo hi > src/a && seed-snapshot --record-size 1048576 src | seed-split --drives 4M,4M --parity 1 | seed-writeblk a b a
            """)
        #expect(r.status == 64)
        #expect(r.stderr.contains("'a' and 'a' are the same drive"), "\(r.stderr)")
    }

    @Test func thePlanCountsSetsAndDrives() throws {
        let s = try Scratch()
        let r = try s.sh(
            "mkdir src && head -c 9000000 /dev/urandom > src/a && seed-snapshot --record-size 1048576 src | seed-split --drives 4M,4M,5M --parity 1 --plan")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("needs 2 sets of 3+1 drives: 8 drives, 3 data and 1 parity in each"), "\(r.stdout)")
    }

    /// A 3+1 set of 24 MiB drives holding a small file first and 40 MB
    /// after it, in 64 KiB records, with the index stream beside it.
    func shipOneSet(_ s: Scratch) throws {
        let r = try s.sh(
            """
            seed-encrypt --keygen dc.key > /dev/null && mkdir src && seq 1 2000 > src/a.txt && head -c 40000000 /dev/urandom > src/b.bin &&
            seed-snapshot --record-size 65536 --index-file idx.seed src | seed-compress > staged.seed &&
            seed-split --drives 24M,24M,24M --parity 1 < staged.seed | seed-encrypt -r dc.key.pub \
              | seed-journal --journal-dir J --index staged.seed | seed-writeblk m1 m2 m3 m4
            """)
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func theJournalNamesEachRecordsMemberAndOffset() throws {
        let s = try Scratch()
        try shipOneSet(s)
        let lines = try s.sh("cat J/*.jrn").stdout.split(separator: "\n")
        #expect(lines[0].contains("\"set\":{\"data\":3,\"parity\":1,\"stripe\":1048576}"), "\(lines[0])")
        // Shared records lie on every member; the first data records are dealt 1, 2, 3.
        #expect(lines[1].contains("\"memberOffsets\":[0,0,0]") && lines[1].contains("volume-begin"), "\(lines[1])")
        let data = lines.filter { $0.contains("\"kind\":\"data\"") }
        #expect(data.prefix(3).map { $0.contains("\"member\":1,") && !$0.contains("memberOffsets") } == [true, false, false])
        #expect(data[1].contains("\"member\":2,") && data[2].contains("\"member\":3,"))
        // The end line names every member's length, the parity member's too.
        let end = try #require(lines.first { $0.contains("\"type\":\"end\"") })
        let parity = try s.sh("head -c 4096 m4 | grep -a '^stream-bytes: ' | cut -d' ' -f2").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(end.contains("\"memberBytes\":[") && end.contains(",\(parity)]"), "\(end) \(parity)")
        // Each record lies on its member where the journal says.
        let r = try s.sh(
            """
            off=$(grep -m1 '"kind":"data"' J/*.jrn | sed 's/.*"memberOffset":\\([0-9]*\\).*/\\1/')
            sum=$(grep -m1 '"kind":"data"' J/*.jrn | sed 's/.*"sha256":"\\([0-9a-f]*\\)".*/\\1/')
            len=$(grep -m1 '"kind":"data"' J/*.jrn | sed 's/.*"length":\\([0-9]*\\).*/\\1/')
            at=$(( $(head -c 4096 m1 | grep -a '^stream-offset:' | cut -d' ' -f2) + off ))
            [ "$(tail -c +$(( at + 1 )) m1 | head -c $len | sha256sum | cut -d' ' -f1)" = "$sum" ]
            """)
        #expect(r.status == 0, "\(r.stderr)")
        // A journal that puts a record elsewhere than the rule does is refused.
        let moved = try s.sh(
            """
            sed -i '0,/"member":1,/s//"member":2,/' J/*.jrn
            seed-writeblk -d m1 m2 m3 m4 | seed-journal --check J > /dev/null
            """)
        #expect(moved.status == 65)
        #expect(moved.stderr.contains("is not where the set's placement rule puts it"), "\(moved.stderr)")
    }

    @Test func oneDataMemberAloneIsCheckedAndGivesBackAFileItHolds() throws {
        let s = try Scratch()
        try shipOneSet(s)
        for m in 1...3 {
            let r = try s.sh("seed-writeblk -d --partial m\(m) | seed-journal --check J > /dev/null; echo ${PIPESTATUS[*]}")
            #expect(r.stdout == "0 0\n", "member \(m): \(r.stderr)")
            let others = (1...3).filter { $0 != m }.map(String.init).joined(separator: ", ")
            #expect(r.stderr.contains("volume 1: data members \(others) not given: "), "\(r.stderr)")
        }
        // The first data record is on member 1, and a.txt is in it.
        let one = try s.sh("seed-snapshot -v -x out --only a.txt --from m1 --journal-dir J --index idx.seed -i dc.key && cmp out/a.txt src/a.txt")
        #expect(one.status == 0, "\(one.stderr)")
        let share = try #require(one.stderr.split(separator: "\n").first { $0.contains("read ") && $0.contains(" set (") })
        let percent = try #require(Double(share.split(separator: "(").last!.dropLast(2)))
        #expect(percent < 1, "\(share)")
        let elsewhere = try s.sh("seed-snapshot -x out2 --only a.txt --from m2 --journal-dir J --index idx.seed -i dc.key")
        #expect(elsewhere.status == 3)
        #expect(elsewhere.stderr.contains("lies on data member 1 of the volume's 3+1 set: give that drive, or any 3 of the set"), "\(elsewhere.stderr)")
    }

    @Test func aRecordDamagedOnTheOneMemberGivenIsNamedByTheCheck() throws {
        let s = try Scratch()
        try shipOneSet(s)
        let r = try s.sh(
            """
            printf '\\377' | dd of=m2 bs=1 seek=$(( 1048576 + 3000000 )) conv=notrunc status=none
            seed-writeblk -d --partial m2 | seed-journal --check J > /dev/null; echo ${PIPESTATUS[*]}
            """)
        // The member's reader cannot mend it alone and says so (65); the check names it.
        #expect(r.stdout == "65 65\n", "\(r.stderr)")
        #expect(r.stderr.contains("is damaged (digest mismatch); it carries 'b.bin'"), "\(r.stderr)")
    }

    @Test func randomAccessReadsThroughARebuiltMemberAndMendsADamagedOne() throws {
        let s = try Scratch()
        try shipOneSet(s)
        let rebuilt = try s.sh("seed-snapshot -x out --only a.txt --from m2 --from m3 --from m4 --journal-dir J --index idx.seed -i dc.key")
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(try s.sh("cmp out/a.txt src/a.txt").status == 0)
        let r = try s.sh(
            """
            printf '\\377' | dd of=m1 bs=1 seek=$(( 1048576 + 2000 )) conv=notrunc status=none
            seed-snapshot -x out2 --only a.txt --from m1 --from m2 --from m3 --from m4 --journal-dir J --index idx.seed -i dc.key
            """)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("does not match its journal (damaged on the drive): mended from the set's other members"), "\(r.stderr)")
        #expect(try s.sh("cmp out2/a.txt src/a.txt").status == 0)
    }

    @Test func tooManyMembersLostNameTheFilesLostAndTheRestComesBack() throws {
        let s = try Scratch()
        let ship = try s.sh(
            """
            seed-encrypt --keygen dc.key > /dev/null && mkdir src && for n in $(seq 10 49); do head -c 300000 /dev/urandom > src/f$n; done &&
            seed-snapshot --record-size 262144 --index-file idx.seed src | seed-compress > staged.seed &&
            seed-split --drives 2M,2M,2M --parity 1 < staged.seed | seed-encrypt -r dc.key.pub \
              | seed-journal --journal-dir J --index staged.seed | seed-writeblk $(for v in 1 2 3 4 5 6; do echo s${v}m1 s${v}m2 s${v}m3 s${v}m4; done) &&
            ls J | wc -l
            """)
        #expect(ship.status == 0, "\(ship.stderr)")
        #expect(Int(ship.stdout.trimmingCharacters(in: .whitespacesAndNewlines))! >= 2, "\(ship.stdout)")
        try s.sh("rm s2m1 s2m3")
        let drives = try s.sh("ls s?m?").stdout.split(separator: "\n").map(String.init)
        let stream = try s.sh("seed-writeblk -d \(drives.joined(separator: " ")) > /dev/null")
        #expect(stream.status == 65)
        #expect(stream.stderr.contains("volume 2 is a set of 3+1 drives and members 1, 3 are missing: any 3 of its 4 are needed"), "\(stream.stderr)")
        // The files lost are those whose records the journal puts on members 1 and 3 of volume 2.
        var onLost = Set<UInt64>()
        var lost = Set<String>()
        let journal = try s.sh("cat J/*.v002.jrn").stdout.split(separator: "\n")
        for line in journal {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if o["kind"] as? String == "data", let m = o["member"] as? Int, m == 1 || m == 3 { onLost.insert((o["dataRecord"] as! NSNumber).uint64Value) }
            if o["type"] as? String == "file" {
                let (a, b) = ((o["firstData"] as! NSNumber).uint64Value, (o["lastData"] as! NSNumber).uint64Value)
                if onLost.contains(where: { $0 >= a && $0 <= b }) { lost.insert(o["path"] as! String) }
            }
        }
        #expect(!lost.isEmpty)
        let r = try s.sh("seed-snapshot -x out --partial \(drives.map { "--from " + $0 }.joined(separator: " ")) --journal-dir J --index idx.seed -i dc.key")
        #expect(r.status == 65)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasSuffix(": not restored: its data lies on a drive not given") }
        let named = Set(lines.map { String($0.split(separator: "'")[1]) })
        #expect(named == lost, "\(r.stderr)")
        #expect(r.stderr.contains("\(lost.count) entries not restored, for damaged records or drives not given"), "\(r.stderr)")
        for n in 10...49 where !lost.contains("f\(n)") {
            #expect(try s.sh("cmp src/f\(n) out/f\(n)").status == 0, "f\(n)")
        }
        for f in lost { #expect(!FileManager.default.fileExists(atPath: s.path("out/\(f)"))) }
    }

    /// Ships 300 MB as one 3+1 set from a staging file, and kills
    /// seed-writeblk once its first member holds `at` bytes.
    func shipKilled(_ s: Scratch, at: Int) throws {
        let r = try s.sh(
            """
            seed-encrypt --keygen dc.key > /dev/null && mkdir src && head -c 300000000 /dev/urandom > src/big.bin && seq 1 50000 > src/small.txt &&
            seed-snapshot src > staged.seed || exit 1
            seed-split --drives 110M,110M,110M --parity 1 < staged.seed | seed-encrypt -r dc.key.pub \
              | seed-journal -q --journal-dir J --checkpoint 8M \
              | { echo $BASHPID > writer.pid; exec seed-writeblk -q --checkpoint 8M m1 m2 m3 m4 2> /dev/null; } &
            until [ "$(stat -c %s m1 2> /dev/null || echo 0)" -ge \(at) ]; do sleep 0.01; done
            # This run's writer only: other tests run beside this one.
            kill -KILL "$(cat writer.pid)"; wait
            true
            """)
        #expect(r.status == 0, "\(r.stderr)")
    }

    func resumeShip(_ s: Scratch) throws -> ShellResult {
        try s.sh(
            """
            seed-split --drives 110M,110M,110M --parity 1 --resume J < staged.seed | seed-encrypt -r dc.key.pub \
              | seed-journal -q --journal-dir J --checkpoint 8M | seed-writeblk --checkpoint 8M m1 m2 m3 m4
            echo "${PIPESTATUS[*]}"
            """)
    }

    @Test func aSetWhoseMemberWasCutMidStripeResumesWithItsParityWhole() throws {
        let s = try Scratch()
        try shipKilled(s, at: 70_000_000)
        // Member 2 lost its last writes: cut in the middle of a stripe.
        try s.sh("truncate -s $(( $(stat -c %s m2) - 1048576 - 300000 )) m2")
        try expectResumedWhole(s, readBackFrom: "m1 m3 m4")
    }

    /// Resumes the set: every stage ends 0, --scrub finds every stripe's
    /// parity whole, and the tree comes back from `drives` (one member
    /// left out, rebuilt from the others: status 2).
    func expectResumedWhole(_ s: Scratch, readBackFrom drives: String) throws {
        let r = try resumeShip(s)
        #expect(r.stdout == "0 0 0 0\n", "\(r.stderr)")
        #expect(r.stderr.contains("resuming session"), "\(r.stderr)")
        let scrub = try s.sh("seed-writeblk --scrub --journal-dir J m1 m2 m3 m4")
        #expect(scrub.status == 0, "\(scrub.stderr)")
        let back = try s.sh(
            """
            seed-writeblk -d \(drives) | seed-journal --check J | seed-encrypt -d -i dc.key | seed-split -d | seed-snapshot -x out
            echo "${PIPESTATUS[*]}"
            """)
        #expect(back.stdout == "2 0 0 0 0\n", "\(back.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
    }

    @Test func aSetWhoseParityMemberEndsStripesBeforeItsDataResumesWithItsParityWhole() throws {
        let s = try Scratch()
        try shipKilled(s, at: 70_000_000)
        // The parity member lagged (or lost writes): it ends tens of
        // stripes before the data members, in the middle of one.
        try s.sh("truncate -s 30000000 m4")
        // Member 1 comes back from the parity.
        try expectResumedWhole(s, readBackFrom: "m2 m3 m4")
    }

    @Test func aSetWhoseMemberLostWritesTheJournalNamesIsNotResumedOverThem() throws {
        let s = try Scratch()
        try shipKilled(s, at: 70_000_000)
        try s.sh("truncate -s 20000000 m3")
        let r = try resumeShip(s)
        #expect(r.stdout == "141 141 141 74\n", "\(r.stderr)")
        #expect(r.stderr.contains("(member 3) does not hold volume 1 up to byte "), "\(r.stderr)")
        #expect(r.stderr.contains("(the drive lost writes the journal names)"), "\(r.stderr)")
    }

    @Test func aSetStoppedMidwayEndsEveryStageWith75AndResumesWhole() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            seed-encrypt --keygen dc.key > /dev/null && mkdir src && head -c 300000000 /dev/urandom > src/big.bin && seed-snapshot src > staged.seed || exit 1
            { { echo $BASHPID > split.pid; exec seed-split --drives 110M,110M,110M --parity 1 < staged.seed; } | seed-encrypt -r dc.key.pub \
              | seed-journal -q --journal-dir J --checkpoint 8M | seed-writeblk --checkpoint 8M m1 m2 m3 m4; echo "${PIPESTATUS[*]}" > statuses; } &
            until [ "$(stat -c %s m1 2> /dev/null || echo 0)" -ge 50000000 ]; do sleep 0.01; done
            kill -INT "$(cat split.pid)"; wait
            cat statuses; head -c 4096 m4 | grep -a '^state: '
            """)
        #expect(r.stdout == "75 75 75 75\nstate: writing\n", "\(r.stderr)")
        #expect(r.stderr.contains("volume 1: stopped on its set of 4 drives, synced"), "\(r.stderr)")
        let again = try resumeShip(s)
        #expect(again.stdout == "0 0 0 0\n", "\(again.stderr)")
        #expect(try s.sh("seed-writeblk --scrub --journal-dir J m1 m2 m3 m4").status == 0)
        let back = try s.sh(
            """
            seed-writeblk -d m2 m3 m4 | seed-journal --check J | seed-encrypt -d -i dc.key | seed-split -d | seed-snapshot -x out
            echo "${PIPESTATUS[*]}"
            """)
        #expect(back.stdout == "2 0 0 0 0\n", "\(back.stderr)")
        expectSameTree(s.path("src"), s.path("out"))
    }
}
