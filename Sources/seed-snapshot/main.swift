import ArgumentParser
import SeedCLI
import SeedCore
import SeedKit

@main
struct SeedSnapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-snapshot",
        abstract: "Stream a directory tree as a seed stream, or list, unpack or restore one.",
        discussion: """
            seed-snapshot DIR writes DIR as a seed stream to standard output: a POSIX pax archive in \
            data records, then an index of every entry. -t, -d and -x read a stream from FILE; with \
            no FILE, or when FILE is -, read standard input.
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

    @Option(name: .shortAndLong, help: "Write the stream to FILE instead of standard output (- forces standard output even on a terminal).")
    var output: String?

    @Option(help: ArgumentHelp("Also write the index to FILE as an index stream, for seed-journal --index.", valueName: "FILE"))
    var indexFile: String?

    @OptionGroup var common: CommonOptions

    @Argument(help: "DIR to snapshot; with -t, -d or -x, the seed stream FILE to read.")
    var path: String?

    func validate() throws {
        let modes = [list, decode, extract != nil].filter { $0 }.count
        if modes > 1 { throw ValidationError("-t, -d and -x exclude each other") }
        if modes == 0 && path == nil { throw ValidationError("name the directory to snapshot") }
    }

    func run() throws {
        try Tool.run("seed-snapshot") { diag in
            common.apply(to: diag)
            if list { return try SnapshotLister.run(input: path, long: common.verbose > 0, diag: diag) }
            if decode { return try SnapshotExtractor.pax(input: path, force: output == "-", diag: diag) }
            if let dir = extract {
                var o = ExtractOptions(target: dir)
                o.input = path
                o.numericOwner = numericOwner
                o.progress = common.showsProgress
                return try SnapshotExtractor.extract(o, diag: diag)
            }
            var o = SnapshotOptions(root: path!)
            o.excludes = excludes
            o.oneFileSystem = oneFileSystem
            o.recordSize = try SnapshotOptions.recordSize(recordSize)
            o.retries = retries
            o.output = output
            o.indexFile = indexFile
            o.force = output == "-"
            o.progress = common.showsProgress
            return try SnapshotCreator.run(o, diag: diag)
        }
    }
}
