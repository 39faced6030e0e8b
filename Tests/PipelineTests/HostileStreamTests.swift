import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

@testable import SeedKit

/// Streams a damaged or tampered drive could present. Each is refused with
/// one line naming the record or entry, a non-zero status, nothing written
/// outside the target or journal directory and nothing damaged passed on.
@Suite(.serialized) struct HostileStreamTests {
    func plainStream(_ s: Scratch) throws -> [StreamSurgery.Located] {
        try s.sh("mkdir src && seq 1 20000 > src/numbers && printf hi > src/hi && ln -s hi src/link && mkdir src/d && printf x > src/d/x")
        try s.sh("seed-snapshot --record-size 16384 src > good.seed")
        return try StreamSurgery.records(s.path("good.seed"))
    }

    func expectRefused(_ r: ShellResult, _ tool: String, containing: String, status: Int32 = 65, _ what: String) {
        #expect(r.status == status, "\(what): status \(r.status), \(r.stderr)")
        #expect(r.stderrLines.count == 1, "\(what): \(r.stderr)")
        #expect(r.stderr.hasPrefix("\(tool): error: "), "\(what): \(r.stderr)")
        #expect(r.stderr.contains(containing), "\(what): \(r.stderr)")
    }

    // MARK: listing lies

    @Test func everyListingLieIsRefusedByExtraction() throws {
        let s = try Scratch()
        let recs = try plainStream(s)
        let index = try StreamSurgery.indexEntries(recs)
        func at(_ path: String) throws -> Int { try #require(index.firstIndex { $0.path == path }) }
        var lies: [(String, [IndexEntry], String)] = []
        var omitted = index
        omitted.remove(at: try at("hi"))
        lies.append(("an entry left out", omitted, "'hi': in the archive at byte"))
        var renamed = index
        renamed[try at("hi")].setPath(Array("ho".utf8))
        lies.append(("an entry renamed", renamed, "the index names it 'ho'"))
        var relinked = index
        relinked[try at("link")].setLink(Array("/etc/passwd".utf8))
        lies.append(("a symlink pointing elsewhere", relinked, "'link': its link target differs"))
        var resized = index
        resized[try at("numbers")].size += 1
        lies.append(("another size", resized, "'numbers': 108894 bytes in the archive, 108895 in the index"))
        var retyped = index
        retyped[try at("d/x")].type = .fifo
        retyped[try at("d/x")].size = 0
        retyped[try at("d/x")].sha256 = nil
        lies.append(("another type", retyped, "'d/x': a file in the archive, a fifo in the index"))
        var remoded = index
        remoded[try at("hi")].mode = 0o4755
        lies.append(("another mode", remoded, "'hi': mode"))
        lies.append(("no index at all", [], "'.': in the archive at byte 0 but not in the index"))
        for (what, entries, message) in lies {
            try StreamSurgery.write(try StreamSurgery.replacingIndex(recs, with: entries), to: s.path("bad.seed"))
            let r = try s.sh("rm -rf out; seed-snapshot -x out < bad.seed")
            expectRefused(r, "seed-snapshot", containing: message, what)
        }
    }

    // MARK: sizes a header declares

    @Test func aDeclaredTebibyteWithoutItsBytesLeavesNothingBehind() throws {
        let s = try Scratch()
        try s.sh(
            """
            python3 - <<'PY'
            import tarfile
            t = tarfile.TarInfo("big"); t.size = 1 << 40
            open("big.tar", "wb").write(t.tobuf(format=tarfile.PAX_FORMAT) + b"x" * 512 + b"\\0" * 1024)
            PY
            """)
        try StreamSurgery.wrapArchive(try s.read("big.tar"), into: s.path("big.seed"))
        let r = try s.sh("timeout 10 seed-snapshot -x out < big.seed")
        expectRefused(r, "seed-snapshot", containing: "entry 'big': Truncated tar archive", "declared size")
        #expect(!s.exists("out/big"))
    }

    /// A sparse map says the file is a pebibyte, with 512 bytes of data at
    /// its start, or its end: past `ulimit -f` that is an error naming the
    /// entry, not a death by SIGXFSZ, and no part of the file stays.
    @Test func aSparseMapDeclaringAPebibyteIsAnErrorPastTheFileSizeLimit() throws {
        let s = try Scratch()
        for (name, at) in [("start", "0"), ("end", "(1 << 50) - 512")] {
            try s.sh(
                """
                python3 - <<'PY'
                import tarfile
                size = 1 << 50
                t = tarfile.TarInfo("GNUSparseFile.0/big"); t.size = 1024
                t.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "big", "GNU.sparse.realsize": str(size)}
                m = ("1\\n%d\\n512\\n" % (\(at))).encode()
                open("\(name).tar", "wb").write(t.tobuf(format=tarfile.PAX_FORMAT) + m + b"\\0" * (512 - len(m)) + b"x" * 512 + b"\\0" * 1024)
                PY
                """)
            try StreamSurgery.wrapArchive(try s.read("\(name).tar"), into: s.path("\(name).seed"))
            let r = try s.sh("rm -rf out; ulimit -f 10240; timeout 10 seed-snapshot -x out < \(name).seed")
            expectRefused(r, "seed-snapshot", containing: "entry 'big': ", status: 74, "a pebibyte's data at the \(name)")
            #expect(!s.exists("out/big"), "data at the \(name)")
        }
    }

    /// An increment's change lines wait in a temporary file while the
    /// index is checked, never in memory: three records of deletions
    /// (long paths, 175 MiB of them) cost what one does.
    @Test func changeLinesAreAppliedInMemoryThatDoesNotGrowWithThem() throws {
        let s = try Scratch()
        try s.sh("mkdir src && echo a > src/a && echo b > src/b && seed-snapshot --index-file s0.idx src > s0.seed && rm src/b")
        try s.sh("seed-snapshot --incremental s0.idx src > s1.seed")
        let recs = try StreamSurgery.records(s.path("s1.seed"))
        let deep = String(repeating: "/" + String(repeating: "a", count: 200), count: 19)
        var lines: [UInt8] = []
        for i in 0..<15_000 { lines += Array("{\"op\":\"delete\",\"path\":\"gone/\(i)\(deep)\",\"type\":\"file\"}\n".utf8) }
        let end = try #require(recs.last { $0.header.kind == .end })
        var totals = try end.payload.withUnsafeBytes { try StreamTotals.decode($0, record: "") }
        let session = try s.sh("head -c 2000 s0.idx | grep -ao '\"session\":\"[^\"]*\"' | head -1 | cut -d'\"' -f4").stdout
        var peaks: [Int] = []
        for records in [1, 3] {
            var out = recs.filter { $0.header.kind != .end }
            for _ in 0..<records { out.append(.init(header: RecordHeader(kind: .changes, payloadLength: 0), offset: 0, payload: lines)) }
            totals.changes = 1 + 15_000 * UInt64(records)
            out.append(.init(header: end.header, offset: 0, payload: totals.encoded()))
            try StreamSurgery.write(out, to: s.path("many.seed"))
            let r = try s.sh(
                """
                rm -rf out && seed-snapshot -x out < s0.seed && \
                  /usr/bin/time -f %M -o rss seed-snapshot -x out --session \(session.trimmingCharacters(in: .whitespacesAndNewlines)) < many.seed
                echo $?; tail -1 rss
                """)
            let said = r.stdout.split(separator: "\n")
            #expect(said.first == "0", "\(r.stdout) \(r.stderr)")
            #expect(!s.exists("out/b") && s.exists("out/a"))
            peaks.append(Int(said.last ?? "") ?? .max)
        }
        // Held in memory, the two more records' paths alone are 117 MiB.
        #expect(peaks[1] - peaks[0] < 32 << 10, "peak KiB: \(peaks)")
    }

    @Test func oversizedJSONIsRefusedBeforeItIsDecoded() throws {
        let s = try Scratch()
        let recs = try plainStream(s)
        var meta = try recs[0].payload.withUnsafeBytes { try StreamMetadata.decode($0, record: "") }
        meta.stages += Array(repeating: .init(tool: String(repeating: "x", count: 100), version: "1"), count: 12_000)
        var header = recs
        header[0].payload = meta.encoded()
        try StreamSurgery.write(header, to: s.path("header.seed"))
        var line = IndexEntry(pathBytes: Array(repeating: 0x61, count: 5 << 20), type: .dir)
        line.mode = 0o755
        let index = try StreamSurgery.replacingIndex(recs, with: try StreamSurgery.indexEntries(recs) + [line])
        try StreamSurgery.write(index, to: s.path("index.seed"))
        for tool in ["seed-compress -d", "seed-split --volume-size 8M", "seed-journal --journal-dir J", "seed-snapshot -t"] {
            let r = try s.sh("\(tool) < header.seed > /dev/null")
            expectRefused(r, String(tool.split(separator: " ")[0]), containing: "record 0 at byte 0: stream header record of", tool)
        }
        let t = try s.sh("seed-snapshot -t index.seed > /dev/null")
        expectRefused(t, "seed-snapshot", containing: "index line 7 is longer than 4 MiB", "index line")
    }

    @Test func anIndexLineTheSpecForbidsIsRefusedByEveryReader() throws {
        let s = try Scratch()
        let recs = try plainStream(s)
        let index = try StreamSurgery.indexEntries(recs)
        let f = try #require(index.firstIndex { $0.path == "numbers" })
        var cases: [(String, IndexEntry)] = []
        var both = index[f]
        both.pathB64 = "bnVtYmVycw=="
        cases.append(("has not exactly one of path and pathB64", both))
        var noDigest = index[f]
        noDigest.sha256 = nil
        cases.append(("a file without sha256", noDigest))
        var badDigest = index[f]
        badDigest.sha256 = String(repeating: "G", count: 64)
        cases.append(("sha256 is not 64 lower-case hex digits", badDigest))
        var badType = index[f]
        badType.type = EntryType(rawValue: "socket")
        cases.append(("type socket is not one seed-stream(5) names", badType))
        var badMode = index[f]
        badMode.mode = 0o170755
        cases.append(("mode has bits beyond 07777", badMode))
        for (message, entry) in cases {
            var entries = index
            entries[f] = entry
            try StreamSurgery.write(try StreamSurgery.replacingIndex(recs, with: entries), to: s.path("bad.seed"))
            for tool in ["seed-snapshot -t bad.seed", "seed-snapshot -x out < bad.seed"] {
                let r = try s.sh("rm -rf out; \(tool) > /dev/null")
                expectRefused(r, "seed-snapshot", containing: "index line \(f + 1) \(message)", tool)
            }
        }
    }

    // MARK: forged encryption

    func encrypted(_ s: Scratch) throws -> [StreamSurgery.Located] {
        try s.sh("seed-encrypt --keygen dc.key > /dev/null && mkdir src && seq 1 200000 > src/n")
        try s.sh(
            "seed-snapshot --record-size 65536 src | seed-encrypt -r dc.key.pub > e.seed && seed-snapshot --record-size 65536 src | seed-encrypt -r dc.key.pub > f.seed"
        )
        return try StreamSurgery.records(s.path("e.seed"))
    }

    @Test func aStreamHeaderChangedAfterEncryptionIsRefused() throws {
        let s = try Scratch()
        var recs = try encrypted(s)
        var meta = try recs[0].payload.withUnsafeBytes { try StreamMetadata.decode($0, record: "") }
        meta.stages[0].settings = ["recordSize": "4096"]
        recs[0].payload = meta.encoded()
        try StreamSurgery.write(recs, to: s.path("bad.seed"))
        let r = try s.sh("seed-encrypt -d -i dc.key < bad.seed > out")
        expectRefused(r, "seed-encrypt", containing: "record 2 at byte", "changed stream header")
        #expect(r.stderr.contains("fails authentication"), "\(r.stderr)")
        #expect(try s.read("out").isEmpty)
    }

    @Test func aKeyRecordOfOneOwnInTheMiddleIsRefused() throws {
        let s = try Scratch()
        let recs = try encrypted(s)
        let other = try StreamSurgery.records(s.path("f.seed"))
        // Anyone holding the public key can seal records of their own: cut
        // the stream and go on with another stream's key and records.
        let cut = Array(recs.prefix(4)) + Array(other.dropFirst(1))
        try StreamSurgery.write(cut, to: s.path("bad.seed"))
        let r = try s.sh("seed-encrypt -d -i dc.key < bad.seed > out")
        expectRefused(r, "seed-encrypt", containing: "record 4 at byte", "spliced key record")
        #expect(r.stderr.contains("key record out of place"), "\(r.stderr)")
    }

    @Test func aKeyRecordSwappedForAnotherOfTheSameRecipientIsRefused() throws {
        let s = try Scratch()
        var recs = try encrypted(s)
        let other = try StreamSurgery.records(s.path("f.seed"))
        recs[1] = other[1]
        try StreamSurgery.write(recs, to: s.path("bad.seed"))
        let r = try s.sh("seed-encrypt -d -i dc.key < bad.seed > out")
        expectRefused(r, "seed-encrypt", containing: "fails authentication", "swapped key record")
    }

    @Test func aVolumeSealedByAnotherEncryptionIsRefused() throws {
        let s = try Scratch()
        try s.sh("seed-encrypt --keygen dc.key > /dev/null && mkdir src && head -c 3000000 /dev/urandom > src/r && seq 1 100000 > src/n")
        try s.sh("seed-snapshot --record-size 64K src | seed-split --volume-size 3M > split.seed")
        try s.sh("seed-encrypt -r dc.key.pub < split.seed > a.seed && seed-encrypt -r dc.key.pub < split.seed > b.seed")
        let sizes = try StreamSurgery.cutVolumes(s.path("a.seed"), prefix: s.path("a"))
        #expect(sizes.count == 2)
        try StreamSurgery.cutVolumes(s.path("b.seed"), prefix: s.path("b"))
        let good = try s.sh("cat a1 a2 | seed-encrypt -d -i dc.key | cmp - split.seed && cat a2 a1 | seed-encrypt -d -i dc.key > /dev/null")
        #expect(good.status == 0, "\(good.stderr)")
        let alone = try s.sh("seed-encrypt -d -i dc.key < b2 > /dev/null")
        #expect(alone.status == 0, "a volume read alone: \(alone.stderr)")
        let mixed = try s.sh("cat a1 b2 | seed-encrypt -d -i dc.key > /dev/null")
        expectRefused(mixed, "seed-encrypt", containing: "volume 2 is not chained to volume 1", "a volume of another encryption")
        let late = try s.sh("cat b2 a1 | seed-encrypt -d -i dc.key > /dev/null")
        expectRefused(late, "seed-encrypt", containing: "volume 2 is not chained to volume 1", "found when volume 1 comes")
    }

    // MARK: paths from a stream

    @Test func aSessionIdThatIsNotAUUIDNeverBecomesAPath() throws {
        let s = try Scratch()
        var recs = try plainStream(s)
        var meta = try recs[0].payload.withUnsafeBytes { try StreamMetadata.decode($0, record: "") }
        meta.session = "../outside/x"
        recs[0].payload = meta.encoded()
        try StreamSurgery.write(recs, to: s.path("bad.seed"))
        let r = try s.sh("mkdir J && seed-journal --journal-dir J < bad.seed > /dev/null")
        expectRefused(r, "seed-journal", containing: "record 0 at byte 0: session id is not a lower-case UUID", "journal")
        #expect(!s.exists("outside"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.path("J")).isEmpty)
    }

    @Test func aDriveLabelWhoseNumbersDoNotHoldTogetherIsRefused() throws {
        let s = try Scratch()
        _ = try plainStream(s)
        try s.sh("seed-split --volume-size 2M < good.seed | seed-writeblk d1")
        try s.sh(
            """
            python3 - <<'PY'
            import re, zlib
            b = bytearray(open("d1", "rb").read())
            text = bytes(b[:4096]).split(b"\\0")[0].decode()
            body = text[:text.index("\\ncrc32: ")] + "\\n"
            body = re.sub(r"stream-bytes: \\d+", "stream-bytes: 1152921504606846976", body)
            label = (body + "crc32: %08x\\n" % zlib.crc32(body.encode())).encode()
            b[:4096] = label + b"\\0" * (4096 - len(label))
            open("d1", "wb").write(b)
            PY
            """)
        let r = try s.sh("timeout 10 seed-writeblk -d d1 > out")
        expectRefused(r, "seed-writeblk", containing: "'d1': the drive label does not hold together", "label")
        #expect(try s.read("out").isEmpty)
    }

    @Test func aJournalLineWithALengthNoRecordHasIsRefused() throws {
        let s = try Scratch()
        _ = try plainStream(s)
        try s.sh("seed-journal --journal-dir J < good.seed > /dev/null")
        try s.sh("sed -i '2s/\"length\":[0-9]*/\"length\":9223372036854775807/' J/*.jrn")
        let r = try s.sh("seed-journal --check J < good.seed > /dev/null")
        expectRefused(r, "seed-journal", containing: "line 2: length 9223372036854775807 is past the format's bound of 2^56", "journal length")
    }

    // MARK: every tool checks what it passes on

    /// Copies stream file `from` to `to` with a bit of its last data
    /// record's payload flipped, its CRC left as it was.
    func damagingLastDataPayload(_ s: Scratch, _ from: String, to: String) throws {
        let recs = try StreamSurgery.records(s.path(from))
        let d = try #require(recs.last { $0.header.kind == .data })
        var bytes = try s.read(from)
        bytes[Int(d.offset) + RecordHeader.size + 7] ^= 0x10
        try s.write(to, bytes)
    }

    @Test func splitJoinRefusesADamagedPayloadAndPassesNothingOfIt() throws {
        let s = try Scratch()
        _ = try plainStream(s)
        try s.sh("seed-split --volume-size 2M < good.seed > split.seed && seed-split -d < split.seed > joined.seed")
        try damagingLastDataPayload(s, "split.seed", to: "bad.seed")
        let r = try s.sh("seed-split -d < bad.seed > out")
        expectRefused(r, "seed-split", containing: "payload checksum mismatch (data record damaged)", "split -d")
        let out = try s.read("out")
        let good = try s.read("joined.seed")
        #expect(out.count < good.count && Array(good.prefix(out.count)) == out)
        try damagingLastDataPayload(s, "good.seed", to: "badplain.seed")
        let f = try s.sh("seed-split --volume-size 2M < badplain.seed > out2")
        expectRefused(f, "seed-split", containing: "payload checksum mismatch (data record damaged)", "split")
    }

    @Test func aDamagedPayloadNeverMakesACompleteDrive() throws {
        let s = try Scratch()
        _ = try plainStream(s)
        try s.sh("seed-split --volume-size 2M < good.seed > split.seed")
        try damagingLastDataPayload(s, "split.seed", to: "bad.seed")
        let r = try s.sh("seed-writeblk d1 < bad.seed")
        expectRefused(r, "seed-writeblk", containing: "payload checksum mismatch (data record damaged)", "writeblk")
        let back = try s.sh("seed-writeblk -d d1 > /dev/null")
        #expect(back.status == 65 && back.stderr.contains("writing never finished"), "\(back.stderr)")
    }

    @Test func journalCheckPassesNothingAfterTheFirstDamageAndRefusesAVolumeTwice() throws {
        let s = try Scratch()
        _ = try plainStream(s)
        try s.sh("seed-split --volume-size 2M < good.seed | seed-journal --journal-dir J > j.seed")
        let recs = try StreamSurgery.records(s.path("j.seed"))
        let datas = recs.filter { $0.header.kind == .data }
        let first = try #require(datas.first)
        var bytes = try s.read("j.seed")
        bytes[Int(first.offset) + RecordHeader.size + 10] ^= 0x01
        try s.write("bad.seed", bytes)
        let r = try s.sh("seed-journal --check J < bad.seed > out")
        #expect(r.status == 65, "\(r.stderr)")
        let out = try s.read("out")
        #expect(out.count <= Int(first.offset), "\(out.count) bytes passed on, damage at byte \(first.offset)")
        #expect(out == Array(bytes.prefix(out.count)))
        let vol1End =
            Int(try #require(recs.first { $0.header.kind == .volumeEnd }).offset) + RecordHeader.size
            + recs.first { $0.header.kind == .volumeEnd }!.payload.count
        try s.write("twice.seed", Array(bytes.prefix(0)) + Array(try s.read("j.seed").prefix(vol1End)) + Array(try s.read("j.seed").prefix(vol1End)))
        let t = try s.sh("seed-journal --check J < twice.seed > /dev/null")
        expectRefused(t, "seed-journal", containing: "volume 1 appears twice", "repeated volume")
        let named = try s.sh("seed-journal --check J -o checked.seed < bad.seed")
        #expect(named.status == 65)
        #expect(try s.sh("ls").stdout.contains("checked.seed") == false, "a named output with records withheld was committed")
        let clean = try s.sh("seed-journal --check J -o checked.seed < j.seed")
        #expect(clean.status == 0)
        #expect(try s.read("checked.seed") == (try s.read("j.seed")))
    }

    @Test func compressDecodingRefusesWhatTheSpecForbids() throws {
        let s = try Scratch()
        let recs = try plainStream(s)
        var cases: [(String, [StreamSurgery.Located], String)] = []
        cases.append(("two stream headers", [recs[0], recs[0]] + recs.dropFirst(), "record 1 at byte 0: a second stream header"))
        // A payload without codec whose raw length says otherwise.
        var lying = recs
        let d = try #require(lying.firstIndex { $0.header.kind == .data })
        lying[d].header.flags.setCodec(.zstd)
        try s.write("plain.bin", lying[d].payload)
        try s.sh("zstd -q --no-check -c plain.bin > nocheck.zst && zstd -q -c < plain.bin > nosize.zst")
        lying[d].payload = try s.read("nocheck.zst")
        cases.append(("a zstd frame without checksum", lying, "zstd frame without a content checksum"))
        lying[d].payload = try s.read("nosize.zst")
        cases.append(("a zstd frame without content size", lying, "zstd frame does not state its content size"))
        var kind0 = recs
        kind0[d].header.kind = RecordKind(rawValue: 0)
        cases.append(("kind 0", kind0, "record kind 0 is reserved"))
        var flagged = recs
        flagged[d].header.flags = RecordFlags(rawValue: 0x0100)
        cases.append(("a reserved flag bit", flagged, "reserved flag bits set (0x0100)"))
        for (what, records, message) in cases {
            try StreamSurgery.write(records, to: s.path("bad.seed"), renumber: false)
            var bytes = try s.read("bad.seed")
            if what == "two stream headers" { try StreamSurgery.write(records, to: s.path("bad.seed")); bytes = try s.read("bad.seed") }
            try s.write("bad.seed", bytes)
            let r = try s.sh("seed-compress -d < bad.seed > out")
            #expect(r.status == 65, "\(what): \(r.stderr)")
            #expect(r.stderrLines.count == 1, "\(what): \(r.stderr)")
            #expect(r.stderr.contains(message.replacingOccurrences(of: "record 1 at byte 0: ", with: "")), "\(what): \(r.stderr)")
        }
        // A payload without codec whose raw length differs from its length.
        var h = recs[1].header
        h.rawLength += 1
        h.payloadCRC = recs[1].payload.withUnsafeBytes { CRC32.checksum($0) }
        h.payloadLength = UInt64(recs[1].payload.count)
        let bytes = try s.read("good.seed")
        let o = Int(recs[1].offset)
        try s.write("raw.seed", Array(bytes[..<o]) + h.bytes + Array(bytes[(o + RecordHeader.size)...]))
        let r = try s.sh("seed-compress -d < raw.seed > out")
        expectRefused(r, "seed-compress", containing: "differs from the payload length", "raw length")
    }

    /// A stage reading a pipe lets the first signal pass (a stop record is
    /// on its way down the pipe) and ends at the second. (A background job
    /// of a script starts with SIGINT ignored, and keeps it so: this one is
    /// started with SIGINT at its default, as from a terminal.)
    @Test func anInterruptedRunLeavesNoPartialOutputBehind() throws {
        let s = try Scratch()
        _ = try plainStream(s)
        for sig in ["INT", "TERM"] {
            let r = try s.sh(
                """
                rm -f in && mkfifo in
                { head -c 100000 good.seed; exec sleep 30; } > in 2> /dev/null & feeder=$!
                env --default-signal=INT seed-compress -o out.seed < in & pid=$!
                until ls out.seed.seed-partial.* > /dev/null 2>&1; do sleep 0.01; done
                kill -\(sig) $pid; sleep 0.2; kill -\(sig) $pid; wait $pid; echo status=$?; ls out.seed* 2>/dev/null | wc -l
                kill -KILL $feeder
                """)
            let status = sig == "INT" ? 130 : 143
            #expect(r.stdout == "status=\(status)\n0\n", "\(sig): \(r.stdout) \(r.stderr)")
        }
    }

    /// A run killed outright leaves its partial file; the next run writing
    /// the same output removes it, but never one a live run holds, nor a
    /// name that only looks like one.
    @Test func aPartialFileAKilledRunLeftIsRemovedByTheNextRun() throws {
        let s = try Scratch()
        _ = try plainStream(s)
        let r = try s.sh(
            """
            rm -f in && mkfifo in
            { head -c 100000 good.seed; exec sleep 30; } > in 2> /dev/null & feeder=$!
            seed-compress -o out.seed < in & pid=$!
            until ls out.seed.seed-partial.* > /dev/null 2>&1; do sleep 0.01; done
            kill -KILL $pid; wait $pid; echo killed=$?; kill -KILL $feeder
            ls out.seed.seed-partial.* | wc -l
            sleep 30 > /dev/null 2>&1 & live=$!
            echo busy > out.seed.seed-partial.$live
            flock out.seed.seed-partial.$live sleep 30 > /dev/null 2>&1 & holder=$!
            echo odd > out.seed.seed-partial.12x
            sleep 0.3
            seed-compress -o out.seed < good.seed; echo again=$?
            ls out.seed* | sed "s/\\.$live$/.LIVE/" | sort
            pkill -KILL -P $holder; kill -KILL $live $holder 2> /dev/null
            """)
        #expect(r.stdout == "killed=137\n1\nagain=0\nout.seed\nout.seed.seed-partial.12x\nout.seed.seed-partial.LIVE\n", "\(r.stdout)\(r.stderr)")
        #expect(try s.sh("seed-compress -d < out.seed | cmp - good.seed && echo same").stdout == "same\n")
    }
}
