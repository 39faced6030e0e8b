import Crypto
import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct KeySlotTests {
    let key = SymmetricKey(size: .bits256)

    @Test func aKeyFileSlotOpensWithItsFileOnly() throws {
        let secret = Data((0..<32).map { UInt8($0) })
        let slot = try Wrapping.wrapWithKeyFile(key, keyId: "0011223344556677", secret: secret)
        #expect(Wrapping.unwrap(slot, keyId: "0011223344556677", keyFile: secret) == key)
        #expect(Wrapping.unwrap(slot, keyId: "0011223344556677", keyFile: Data(repeating: 7, count: 32)) == nil)
        // The key id is bound: a slot moved to another key record does not open.
        #expect(Wrapping.unwrap(slot, keyId: "ffffffffffffffff", keyFile: secret) == nil)
    }

    @Test func aRecipientSlotOpensWithItsIdentityOnly() throws {
        let id = Curve25519.KeyAgreement.PrivateKey()
        let slot = try Wrapping.wrapForRecipient(key, keyId: "0011223344556677", to: id.publicKey)
        #expect(Data(base64Encoded: slot.enc ?? "")?.count == 32)
        #expect(Data(base64Encoded: slot.wrapped ?? "")?.count == 48)
        #expect(Wrapping.unwrap(slot, keyId: "0011223344556677", identity: id) == key)
        #expect(Wrapping.unwrap(slot, keyId: "0011223344556677", identity: Curve25519.KeyAgreement.PrivateKey()) == nil)
    }

    /// seed-stream(5): a reader passes over a slot kind it does not know,
    /// whatever fields it has (a later kind may wrap the key otherwise).
    @Test func aSlotOfAKindNotKnownIsPassedOverWhateverItsFields() throws {
        let json = #"{"cipher":"aes-256-gcm","keyId":"0011223344556677","slots":[{"kind":"mlkem768","ct":"AAAA"},{"kind":"keyfile","salt":"AAAA"}]}"#
        let k = try Array(json.utf8).withUnsafeBytes { try KeyRecord.decode($0, record: "test") }
        #expect(k.slots.map(\.kind.rawValue) == ["mlkem768", "keyfile"])
        #expect(k.slots.allSatisfy { Wrapping.unwrap($0, keyId: k.keyId, keyFile: Data(count: 32)) == nil })
    }

    @Test func scryptParametersBeyondTheBoundsAreNotTried() throws {
        let slot = try Wrapping.wrapWithPassphrase(key, keyId: "0011223344556677", passphrase: Data("pw".utf8))
        #expect(Wrapping.unwrap(slot, keyId: "0011223344556677", passphrase: Data("pw".utf8)) == key)
        for (logN, r, p) in [(20, 8, 1), (18, 16, 1), (17, 8, 3), (9, 8, 1)] {
            var hostile = slot
            hostile.logN = logN
            hostile.r = r
            hostile.p = p
            #expect(Wrapping.unwrap(hostile, keyId: "0011223344556677", passphrase: Data("pw".utf8)) == nil, "logN \(logN) r \(r) p \(p)")
        }
    }

    @Test func aChainHoldsTheNextKeyUnderThePreviousOneOnly() throws {
        let previous = SymmetricKey(size: .bits256)
        let chain = try Chain.seal(key, keyId: "aa", previous: previous)
        #expect(Chain.holds(chain, key: key, keyId: "aa", previous: previous))
        #expect(!Chain.holds(chain, key: key, keyId: "bb", previous: previous))
        #expect(!Chain.holds(chain, key: key, keyId: "aa", previous: SymmetricKey(size: .bits256)))
        #expect(!Chain.holds(chain, key: SymmetricKey(size: .bits256), keyId: "aa", previous: previous))
    }

    @Test func theClearTranscriptCoversKindLengthAndPayload() {
        func digest(_ records: [(RecordKind, [UInt8])]) -> [UInt8] {
            var t = ClearTranscript()
            for (k, p) in records { p.withUnsafeBytes { t.add(k, $0) } }
            return t.digest
        }
        let a = digest([(.streamHeader, [1, 2]), (.key, [3])])
        #expect(a == digest([(.streamHeader, [1, 2]), (.key, [3])]))
        #expect(a != digest([(.streamHeader, [1]), (.key, [2, 3])]))
        #expect(a != digest([(.volumeBegin, [1, 2]), (.key, [3])]))
        var manual = SHA256()
        manual.update(data: [1] + [2, 0, 0, 0, 0, 0, 0, 0] + [1, 2] + [6] + [1, 0, 0, 0, 0, 0, 0, 0] + [3])
        #expect(a == Array(manual.finalize()))
    }
}
