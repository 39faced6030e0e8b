import Foundation
import Testing

let examplesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("examples").path

/// The recipes of examples/, and scripts/seed-report, run as a user runs them.
@Suite struct RecipeTests {
    /// Three trees of different sizes in src/t1..t3, and the trees and bays
    /// files naming them and four drive files (t3 takes two).
    func trees(_ s: Scratch) throws {
        let r = try s.sh(
            """
            for t in 1 2 3; do
              mkdir -p src/t$t/sub
              for i in $(seq 1 $((t * 2))); do seq $((i * 7000)) $((i * 7000 + 150000 * t)) > src/t$t/sub/text$i; head -c 1500000 /dev/urandom > src/t$t/r$i; done
            done
            printf 't1 %s/src/t1\\nt2 %s/src/t2\\n# the big one\\nt3 %s/src/t3\\n' "$PWD" "$PWD" "$PWD" > trees
            printf 't1 d1\\nt2 d2\\nt3 d3\\n' > bays
            """)
        try #require(r.status == 0, "\(r.stderr)")
    }

    var make: String { "make -s -f '\(examplesDir)/Makefile' VOLUME_SIZE=8M" }

    @Test func makeSeedsEveryTreeGoesOnAfterAKillAndThenLeavesTheDrivesAlone() throws {
        let s = try Scratch()
        try trees(s)
        // Killed with SIGKILL, make and every pipeline of it, once the first
        // tree's journal is being written.
        let killed = try s.sh(
            """
            setsid \(make) -j3 LEVEL=-19 > first.log 2>&1 & pid=$!
            for i in $(seq 1 600); do ls state/*.J/*.jrn > /dev/null 2>&1 && break; sleep 0.05; done
            kill -KILL -- -$pid; wait $pid; echo $?
            ls state/*.seeded 2> /dev/null | wc -l
            """)
        #expect(killed.stdout.hasPrefix("137\n"), "\(killed.stdout)\(killed.stderr)")
        #expect(killed.stdout.hasSuffix("0\n") || killed.stdout.hasSuffix("1\n") || killed.stdout.hasSuffix("2\n"), "\(killed.stdout)")
        // t3 takes two drives and its bays line names one: status 3, then
        // its second drive added, the run goes on from where it was.
        let short = try s.sh("\(make) -j3; echo $?")
        #expect(
            !short.stdout.hasSuffix("\n0\n") && short.stderr.contains("t3: the next drive is needed: add it to its line in bays"),
            "\(short.stdout)\(short.stderr)")
        #expect(s.exists("state/t1.seeded") && s.exists("state/t2.seeded") && !s.exists("state/t3.seeded"))
        let again = try s.sh("printf 't1 d1\\nt2 d2\\nt3 d3 d4\\n' > bays && \(make) -j3; echo $?")
        #expect(again.stdout.hasSuffix("0\n"), "\(again.stdout)\(again.stderr)")
        for t in ["t1", "t2", "t3"] { #expect(s.exists("state/\(t).seeded"), "\(t)") }
        // A third run writes nothing.
        let sums = try s.sh("sha256sum d1 d2 d3 d4 state/*.J/*.jrn").stdout
        let third = try s.sh("\(make) -j3 2>&1; echo $?")
        #expect(third.stdout == "0\n", "\(third.stdout)")
        #expect(try s.sh("sha256sum d1 d2 d3 d4 state/*.J/*.jrn").stdout == sums)
        // A drive the writer never reached under whole journals (as when it
        // is killed just then): the tree's tail goes again onto it.
        let lost = try s.sh("rm d2 state/t2.seeded && \(make) -j3; echo $?")
        #expect(lost.stdout.hasSuffix("0\n"), "\(lost.stdout)\(lost.stderr)")
        #expect(lost.stderr.contains("t2: a drive was left unfinished: its tail goes again"), "\(lost.stderr)")
        #expect(s.exists("state/t2.seeded"))
        // The arrival check is clean, and every tree comes back whole.
        let check = try s.sh("\(make) check; echo $?; jq -r .ok state/t1.check.json state/t2.check.json state/t3.check.json")
        #expect(check.stdout == "0\ntrue\ntrue\ntrue\n", "\(check.stdout)\(check.stderr)")
        #expect(try s.sh("jq '.volumes | length' state/t3.check.json").stdout == "2\n")
        for (t, drives) in [("t1", "d1"), ("t2", "d2"), ("t3", "d3 d4")] {
            let back = try s.sh("seed-writeblk -d \(drives) | seed-split -d | seed-compress -d | seed-snapshot -x out/\(t); echo ${PIPESTATUS[*]}")
            #expect(back.stdout == "0 0 0 0\n", "\(t): \(back.stderr)")
            expectSameTree(s.path("src/\(t)"), s.path("out/\(t)"))
        }
    }

    @Test func aShareCutIntoPartsRunByGNUParallelComesBackAsOneTree() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir -p share/a/b share/'we[ir]d*' share/'x y' share/empty
            head -c 3000000 /dev/urandom > share/a/b/big; head -c 1000000 /dev/urandom > share/'we[ir]d*'/f
            echo top > share/topfile; echo hi > share/'x y'/z; printf 'nl' > share/"$(printf 'new\\nline')"; ln -s a share/link
            '\(examplesDir)/seed-share' cut share 3 cuts 2> cut.log; echo cut $?
            mkdir st
            parallel --will-cite --sshlogin : --workdir . \\
              "'\(examplesDir)/seed-share' snapshot cuts {} share --index-file st/part{}.idx | seed-compress -o st/part{}.seed" ::: 1 2 3; echo parallel $?
            for i in 1 2 3; do seed-compress -d < st/part$i.seed | seed-snapshot -x restore || echo restore failed; done
            for i in 1 2 3; do seed-snapshot --compare restore st/part$i.idx || echo compare failed; done
            """)
        #expect(r.stdout == "cut 0\nparallel 0\n", "\(r.stdout)\(r.stderr)")
        expectSameTree(s.path("share"), s.path("restore"))
        // Every entry in one session alone, but the root, in every one.
        let entries = try s.sh(
            "for i in 1 2 3; do seed-snapshot -t st/part$i.seed; done | sort | uniq -c | sed 's/^ *//' | sort -u -k1,1n | cut -d' ' -f1 | sort -u")
        #expect(entries.stdout == "1\n3\n", "\(entries.stdout)")
        let root = try s.sh("for i in 1 2 3; do seed-snapshot -t st/part$i.seed; done | grep -cx '[.]'")
        #expect(root.stdout == "3\n")
        let all = try s.sh(
            "cd share && find . | sed 's|^[.]/||' | sort > ../want; cd .. && for i in 1 2 3; do seed-snapshot -t st/part$i.seed; done | sort -u | diff want - && echo same"
        )
        #expect(all.stdout == "same\n", "\(all.stdout)")
    }

    /// An entry made after the cut goes to the last part, and to it alone.
    @Test func anEntryMadeAfterTheCutGoesToTheLastPartAlone() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir -p share/a share/b share/c && for d in a b c; do head -c 100000 /dev/urandom > share/$d/f; done
            '\(examplesDir)/seed-share' cut share 2 cuts 2> /dev/null
            mkdir share/new-since
            for i in 1 2; do echo "part $i"; '\(examplesDir)/seed-share' list cuts $i share; done
            """)
        let parts = r.stdout.components(separatedBy: "part 2\n")
        #expect(parts.count == 2 && !parts[0].contains("new-since") && parts[1].contains("new-since\n"), "\(r.stdout)")
    }

    @Test func aShareWithATopLevelNameThatIsNotUTF8IsRefused() throws {
        let s = try Scratch()
        let r = try s.sh("mkdir -p share && touch \"share/$(printf 'caf\\xe9')\" && '\(examplesDir)/seed-share' cut share 2 cuts")
        #expect(r.status == 65)
        #expect(r.stderr.contains("is not UTF-8"), "\(r.stderr)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze"))
    func theSystemdUnitsVerify() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            cp '\(examplesDir)/systemd/seed-window@.service' seed-window@files.service
            cp '\(examplesDir)/systemd/seed-window@.timer' seed-window@files.timer
            systemd-analyze verify --man=no ./seed-window@files.service ./seed-window@files.timer
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "", "\(r.stderr)")
    }

    @Test func seedReportIsOneWellFormedPageHoldingWhatTheJournalsSay() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && for i in $(seq 1 20); do head -c 1000000 /dev/urandom > src/f$i; done
            printf 'x' > "src/$(printf 'caf\\xe9')"
            seed-snapshot --record-size 256K src | seed-compress -o files.seed
            \(scriptsDir)/seed-window --max-duration 0.05s --staging files.seed --journal-dir J --volume-size 12M d1 d2 > /dev/null
            \(scriptsDir)/seed-window --max-duration 60s --staging files.seed --journal-dir J --volume-size 12M d1 d2 > /dev/null; echo $?
            seed-writeblk -d d1 d2 | seed-journal --check J --report check.json > /dev/null
            seed-writeblk -d d1 d2 | seed-split -d | seed-compress -d | seed-snapshot -x out --log-json J/events.jsonl --only nothing-such
            \(scriptsDir)/seed-report --check check.json J > report.html; echo $?
            jq -s '[.[] | select(.tool == "seed-writeblk" and .event == "start")] | length' J/events.jsonl > runs
            """)
        #expect(r.stdout == "0\n0\n", "\(r.stdout)\(r.stderr)")
        let page = try s.sh(
            """
            python3 - <<'EOF'
            import xml.etree.ElementTree as E
            ns = {'h': 'http://www.w3.org/1999/xhtml', 's': 'http://www.w3.org/2000/svg'}
            r = E.parse('report.html').getroot()
            print(r.find('.//h:code[@id="session"]', ns).text)
            for tr in r.findall('.//h:table[@id="volumes"]/h:tr[@data-volume]', ns):
                print(tr.get('data-volume'), tr.get('data-records'), ''.join(tr.itertext()).count('complete'))
            print(len(r.find('.//s:polyline', ns).get('points').split()) >= 4)
            print(len(r.findall('.//h:table[@id="runs"]/h:tr', ns)) - 1 == int(open('runs').read()))
            print(''.join(r.find('.//h:table[@id="trouble"]', ns).itertext()).count('nothing-such'))
            EOF
            """)
        #expect(page.status == 0, "\(page.stderr)")
        let journals = try s.sh(
            """
            jq -r 'select(.type == "volume") | .session' J/*.v001.jrn
            for j in J/*.jrn; do echo "$(jq -r 'select(.type == "volume") | .volume' $j) $(grep -c '"type":"record"' $j) 1"; done
            """)
        #expect(page.stdout == journals.stdout + "True\nTrue\n1\n", "\(page.stdout) against \(journals.stdout)")
    }

    /// A damaged record on a drive: the check names it with its files, once
    /// each, and the page shows the damage and the files it hits.
    @Test func seedReportShowsDamageWithTheFilesItHits() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src J && for i in $(seq 1 20); do head -c 1000000 /dev/urandom > src/f$i; done
            seed-snapshot -q --record-size 256K --index-file idx.seed src | seed-compress -q -o files.seed
            seed-split -q --volume-size 12M < files.seed | seed-journal -q --journal-dir J --index idx.seed --log-json J/events.jsonl \\
              | seed-writeblk -q --log-json J/events.jsonl d1 d2
            for j in J/*.jrn; do jq -r 'select(.type == "file") | .path' $j | sort | uniq -d; done | wc -l
            printf '\\377' | dd of=d1 bs=1 seek=3000000 conv=notrunc 2> /dev/null
            seed-writeblk -d d1 d2 | seed-journal --check J --report check.json --log-json J/events.jsonl > /dev/null 2>&1; echo $?
            \(scriptsDir)/seed-report --check check.json J > report.html; echo $?
            jq -r '.volumes[].damaged[].files[]' check.json | sort -u | paste -sd, -
            jq -r 'select(.event == "error" and .code == "record-damaged") | .record' J/events.jsonl
            jq -r '.volumes[].damaged[].seq' check.json
            """)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 6, "\(r.stdout)\(r.stderr)")
        #expect(lines[0] == "0", "a file named twice in the journals")
        #expect(lines[1] == "65" && lines[2] == "0", "\(r.stdout)")
        #expect(!lines[3].isEmpty && lines[4] == lines[5], "\(r.stdout)")
        let page = try s.sh(
            """
            python3 - <<'EOF'
            import xml.etree.ElementTree as E
            ns = {'h': 'http://www.w3.org/1999/xhtml'}
            r = E.parse('report.html').getroot()
            for tr in r.findall('.//h:table[@id="trouble"]/h:tr', ns):
                cells = [''.join(td.itertext()) for td in tr.findall('h:td', ns)]
                if len(cells) > 2 and cells[2] == 'damage': print(','.join(sorted(set(cells[4].split(', ')))))
            EOF
            """)
        #expect(page.stdout == lines[3] + "\n", "\(page.stdout)\(page.stderr)")
    }
}
