import Foundation
import Testing

/// seed-journal --sign and --check --signer (seed-journal(1), SIGNING):
/// the data centre knows the drives hold what the shipping side wrote,
/// before and without decryption.
@Suite struct SignedJournalTests {
    /// An encrypted stream of two volumes on drive files d1 d2, journaled
    /// in J and signed with `sk`; `other` is a second signing key.
    func shipped(_ s: Scratch, sign: Bool = true) throws {
        let r = try s.sh(
            """
            mkdir src && for i in $(seq 1 12); do head -c 1000000 /dev/urandom > src/f$i; done
            head -c 32 /dev/urandom > kf && seed-journal --keygen sk > /dev/null && seed-journal --keygen other > /dev/null
            seed-snapshot --record-size 256K src | seed-split --volume-size 8M | seed-encrypt --key-file kf \
              | seed-journal --journal-dir J \(sign ? "--sign sk" : "") | seed-writeblk d1 d2
            """)
        try #require(r.status == 0, "\(r.stderr)")
    }

    /// A clear stream of two volumes whose journals name the files they
    /// hold (the index passes seed-journal in the clear), signed with `sk`.
    func shippedClear(_ s: Scratch) throws {
        let r = try s.sh(
            """
            mkdir src && for i in $(seq 1 12); do head -c 1000000 /dev/urandom > src/f$i; done
            seed-journal --keygen sk > /dev/null
            seed-snapshot --record-size 256K src | seed-split --volume-size 8M \
              | seed-journal --journal-dir J --sign sk | seed-writeblk d1 d2
            """)
        try #require(r.status == 0, "\(r.stderr)")
    }

    /// Runs `edit` (sed commands) on the volume 1 journal, then checks the
    /// drives against it with --signer: the status, stderr and bytes passed.
    func checkAltered(_ s: Scratch, _ edit: String) throws -> (status: String, stderr: String) {
        try s.sh("sed -i '\(edit)' J/*.v001.jrn")
        let r = try s.sh("\(check) --signer sk.pub > out.seed; echo ${PIPESTATUS[1]} $(stat -c %s out.seed)")
        return (r.stdout, r.stderr)
    }

    let check = "seed-writeblk -d d1 d2 | seed-journal --check J"

    @Test func journalsSignedByTheSignerGivenPass() throws {
        let s = try Scratch()
        try shipped(s)
        #expect(try s.sh("for j in J/*.jrn; do tail -n 1 $j | grep -c '\"type\":\"signature\"'; done").stdout == "1\n1\n")
        let r = try s.sh("\(check) --signer sk.pub | seed-encrypt -d --key-file kf | seed-split -d | seed-snapshot -t > /dev/null; echo ${PIPESTATUS[*]}")
        #expect(r.stdout == "0 0 0 0 0\n", "\(r.stderr)")
    }

    @Test func aJournalSignedByOneKeyAndCheckedWithAnotherIsRefused() throws {
        let s = try Scratch()
        try shipped(s)
        let r = try s.sh("\(check) --signer other.pub > out.seed; echo ${PIPESTATUS[1]}; stat -c %s out.seed")
        #expect(r.stdout == "65\n0\n", "\(r.stdout)")
        #expect(r.stderr.contains("is not signed by the signer given"), "\(r.stderr)")
    }

    @Test func anUnsignedJournalIsRefusedWhenASignerIsGiven() throws {
        let s = try Scratch()
        try shipped(s, sign: false)
        let r = try s.sh("\(check) --signer sk.pub > /dev/null; echo ${PIPESTATUS[1]}")
        #expect(r.stdout == "65\n")
    }

    /// Changes the first hex digit after `field` in the volume 1 journal's line `line` (from 0).
    func alter(_ s: Scratch, field: String, line: Int) throws {
        let path = try #require(try s.sh("ls J/*.v001.jrn").stdout.split(separator: "\n").first.map(String.init))
        var lines = try String(contentsOfFile: s.path(path), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let r = try #require(lines[line].range(of: "\"\(field)\":\""))
        let c = lines[line][r.upperBound]
        lines[line].replaceSubrange(r.upperBound...r.upperBound, with: c == "0" ? "1" : "0")
        try lines.joined(separator: "\n").write(toFile: s.path(path), atomically: false, encoding: .utf8)
    }

    @Test func oneChangedByteInAJournalOrOnADriveIsRefusedBeforeDecryption() throws {
        let s = try Scratch()
        try shipped(s)
        try s.sh("cp -r J J0")
        // The end line's Merkle root: the signature no longer holds.
        let end = try #require(try s.sh("grep -n '\"type\":\"end\"' J/*.v001.jrn | cut -d: -f1").stdout.split(separator: "\n").first.flatMap { Int($0) })
        try alter(s, field: "merkleRoot", line: end - 1)
        let root = try s.sh("\(check) --signer sk.pub > /dev/null; echo ${PIPESTATUS[1]}")
        #expect(root.stdout == "65\n")
        #expect(root.stderr.contains("is not signed by the signer given"), "\(root.stderr)")
        // A record line's digest: the signature covers every line.
        try s.sh("rm -rf J && cp -r J0 J")
        try alter(s, field: "sha256", line: 1)
        let line = try s.sh("\(check) --signer sk.pub > out.seed; echo ${PIPESTATUS[1]}; stat -c %s out.seed")
        #expect(line.stdout == "65\n0\n", "\(line.stderr)")
        #expect(line.stderr.contains("is not signed by the signer given"), "\(line.stderr)")
        // A byte on a drive: named as damage, before seed-encrypt -d sees it.
        try s.sh(flipByte + "rm -rf J && cp -r J0 J && flip d1 3000000")
        let drive = try s.sh("\(check) --signer sk.pub > /dev/null; echo ${PIPESTATUS[1]}")
        #expect(drive.stdout == "65\n")
        #expect(drive.stderr.contains("is damaged (digest mismatch)"), "\(drive.stderr)")
    }

    @Test func theSignatureCoversTheFieldsOfEveryRecordLine() throws {
        let s = try Scratch()
        try shippedClear(s)
        try s.sh("cp -r J J0")
        // A data record's number, its kind, its sequence number: each refused, nothing passed.
        for edit in [
            #"0,/"dataRecord":/s/"dataRecord":\([0-9]*\)/"dataRecord":100\1/"#,
            #"0,/"kind":"stream-header"/s/"kind":"stream-header"/"kind":"data"/"#,
            #"0,/"seq":3,/s/"seq":3,/"seq":4,/"#,
        ] {
            try s.sh("rm -rf J && cp -r J0 J")
            let r = try checkAltered(s, edit)
            #expect(r.status == "65 0\n", "\(edit): \(r.stderr)")
            #expect(r.stderr.contains("is not signed by the signer given"), "\(edit): \(r.stderr)")
        }
    }

    @Test func theSignatureIsTheLastLineAndCoversTheFileLines() throws {
        let s = try Scratch()
        try shippedClear(s)
        #expect(try s.sh("for j in J/*.jrn; do tail -n 1 $j | grep -c '\"type\":\"signature\"'; done").stdout == "1\n1\n")
        #expect(try s.sh("grep -c '\"type\":\"file\"' J/*.v001.jrn").stdout != "0\n")
        #expect(try s.sh("\(check) --signer sk.pub > /dev/null").status == 0)
        // A file line's name or range: refused.
        let r = try checkAltered(s, #"0,/"type":"file"/s/"lastData":\([0-9]*\)/"lastData":9\1/"#)
        #expect(r.status == "65 0\n", "\(r.stderr)")
        #expect(r.stderr.contains("is not signed by the signer given"), "\(r.stderr)")
    }

    @Test func aLineAfterTheSignatureIsRefused() throws {
        let s = try Scratch()
        try shippedClear(s)
        let r = try checkAltered(s, #"$a {"firstData":0,"lastData":0,"path":"f1","type":"file"}"#)
        #expect(r.status == "65 0\n", "\(r.stderr)")
        #expect(r.stderr.contains("has lines after its signature"), "\(r.stderr)")
    }

    @Test func randomAccessRefusesARaisedDataRecordInASignedJournal() throws {
        let s = try Scratch()
        try shippedClear(s)
        try s.sh(#"sed -i '0,/"dataRecord":/s/"dataRecord":\([0-9]*\)/"dataRecord":100\1/' J/*.v001.jrn"#)
        let r = try s.sh("seed-snapshot -x out --only f1 --from d1 --from d2 --journal-dir J --signer sk.pub")
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("is not signed by the signer given"), "\(r.stderr)")
        #expect(!s.exists("out/f1"))
    }

    @Test func aSignedJournalCheckedWithoutASignerSaysItsSignatureIsNotChecked() throws {
        let s = try Scratch()
        try shipped(s)
        let r = try s.sh("\(check) > /dev/null")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("journal of volume 1 is signed, but no --signer was given: the signature is not checked"), "\(r.stderr)")
    }
}
