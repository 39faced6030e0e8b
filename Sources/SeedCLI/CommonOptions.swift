import ArgumentParser
import SeedCore
import SeedIO
import SeedKit

/// Flags every seed tool spells the same way.
public struct CommonOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print only errors.")
    public var quiet = false

    @Flag(name: .shortAndLong, help: "Say more about what is done (repeatable).")
    public var verbose: Int

    @Flag(inversion: .prefixedNo, help: "Show progress on stderr (default: only when stderr is a terminal and stdout is not a pipe).")
    public var progress: Bool?

    @Option(
        name: .customLong("log-json"),
        help: ArgumentHelp("Append the run's events to FILE as JSON Lines (-: standard error); see seed(7), EVENTS.", valueName: "FILE"))
    public var logJSON: String?

    public init() {}

    public var verbosity: Int { quiet ? 0 : 1 + verbose }

    public func apply(to diag: Diagnostics) {
        diag.verbosity = verbosity
        Diagnostics.processVerbosity = verbosity
    }

    /// Progress is shown when asked, or by default when stderr is a terminal
    /// that is not TERM=dumb and this is the last stage of its pipeline (its
    /// standard output is not a pipe): one line on the terminal, not six.
    /// Never with -q.
    public var showsProgress: Bool {
        if quiet { return false }
        if let p = progress { return p }
        return Terminal.isInteractive(2) && !Terminal.isPipe(1)
    }
}
