import ArgumentParser
import Foundation
import SeedCore
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A seed tool's command line. Its `main` parses the options and runs
/// `body` through `Tool.run`, so that every error, a usage error found by
/// ArgumentParser or `validate()` included, is reported one way: one
/// `seed-x: error: ...` line on stderr, perhaps a `seed-x: hint: ...`
/// line, and the status seed(7) documents.
public protocol SeedCommand: ParsableCommand {
    /// -q, -v and --progress.
    var common: CommonOptions { get }
    /// The tool's work; returns its exit status.
    func body(_ diag: Diagnostics) throws -> SeedExit
    /// The command line in the form the parser reads: a tool may take a
    /// habit of its stock twin's (zstd's `-19`) as one of its options.
    static func arguments(_ given: [String]) -> [String]
}

extension SeedCommand {
    public static func arguments(_ given: [String]) -> [String] { given }

    public static func main() {
        let name = configuration.commandName ?? "seed"
        let command: Self
        if let bad = notUTF8Argument() {
            // Swift takes the command line as text and would put U+FFFD for
            // such a byte: a path or pattern given would silently be
            // another one (-x into a directory of another name).
            Diagnostics(tool: name).error(
                SeedError(
                    .usage, "argument \(bad.index) (\(quoted(bytes: bad.bytes))) is not valid UTF-8, and names on the command line are taken as UTF-8",
                    hint: "reach it through a UTF-8 name (cd into its directory, or a symbolic link), or match its byte with ? in a pattern"))
            Glibc.exit(SeedExit.usage.rawValue)
        }
        do {
            var parsed = try parseAsRoot(arguments(Array(CommandLine.arguments.dropFirst())))
            guard let ours = parsed as? Self else {
                // --help: ArgumentParser's own command, which ends in CleanExit.
                try parsed.run()
                Glibc.exit(0)
            }
            command = ours
        } catch {
            // --help and --version end here, with status 0 and their text on stdout.
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let diag = Diagnostics(tool: name)
            diag.error(SeedError(.usage, SeedMessage(verbatim: message(for: error)), hint: "see '\(name) --help'"))
            Glibc.exit(SeedExit.usage.rawValue)
        }
        do {
            try Tool.run(name, command.common) { try command.body($0) }
            Glibc.exit(0)
        } catch let e as ExitCode {
            Glibc.exit(e.rawValue)
        } catch {
            Glibc.exit(SeedExit.failure.rawValue)
        }
    }

    public func run() throws {}

    /// The first argument (counted from 1) whose bytes are not UTF-8.
    static func notUTF8Argument() -> (index: Int, bytes: [UInt8])? {
        for i in 1..<Int(CommandLine.argc) {
            guard let p = CommandLine.unsafeArgv[i] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p)))
            if String(validating: bytes, as: UTF8.self) == nil { return (i, bytes) }
        }
        return nil
    }
}

/// -o FILE, for every tool that writes a stream.
public struct OutputOption: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Write to FILE instead of standard output (-: standard output, even a terminal).", valueName: "FILE"))
    public var output: String?

    public init() {}
}

/// -T N, for every tool with worker threads.
public struct ThreadOption: ParsableArguments {
    @Option(
        name: [.customShort("T", allowingJoined: true), .long], help: ArgumentHelp("Worker threads (0: one per core); -T0 as zstd takes it.", valueName: "N"))
    public var threads = 0

    public init() {}
}

/// What every filter takes the same way: -o FILE, -q, -v, --progress and
/// the stream to read.
public struct FilterOptions: ParsableArguments {
    @OptionGroup public var out: OutputOption
    @OptionGroup public var common: CommonOptions
    @Argument(help: ArgumentHelp("When FILE is - or not given: standard input.", valueName: "FILE"))
    public var file: String?

    public init() {}

    /// The stream, the output, progress, and `threads` workers.
    public func io(threads: Int = 0) -> StreamIO {
        StreamIO(input: file, output: out.output, threads: threads, progress: common.showsProgress)
    }
}

/// What only the first stage of a pipeline is told: where an interrupted
/// run goes on, and when to stop, resumable (seed(7), RESUMING).
public struct FirstStageOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Go on with the interrupted run whose journals are in DIR; start if DIR holds none of this stream yet.", valueName: "DIR"))
    public var resume: String?
    @Option(
        help: ArgumentHelp("With --resume: go back SIZE from the journal's last record (default: its checkpoint interval, at least 64M).", valueName: "SIZE"))
    public var resumeBack: String?
    @Option(help: ArgumentHelp("Stop, resumable (status 75), when the clock next reads HH:MM.", valueName: "HH:MM"))
    public var until: String?
    @Option(help: ArgumentHelp("Stop, resumable (status 75), after DURATION (90s, 30m, 8h, 1d).", valueName: "DURATION"))
    public var maxDuration: String?

    public init() {}

    /// A decoding mode (`mode`, when true) takes none of these.
    public func refuse(_ mode: String, when decoding: Bool) throws {
        if decoding && (resume != nil || until != nil || maxDuration != nil) {
            throw SeedError.usage("--resume, --until and --max-duration go with the first stage of a shipping pipeline, not with \(mode)")
        }
    }

    /// Adds the resume directory and the deadline to `io`.
    public func apply(to io: inout StreamIO) throws {
        (io.resume, io.resumeBack, io.deadline) = try values()
    }

    /// The resume directory, how far back it goes, and the deadline.
    public func values() throws -> (resume: String?, back: UInt64?, deadline: Date?) {
        var back: UInt64?
        var deadline: Date?
        if let b = resumeBack {
            guard resume != nil else { throw SeedError.usage("--resume-back goes with --resume") }
            back = try ByteSize.parse(b)
        }
        if let u = until {
            guard let d = Deadline.until(u) else { throw SeedError.usage("--until takes a time of day as HH:MM, not \(quoted(u))") }
            deadline = d
        }
        if let m = maxDuration {
            guard let s = Deadline.seconds(m) else { throw SeedError.usage("--max-duration takes a duration such as 90s, 30m or 8h, not \(quoted(m))") }
            let d = Date(timeIntervalSinceNow: s)
            deadline = min(deadline ?? d, d)
        }
        return (resume, back, deadline)
    }
}
