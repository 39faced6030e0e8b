/// The one error every seed tool reports: an exit status from the shared
/// table (see seed(7), EXIT STATUS) and a one-line message a person can act on.
///
/// Messages are lower case, without a trailing period, and name the file,
/// volume, record or entry concerned. Only the top level prints them.
public struct SeedError: Error, CustomStringConvertible, Equatable {
    public var status: SeedExit
    public var message: String
    public var hint: String?
    /// What kind of error this is, stable from run to run and across
    /// versions while the message's wording stays: a name given where the
    /// error is made (`record-bad-magic`), else the status's class and a
    /// hash of the message's template (`data-4f1c2a9e`). Events carry it
    /// (seed(7), EVENTS); TROUBLESHOOTING lists the named ones.
    public var code: String
    /// The entry, volume and record it concerns, where known, for events.
    public var path: [UInt8]?
    public var volume: UInt32?
    public var record: UInt64?

    public init(_ status: SeedExit, _ message: SeedMessage, hint: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message.text
        self.hint = hint
        self.code = code ?? message.errno.map { errnoCode($0, status) } ?? message.code(status.name)
    }

    public var description: String { message }

    public static func usage(_ m: SeedMessage, hint: String? = nil, code: String? = nil) -> SeedError { SeedError(.usage, m, hint: hint, code: code) }
    public static func data(_ m: SeedMessage, hint: String? = nil, code: String? = nil) -> SeedError { SeedError(.dataError, m, hint: hint, code: code) }
    public static func io(_ m: SeedMessage, hint: String? = nil, code: String? = nil) -> SeedError { SeedError(.ioError, m, hint: hint, code: code) }

    /// The same error, said to concern `path`, `volume` or `record` (for events).
    public func concerning(path: [UInt8]? = nil, volume: UInt32? = nil, record: UInt64? = nil) -> SeedError {
        var e = self
        if let p = path { e.path = p }
        if let v = volume { e.volume = v }
        if let r = record { e.record = r }
        return e
    }
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

    /// The status's class, as codes and events spell it.
    public var name: String {
        switch self {
        case .success: return "success"
        case .failure: return "failure"
        case .warnings: return "warning"
        case .nextDrive: return "next-drive"
        case .usage: return "usage"
        case .dataError: return "data"
        case .noInput: return "no-input"
        case .cannotCreate: return "cannot-create"
        case .ioError: return "io"
        case .resumable: return "stopped"
        case .interrupted: return "interrupted"
        case .brokenPipe: return "broken-pipe"
        case .terminated: return "terminated"
        default: return "status-\(rawValue)"
        }
    }

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
