import Foundation
import SeedCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Stopping a run at a record boundary, resumable (seed(7), STOPPING).
/// The first stage of a pipeline stops when SIGINT or SIGTERM comes or its
/// deadline passes, and sends a stop record down the pipeline; a stage
/// reading a pipe lets the first signal pass (the stop record is on its
/// way) and ends when the record comes. A second signal ends any stage at
/// once, its partial files removed.
public enum GracefulStop {
    public enum Role: Int32, Sendable {
        /// Signals end the process at once (the default).
        case none = 0
        /// The first signal asks for a stop at the next record.
        case first = 1
        /// The first signal is let pass: the stop comes down the pipe.
        case downstream = 2
    }

    // Atomics: the signal handler and the deadline's thread write them
    // while the reading thread reads (lock-free, so safe in a handler).
    private static let roleFlag = Atomic<Int32>(0)
    private static let signalFlag = Atomic<Int32>(0)
    private static let deadlineFlag = Atomic<Int32>(0)
    private static var role: Int32 {
        get { roleFlag.load(ordering: .sequentiallyConsistent) }
        set { roleFlag.store(newValue, ordering: .sequentiallyConsistent) }
    }
    private static var signalled: Int32 {
        get { signalFlag.load(ordering: .sequentiallyConsistent) }
        set { signalFlag.store(newValue, ordering: .sequentiallyConsistent) }
    }
    private static var deadlinePassed: Int32 {
        get { deadlineFlag.load(ordering: .sequentiallyConsistent) }
        set { deadlineFlag.store(newValue, ordering: .sequentiallyConsistent) }
    }

    /// Whether the first stage was asked to stop (a signal or its deadline).
    public static var requested: Bool { role == Role.first.rawValue && (signalled != 0 || deadlinePassed != 0) }

    /// The signal a stage reading a pipe let pass (0: none). Its input is
    /// then cut short by the stop upstream: whatever it fails on after
    /// this is the signal's doing, never damage to report.
    public static var signalLetPass: Int32 { role == Role.downstream.rawValue ? signalled : 0 }

    /// What to say of the stop, for the message.
    public static var reason: String { signalled != 0 ? "a signal" : "the deadline" }
    /// What stopped a resumable run, for events: `signal`, `deadline`, or
    /// `upstream` (a stop record came down the pipe).
    public static var stopReason: String { signalled != 0 ? "signal" : deadlinePassed != 0 ? "deadline" : "upstream" }

    /// Takes `role` for this process's SIGINT and SIGTERM.
    public static func install(_ r: Role) {
        role = r.rawValue
        AtomicOutput.prepareForSignals()
    }

    /// Asks for a stop at `deadline` (the first stage's --until or --max-duration).
    public static func stop(at deadline: Date) {
        let t = Thread {
            let wait = deadline.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            deadlinePassed = 1
        }
        t.start()
    }

    /// Async-signal-safe: the first signal of a stopping role is noted and
    /// let pass; any other ends the process.
    static func onSignal(_ sig: Int32) {
        if role != Role.none.rawValue && signalled == 0 {
            signalled = sig
            return
        }
        AtomicOutput.cleanupAndExit(sig)
    }
}

/// When a run should end, from --until HH:MM and --max-duration.
public enum Deadline {
    /// The next time the clock reads `hhmm` (local time), or nil if `hhmm`
    /// is not HH:MM.
    public static func until(_ hhmm: String, from now: Date = Date()) -> Date? {
        let parts = hhmm.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
            let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m)
        else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone.current
        guard let today = cal.date(bySettingHour: h, minute: m, second: 0, of: now) else { return nil }
        return today > now ? today : cal.date(byAdding: .day, value: 1, to: today)
    }

    /// Seconds in a duration: a number with s, m, h or d (90s, 8h, 1d), or
    /// seconds alone; nil for anything else.
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var t = text
        var unit = 1.0
        if let last = t.last, let u = units[last] {
            unit = u
            t.removeLast()
        }
        guard !t.isEmpty, t.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(t), v > 0 else { return nil }
        return v * unit
    }
}
