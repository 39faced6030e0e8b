import ArgumentParser
import SeedCLI
import SeedCore
import SeedKit

@main
struct SeedEncrypt: SeedCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-encrypt",
        abstract: "Encrypt or decrypt the records of a seed stream.",
        discussion: """
            Seals every record payload after the stream header with AES-256-GCM (or ChaCha20-Poly1305), \
            under a fresh data key per volume that is wrapped, in a key record, for each recipient. \
            Passphrases come from a file or SEED_PASSPHRASE, never from the command line.
            """,
        version: Tool.version)

    @Flag(name: [.customShort("d"), .long], help: "Decrypt: authenticate and open every record.")
    var decrypt = false
    @Option(name: [.customShort("r"), .long], help: ArgumentHelp("Encrypt for the public key in FILE (repeatable).", valueName: "FILE"))
    var recipient: [String] = []
    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("With -d: decrypt with the identity in FILE (repeatable).", valueName: "FILE"))
    var identity: [String] = []
    @Option(help: ArgumentHelp("Wrap or unwrap the key with the secret in FILE (at least 32 random bytes).", valueName: "FILE"))
    var keyFile: String?
    @Option(help: ArgumentHelp("Wrap or unwrap the key with the passphrase on the first line of FILE (scrypt).", valueName: "FILE"))
    var passphraseFile: String?
    @Flag(help: "Encrypt with ChaCha20-Poly1305 instead of AES-256-GCM.")
    var chacha = false
    @Option(help: ArgumentHelp("Write a new identity to FILE (mode 0600) and its recipient to FILE.pub, then exit.", valueName: "FILE"))
    var keygen: String?
    @OptionGroup var workers: ThreadOption
    @OptionGroup var first: FirstStageOptions
    @OptionGroup var filter: FilterOptions
    var common: CommonOptions { filter.common }

    func body(_ diag: Diagnostics) throws -> SeedExit {
        if let path = keygen {
            print(try KeyFiles.generate(path: path))
            return .success
        }
        var o = EncryptOptions()
        (o.decrypt, o.chacha, o.recipients, o.identities) = (decrypt, chacha, recipient, identity)
        (o.keyFile, o.passphraseFile) = (keyFile, passphraseFile)
        o.io = filter.io(threads: workers.threads)
        try first.refuse("-d", when: decrypt)
        try first.apply(to: &o.io)
        return try Encryptor.run(o, diag: diag)
    }
}
