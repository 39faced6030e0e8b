import ArgumentParser
import SeedCLI
import SeedCore
import SeedKit

@main
struct SeedSnapshot: SeedCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-snapshot",
        abstract: "Stream a directory tree as a seed stream, or list, unpack or restore one.",
        discussion: """
            seed-snapshot DIR writes DIR as a seed stream: a POSIX pax archive in data records, then an \
            index of every entry. -t, -d and -x read a stream from FILE, or standard input when FILE is - or not given.
            """,
        version: Tool.version)

    @Flag(name: [.customShort("t"), .long], help: "List the entries from the index.")
    var list = false
    @Flag(name: [.customShort("d"), .long], help: "Write the plain pax archive to standard output.")
    var decode = false
    @Option(name: [.customShort("x"), .long], help: ArgumentHelp("Extract into DIR (created if missing).", valueName: "DIR"))
    var extract: String?
    @Option(name: .customLong("exclude"), help: ArgumentHelp("Leave out entries matching PATTERN (repeatable).", valueName: "PATTERN"))
    var excludes: [String] = []
    @Flag(help: "Stay on the file system of DIR: do not descend into mount points.")
    var oneFileSystem = false
    @Option(help: ArgumentHelp("Bytes of archive per data record, K or M for 1024s (default 4M).", valueName: "SIZE"))
    var recordSize = "4M"
    @Option(help: "Times to read a file again when it changed while read (default 2).")
    var retries = 2
    @Flag(help: "With -x: restore owners by number, not by name.")
    var numericOwner = false
    @Option(help: ArgumentHelp("Also write the index to FILE as an index stream, for seed-journal --index.", valueName: "FILE"))
    var indexFile: String?
    @Option(
        name: .customLong("only"),
        help: ArgumentHelp("With -t or -x: only entries matching PATTERN and what lies below them (repeatable).", valueName: "PATTERN"))
    var only: [String] = []
    @Option(
        name: .customLong("from"), help: ArgumentHelp("With -t or -x: read the drive or drive file DRIVE at random (repeatable).", valueName: "DRIVE"))
    var drives: [String] = []
    @Flag(help: "With -x and --from: restore what the drives given hold, naming each entry whose data lies on a drive not given.")
    var partial = false
    @Option(help: ArgumentHelp("With --from: the journals saying where each record lies.", valueName: "DIR"))
    var journalDir: String?
    @Option(help: ArgumentHelp("With --from or --repair: the seed's index, from the index stream (or staging file) FILE.", valueName: "FILE"))
    var index: String?
    @Option(help: ArgumentHelp("Stream only the entries a seed-journal --check --report REPORT finds damaged, from DIR: a repair bundle.", valueName: "REPORT"))
    var repair: String?
    @Option(help: ArgumentHelp("Stream only what changed since the tree whose index (stream, staging file or index stream) is BASE.", valueName: "BASE"))
    var incremental: String?
    @Flag(help: "With --incremental: compare files' content instead of their ctime (read and hashed).")
    var checksum = false
    @Option(help: ArgumentHelp("With -x: apply a repair bundle or an increment over the restore of session ID.", valueName: "ID"))
    var session: String?
    @Option(help: ArgumentHelp("Hold the tree DIR against the index of the stream FILE and print what differs.", valueName: "DIR"))
    var compare: String?
    @Option(help: ArgumentHelp("With --from: refuse journals not signed by the key in FILE (seed-journal --keygen).", valueName: "FILE"))
    var signer: [String] = []
    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("With --from: decrypt with the identity in FILE (repeatable).", valueName: "FILE"))
    var identity: [String] = []
    @Option(help: ArgumentHelp("With --from: unwrap the key with the secret in FILE.", valueName: "FILE"))
    var keyFile: String?
    @Option(help: ArgumentHelp("With --from: unwrap the key with the passphrase on the first line of FILE.", valueName: "FILE"))
    var passphraseFile: String?
    @OptionGroup var first: FirstStageOptions
    @OptionGroup var out: OutputOption
    @OptionGroup var common: CommonOptions
    @Argument(help: "DIR to snapshot; with -t, -d or -x, the seed stream FILE to read.")
    var path: String?

    func validate() throws {
        let modes = [list, decode, extract != nil, compare != nil].filter { $0 }.count
        if modes > 1 { throw ValidationError("-t, -d, -x and --compare exclude each other") }
        if modes == 0 && path == nil { throw ValidationError("name the directory to snapshot") }
        if !only.isEmpty && !list && extract == nil { throw ValidationError("--only goes with -t or -x") }
        if !drives.isEmpty {
            if !list && extract == nil { throw ValidationError("--from goes with -t or -x") }
            if path != nil { throw ValidationError("--from reads drives, not the stream \(path!)") }
        } else if journalDir != nil || (index != nil && repair == nil) || !signer.isEmpty || !identity.isEmpty || keyFile != nil || passphraseFile != nil {
            throw ValidationError("--journal-dir, --index, --signer and the keys go with --from")
        }
        if partial && (drives.isEmpty || extract == nil) { throw ValidationError("--partial goes with -x and --from") }
        if repair != nil && modes > 0 { throw ValidationError("--repair makes a bundle from a tree: leave out -t, -d and -x") }
        if session != nil && (extract == nil || !drives.isEmpty) { throw ValidationError("--session goes with -x reading a repair bundle or an increment") }
        if incremental != nil && (modes > 0 || repair != nil) {
            throw ValidationError("--incremental makes an increment of a tree: leave out -t, -d, -x and --repair")
        }
        if checksum && incremental == nil { throw ValidationError("--checksum goes with --incremental") }
    }

    var randomAccess: RandomAccessOptions {
        var r = RandomAccessOptions()
        (r.drives, r.journalDir, r.index, r.signers, r.partial) = (drives, journalDir, index, signer, partial)
        (r.keys.identities, r.keys.keyFile, r.keys.passphraseFile) = (identity, keyFile, passphraseFile)
        return r
    }

    func body(_ diag: Diagnostics) throws -> SeedExit {
        try first.refuse("-t, -d, -x or --compare", when: list || decode || extract != nil || compare != nil)
        if let tree = compare {
            if !drives.isEmpty || !only.isEmpty { throw SeedError.usage("--compare reads the index of a stream: leave out --from and --only") }
            return try TreeComparer.run(tree: tree, input: path, diag: diag, progress: common.showsProgress)
        }
        if list && !drives.isEmpty { return try RandomAccess.list(long: common.verbose > 0, only: only, randomAccess, diag: diag) }
        if list { return try SnapshotLister.run(input: path, long: common.verbose > 0, only: only, diag: diag) }
        if decode { return try SnapshotExtractor.pax(input: path, force: out.output == "-", diag: diag) }
        if let dir = extract {
            var x = ExtractOptions(target: dir, input: path, numericOwner: numericOwner, progress: common.showsProgress)
            (x.only, x.session) = (only, session)
            if !drives.isEmpty { return try RandomAccess.extract(x, randomAccess, diag: diag) }
            return try SnapshotExtractor.extract(x, diag: diag)
        }
        var o = SnapshotOptions(root: path!)
        (o.excludes, o.oneFileSystem, o.retries, o.indexFile) = (excludes, oneFileSystem, retries, indexFile)
        o.recordSize = try SnapshotOptions.recordSize(recordSize)
        (o.output, o.force, o.progress) = (out.output, out.output == "-", common.showsProgress)
        (o.resume, o.resumeBack, o.deadline) = try first.values()
        (o.repairReport, o.repairIndex) = (repair, index)
        (o.incremental, o.checksum) = (incremental, checksum)
        return try SnapshotCreator.run(o, diag: diag)
    }
}
