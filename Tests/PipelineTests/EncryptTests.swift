import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

@testable import SeedKit

@Suite(.serialized) struct EncryptTests {
    func keys(_ s: Scratch) throws {
        let r = try s.sh("seed-encrypt --keygen dc.key > dc.recipient && seed-encrypt --keygen other.key > /dev/null")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func recipientRoundTripRestoresTheTree() throws {
        let s = try Scratch()
        let src = try s.awkwardTree()
        try keys(s)
        let r = try s.sh("seed-snapshot src | seed-compress | seed-encrypt -r dc.key.pub | seed-encrypt -d -i dc.key | seed-compress -d | seed-snapshot -x out")
        #expect(r.status == 0)
        #expect(r.stderr == "")
        expectSameTree(src, s.path("out"))
    }

    @Test func keyFilePassphraseAndChaChaEachRoundTrip() throws {
        let s = try Scratch()
        try s.sh("mkdir src && seq 1 50000 > src/n && head -c 64 /dev/urandom > secret && printf 'correct horse\\n' > pass")
        let r = try s.sh(
            """
            seed-snapshot src | seed-encrypt --key-file secret | seed-encrypt -d --key-file secret | seed-snapshot -x a &&
            seed-snapshot src | seed-encrypt --chacha --passphrase-file pass | seed-encrypt -d --passphrase-file pass | seed-snapshot -x b &&
            seed-snapshot src | SEED_PASSPHRASE='correct horse' seed-encrypt | SEED_PASSPHRASE='correct horse' seed-encrypt -d | seed-snapshot -x c &&
            cmp a/n src/n && cmp b/n src/n && cmp c/n src/n
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr == "")
    }

    @Test func keygenWritesAPrivateIdentityAndRefusesToOverwrite() throws {
        let s = try Scratch()
        try keys(s)
        #expect(try s.sh("stat -c %a dc.key").stdout == "600\n")
        #expect(try s.sh("cat dc.key.pub").stdout == (try s.sh("cat dc.recipient").stdout))
        let again = try s.sh("seed-encrypt --keygen dc.key")
        #expect(again.status == 73)
        #expect(again.stderr == "seed-encrypt: error: cannot create 'dc.key': File exists\n")
    }

    @Test func keyFilesThatAreNotKeysAreRefused() throws {
        let s = try Scratch()
        try keys(s)
        try s.sh("echo hello > junk && : > empty && grep -v '^#' dc.key > secret-only")
        let r = try s.sh("seed-encrypt -r junk < /dev/null")
        #expect(r.status == 64)
        #expect(r.stderr == "seed-encrypt: error: 'junk' is not a seed recipient file (expected a line starting 'seed-x25519-1')\n")
        #expect(try s.sh("seed-encrypt -r empty < /dev/null").stderr == "seed-encrypt: error: 'empty' holds no recipient\n")
        #expect(try s.sh("seed-encrypt -d -i dc.key.pub < /dev/null").stderr.contains("is not a seed identity file"))
        #expect(try s.sh("seed-encrypt -r secret-only < /dev/null").stderr.contains("is not a seed recipient file"))
    }

    @Test func wrongIdentityOrPassphraseIsOneClearError() throws {
        let s = try Scratch()
        try keys(s)
        try s.sh(
            "mkdir src && echo x > src/x && seed-snapshot src | seed-encrypt -r dc.key.pub > e.seed && printf 'a\\n' > p1 && printf 'b\\n' > p2 && seed-snapshot src | seed-encrypt --passphrase-file p1 > p.seed"
        )
        for cmd in ["seed-encrypt -d -i other.key e.seed", "seed-encrypt -d --passphrase-file p2 p.seed"] {
            let r = try s.sh(cmd + " > out")
            #expect(r.status == 65)
            #expect(r.stderrLines.count == 1)
            #expect(r.stderr.contains("no key matches"), "\(r.stderr)")
            #expect(try s.sh("stat -c %s out").stdout == "0\n")  // nothing before the failing record's key
        }
    }

    @Test func fileNamesDoNotAppearInTheEncryptedStream() throws {
        let s = try Scratch()
        try keys(s)
        try s.sh("mkdir src && for n in quarterly-payroll board-minutes secret-merger-plan; do echo data > src/$n.txt; done")
        #expect(try s.sh("seed-snapshot src | strings | grep -q merger").status == 0)  // the check can see names
        let r = try s.sh("seed-snapshot src | seed-encrypt -r dc.key.pub | strings | grep -cE 'payroll|minutes|merger'")
        #expect(r.stdout == "0\n")
    }

    func encrypted(_ s: Scratch) throws -> [StreamSurgery.Located] {
        try keys(s)
        try s.sh("mkdir src && seq 1 200000 > src/n && seed-snapshot --record-size 65536 src | seed-encrypt -r dc.key.pub > e.seed")
        return try StreamSurgery.records(s.path("e.seed"))
    }

    func expectRefused(_ s: Scratch, _ what: String, containing: String) throws {
        let r = try s.sh("seed-encrypt -d -i dc.key bad.seed > out")
        #expect(r.status == 65, "\(what): \(r.stderr)")
        #expect(r.stderrLines.count == 1, "\(what): \(r.stderr)")
        #expect(r.stderr.contains(containing), "\(what): \(r.stderr)")
    }

    @Test func alteredRecordFailsAuthenticationEvenWithValidChecksums() throws {
        let s = try Scratch()
        var recs = try encrypted(s)
        let i = try #require(recs.firstIndex { $0.header.kind == .data })
        recs[i + 1].payload[100] ^= 0x01
        try StreamSurgery.write(recs, to: s.path("bad.seed"))
        try expectRefused(s, "altered", containing: "record \(i + 1) at byte \(recs[i + 1].offset): data record fails authentication")
    }

    @Test func flippedBitAnywhereIsRefused() throws {
        let s = try Scratch()
        _ = try encrypted(s)
        let good = try s.read("e.seed")
        for o in stride(from: 0, to: good.count, by: max(1, good.count / 40)) {
            var bad = good
            bad[o] ^= 0x10
            try s.write("bad.seed", bad)
            let r = try s.sh("seed-encrypt -d -i dc.key bad.seed > /dev/null")
            #expect(r.status == 65, "byte \(o): \(r.stderr)")
            #expect(r.stderrLines.count == 1, "byte \(o): \(r.stderr)")
        }
    }

    @Test func swappedRecordsFailAuthentication() throws {
        let s = try Scratch()
        var recs = try encrypted(s)
        let i = try #require(recs.firstIndex { $0.header.kind == .data })
        recs.swapAt(i, i + 1)
        try StreamSurgery.write(recs, to: s.path("bad.seed"))
        try expectRefused(s, "swapped", containing: "fails authentication")
    }

    @Test func removedKeyRecordIsRefused() throws {
        let s = try Scratch()
        var recs = try encrypted(s)
        recs.removeAll { $0.header.kind == .key }
        try StreamSurgery.write(recs, to: s.path("bad.seed"))
        try expectRefused(s, "no key record", containing: "encrypted data record with no key record before it")
    }

    @Test func recordFromAnotherStreamFailsAuthentication() throws {
        let s = try Scratch()
        var recs = try encrypted(s)
        try s.sh("seed-snapshot --record-size 65536 src | seed-encrypt -r dc.key.pub > e2.seed")
        let other = try StreamSurgery.records(s.path("e2.seed"))
        let i = try #require(recs.firstIndex { $0.header.kind == .data })
        recs[i] = other[i]
        try StreamSurgery.write(recs, to: s.path("bad.seed"))
        try expectRefused(s, "foreign", containing: "fails authentication")
    }

    @Test func strippedEncryptionFlagIsRefused() throws {
        let s = try Scratch()
        var recs = try encrypted(s)
        let i = try #require(recs.firstIndex { $0.header.kind == .data })
        recs[i].header.flags.rawValue &= ~RecordFlags.encrypted.rawValue
        recs[i].header.rawLength = recs[i].header.payloadLength  // a header that is consistent on its own
        try StreamSurgery.write(recs, to: s.path("bad.seed"))
        try expectRefused(s, "unflagged", containing: "data record is not encrypted in an encrypted stream")
    }

    @Test func encryptingTwiceOrWithoutRecipientsIsRefused() throws {
        let s = try Scratch()
        _ = try encrypted(s)
        let twice = try s.sh("seed-encrypt -r dc.key.pub e.seed > /dev/null")
        #expect(twice.status == 65)
        #expect(twice.stderr.contains("already encrypted"))
        let plain = try s.sh("seed-snapshot src | seed-encrypt -d -i dc.key > /dev/null")
        #expect(plain.status == 65)
        // seed-snapshot, its reader gone, says so on a line of its own.
        #expect(
            plain.stderrLines.filter { $0.hasPrefix("seed-encrypt:") } == [
                "seed-encrypt: error: standard input: record 0 at byte 0: the stream is not encrypted"
            ])
        let none = try s.sh("env -u SEED_PASSPHRASE seed-encrypt < e.seed > /dev/null")
        #expect(none.status == 64)
        #expect(none.stderrLines.first == "seed-encrypt: error: no recipient")
    }
}
