import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

let tools = ["seed-snapshot", "seed-compress", "seed-split", "seed-encrypt", "seed-journal", "seed-writeblk"]
let manDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("man")
    .path

@Suite struct CommandLineTests {
    @Test(arguments: tools) func helpDescribesTheToolAndExitsZero(tool: String) throws {
        let r = try Scratch().sh("\(tool) --help")
        #expect(r.status == 0)
        #expect(r.stdout.contains("USAGE: \(tool)"))
        #expect(r.stdout.contains("When FILE is -") || r.stdout.contains("when FILE is -"))
    }

    @Test(arguments: tools) func versionIsPrinted(tool: String) throws {
        let r = try Scratch().sh("\(tool) --version")
        #expect(r.status == 0)
        #expect(r.stdout == "0.1.0\n")
    }

    @Test func badUsageExitsWithSixtyFour() throws {
        let s = try Scratch()
        #expect(try s.sh("seed-compress -l 99 < /dev/null").status == 64)
        #expect(try s.sh("seed-compress --gzip -l 12 < /dev/null").status == 64)
        #expect(try s.sh("seed-snapshot").status == 64)
        #expect(try s.sh("seed-snapshot -t -d x").status == 64)
        #expect(try s.sh("seed-compress --no-such-option").status == 64)
        let r = try s.sh("seed-compress -l 99 < /dev/null")
        #expect(r.stderr == "seed-compress: error: compression level 99 is out of range 1-19 for zstd (or --fast=1 to --fast=131072)\n")
    }

    @Test func anArgumentThatIsNotUTF8IsRefusedNotTakenForAnotherName() throws {
        let s = try Scratch()
        try s.sh("mkdir -p $'caf\\xe9' src && echo x > $'caf\\xe9/f' && echo y > src/a && seed-snapshot src > s.seed")
        for (command, shown) in [
            ("seed-snapshot $'caf\\xe9'", "argument 1 ('caf\\xe9')"), ("seed-snapshot -x $'out\\xe9' s.seed", "argument 2 ('out\\xe9')"),
            ("seed-snapshot --exclude $'a\\xe9' src", "argument 2 ('a\\xe9')"), ("seed-compress -o $'z\\xe9' < s.seed", "argument 2 ('z\\xe9')"),
        ] {
            let r = try s.sh(command + " > /dev/null")
            let tool = String(command.prefix { $0 != " " })
            #expect(r.status == 64, "\(command): \(r.stderr)")
            #expect(r.stderr.hasPrefix("\(tool): error: \(shown) is not valid UTF-8"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("\(tool): hint: reach it through a UTF-8 name"), "\(command): \(r.stderr)")
        }
        // Nothing was made under a name it was not given.
        #expect(try s.sh("ls | LC_ALL=C grep -c -v -e '^caf' -e '^src$' -e '^s.seed$'").stdout == "0\n")
        // Its byte is matched with ? in a pattern, and the directory reached through a UTF-8 name.
        let q = try s.sh("seed-snapshot --exclude 'caf?' . | seed-snapshot -t | grep -c caf")
        #expect(q.stdout == "0\n", "\(q.stderr)")
        let cd = try s.sh("cd caf* && seed-snapshot . | seed-snapshot -t")
        #expect(cd.stdout == ".\nf\n", "\(cd.stderr)")
    }

    @Test func aDirectoryGivenForAStreamIsNamedAsADirectory() throws {
        let s = try Scratch()
        try s.sh("mkdir tree J")
        for tool in ["seed-snapshot -t", "seed-compress -d", "seed-journal --check J"] {
            let r = try s.sh("\(tool) tree")
            #expect(r.status == 64, "\(tool): \(r.stderr)")
            #expect(r.stderrLines.first == "\(tool.split(separator: " ")[0]): error: 'tree' is a directory, not a seed stream", "\(tool): \(r.stderr)")
        }
    }

    /// `-o` through a symbolic link writes the file the link names, whole
    /// or not at all, as `>` would, and the link stays a link.
    @Test func anOutputThroughASymbolicLinkReplacesTheFileItNames() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir -p src out && echo hi > src/f && echo old > out/staging.seed && ln -s out/staging.seed link
            seed-snapshot -q src | seed-compress -q -o link; echo $?
            [ -L link ] && echo link; seed-compress -d < out/staging.seed | seed-snapshot -t; ls out
            """)
        #expect(r.stdout == "0\nlink\n.\nf\nstaging.seed\n", "\(r.stdout)\(r.stderr)")
        // A dangling link (through a second one) makes the file it names.
        let d = try s.sh(
            """
            ln -s next dangling && ln -s out/new.seed next
            seed-snapshot -q src | seed-compress -q -o dangling; echo $?
            [ -L dangling ] && [ -L next ] && echo links; seed-compress -d < out/new.seed | seed-snapshot -t
            ln -s loop1 loop2 && ln -s loop2 loop1; seed-snapshot -q src | seed-compress -q -o loop1; echo $?
            """)
        #expect(d.stdout == "0\nlinks\n.\nf\n73\n", "\(d.stdout)\(d.stderr)")
        #expect(d.stderr.contains("cannot follow the symbolic link"), "\(d.stderr)")
    }

    @Test func aLevelIsTakenAsZstdTakesIt() throws {
        let s = try Scratch()
        try s.sh("mkdir src && seq 1 200000 > src/n && seed-snapshot src > s.seed")
        // -19 is --level 19, byte for byte; -T0 and -o - are not levels.
        let r = try s.sh("seed-compress -19 s.seed > a && seed-compress --level 19 -T0 -o - s.seed > b && cmp a b")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try s.sh("seed-compress --gzip -9 s.seed | cmp - <(seed-compress --gzip -l 9 s.seed)").status == 0)
        // --fast and --fast=N are zstd's negative levels; they round-trip.
        for fast in ["--fast", "--fast=7"] {
            let f = try s.sh("seed-compress \(fast) s.seed | seed-compress -d | cmp - s.seed")
            #expect(f.status == 0, "\(fast): \(f.stderr)")
        }
        #expect(try s.sh("seed-compress --fast=7 s.seed | cmp -s - <(seed-compress s.seed)").status == 1, "a level of its own")
        for bad in ["-20", "-0", "--fast -3", "--fast=0"] {
            #expect(try s.sh("seed-compress \(bad) < s.seed > /dev/null").status == 64, "\(bad)")
        }
    }

    @Test(arguments: tools) func usageErrorsFoundByTheParserSpeakLikeEveryOtherError(tool: String) throws {
        let r = try Scratch().sh("\(tool) --no-such-option x < /dev/null")
        #expect(r.status == 64)
        #expect(r.stderr == "\(tool): error: Unknown option '--no-such-option'\n\(tool): hint: see '\(tool) --help'\n")
    }

    @Test func optionsThatExcludeEachOtherAreAUsageErrorInTheToolsOwnWords() throws {
        let r = try Scratch().sh("seed-snapshot -t -d x")
        #expect(r.status == 64)
        #expect(r.stderr == "seed-snapshot: error: -t, -d, -x and --compare exclude each other\nseed-snapshot: hint: see 'seed-snapshot --help'\n")
    }

    @Test func recordSizeTakesUnitsAndIsBounded() throws {
        let s = try Scratch()
        try s.sh("mkdir src && head -c 200000 /dev/urandom > src/f")
        let r = try s.sh("seed-snapshot --record-size 64K src > s.seed && seed-snapshot -d < s.seed | tar -tf -")
        #expect(r.status == 0)
        #expect(r.stdout == "./\nf\n")
        let big = try s.sh("seed-snapshot --record-size 33M src > /dev/null")
        #expect(big.status == 64)
        #expect(big.stderr.contains("record size 33M must be a multiple of 512 from 4 KiB to 32 MiB"))
        #expect(try s.sh("seed-snapshot --record-size 1000 src > /dev/null").status == 64)
        #expect(try s.sh("seed-snapshot --record-size 4X src > /dev/null").status == 64)
    }

    @Test func missingInputExitsWithSixtySix() throws {
        let s = try Scratch()
        let r = try s.sh("seed-snapshot no-such-dir > /dev/null")
        #expect(r.status == 66)
        #expect(r.stderr == "seed-snapshot: error: cannot read 'no-such-dir': No such file or directory\n")
        #expect(try s.sh("seed-compress no-such-file > /dev/null").status == 66)
    }

    @Test func terminalOnStandardInputIsRefused() throws {
        let s = try Scratch()
        let r = try s.sh("script -qec '\(toolsDir)/seed-compress -d > /dev/null' /dev/null")
        #expect(r.status == 64)
        #expect(r.stdout.contains("seed-compress: error: standard input is a terminal"))
    }

    @Test func terminalOnStandardOutputIsRefusedUnlessForced() throws {
        let s = try Scratch()
        try s.sh("mkdir src")
        let r = try s.sh("script -qec '\(toolsDir)/seed-snapshot src' /dev/null")
        #expect(r.status == 64)
        #expect(r.stdout.contains("seed-snapshot: error: refusing to write binary data to a terminal"))
        let forced = try s.sh("script -qec '\(toolsDir)/seed-snapshot -o - src' /dev/null > /dev/null")
        #expect(forced.status == 0)
    }

    /// On a terminal, by default only the last stage of a pipeline draws
    /// progress; given the plan, the drive writer's line says where the
    /// whole seed stands: the volume of how many, the seed's bytes, an ETA.
    @Test func onATerminalOnlyTheLastStageShowsWhereTheWholeSeedStands() throws {
        let s = try Scratch()
        try s.sh("mkdir src && for i in 1 2 3 4 5 6; do head -c 3000000 /dev/urandom > src/r$i; done && seed-snapshot -q src -o snap.seed")
        let r = try s.sh(
            """
            seed-split --plan --volume-size 8M < snap.seed > plan && grep -c '^ *[0-9]' plan && ln -s plan plan.link
            script -qec "seed-split --volume-size 8M < snap.seed | seed-journal --journal-dir J | seed-writeblk --plan plan.link --checkpoint 1M d1 d2 d3 d4 d5 d6" /dev/null \
              | tr '\\r' '\\n' > seen; echo $?
            # The plan through a link above; here straight from seed-split, through a pipe.
            script -qec "bash -c 'seed-split --volume-size 8M < snap.seed | seed-journal --journal-dir J2 | seed-writeblk --plan <(seed-split --plan --volume-size 8M < snap.seed) --checkpoint 1M e1 e2 e3 e4'" /dev/null \
              | tr '\\r' '\\n' > seen2; echo $?
            """)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 3 && lines[1] == "0" && lines[2] == "0", "\(r.stdout)\(r.stderr)")
        let piped = try String(contentsOfFile: s.path("seen2"), encoding: .utf8)
        #expect(piped.contains(" of \(lines[0]) on 'e") && piped.contains("; the seed: "), "\(piped)")
        let seen = try String(contentsOfFile: s.path("seen"), encoding: .utf8)
        #expect(!seen.contains("seed-split: ") && !seen.contains("seed-journal: "), "\(seen)")
        let progress = seen.split(separator: "\n").filter { $0.contains(" of \(lines[0]) on 'd") }
        #expect(!progress.isEmpty, "\(seen)")
        #expect(progress.allSatisfy { $0.contains("; the seed: ") && $0.contains("%") && $0.contains("ETA ") }, "\(progress)")
    }

    /// The long operations show progress when asked: a plan, a walk to
    /// estimate from, a comparison.
    @Test func planEstimateAndCompareShowProgressWhenAsked() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && for i in $(seq 1 3000); do echo $i > src/f$i; done && seed-snapshot -q src -o snap.seed
            seed-split --plan --progress --volume-size 8M < snap.seed 2> plan.err > /dev/null
            seed-split --plan --progress --estimate-from src --volume-size 8M 2> estimate.err > /dev/null
            seed-snapshot --progress --compare src snap.seed 2> compare.err
            cat plan.err estimate.err compare.err | tr '\\r' '\\n' | sed 's/:.*//' | sort -u
            """)
        #expect(r.stdout == "seed-snapshot --compare\nseed-split --estimate-from\nseed-split --plan\n", "\(r.stdout)\(r.stderr)")
    }

    @Test func aPlanThatIsNoneIsRefused() throws {
        let s = try Scratch()
        let r = try s.sh("echo hello > plan && seed-writeblk --plan plan d1 < /dev/null")
        #expect(r.status == 64)
        #expect(r.stderrLines.first == "seed-writeblk: error: 'plan' holds no plan: save what seed-split --plan prints", "\(r.stderr)")
        // Endless (read only up to its bound) or a directory.
        let endless = try s.sh("timeout 20 seed-writeblk --plan /dev/zero d1 < /dev/null")
        #expect(endless.status == 65, "\(endless.stderr)")
        #expect(endless.stderr.contains("plan '/dev/zero' is larger than 4 MiB"), "\(endless.stderr)")
        let dir = try s.sh("mkdir p && seed-writeblk --plan p d1 < /dev/null")
        #expect(dir.status == 74, "\(dir.stderr)")
        #expect(dir.stderr.contains("cannot read plan 'p': "), "\(dir.stderr)")
    }

    /// A stream's session: on stderr first with -tv, and from
    /// seed-writeblk --session-of for a file that has no label.
    @Test func aStreamsSessionIsSaidByAVerboseListingAndBySessionOf() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && echo hi > src/f && seed-snapshot --index-file idx.seed src | seed-compress -o snap.seed
            seed-snapshot -tv snap.seed 2>&1 >/dev/null
            seed-writeblk --session-of snap.seed idx.seed src/f
            """)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 4, "\(r.stdout)\(r.stderr)")
        let session = lines[0].replacingOccurrences(of: "seed-snapshot: session ", with: "").components(separatedBy: ",")[0]
        #expect(session.count == 36, "\(lines[0])")
        #expect(lines[1] == "snap.seed\t\(session)\ta stream (seed-snapshot, seed-compress)")
        #expect(lines[2] == "idx.seed\t\(session)\ta stream (seed-snapshot)")
        #expect(lines[3] == "src/f\t-\tno seed label")
    }

    /// -o names a FIFO or a device: it is written to, never replaced by a
    /// file of its name (as a regular file's partial output is).
    @Test func anOutputThatIsAFIFOIsWrittenToNotReplaced() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && echo hi > src/f && seed-snapshot src > snap.seed && mkfifo p
            cat p > got & seed-snapshot -o p src; echo $?; wait
            test -p p && echo still a fifo
            seed-snapshot -t got
            """)
        #expect(r.stdout == "0\nstill a fifo\n.\nf\n", "\(r.stderr)")
    }

    @Test func progressIsShownWhenAskedAndOnlyThen() throws {
        let s = try Scratch()
        try s.sh("mkdir src && head -c 1000000 /dev/urandom > src/r")
        let quiet = try s.sh("seed-snapshot src | seed-compress > /dev/null")
        #expect(quiet.stderr == "")
        let asked = try s.sh("seed-snapshot --progress src | seed-compress --progress > /dev/null")
        #expect(asked.stderr.contains("seed-snapshot: "))
        #expect(asked.stderr.contains("seed-compress: "))
        let enc = try s.sh("head -c 64 /dev/urandom > k && seed-snapshot src | seed-encrypt --key-file k --progress > /dev/null")
        #expect(enc.stderr.contains("seed-encrypt: "))
        #expect(asked.stderr.contains("/s"))
    }
}

@Suite struct ManPageTests {
    static let pages =
        tools.map { "man1/\($0).1" } + ["fuzz", "window", "plan", "report"].map { "man1/seed-\($0).1" } + [
            "man5/seed-stream.5", "man5/seed-journal.5", "man7/seed.7",
        ]

    @Test(arguments: pages) func pageLintsCleanWithGroff(page: String) throws {
        let r = try Scratch().sh("groff -mandoc -t -ww -z '\(manDir)/\(page)'")
        #expect(r.status == 0)
        #expect(r.stderr == "")
    }

    @Test(arguments: tools) func optionsSectionMatchesHelp(tool: String) throws {
        let help = try Scratch().sh("\(tool) --help").stdout
        let page = try String(contentsOfFile: "\(manDir)/man1/\(tool).1", encoding: .utf8)
        let options = page.components(separatedBy: ".SH OPTIONS").last!.components(separatedBy: ".SH ").first!
        let inHelp = Set(matches(#"--[a-z][a-z0-9-]*"#, in: help))
        let inPage = Set(matches(#"\\-\\-[a-z][a-z0-9\\-]*"#, in: options).map { $0.replacingOccurrences(of: "\\-", with: "-") })
        #expect(inHelp.subtracting(inPage).sorted() == [], "in --help but not in the man page")
        #expect(inPage.subtracting(inHelp).sorted() == [], "in the man page but not in --help")
    }

    @Test(arguments: tools) func everyToolPageHasTheSharedSections(tool: String) throws {
        let page = try String(contentsOfFile: "\(manDir)/man1/\(tool).1", encoding: .utf8)
        for s in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
            #expect(page.contains(".SH \(s)"), "\(tool).1 lacks \(s)")
        }
        for status in ["64 usage", "65 bad input data", "74 I/O error", "2 completed with warnings"] {
            #expect(page.replacingOccurrences(of: "\n", with: " ").contains(status), "\(tool).1 exit status table lacks \(status)")
        }
    }

    func matches(_ pattern: String, in s: String) -> [String] {
        let re = try! NSRegularExpression(pattern: pattern)
        return re.matches(in: s, range: NSRange(s.startIndex..., in: s)).map { String(s[Range($0.range, in: s)!]) }
    }
}
