import ArgumentParser
import SeedCLI
import SeedCore
import SeedKit

@main
struct SeedEncrypt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-encrypt",
        abstract: "Encrypt or decrypt the records of a seed stream.",
        discussion: """
            Seals every record payload after the stream header with AES-256-GCM (or ChaCha20-Poly1305), \
            under a fresh data key per volume that is wrapped, in a key record, for each recipient. \
            With no FILE, or when FILE is -, read standard input. Passphrases come from a file or \
            SEED_PASSPHRASE, never from the command line.
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

    @Option(name: [.customShort("T"), .long], help: "Worker threads (default 0: one per core).")
    var threads = 0

    @Option(name: .shortAndLong, help: "Write to FILE instead of standard output.")
    var output: String?

    @OptionGroup var common: CommonOptions

    @Argument(help: "The seed stream to read (default: standard input).")
    var file: String?

    func run() throws {
        try Tool.run("seed-encrypt") { diag in
            common.apply(to: diag)
            if let path = keygen {
                print(try KeyFiles.generate(path: path))
                return .success
            }
            var o = EncryptOptions()
            o.decrypt = decrypt
            o.chacha = chacha
            o.recipients = recipient
            o.identities = identity
            o.keyFile = keyFile
            o.passphraseFile = passphraseFile
            o.threads = threads
            o.input = file
            o.output = output
            o.progress = common.showsProgress
            return try Encryptor.run(o, diag: diag)
        }
    }
}
