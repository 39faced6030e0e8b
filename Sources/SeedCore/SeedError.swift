/// The one error every seed tool reports: an exit status from the shared
/// table (see seed(7), EXIT STATUS) and a one-line message a person can act on.
///
/// Messages are lower case, without a trailing period, and name the file,
/// volume, record or entry concerned. Only the top level prints them.
public struct SeedError: Error, CustomStringConvertible, Equatable {
    public var status: SeedExit
    public var message: String
    public var hint: String?

    public init(_ status: SeedExit, _ message: String, hint: String? = nil) {
        self.status = status
        self.message = message
        self.hint = hint
    }

    public var description: String { message }

    public static func usage(_ m: String, hint: String? = nil) -> SeedError { SeedError(.usage, m, hint: hint) }
    public static func data(_ m: String, hint: String? = nil) -> SeedError { SeedError(.dataError, m, hint: hint) }
    public static func io(_ m: String, hint: String? = nil) -> SeedError { SeedError(.ioError, m, hint: hint) }
}

/// The exit statuses shared by all seed tools. New statuses may be added;
/// scripts should treat any status they do not know as a failure.
public struct SeedExit: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The whole input was processed and verified.
    public static let success = SeedExit(rawValue: 0)
    /// A failure that fits no other class.
    public static let failure = SeedExit(rawValue: 1)
    /// The run completed, but some files changed while read or were skipped.
    public static let warnings = SeedExit(rawValue: 2)
    /// Fewer drives than volumes: the next drive is needed to continue.
    public static let nextDrive = SeedExit(rawValue: 3)
    /// Bad command-line usage (EX_USAGE).
    public static let usage = SeedExit(rawValue: 64)
    /// Input data is damaged, unverifiable or of the wrong kind (EX_DATAERR).
    public static let dataError = SeedExit(rawValue: 65)
    /// An input file or directory does not exist or cannot be opened (EX_NOINPUT).
    public static let noInput = SeedExit(rawValue: 66)
    /// An output file or directory cannot be created (EX_CANTCREAT).
    public static let cannotCreate = SeedExit(rawValue: 73)
    /// A read or write failed: full disk, device error (EX_IOERR).
    public static let ioError = SeedExit(rawValue: 74)
    /// Stopped before the end; the run can be resumed (EX_TEMPFAIL).
    public static let resumable = SeedExit(rawValue: 75)
    /// Interrupted by SIGINT (128 + 2).
    public static let interrupted = SeedExit(rawValue: 130)

    /// Killed by SIGPIPE (128 + 13): the next stage stopped reading first.
    public static let brokenPipe = SeedExit(rawValue: 141)
    /// Terminated by SIGTERM (128 + 15).
    public static let terminated = SeedExit(rawValue: 143)

    /// Every status above: the table seed(7) documents.
    public static let all: [SeedExit] = [
        .success, .failure, .warnings, .nextDrive, .usage, .dataError, .noInput, .cannotCreate, .ioError, .resumable, .interrupted,
        .brokenPipe, .terminated,
    ]
}

/// The version every tool reports and every stream and drive label records.
public enum SeedVersion {
    public static let current = "0.1.0"
}
