import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Identity (secret key) and recipient (public key) files: one key per
/// line, `#` comments allowed.
///
///     SEED-SECRET-KEY-X25519-1 <base64 of the 32-byte private key>
///     seed-x25519-1 <base64 of the 32-byte public key>
public enum KeyFiles {
    static let secretPrefix = "SEED-SECRET-KEY-X25519-1 "
    static let publicPrefix = "seed-x25519-1 "

    /// --keygen: writes a new identity to `path` (mode 0600, never over an
    /// existing file) and its recipient to `path.pub`.
    public static func generate(path: String) throws -> String {
        let key = Curve25519.KeyAgreement.PrivateKey()
        return try writePair(
            path, what: ("identity", "recipient"), secret: secretPrefix + key.rawRepresentation.base64EncodedString(),
            public: publicPrefix + key.publicKey.rawRepresentation.base64EncodedString())
    }

    /// Writes a secret key line to `path` (mode 0600, with a comment naming
    /// the public key) and the public key line to `path.pub`; returns the latter.
    static func writePair(_ path: String, what: (secret: String, public: String), secret: String, public pub: String) throws -> String {
        let text = "# seed \(what.secret), created \(ISO8601DateFormatter().string(from: Date()))\n# \(what.public): \(pub)\n" + secret + "\n"
        try writeNew(path, text, mode: 0o600)
        try writeNew(path + ".pub", pub + "\n", mode: 0o644)
        return pub
    }

    static func writeNew(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 { throw SeedError(.cannotCreate, "cannot create \(quoted(path)): \(errnoMessage())") }
        defer { close(fd) }
        _ = fchmod(fd, mode)
        var t = text
        let ok = t.withUTF8 { b in write(fd, b.baseAddress, b.count) == b.count }
        if !ok || fsync(fd) != 0 { throw SeedError.io("cannot write \(quoted(path)): \(errnoMessage())") }
    }

    static func lines(_ path: String) throws -> [String] {
        let d = try SmallFile.read(path, what: "key file", max: 1 << 20)
        return String(decoding: d, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    public static func recipients(_ path: String) throws -> [Curve25519.KeyAgreement.PublicKey] {
        try keys(path, prefix: publicPrefix, what: "recipient") { try Curve25519.KeyAgreement.PublicKey(rawRepresentation: $0) }
    }

    public static func identities(_ path: String) throws -> [Curve25519.KeyAgreement.PrivateKey] {
        try keys(path, prefix: secretPrefix, what: "identity") { try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: $0) }
    }

    /// Every key line of a file: `prefix`, then the base64 of a raw key.
    static func keys<K>(_ path: String, prefix: String, what: String, _ make: (Data) throws -> K) throws -> [K] {
        let found = try lines(path).map { line -> K in
            guard line.hasPrefix(prefix), let raw = Data(base64Encoded: String(line.dropFirst(prefix.count))), let k = try? make(raw) else {
                throw SeedError.usage("\(quoted(path)) is not a seed \(what) file (expected a line starting '\(prefix.trimmingCharacters(in: .whitespaces))')")
            }
            return k
        }
        if found.isEmpty { throw SeedError.usage("\(quoted(path)) holds no \(what)") }
        return found
    }

    /// A key file's content: at least 32 bytes, used whole.
    public static func keyFile(_ path: String) throws -> Data {
        let d = try SmallFile.read(path, what: "key file", max: 1 << 20)
        if d.count < 32 { throw SeedError.usage("key file \(quoted(path)) has \(d.count) bytes; it needs at least 32 random bytes") }
        return d
    }

    /// A passphrase: the first line of a file, or $SEED_PASSPHRASE (never argv).
    public static func passphrase(file: String?) throws -> Data? {
        if let f = file {
            let d = try SmallFile.read(f, what: "passphrase file", max: 1 << 20)
            let line = d.split(separator: 0x0a, maxSplits: 1, omittingEmptySubsequences: false).first ?? Data()
            if line.isEmpty { throw SeedError.usage("passphrase file \(quoted(f)) starts with an empty line") }
            return Data(line)
        }
        if let e = ProcessInfo.processInfo.environment["SEED_PASSPHRASE"], !e.isEmpty { return Data(e.utf8) }
        return nil
    }
}

/// Signing keys for journals (Ed25519): files like identities and recipients.
///
///     SEED-SECRET-KEY-ED25519-1 <base64 of the 32-byte private key>
///     seed-ed25519-1 <base64 of the 32-byte public key>
public enum SigningKeys {
    static let secretPrefix = "SEED-SECRET-KEY-ED25519-1 "
    static let publicPrefix = "seed-ed25519-1 "

    /// seed-journal --keygen: a new signing key in `path` (mode 0600, never
    /// over an existing file), its public key in `path.pub`.
    public static func generate(path: String) throws -> String {
        let key = Curve25519.Signing.PrivateKey()
        return try KeyFiles.writePair(
            path, what: ("journal signing key", "public key"), secret: secretPrefix + key.rawRepresentation.base64EncodedString(),
            public: publicPrefix + key.publicKey.rawRepresentation.base64EncodedString())
    }

    static func secret(_ path: String) throws -> Curve25519.Signing.PrivateKey {
        let keys = try KeyFiles.keys(path, prefix: secretPrefix, what: "signing key") { try Curve25519.Signing.PrivateKey(rawRepresentation: $0) }
        guard keys.count == 1 else { throw SeedError.usage("\(quoted(path)) holds \(keys.count) signing keys; a journal is signed by one") }
        return keys[0]
    }

    static func publics(_ path: String) throws -> [Curve25519.Signing.PublicKey] {
        try KeyFiles.keys(path, prefix: publicPrefix, what: "signer") { try Curve25519.Signing.PublicKey(rawRepresentation: $0) }
    }
}
