import ArgumentParser
import SeedCLI
import SeedCore
import SeedKit

@main
struct SeedJournal: SeedCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-journal",
        abstract: "Journal what each volume of a seed stream holds, or check a stream read back against the journals.",
        discussion: """
            The stream passes through unchanged; for each volume, DIR/SESSION.vNNN.jrn records every record's \
            place, length and SHA-256, the files the volume carries and the volume's Merkle root. With --check, \
            the records that match their journal pass on and every missing or damaged one is named with its files.
            """,
        version: Tool.version)

    @Option(help: ArgumentHelp("Keep the journals in DIR (made if missing).", valueName: "DIR"))
    var journalDir: String?
    @Option(help: ArgumentHelp("Check the stream against the journals in DIR.", valueName: "DIR"))
    var check: String?
    @Option(help: ArgumentHelp("With --check: also write the findings as JSON to FILE.", valueName: "FILE"))
    var report: String?
    @Option(help: ArgumentHelp("Take file names from the index in FILE, a seed stream before encryption.", valueName: "FILE"))
    var index: String?
    @Option(help: ArgumentHelp("A device the volumes go to: refuse a journal directory on it (repeatable).", valueName: "DEVICE"))
    var target: [String] = []
    @Option(help: ArgumentHelp("Sync the journal to disk at least every SIZE bytes of stream.", valueName: "SIZE"))
    var checkpoint: String = "1G"
    @Option(help: ArgumentHelp("Sign each volume's journal with the signing key in FILE.", valueName: "FILE"))
    var sign: String?
    @Option(help: ArgumentHelp("With --check: accept only journals signed by the key in FILE (repeatable).", valueName: "FILE"))
    var signer: [String] = []
    @Option(help: ArgumentHelp("Write a new signing key to FILE (mode 0600) and its public key to FILE.pub.", valueName: "FILE"))
    var keygen: String?
    @OptionGroup var workers: ThreadOption
    @OptionGroup var first: FirstStageOptions
    @OptionGroup var filter: FilterOptions
    var common: CommonOptions { filter.common }

    func body(_ diag: Diagnostics) throws -> SeedExit {
        if let path = keygen {
            print(try SigningKeys.generate(path: path))
            return .success
        }
        var o = JournalOptions()
        if journalDir == nil && check == nil { throw SeedError.usage("give --journal-dir DIR, or --check DIR") }
        if journalDir != nil && check != nil { throw SeedError.usage("give --journal-dir or --check, not both") }
        o.directory = journalDir ?? check!
        o.check = check != nil
        if report != nil && !o.check { throw SeedError.usage("--report goes with --check") }
        if index != nil && o.check { throw SeedError.usage("--index goes with --journal-dir") }
        o.report = report
        o.index = index
        o.targets = target
        o.checkpoint = try ByteSize.parse(checkpoint)
        if sign != nil && o.check { throw SeedError.usage("--sign goes with --journal-dir; --check takes --signer") }
        if !signer.isEmpty && !o.check { throw SeedError.usage("--signer goes with --check") }
        (o.sign, o.signers) = (sign, signer)
        o.io = filter.io(threads: workers.threads)
        try first.refuse("--check", when: check != nil)
        try first.apply(to: &o.io)
        return try Journaler.run(o, diag: diag)
    }
}
