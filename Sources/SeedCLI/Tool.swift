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
        let status: SeedExit
        do {
            status = try body(diag)
        } catch let e as SeedError {
            diag.error(e.message)
            if let h = e.hint { diag.hint(h) }
            status = e.status
        } catch let e as ExitCode {
            throw e
        } catch {
            diag.error("\(error)")
            status = .failure
        }
        if status != .success { throw ExitCode(status.rawValue) }
    }
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
        // libarchive converts names through the locale; pax carries UTF-8
        // and falls back to raw bytes for names that are not.
        setlocale(LC_ALL, "")
    }
}
