import ArgumentParser
import SeedCLI
import SeedCore
import SeedKit

@main
struct SeedCompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-compress",
        abstract: "Compress or decompress the records of a seed stream.",
        discussion: """
            Compresses every data and index record on its own, as one zstd frame (or gzip member), \
            on several threads with output in input order. Other records pass through unchanged. \
            With no FILE, or when FILE is -, read standard input.
            """,
        version: Tool.version)

    @Flag(name: [.customShort("d"), .long], help: "Decompress: undo whatever codec each record names.")
    var decompress = false

    @Flag(help: "Compress with gzip (zlib) instead of zstd.")
    var gzip = false

    @Option(name: [.customShort("l"), .long], help: "Compression level: zstd 1-19 (default 3), gzip 1-9 (default 6).")
    var level: Int?

    @Option(name: [.customShort("T"), .long], help: "Worker threads (default 0: one per core).")
    var threads = 0

    @Option(name: .shortAndLong, help: "Write to FILE instead of standard output (- forces standard output even on a terminal).")
    var output: String?

    @OptionGroup var common: CommonOptions

    @Argument(help: "The seed stream to read (default: standard input).")
    var file: String?

    func run() throws {
        try Tool.run("seed-compress") { diag in
            common.apply(to: diag)
            var o = CompressOptions()
            o.decode = decompress
            o.codec = gzip ? .gzip : .zstd
            o.level = level
            o.threads = threads
            o.input = file
            o.output = output
            o.progress = common.showsProgress
            return try Compressor.run(o, diag: diag)
        }
    }
}
