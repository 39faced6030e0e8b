import ArgumentParser
import SeedCLI
import SeedCore
import SeedIO
import SeedKit
import SeedRunner

@main
struct SeedWriteblk: SeedCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-writeblk",
        abstract: "Write the volumes of a seed stream to drives, or read them back.",
        discussion: """
            Reads the stream from standard input when FILE is - or not given. Volume N goes to the N-th TARGET, \
            a block device or a regular file, after a label a person can read (head -c 4096). Never writes to \
            a mounted or busy device, nor over a filesystem, partition table or another seed's volume without \
            --format. With fewer targets than volumes it asks for the next drive on a terminal, runs \
            --next-drive, or stops after the last full volume with status 3.
            """,
        version: Tool.version)

    @Flag(name: [.customShort("d"), .long], help: "Read the volumes back from the TARGETs, in volume order.")
    var decode = false
    @Flag(help: "With -d: read the drives given even if other volumes are missing.")
    var partial = false
    @Option(help: ArgumentHelp("Write the member of a drive set missing from the TARGETs (its other members) to DRIVE.", valueName: "DRIVE"))
    var rebuild: String?
    @Option(help: ArgumentHelp("With --rebuild: the member to write, when more than one is missing.", valueName: "N"))
    var member: Int?
    @Flag(help: "Read the drive sets given whole and check every stripe's parity and every record's checksums.")
    var scrub = false
    @Option(help: ArgumentHelp("With --scrub: hold every record to its journal in DIR as well.", valueName: "DIR"))
    var journalDir: String?
    @Flag(help: "Print each TARGET's session, volume and state from its label, and nothing else.")
    var sessionOf = false
    @Flag(help: "Read every volume back after writing it and compare its SHA-256.")
    var verify = false
    @Flag(help: "Overwrite a drive that holds a filesystem, a partition table or another seed's volume.")
    var format = false
    @Flag(help: "With --format: do not ask for confirmation (for scripts).")
    var yes = false
    @Option(help: ArgumentHelp("Run CMD for a drive when the TARGETs run out; it prints the drive's path.", valueName: "CMD"))
    var nextDrive: String?
    @Option(help: ArgumentHelp("Sync the drive every SIZE bytes written.", valueName: "SIZE"))
    var checkpoint: String = "1G"
    @Option(help: ArgumentHelp("Show progress in the whole seed from FILE, what seed-split --plan printed.", valueName: "FILE"))
    var plan: String?
    @Option(name: .shortAndLong, help: ArgumentHelp("Read the stream from FILE instead of standard input.", valueName: "FILE"))
    var input: String?
    @OptionGroup var first: FirstStageOptions
    @OptionGroup var out: OutputOption
    @OptionGroup var common: CommonOptions
    @Argument(help: "The drives: block devices or regular files.")
    var targets: [String] = []

    func body(_ diag: Diagnostics) throws -> SeedExit {
        let modes = [decode, scrub, rebuild != nil, sessionOf].filter { $0 }.count
        if modes > 1 { throw SeedError.usage("give one of -d, --scrub, --rebuild and --session-of") }
        if sessionOf {
            if targets.isEmpty { throw SeedError.usage("name the drives whose labels to read") }
            if out.output != nil || input != nil { throw SeedError.usage("--session-of reads only the labels, and prints to standard output") }
            var o = WriteOptions()
            (o.targets, o.sessionOf) = (targets, true)
            return try BlockWriter.run(o, diag: diag)
        }
        if member != nil && rebuild == nil { throw SeedError.usage("--member goes with --rebuild") }
        if journalDir != nil && !scrub { throw SeedError.usage("--journal-dir goes with --scrub") }
        if (scrub || rebuild != nil) && targets.isEmpty { throw SeedError.usage("name the set's drives") }
        if targets.isEmpty && nextDrive == nil && !decode && !Terminal.isTerminal(2) {
            throw SeedError.usage("no drive to write to", hint: "name the drives, or give --next-drive")
        }
        if yes && !format { throw SeedError.usage("--yes goes with --format") }
        var o = WriteOptions()
        (o.targets, o.decode, o.partial, o.verify, o.format, o.yes) = (targets, decode, partial, verify, format, yes)
        o.nextDrive = nextDrive
        (o.rebuild, o.member, o.scrub, o.journalDir) = (rebuild, member, scrub, journalDir)
        o.checkpoint = try ByteSize.parse(checkpoint)
        if let p = plan { o.plan = try PlanTable.read(p) }
        o.io = StreamIO(input: input, output: out.output, progress: common.showsProgress)
        try first.refuse("-d", when: decode)
        try first.refuse("--scrub", when: scrub)
        try first.refuse("--rebuild", when: rebuild != nil)
        try first.apply(to: &o.io)
        return try BlockWriter.run(o, diag: diag)
    }
}
