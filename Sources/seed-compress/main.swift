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

    @Option(name: [.customShort("l"), .long], help: "Compression level: zstd 1-19 (default 3), gzip 1-9 (default 6); -N is the same as --level N.")
    var level: Int?

    @Flag(help: "zstd's fastest levels: --fast is level -1, --fast=N level -N.")
    var fast = false

    @OptionGroup var workers: ThreadOption
    @OptionGroup var first: FirstStageOptions
    @OptionGroup var filter: FilterOptions
    var common: CommonOptions { filter.common }

    /// zstd's and gzip's habits: `-N` for a level (not where it is the
    /// value of an option), and `--fast=N` for level -N.
    static func arguments(_ given: [String]) -> [String] {
        let takesValue: Set = ["-l", "--level", "-o", "--output", "-T", "--threads", "--resume", "--resume-back", "--until", "--max-duration", "--log-json"]
        var out: [String] = []
        var options = true
        for (i, a) in given.enumerated() {
            let previous = i > 0 ? given[i - 1] : ""
            if a == "--" { options = false }
            let digits = a.dropFirst()
            if options, a.hasPrefix("-"), !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), !takesValue.contains(previous) {
                out.append("--level=\(digits)")
            } else if options, a.hasPrefix("--fast=") {
                out.append("--level=-\(a.dropFirst("--fast=".count))")
            } else {
                out.append(a)
            }
        }
        return out
    }

    func body(_ diag: Diagnostics) throws -> SeedExit {
        var o = CompressOptions()
        o.decode = decompress
        o.codec = gzip ? .gzip : .zstd
        o.level = level
        if fast {
            if level != nil { throw SeedError.usage("--fast and a level: give one of them") }
            o.level = -1
        }
        o.io = filter.io(threads: workers.threads)
        try first.refuse("-d", when: decompress)
        try first.apply(to: &o.io)
        return try Compressor.run(o, diag: diag)
    }
}
