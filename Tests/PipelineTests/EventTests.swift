import Foundation
import Testing

/// seed(7), EVENTS: --log-json FILE on every tool, JSON Lines that hold to
/// the schema the page gives, read here from the page itself.
@Suite struct EventTests {
    /// The schema table of seed(7): event → member → (types, always).
    static func schema() throws -> [String: [String: (types: [String], always: Bool)]] {
        let page = try String(contentsOfFile: "\(manDir)/man7/seed.7", encoding: .utf8)
        let table = page.components(separatedBy: "events schema begins").last!.components(separatedBy: "events schema ends").first!
        var s: [String: [String: (types: [String], always: Bool)]] = [:]
        for line in table.split(separator: "\n") where !line.hasPrefix(".") && !line.hasPrefix("\\f") {
            let f = line.split(separator: "\t").map(String.init)
            guard f.count == 4 else { continue }
            s[f[0], default: [:]][f[1]] = (f[2].split(separator: "|").map(String.init), f[3] == "always")
        }
        return s
    }

    /// The schema as JSON for jq: {event: {member: {types, always}}}, with
    /// the members of `*` in every event.
    static func schemaJSON() throws -> String {
        let s = try schema()
        let common = s["*"] ?? [:]
        var out: [String: [String: [String: Any]]] = [:]
        for (event, members) in s where event != "*" {
            for (m, d) in members.merging(common, uniquingKeysWith: { a, _ in a }) {
                out[event, default: [:]][m] = ["types": d.types, "always": d.always]
            }
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Prints one line per fault of the events in FILE against the schema.
    static let validate = #"""
        . as $e | ($schema[$e.event] // null) as $s
        | if $s == null then "\($e.event): not an event of the schema"
          else
            ($s | to_entries[] | . as $d | select($d.value.always and (($e | has($d.key)) | not)) | "\($e.event): \($d.key) missing"),
            ($e | to_entries[] | . as $m | ($s[$m.key] // null) as $d
              | if $d == null then "\($e.event): \($m.key) is not in the schema"
                elif ($d.types | index($m.value | type)) == null then "\($e.event): \($m.key) is \($m.value | type), not \($d.types | join("|"))"
                else empty end)
          end
        """#

    /// Runs the schema check on `file` in `s`; returns the faults.
    func faults(_ s: Scratch, _ file: String) throws -> String {
        try s.write("schema.json", Array(try EventTests.schemaJSON().utf8))
        try s.write("validate.jq", Array(EventTests.validate.utf8))
        let r = try s.sh("jq -r --slurpfile all schema.json '$all[0] as $schema | \(EventTests.validate.replacingOccurrences(of: "'", with: "'\\''"))' \(file)")
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    /// A small tree, staged.
    func tree(_ s: Scratch) throws {
        let r = try s.sh(
            """
            mkdir -p src/a && head -c 40 /dev/urandom > kf
            for i in $(seq 1 12); do head -c 1000000 /dev/urandom > src/a/f$i; done
            printf 'caf\\xe9' > name && touch "src/$(cat name)"
            """)
        try #require(r.status == 0, "\(r.stderr)")
    }

    @Test func everyEventTypeIsProducedAndHoldsToTheSchema() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh(
            """
            L="--log-json ev.jsonl"
            seed-snapshot $L --record-size 256K src | seed-compress $L -1 | seed-split $L --volume-size 8M \
              | seed-encrypt $L --key-file kf | seed-journal $L --journal-dir J | seed-writeblk $L --checkpoint 1M d1 d2 d3; echo ${PIPESTATUS[*]}
            seed-writeblk -d d1 d2 | seed-journal --log-json ev.jsonl --check J | seed-encrypt -d --key-file kf | seed-split -d \
              | seed-compress -d | seed-snapshot --log-json ev.jsonl -x out --only nothing-of-this; echo ${PIPESTATUS[*]}
            head -c 3000 /dev/urandom | seed-compress -d --log-json ev.jsonl > /dev/null; echo $?
            seed-snapshot -q --record-size 64K src -o snap.seed && seed-compress --log-json ev.jsonl -19 --max-duration 0.01s snap.seed > /dev/null; echo $?
            """)
        #expect(r.stdout == "0 0 0 0 0 0\n0 0 0 0 0 2\n65\n75\n", "\(r.stderr)")
        #expect(try faults(s, "ev.jsonl") == "")
        let seen = Set(try s.sh("jq -r .event ev.jsonl").stdout.split(separator: "\n").map(String.init))
        let all = Set(try EventTests.schema().keys).subtracting(["*"])
        #expect(seen == all, "not produced: \(all.subtracting(seen).sorted())")
        let warned = try s.sh("jq -r 'select(.event == \"warning\") | .code' ev.jsonl").stdout
        #expect(!warned.isEmpty)
        let checkpoints = try s.sh("jq -r 'select(.event == \"checkpoint\") | .drive' ev.jsonl | sort -u").stdout
        #expect(checkpoints.contains("d1"), "\(checkpoints)")
    }

    @Test func anEntrysPathThatIsNotUTF8IsGivenAsBase64() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src out && printf 'x' > "src/$(printf 'caf\\xe9')" && mkdir -p "out/$(printf 'caf\\xe9')/sub"
            seed-snapshot src > snap.seed && seed-snapshot -x out --log-json ev.jsonl < snap.seed; echo $?
            jq -r 'select(.event == "error") | .path_base64' ev.jsonl | base64 -d | od -An -c
            """)
        #expect(r.stdout == "65\n   c   a   f 351\n", "\(r.stdout)\(r.stderr)")
        #expect(try faults(s, "ev.jsonl") == "")
    }

    @Test func anErrorsCodeIsTheSameFromRunToRun() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            head -c 5000 /dev/urandom > junk
            for run in 1 2; do seed-split -d --log-json ev$run.jsonl < junk > /dev/null; done
            jq -r 'select(.event == "error") | .code' ev1.jsonl ev2.jsonl
            """)
        let codes = r.stdout.split(separator: "\n").map(String.init)
        #expect(codes.count == 2 && codes[0] == codes[1] && codes[0] == "not-a-seed-stream", "\(r.stdout)")
        #expect(try faults(s, "ev1.jsonl") == "")
    }

    @Test func aFullDiskIsCodedByItsErrno() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh(
            """
            seed-snapshot -q src | seed-compress -q > snap.seed
            seed-compress -d --log-json ev.jsonl snap.seed > /dev/full; echo $?
            jq -r 'select(.event == "error") | .code' ev.jsonl
            """)
        #expect(r.stdout == "74\nio-enospc\n", "\(r.stdout)\(r.stderr)")
    }

    /// A FIFO for the events is written while its reader holds it open;
    /// one no one reads is refused at the start, never waited for.
    @Test func anEventFIFONoOneReadsIsRefusedNotWaitedFor() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh(
            """
            mkfifo ev
            timeout 20 seed-snapshot -q --log-json ev src > /dev/null; echo $?
            exec 3<> ev
            timeout 20 seed-snapshot -q --log-json ev src > /dev/null; echo $?
            head -n 2 <&3 | jq -r .event
            """)
        #expect(r.stdout == "73\n0\nstart\ndone\n", "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("the event log 'ev' is a FIFO no one reads"), "\(r.stderr)")
    }

    /// A stopped and resumed run's events, in order, for its first stage
    /// and its drive writer.
    @Test func aStoppedAndResumedRunsEventsTellTheStoryInOrder() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh(
            """
            seed-snapshot -q --record-size 256K src -o snap.seed
            ship() { seed-compress --log-json ev.jsonl --resume J "$@" snap.seed | seed-split --log-json ev.jsonl --volume-size 8M \
              | seed-journal --log-json ev.jsonl --journal-dir J | seed-writeblk --log-json ev.jsonl d1 d2 d3; echo ${PIPESTATUS[*]}; }
            ship -19 --max-duration 0.01s
            ship
            ship
            """)
        #expect(r.stdout == "75 75 75 75\n0 0 0 0\n0 0 0 0\n", "\(r.stderr)")
        #expect(try faults(s, "ev.jsonl") == "")
        let story = try s.sh(
            #"jq -r 'select(.tool == "seed-compress" or (.tool == "seed-writeblk" and (.event == "start" or .event == "done" or .event == "stop" or .event == "drive-done"))) | [.tool, .event, (.status // .reason // .volume // "" | tostring)] | join(" ")' ev.jsonl"#
        ).stdout
        let compress = story.split(separator: "\n").filter { $0.hasPrefix("seed-compress") }.joined(separator: "\n")
        #expect(
            compress
                == "seed-compress start \nseed-compress stop deadline\nseed-compress done 75\nseed-compress start \nseed-compress done 0\nseed-compress start \nseed-compress done 0",
            "\(story)")
        let writer = story.split(separator: "\n").filter { $0.hasPrefix("seed-writeblk") }.joined(separator: "\n")
        #expect(
            writer
                == "seed-writeblk start \nseed-writeblk stop upstream\nseed-writeblk done 75\nseed-writeblk start \nseed-writeblk drive-done 1\nseed-writeblk drive-done 2\nseed-writeblk done 0\nseed-writeblk start \nseed-writeblk done 0",
            "\(story)")
        // One session throughout.
        #expect(try s.sh("jq -r '.session // empty' ev.jsonl | sort -u | wc -l").stdout == "1\n")
    }

    /// A killed run writes no done event: its story ends at its last event,
    /// and the resumed run's follows in order.
    @Test func aKilledAndResumedRunsEventsTellTheStoryInOrder() throws {
        let s = try Scratch()
        try tree(s)
        let r = try s.sh(
            """
            for i in $(seq 1 6); do seq $((i * 100000)) $((i * 100000 + 300000)) > src/a/t$i; done
            seed-snapshot -q --record-size 256K src -o snap.seed
            ship() { seed-compress --log-json ev.jsonl --resume J "$@" snap.seed | seed-split --log-json ev.jsonl --volume-size 8M \\
              | seed-journal --log-json ev.jsonl --journal-dir J | seed-writeblk --log-json ev.jsonl d1 d2 d3; echo ${PIPESTATUS[*]}; }
            set -m
            ( ship -19 ) > statuses &
            for i in $(seq 600); do [ "$(stat -c %s d1 2>/dev/null || echo 0)" -ge 2000000 ] && break; sleep 0.02; done
            kill -KILL -- -$!; wait
            ship
            """)
        #expect(r.stdout.hasSuffix("0 0 0 0\n"), "\(r.stdout)\(r.stderr)")
        #expect(try faults(s, "ev.jsonl") == "")
        let story = try s.sh(
            #"jq -r 'select(.tool == "seed-writeblk" and (.event == "start" or .event == "done" or .event == "stop")) | .event + " " + (.status // "" | tostring)' ev.jsonl"#
        ).stdout
        #expect(story == "start \nstart \ndone 0\n", "\(story)")
        // The killed run's last event comes before the resumed run's first.
        let order = try s.sh(#"jq -r 'select(.tool == "seed-writeblk") | .pid' ev.jsonl | uniq | wc -l"#).stdout
        #expect(order == "2\n", "\(order)")
    }
}
