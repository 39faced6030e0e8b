import ArgumentParser
import SeedCLI
import SeedCore
import SeedKit

@main
struct SeedCompress: SeedCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-compress",
        abstract: "Compress or decompress the records of a seed stream.",
        discussion: """
            Compresses every data and index record on its own, as one zstd frame (or gzip member), \
            on several threads with output in input order. Other records pass through unchanged.
            """,
        version: Tool.version)

    @Flag(name: [.customShort("d"), .long], help: "Decompress: undo whatever codec each record names.")
    var decompress = false

    @Flag(help: "Compress with gzip (zlib) instead of zstd.")
    var gzip = false

    @Option(name: [.customShort("l"), .long], help: "Compression level: zstd 1-19 (default 3), gzip 1-9 (default 6).")
    var level: Int?

    @OptionGroup var workers: ThreadOption
    @OptionGroup var first: FirstStageOptions
    @OptionGroup var filter: FilterOptions
    var common: CommonOptions { filter.common }

    func body(_ diag: Diagnostics) throws -> SeedExit {
        var o = CompressOptions()
        o.decode = decompress
        o.codec = gzip ? .gzip : .zstd
        o.level = level
        o.io = filter.io(threads: workers.threads)
        try first.refuse("-d", when: decompress)
        try first.apply(to: &o.io)
        return try Compressor.run(o, diag: diag)
    }
}
