import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A value in an event.
public enum EventValue: Sendable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case strings([String])
    /// A name as bytes: a string where it is UTF-8, else `<key>_base64`.
    case bytes([UInt8])
}

/// --log-json: what a run does, as JSON Lines a machine reads (seed(7),
/// EVENTS). Each line is one object written with one write(2) to a file
/// opened for appending, so the stages of one pipeline may share a file.
/// Every line has `event`, `tool`, `time`, `pid` and `session` (null until
/// the tool knows it); the rest depends on the event.
public enum EventLog {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var fd: Int32 = -1
    nonisolated(unsafe) private static var tool = ""
    nonisolated(unsafe) private static var currentSession: String?
    nonisolated(unsafe) private static var counts: [(String, Int64)] = []

    /// Opens `path` (`-`: standard error) for this tool's events.
    public static func open(_ path: String, tool name: String) throws {
        let f: Int32
        if path == "-" {
            f = 2
        } else {
            // Not blocking at the open: a FIFO no one reads yet is an
            // error now, not a run that never starts.
            f = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0o644)
            if f < 0 {
                if errno == ENXIO {
                    throw SeedError(
                        .cannotCreate, "the event log \(quoted(path)) is a FIFO no one reads", hint: "start its reader first, or give a file")
                }
                throw SeedError(.cannotCreate, "cannot open the event log \(quoted(path)): \(errnoMessage())")
            }
            _ = fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK)
        }
        lock.lock()
        (fd, tool) = (f, name)
        lock.unlock()
    }

    public static var enabled: Bool {
        lock.lock(); defer { lock.unlock() }
        return fd >= 0
    }

    /// The session events name from now on: set where a tool first learns it.
    public static var session: String? {
        get { lock.lock(); defer { lock.unlock() }; return currentSession }
        set { lock.lock(); currentSession = newValue; lock.unlock() }
    }

    /// Adds `n` to the total `name` that the `done` event carries.
    public static func count(_ name: String, _ n: Int64) {
        lock.lock(); defer { lock.unlock() }
        guard fd >= 0 else { return }
        if let i = counts.firstIndex(where: { $0.0 == name }) { counts[i].1 += n } else { counts.append((name, n)) }
    }

    /// The totals kept by `count`, for the `done` event.
    public static var totals: [(String, EventValue)] {
        lock.lock(); defer { lock.unlock() }
        return counts.map { ($0.0, .int($0.1)) }
    }

    /// Writes one event, if events are asked for.
    public static func emit(_ event: String, _ fields: [(String, EventValue)] = []) {
        lock.lock(); defer { lock.unlock() }
        guard fd >= 0 else { return }
        var line = "{\"event\":" + json(event) + ",\"tool\":" + json(tool) + ",\"time\":\"" + timestamp() + "\",\"pid\":\(getpid())"
        line += ",\"session\":" + (currentSession.map(json) ?? "null")
        for (k, v) in fields {
            switch v {
            case .string(let s): line += "," + json(k) + ":" + json(s)
            case .int(let n): line += "," + json(k) + ":\(n)"
            case .bool(let b): line += "," + json(k) + ":" + (b ? "true" : "false")
            case .strings(let a): line += "," + json(k) + ":[" + a.map(json).joined(separator: ",") + "]"
            case .bytes(let b):
                if let s = String(validating: b, as: UTF8.self) {
                    line += "," + json(k) + ":" + json(s)
                } else {
                    line += "," + json(k + "_base64") + ":\"" + Data(b).base64EncodedString() + "\""
                }
            }
        }
        line += "}\n"
        line.withUTF8 { b in
            var p = b.baseAddress!
            var left = b.count
            while left > 0 {
                let n = write(fd, p, left)
                if n < 0 { if errno == EINTR { continue }; return }
                p += n
                left -= n
            }
        }
    }

    /// A JSON string, as index lines write one.
    static func json(_ s: String) -> String { JSONText.string(s) }

    /// Now, in UTC, as RFC 3339 with milliseconds.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func d(_ n: Int32, _ w: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(d(tm.tm_year + 1900, 4))-\(d(tm.tm_mon + 1, 2))-\(d(tm.tm_mday, 2))T\(d(tm.tm_hour, 2)):\(d(tm.tm_min, 2)):\(d(tm.tm_sec, 2))."
            + d(Int32(ts.tv_nsec / 1_000_000), 3) + "Z"
    }
}
