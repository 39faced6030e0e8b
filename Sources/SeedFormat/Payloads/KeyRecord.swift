import Foundation
import SeedCore
import SeedIO

/// How a key slot wraps the data key (seed-stream(5), kind 6). A kind the
/// format does not define decodes, and no reader opens it.
public struct SlotKind: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// HPKE (RFC 9180) to an X25519 recipient.
    public static let x25519 = SlotKind(rawValue: "x25519")
    /// A secret in a key file.
    public static let keyfile = SlotKind(rawValue: "keyfile")
    /// A passphrase, through scrypt.
    public static let scrypt = SlotKind(rawValue: "scrypt")

    public var description: String { rawValue }
}

/// What a key record holds (seed-stream(5), kind 6): which cipher the
/// records after it use, and the data key wrapped once per recipient.
/// The key itself never appears in the clear.
public struct KeyRecord: JSONPayload, Equatable {
    public var cipher: String
    public var keyId: String
    public var slots: [Slot]
    /// In volume 2 and later: this volume's data key sealed under a key
    /// derived from the previous volume's, so that a volume cannot be
    /// replaced by one sealed under a key of someone else's (see `Chain`).
    public var chain: String?

    package init(cipher: String, keyId: String, slots: [Slot], chain: String? = nil) {
        self.cipher = cipher
        self.keyId = keyId
        self.slots = slots
        self.chain = chain
    }

    public static let notValid = "key record is not valid"
    /// The ciphers a key record may name.
    public static let ciphers = ["aes-256-gcm", "chacha20-poly1305"]

    public func check(record: String) throws {
        guard KeyRecord.ciphers.contains(cipher) else { throw SeedError.data("\(record): unknown cipher \(cipher)") }
        if slots.count > KeyRecord.maxSlots {
            throw SeedError.data("\(record): key record with \(slots.count) key slots (at most \(KeyRecord.maxSlots))")
        }
    }

    /// No reader tries more slots than this: a key record is small.
    public static let maxSlots = 4096
    /// Nor more scrypt slots than this, each costing a fraction of a second.
    public static let maxScryptTries = 4

    public struct Slot: Codable, Equatable {
        public var kind: SlotKind
        /// HPKE: the encapsulated key.
        public var enc: String?
        /// keyfile and scrypt: the salt of the key derivation.
        public var salt: String?
        /// scrypt parameters.
        public var logN: Int?
        public var r: Int?
        public var p: Int?
        /// The data key, sealed (a kind this version does not know may
        /// carry it otherwise: such a slot is passed over, not refused).
        public var wrapped: String?

        package init(kind: SlotKind, enc: String? = nil, salt: String? = nil, logN: Int? = nil, r: Int? = nil, p: Int? = nil, wrapped: String) {
            (self.kind, self.enc, self.salt, self.wrapped) = (kind, enc, salt, wrapped)
            (self.logN, self.r, self.p) = (logN, r, p)
        }
    }
}
