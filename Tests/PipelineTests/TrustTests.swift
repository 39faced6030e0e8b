import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

@testable import SeedKit

/// What a stream, journal, label or report says never reaches outside
/// the target, never sizes memory or a loop unchecked, and never makes a
/// tool crash: each class of fault refused with one line and a status.
@Suite(.serialized) struct TrustTests {
    // MARK: names

    /// A base and an increment on it (which deletes "gone"), with a file
    /// beside the restore that nothing may touch.
    func increment(_ s: Scratch) throws -> (session: String, records: [StreamSurgery.Located]) {
        let r = try s.sh(
            """
            mkdir -p src/d outside && echo keep > outside/keep.txt && echo x > src/d/f && echo y > src/gone
            seed-snapshot --index-file s0.idx src > base.seed && seed-snapshot -x out/r < base.seed
            rm src/gone && echo z > src/new && seed-snapshot --incremental s0.idx src > inc.seed
            """)
        try #require(r.status == 0, "\(r.stderr)")
        let header = try #require(try StreamSurgery.records(s.path("base.seed")).first)
        let session = try header.payload.withUnsafeBytes { try StreamMetadata.decode($0, record: "") }.session
        return (session, try StreamSurgery.records(s.path("inc.seed")))
    }

    /// `records` with the changes record's lines replaced by `lines`.
    func withChanges(_ records: [StreamSurgery.Located], _ lines: [String]) -> [StreamSurgery.Located] {
        records.map { r in
            guard r.header.kind == .changes else { return r }
            var c = r
            c.payload = Array(lines.map { $0 + "\n" }.joined().utf8)
            return c
        }
    }

    @Test func aNulByteInAnIncrementsChangeLineIsRefusedAndNothingOutsideIsTouched() throws {
        let s = try Scratch()
        let (session, records) = try increment(s)
        let nulB64 = Data("..\0/outside/keep.txt".utf8).base64EncodedString()
        let hostile: [(String, String)] = [
            ("delete through ..\\0", #"{"op":"delete","path":"..\u0000/..\u0000/outside/keep.txt","type":"file"}"#),
            ("delete of ..\\0 alone", #"{"op":"delete","path":"..\u0000","type":"dir"}"#),
            ("delete by pathB64", #"{"op":"delete","pathB64":"\#(nulB64)","type":"file"}"#),
            ("rename from outside", #"{"from":"..\u0000/../outside/keep.txt","op":"rename","path":"stolen","type":"file"}"#),
            ("rename to outside", #"{"from":"d/f","op":"rename","path":"..\u0000/../outside/over","type":"file"}"#),
            ("a NUL inside a name", #"{"op":"delete","path":"d/f\u0000x","type":"file"}"#),
        ]
        for (what, line) in hostile {
            try StreamSurgery.write(withChanges(records, [line]), to: s.path("bad.seed"))
            let r = try s.sh("seed-snapshot -x out/r --session \(session) < bad.seed")
            #expect(r.status == 65, "\(what): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("change line 1 "), "\(what): \(r.stderr)")
            #expect(try s.sh("cat outside/keep.txt").stdout == "keep\n", "\(what)")
            #expect(!s.exists("outside/over") && s.exists("out/r/d/f") && s.exists("out"), "\(what)")
            let listed = try s.sh("seed-snapshot -tv bad.seed")
            #expect(listed.status == 65, "\(what): -tv lists it: \(listed.stdout)")
        }
    }

    @Test func aNulByteInAnIndexPathLinkOrXattrNameIsRefusedByEveryReader() throws {
        let s = try Scratch()
        try s.sh("mkdir src && echo hi > src/hi && ln -s hi src/link && seed-snapshot src > good.seed")
        let recs = try StreamSurgery.records(s.path("good.seed"))
        let index = try StreamSurgery.indexEntries(recs)
        let hi = try #require(index.firstIndex { $0.path == "hi" })
        let link = try #require(index.firstIndex { $0.path == "link" })
        var named = index
        named[hi].setPath(Array("hi\0/../../x".utf8))
        var linked = index
        linked[link].setLink(Array("hi\0".utf8))
        var xattr = index
        xattr[hi].xattrs = [.init(nameBytes: Array("user.a\0b".utf8), value: [1])]
        var dotdot = index
        dotdot[hi].setPath(Array("../hi".utf8))
        for (what, entries, message) in [
            ("path", named, "path holds a NUL byte"), ("link", linked, "link holds a NUL byte"), ("xattr", xattr, "xattr name holds a NUL byte"),
            ("..", dotdot, "path has a .. component"),
        ] {
            try StreamSurgery.write(try StreamSurgery.replacingIndex(recs, with: entries), to: s.path("bad.seed"))
            for cmd in ["seed-snapshot -t bad.seed", "seed-snapshot -x out < bad.seed"] {
                let r = try s.sh("rm -rf out; \(cmd)")
                #expect(r.status == 65, "\(what): \(cmd): \(r.status) \(r.stderr)")
                #expect(r.stderr.contains(message), "\(what): \(cmd): \(r.stderr)")
            }
        }
    }

    /// An increment writes d/f, then makes d a symbolic link out of the
    /// tree; the index says d/f's content is wrong. The file removed for
    /// it is the one in the tree, never the one the link leads to.
    @Test func aFileWithTheWrongDigestIsRemovedInsideTheTreeNotThroughALink() throws {
        let s = try Scratch()
        let (session, _) = try increment(s)
        try s.sh(
            """
            mkdir -p victim && echo precious > victim/f
            python3 - <<'PY'
            import tarfile, io, os
            buf = io.BytesIO()
            t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
            f = tarfile.TarInfo("d/f"); f.size = 2; f.mode = 0o644
            t.addfile(f, io.BytesIO(b"x\\n"))
            l = tarfile.TarInfo("d"); l.type = tarfile.SYMTYPE; l.linkname = os.path.abspath("victim"); l.mode = 0o777
            t.addfile(l)
            t.close()
            open("evil.tar", "wb").write(buf.getvalue())
            PY
            """)
        let tar = try s.read("evil.tar")
        // Where the second entry starts: after the first's headers and one block of data.
        let second = try #require(
            try s.sh("python3 -c \"import tarfile; print([m.offset for m in tarfile.open('evil.tar')][1])\"").stdout.split(separator: "\n").first.flatMap {
                UInt64($0)
            })
        var f = IndexEntry(pathBytes: Array("d/f".utf8), type: .file)
        (f.size, f.mode, f.sha256) = (2, 0o644, String(repeating: "0", count: 64))
        var l = IndexEntry(pathBytes: Array("d".utf8), type: .symlink)
        l.mode = 0o777
        l.setLink(Array(s.path("victim").utf8))
        (l.archiveOffset, l.offset) = (second, second)
        var index: [UInt8] = []
        f.appendJSONLine(to: &index)
        l.appendJSONLine(to: &index)
        var m = StreamMetadata(stages: [.init(tool: "seed-snapshot")])
        m.incrementOf = session
        var records: [StreamSurgery.Located] = [.init(header: RecordHeader(kind: .streamHeader, payloadLength: 0), offset: 0, payload: m.encoded())]
        records.append(.init(header: RecordHeader(kind: .data, payloadLength: 0), offset: 0, payload: tar))
        records.append(.init(header: RecordHeader(kind: .index, payloadLength: 0), offset: 0, payload: index))
        records.append(
            .init(
                header: RecordHeader(kind: .end, payloadLength: 0), offset: 0,
                payload: StreamTotals(archiveBytes: UInt64(tar.count), dataRecords: 1).encoded()))
        try StreamSurgery.write(records, to: s.path("evil.seed"))
        let r = try s.sh("seed-snapshot -x out/r --session \(session) < evil.seed")
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("content does not match the index"), "\(r.stderr)")
        #expect(try s.sh("cat victim/f").stdout == "precious\n")
    }

    /// A report names files that are not UTF-8 in filesB64; a name in
    /// files is taken as it stands, whatever it looks like.
    @Test func aReportsNamesAreBytesAndNoNameStandsForAnother() throws {
        let s = try Scratch()
        func report(_ damaged: String) -> String {
            #"{"ok":false,"session":"5bf8659e-43a9-4f97-820c-4d6deaa20b00","volumes":[{"volume":1,"journal":"j","records":3,"good":2,"journalComplete":true,"unchecked":0,"damaged":[{"seq":1,"kind":"data","offset":0,"length":100,"dataRecord":0,"problem":"digest mismatch",\#(damaged)}]}]}"#
        }
        let b64 = Data([0x66, 0xff]).base64EncodedString()
        try s.write("r.json", Array(report(#""files":["base64:aGk="],"filesB64":["\#(b64)"]"#).utf8))
        let sel = try RepairSelection(report: s.path("r.json"), index: nil, diag: Diagnostics(tool: "test"))
        #expect(sel.chosen.contains(Array("base64:aGk=".utf8)))
        #expect(sel.chosen.contains([0x66, 0xff]))
        #expect(!sel.chosen.contains(Array("hi".utf8)))
        try s.write("nul.json", Array(report(#""filesB64":["\#(Data("a\0b".utf8).base64EncodedString())"]"#).utf8))
        #expect(throws: SeedError.self) { try RepairSelection(report: s.path("nul.json"), index: nil, diag: Diagnostics(tool: "test")) }
    }

    // MARK: numbers and sizes from outside

    /// A staging file and its session, and a journal directory holding a
    /// journal of that session whose record lines say what `lines` says.
    func forgedJournal(_ s: Scratch, _ lines: [String]) throws -> String {
        try s.sh("mkdir -p src J && head -c 300000 /dev/urandom > src/f && seed-snapshot --record-size 64K src > snap.seed")
        let header = try #require(try StreamSurgery.records(s.path("snap.seed")).first)
        let session = try header.payload.withUnsafeBytes { try StreamMetadata.decode($0, record: "") }.session
        let head = #"{"type":"volume","format":1,"session":"\#(session)","volume":1,"created":"2026-01-01T00:00:00Z","firstRecord":0,"firstDataRecord":0}"#
        try s.write("J/\(session).v001.jrn", Array(([head] + lines).map { $0 + "\n" }.joined().utf8))
        return session
    }

    @Test func resumeRefusesJournalNumbersNearTwoToTheSixtyFour() throws {
        let s = try Scratch()
        let sha = String(repeating: "a", count: 64)
        let huge = "18446744073709551000"
        for (what, line) in [
            ("offset", #"{"type":"record","seq":1,"kind":"data","offset":\#(huge),"length":1000,"sha256":"\#(sha)","dataRecord":1}"#),
            ("length", #"{"type":"record","seq":1,"kind":"data","offset":0,"length":\#(huge),"sha256":"\#(sha)","dataRecord":1}"#),
            ("dataRecord", #"{"type":"record","seq":1,"kind":"data","offset":0,"length":1000,"sha256":"\#(sha)","dataRecord":\#(huge)}"#),
        ] {
            try s.sh("rm -rf J src")
            _ = try forgedJournal(s, [#"{"type":"record","seq":0,"kind":"volume-begin","offset":0,"length":100,"sha256":"\#(sha)"}"#, line])
            for cmd in ["seed-split --volume-size 16M --resume J < snap.seed > /dev/null", "seed-compress --resume J < snap.seed > /dev/null"] {
                let r = try s.sh(cmd)
                #expect(r.status == 65, "\(what): \(cmd): \(r.status) \(r.stderr)")
                #expect(r.stderr.contains("past the format's bound"), "\(what): \(r.stderr)")
            }
        }
    }

    @Test func aJournalThatIsALinkAFifoOrOneEndlessLineIsRefusedAtOnce() throws {
        let s = try Scratch()
        let session = try forgedJournal(s, [])
        let name = "J/\(session).v001.jrn"
        for (what, make, message) in [
            ("a link to /dev/zero", "rm -f \(name) && ln -s /dev/zero \(name)", "is a symbolic link"),
            ("a FIFO", "rm -f \(name) && mkfifo \(name)", "is not a regular file"),
            ("a sparse file of one line", "rm -f \(name) && truncate -s 1500M \(name)", "is longer than"),
        ] {
            try s.sh(make)
            let r = try s.sh("timeout 20 seed-compress --resume J < snap.seed > /dev/null")
            #expect(r.status == 65, "\(what): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(message), "\(what): \(r.stderr)")
        }
    }

    @Test func aForgedLabelsVolumeNumberSizesNothing() throws {
        let s = try Scratch()
        var l = VolumeLabel(session: "5bf8659e-43a9-4f97-820c-4d6deaa20b00", volume: UInt32.max, capacity: 1 << 20, streamOffset: 4096)
        (l.lastVolume, l.complete) = (true, true)
        try s.write("d1", l.encoded() + [UInt8](repeating: 0, count: 4096))
        let r = try s.sh("timeout 20 seed-writeblk -d d1 > /dev/null")
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("volumes 1 to 4294967294 of 4294967295 missing"), "\(r.stderr)")
    }

    // MARK: drives

    func writtenDrive(_ s: Scratch) throws {
        let r = try s.sh(
            """
            mkdir -p src && head -c 2000000 /dev/urandom > src/f && truncate -s 8M d1
            seed-snapshot src | seed-split --volume-size 8M | seed-journal --journal-dir J | seed-writeblk d1
            """)
        try #require(r.status == 0, "\(r.stderr)")
    }

    @Test func aDriveWhoseSeedLabelIsDamagedIsNotTakenForABlankOne() throws {
        let s = try Scratch()
        try writtenDrive(s)
        // One byte of the label's text changed: its checksum no longer holds.
        try s.sh("printf 'X' | dd of=d1 bs=1 seek=40 conv=notrunc status=none")
        let before = try s.sh("sha256sum d1").stdout
        let r = try s.sh("seed-snapshot src | seed-split --volume-size 8M | seed-writeblk d1")
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains("holds a damaged seed label"), "\(r.stderr)")
        #expect(r.stderr.contains("--format"), "\(r.stderr)")
        #expect(try s.sh("sha256sum d1").stdout == before)
    }

    @Test func aVolumeCutShortIsNotCommittedToANamedOutput() throws {
        let s = try Scratch()
        try writtenDrive(s)
        try s.sh("truncate -s 1000000 d1")
        let r = try s.sh("seed-writeblk -d d1 -o out.seed")
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("cut short"), "\(r.stderr)")
        #expect(!s.exists("out.seed"))
    }

    /// A drive with sectors that cannot be read (a pread that fails there):
    /// the stream goes on past them as zeros, named, the status says so,
    /// and a named output is not passed off as the volume.
    @Test func unreadableSectorsAreReadPastAsZerosAndNamed() throws {
        let s = try Scratch()
        try writtenDrive(s)
        let label = try #require(try Target.readLabel(s.path("d1")))
        let bad = off_t(label.streamOffset) + 1_000_448..<off_t(label.streamOffset) + 1_000_960
        var o = WriteOptions()
        o.targets = [s.path("d1")]
        o.io.output = s.path("out.seed")
        o.testPread = { fd, p, n, at in
            if at < bad.upperBound && at + off_t(n) > bad.lowerBound {
                errno = EIO
                return -1
            }
            return pread(fd, p, n, at)
        }
        #expect(throws: SeedError.self) { _ = try BlockReader.run(o, diag: Diagnostics(tool: "test")) }
        #expect(!s.exists("out.seed"))
        // On a pipe the zeros go on (as SectorReads reads them), and the
        // check names the record they damaged and reads on past it.
        var reads = SectorReads()
        reads.pread = o.testPread!
        var volume = [UInt8](repeating: 0xee, count: Int(label.streamBytes))
        let fd = open(s.path("d1"), O_RDONLY)
        let n = volume.withUnsafeMutableBytes { reads.read(fd, into: $0.baseAddress!, count: $0.count, at: label.streamOffset) }
        close(fd)
        #expect(n == volume.count)
        #expect(reads.unreadable == [UInt64(bad.lowerBound)..<UInt64(bad.upperBound)])
        try s.write("piped.seed", volume)
        let good = try s.sh("seed-writeblk -d d1 | cmp - piped.seed")
        #expect(good.stdout.contains("differ: byte \(Int(bad.lowerBound) - Int(label.streamOffset) + 1)"), "\(good.stdout)")
        let check = try s.sh("seed-journal --check J < piped.seed > /dev/null")
        #expect(check.status == 65 && check.stderr.contains("1 record missing or damaged in volume 1"), "\(check.stderr)")
    }

    // MARK: what the pages allow, and no more

    func small(_ s: Scratch) throws -> [StreamSurgery.Located] {
        try s.sh("mkdir src && seq 1 20000 > src/numbers && printf hi > src/hi && seed-snapshot --record-size 16384 src > good.seed")
        return try StreamSurgery.records(s.path("good.seed"))
    }

    func refusedByEveryReader(_ s: Scratch, _ records: [StreamSurgery.Located], _ message: String, _ what: String) throws {
        try StreamSurgery.write(records, to: s.path("bad.seed"))
        for cmd in ["seed-snapshot -t bad.seed", "rm -rf out; seed-snapshot -x out < bad.seed", "seed-snapshot -d bad.seed > /dev/null"] {
            let r = try s.sh(cmd)
            #expect(r.status == 65, "\(what): \(cmd): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(message), "\(what): \(cmd): \(r.stderr)")
        }
    }

    @Test func anIndexLineWhoseRecordAndOffsetDisagreeWithItsArchiveOffsetIsRefused() throws {
        let s = try Scratch()
        let recs = try small(s)
        var index = try StreamSurgery.indexEntries(recs)
        let hi = try #require(index.firstIndex { $0.path == "hi" })
        index[hi].record += 1
        try refusedByEveryReader(s, try StreamSurgery.replacingIndex(recs, with: index), "are not archive byte", "record")
    }

    @Test func aDataRecordLongerThanTheRecordSizeOrAShortOneBeforeTheLastIsRefused() throws {
        let s = try Scratch()
        let recs = try small(s)
        let data = recs.indices.filter { recs[$0].header.kind == .data }
        try #require(data.count >= 3)
        var long = recs
        long[data[0]].payload += long[data[1]].payload.prefix(512)
        long[data[1]].payload.removeFirst(512)
        try refusedByEveryReader(s, long, "past the record size 16384", "long")
        // The first record cut in two: a short one, then the rest.
        var short = recs
        var tail = short[data[0]]
        tail.payload = Array(tail.payload.suffix(512))
        short[data[0]].payload.removeLast(512)
        short.insert(tail, at: data[0] + 1)
        try refusedByEveryReader(s, short, "which is shorter than the record size", "short")
    }

    @Test func aStreamHeaderWithABadRecordSizeOrCreatedTimeIsRefused() throws {
        let s = try Scratch()
        let recs = try small(s)
        var m = try recs[0].payload.withUnsafeBytes { try StreamMetadata.decode($0, record: "") }
        for (what, change, message) in [
            ("recordSize -1", { (m: inout StreamMetadata) in m.stages[0].settings = ["recordSize": "-1"] }, "recordSize '-1' is not"),
            ("created", { (m: inout StreamMetadata) in m.created = "yesterday" }, "is not an RFC 3339 time"),
        ] as [(String, (inout StreamMetadata) -> Void, String)] {
            var bad = recs
            var h = m
            change(&h)
            bad[0].payload = h.encoded()
            try refusedByEveryReader(s, bad, message, what)
        }
        m.created = "2026-12-02T10:00:00.25+01:00"
        #expect(StreamMetadata.isRFC3339(m.created))
    }

    @Test func anEndRecordWhoseEntriesLieIsRefusedByThePaxOutputToo() throws {
        let s = try Scratch()
        let recs = try small(s)
        var bad = recs
        let end = try #require(bad.lastIndex { $0.header.kind == .end })
        var t = try bad[end].payload.withUnsafeBytes { try StreamTotals.decode($0, record: "") }
        t.entries += 1
        bad[end].payload = t.encoded()
        try refusedByEveryReader(s, bad, "end record promises", "entries")
    }

    /// A volume of the session numbered past the last one, read before
    /// the end was known, is named, never dropped in silence.
    @Test func aVolumePastTheLastIsNamedByTheJoin() throws {
        let s = try Scratch()
        let r = try s.sh(
            """
            mkdir src && head -c 3000000 /dev/urandom > src/f && seed-snapshot --record-size 64K src > snap.seed
            seed-split --volume-size 3M < snap.seed > few.seed && seed-split --volume-size 1300K < snap.seed > many.seed
            python3 - <<'PY'
            import struct
            def vols(p):
                b = open(p, 'rb').read(); o = 0; out = {}
                while o + 48 <= len(b):
                    v, = struct.unpack_from('<I', b, o + 8); n, = struct.unpack_from('<Q', b, o + 24)
                    out.setdefault(v, bytearray()).extend(b[o:o + 48 + n]); o += 48 + n
                return out
            f, m = vols('few.seed'), vols('many.seed')
            assert len(f) == 2 and len(m) >= 4
            open('early.seed', 'wb').write(bytes(m[4]) + bytes(f[1]) + bytes(f[2]))
            PY
            seed-split -d < early.seed > /dev/null
            """)
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("volume 4 of session") && r.stderr.contains("comes after the last volume 2"), "\(r.stderr)")
    }

    /// cron runs in the C locale: the same tree makes the same archive there.
    @Test func theStreamsArchiveIsTheSameWhateverTheLocale() throws {
        let s = try Scratch()
        try s.sh("mkdir src && touch src/café \"src/$(printf 'bad\\xff')\" && echo x > src/naïve")
        let r = try s.sh(
            "LC_ALL=C seed-snapshot src | seed-snapshot -d > c.tar && LC_ALL=C.UTF-8 seed-snapshot src | seed-snapshot -d > u.tar && cmp c.tar u.tar")
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
    }

    /// `?` is one byte in the C locale and one character in C.UTF-8: the
    /// patterns are matched as bytes in both, as --only is.
    @Test func excludeLeavesOutTheSameEntriesWhateverTheLocale() throws {
        let s = try Scratch()
        try s.sh("mkdir src && touch src/café src/cafe \"src/$(printf 'caf\\xff')\"")
        let r = try s.sh(
            """
            for l in C C.UTF-8; do LC_ALL=$l seed-snapshot --exclude 'caf?' src | seed-snapshot -t > $l.list || exit 1; done
            cmp C.list C.UTF-8.list && cat C.list
            """)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout == ".\ncafé\n", "\(r.stdout)")
    }

    // MARK: manners

    @Test func quietSilencesTheStopMessage() throws {
        let s = try Scratch()
        try s.sh("mkdir src && head -c 30000000 /dev/urandom > src/f && seed-snapshot src > snap.seed")
        let r = try s.sh("seed-compress -q --max-duration 0.01s < snap.seed > /dev/null")
        #expect(r.status == 75, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "\(r.stderr)")
    }
}
