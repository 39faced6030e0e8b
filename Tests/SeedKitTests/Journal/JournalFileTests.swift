import Crypto
import Foundation
import SeedCore
import SeedFormat
import Testing

@Suite struct JournalFileTests {
    let session = "11111111-2222-4333-8444-555555555555"

    /// A signed journal of volume 1 at a fresh path: a volume line, one
    /// record line, an end line and the signature.
    func signedJournal(_ key: Curve25519.Signing.PrivateKey) throws -> String {
        let path = tempPath("journal") + ".jrn"
        let w = try JournalWriter(create: path)
        w.append(.volume(.init(session: session, volume: 1, created: "2026-12-02T00:00:00Z")))
        w.append(
            .record(.init(seq: 0, kind: .volumeBegin, offset: 0, length: 100, sha256: String(repeating: "ab", count: 32), dataRecord: nil)))
        w.append(.end(.init(records: 1, bytes: 100, merkleRoot: String(repeating: "ab", count: 32))))
        try w.sign(session: session, volume: 1) { m in
            .init(signer: key.publicKey.rawRepresentation.base64EncodedString(), signature: try key.signature(for: m).base64EncodedString())
        }
        try w.flush(sync: false)
        return path
    }

    func lines(_ f: JournalFile) throws -> [JournalLine] {
        let r = JournalReader(f)
        var out: [JournalLine] = []
        while let l = try r.next() { out.append(l) }
        return out
    }

    @Test func aSignedJournalIsReadFromTheBytesItsSignatureWasCheckedOn() throws {
        let key = Curve25519.Signing.PrivateKey()
        let path = try signedJournal(key)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let f = try JournalFile(path, session: session, volume: 1, signers: [key.publicKey])
        // The journal changes once checked: what is read is still what was checked.
        try Data(repeating: 0x20, count: before.count).write(to: URL(fileURLWithPath: path))
        let read = try lines(f)
        #expect(read.count == 4)
        #expect(read.first.map { if case .volume(let v) = $0 { v.volume == 1 } else { false } } == true)
        #expect(try lines(f).count == 4, "a second reader of the same journal reads it from its start")
    }

    @Test func aSignatureOverOtherBytesIsRefused() throws {
        let key = Curve25519.Signing.PrivateKey()
        let path = try signedJournal(key)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"bytes\":100", with: "\"bytes\":101")
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let e = seedError { _ = try JournalFile(path, session: session, volume: 1, signers: [key.publicKey]) }
        #expect(e?.message.contains("is not signed by the signer given") == true, "\(String(describing: e?.message))")
    }

    @Test func aSignatureForAnotherVolumeIsRefused() throws {
        let key = Curve25519.Signing.PrivateKey()
        let path = try signedJournal(key)
        let e = seedError { _ = try JournalFile(path, session: session, volume: 2, signers: [key.publicKey]) }
        #expect(e?.message.contains("is not signed by the signer given") == true)
    }

    @Test func aTornLineAfterTheSignatureIsRefused() throws {
        let key = Curve25519.Signing.PrivateKey()
        let path = try signedJournal(key)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.seekToEnd()
        try h.write(contentsOf: Data("{\"type\":\"fi".utf8))
        try h.close()
        let e = seedError { _ = try JournalFile(path, session: session, volume: 1, signers: [key.publicKey]) }
        #expect(e?.message.contains("has lines after its signature") == true, "\(String(describing: e?.message))")
    }
}
