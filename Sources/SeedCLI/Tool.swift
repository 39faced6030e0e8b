import ArgumentParser
import CSeedSys
import Foundation
import SeedCore
import SeedIO
import SeedKit

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a tool's body and turns whatever it throws into one line on stderr
/// (`seed-x: error: ...`, then an optional `seed-x: hint: ...`) and the
/// matching exit status. Mains call this and nothing else.
public enum Tool {
    public static let version = SeedVersion.current

    public static func run(_ name: String, _ common: CommonOptions? = nil, _ body: (Diagnostics) throws -> SeedExit) throws {
        Process.prepare()
        let diag = Diagnostics(tool: name)
        common?.apply(to: diag)
        var status: SeedExit
        do {
            if let log = common?.logJSON {
                try EventLog.open(log, tool: name)
                EventLog.emit("start", [("args", .strings(Array(CommandLine.arguments.dropFirst()))), ("version", .string(version))])
            }
            status = try body(diag)
        } catch let e as SeedError {
            status = e.status
            if interrupted(status) == nil { diag.error(e) }
        } catch let e as ExitCode {
            throw e
        } catch {
            diag.error(SeedError(.failure, SeedMessage(verbatim: "\(error)")))
            status = .failure
        }
        if let s = interrupted(status) {
            // A stage reading a pipe let the first signal pass for the stop
            // record to come, and its input ended or broke first: the run was
            // interrupted (the stage before it did not stop at a record), and
            // what it would have said of the cut is not damage.
            diag.info("interrupted by \(s == SeedExit.interrupted ? "SIGINT" : "SIGTERM") before the stream's end (status \(s.rawValue))")
            status = s
        }
        if status == .resumable { EventLog.emit("stop", [("resumable", .bool(true)), ("reason", .string(GracefulStop.stopReason))]) }
        EventLog.emit("done", [("status", .int(Int64(status.rawValue))), ("outcome", .string(status.name))] + EventLog.totals)
        if status != .success { throw ExitCode(status.rawValue) }
    }
}

/// The status of a run cut short by a signal that a downstream stage let
/// pass, when it failed after it (or nil).
private func interrupted(_ status: SeedExit) -> SeedExit? {
    let sig = GracefulStop.signalLetPass
    guard sig != 0, status != .success, status != .resumable else { return nil }
    return SeedExit(rawValue: 128 + sig)
}

enum Process {
    /// Process-wide settings every tool wants before it touches data.
    static func prepare() {
        // Multi-MiB record buffers must be reused, not mmapped and faulted in
        // per record (see STYLE.md rule 11).
        // glibc refuses thresholds above 32 MiB (and then keeps its own).
        _ = CSeedSys_setMmapThreshold(32 << 20)
        _ = CSeedSys_setTrimThreshold(512 << 20)
        // A next stage that dies is a write error (EPIPE), said in one line.
        signal(SIGPIPE, SIG_IGN)
        // A file past `ulimit -f` (a sparse entry's declared size, say) is a
        // write error (EFBIG) naming the file, not a death by signal.
        signal(SIGXFSZ, SIG_IGN)
        // libarchive converts names through the locale; pax carries UTF-8
        // and falls back to raw bytes for names that are not.
        setlocale(LC_ALL, "")
    }
}
