import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import _CryptoExtras

/// The ways a data key can be wrapped for, and unwrapped by, someone.
public enum Wrapping {
    static let hpkeSuite = HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256)
    static let info = Data("seed-encrypt key slot v1".utf8)
    /// scrypt cost: N = 2^17, r = 8, p = 1 (128 MiB, about half a second here).
    public static let scryptLogN = 17
    public static let scryptR = 8
    public static let scryptP = 1

    /// Associated data for a wrapped key: the slot kind and the key id.
    static func aad(_ kind: SlotKind, _ keyId: String) -> Data { Data("seed \(kind) \(keyId)".utf8) }

    public static func wrapForRecipient(_ key: SymmetricKey, keyId: String, to recipient: Curve25519.KeyAgreement.PublicKey) throws -> KeyRecord.Slot {
        var sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: hpkeSuite, info: info)
        let sealed = try key.withUnsafeBytes { try sender.seal(Data($0), authenticating: aad(.x25519, keyId)) }
        return KeyRecord.Slot(kind: .x25519, enc: sender.encapsulatedKey.base64EncodedString(), wrapped: sealed.base64EncodedString())
    }

    public static func unwrap(_ slot: KeyRecord.Slot, keyId: String, identity: Curve25519.KeyAgreement.PrivateKey) -> SymmetricKey? {
        guard slot.kind == .x25519, let enc = slot.enc.flatMap({ Data(base64Encoded: $0) }), let ct = slot.wrapped.flatMap({ Data(base64Encoded: $0) }),
            var r = try? HPKE.Recipient(privateKey: identity, ciphersuite: hpkeSuite, info: info, encapsulatedKey: enc),
            let key = try? r.open(ct, authenticating: aad(.x25519, keyId)), key.count == 32
        else { return nil }
        return SymmetricKey(data: key)
    }

    /// A key file's whole content, stretched by HKDF-SHA256 with the slot's salt.
    public static func wrapWithKeyFile(_ key: SymmetricKey, keyId: String, secret: Data) throws -> KeyRecord.Slot {
        let salt = randomBytes(16)
        let kek = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: salt, info: info, outputByteCount: 32)
        return KeyRecord.Slot(kind: .keyfile, salt: salt.base64EncodedString(), wrapped: try seal(key, kek, aad(.keyfile, keyId)))
    }

    public static func unwrap(_ slot: KeyRecord.Slot, keyId: String, keyFile secret: Data) -> SymmetricKey? {
        guard slot.kind == .keyfile, let salt = slot.salt.flatMap({ Data(base64Encoded: $0) }) else { return nil }
        let kek = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: salt, info: info, outputByteCount: 32)
        guard let w = slot.wrapped else { return nil }
        return open(w, kek, aad(.keyfile, keyId))
    }

    public static func wrapWithPassphrase(_ key: SymmetricKey, keyId: String, passphrase: Data) throws -> KeyRecord.Slot {
        let salt = randomBytes(16)
        let kek = try KDF.Scrypt.deriveKey(from: passphrase, salt: salt, outputByteCount: 32, rounds: 1 << scryptLogN, blockSize: scryptR, parallelism: scryptP)
        return KeyRecord.Slot(
            kind: .scrypt, salt: salt.base64EncodedString(), logN: scryptLogN, r: scryptR, p: scryptP,
            wrapped: try seal(key, kek, aad(.scrypt, keyId)))
    }

    public static func unwrap(_ slot: KeyRecord.Slot, keyId: String, passphrase: Data) -> SymmetricKey? {
        // Bounded parameters: a hostile key record must not make us take
        // more than 256 MiB (128 * r * 2^logN bytes) or seconds of work.
        guard slot.kind == .scrypt, let w = slot.wrapped, let salt = slot.salt.flatMap({ Data(base64Encoded: $0) }), let logN = slot.logN, let r = slot.r,
            let p = slot.p,
            (10...18).contains(logN), (1...16).contains(r), (1...2).contains(p), 128 * r << logN <= 256 << 20,
            let kek = try? KDF.Scrypt.deriveKey(from: passphrase, salt: salt, outputByteCount: 32, rounds: 1 << logN, blockSize: r, parallelism: p)
        else { return nil }
        return open(w, kek, aad(.scrypt, keyId))
    }

    static func seal(_ key: SymmetricKey, _ kek: SymmetricKey, _ aad: Data) throws -> String {
        let box = try key.withUnsafeBytes { try AES.GCM.seal(Data($0), using: kek, authenticating: aad) }
        return box.combined!.base64EncodedString()
    }

    static func open(_ wrapped: String, _ kek: SymmetricKey, _ aad: Data) -> SymmetricKey? {
        guard let d = Data(base64Encoded: wrapped), let box = try? AES.GCM.SealedBox(combined: d),
            let key = try? AES.GCM.open(box, using: kek, authenticating: aad), key.count == 32
        else { return nil }
        return SymmetricKey(data: key)
    }
}

/// The chain from one volume's data key to the next (seed-stream(5), kind
/// 6): the next key sealed with AES-256-GCM under HKDF-SHA256 of the
/// previous one (no salt, info "seed-encrypt volume chain v1"), with
/// associated data "seed chain " and the next key record's keyId.
public enum Chain {
    static let info = Data("seed-encrypt volume chain v1".utf8)

    static func kek(_ previous: SymmetricKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: previous, info: info, outputByteCount: 32)
    }

    static func aad(_ keyId: String) -> Data { Data("seed chain \(keyId)".utf8) }

    public static func seal(_ key: SymmetricKey, keyId: String, previous: SymmetricKey) throws -> String {
        try Wrapping.seal(key, kek(previous), aad(keyId))
    }

    /// Whether `chain` holds `key` sealed under `previous`.
    public static func holds(_ chain: String, key: SymmetricKey, keyId: String, previous: SymmetricKey) -> Bool {
        guard let opened = Wrapping.open(chain, kek(previous), aad(keyId)) else { return false }
        return opened == key
    }
}
