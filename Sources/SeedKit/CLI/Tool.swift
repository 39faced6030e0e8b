import ArgumentParser
import CSeedSys
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a tool's body and turns whatever it throws into one line on stderr
/// (`seed-x: error: ...`, then an optional `seed-x: hint: ...`) and the
/// matching exit status. Mains call this and nothing else.
public enum Tool {
    public static let version = "0.1.0"

    public static func run(_ name: String, _ body: (Diagnostics) throws -> SeedExit) throws {
        Process.prepare()
        let diag = Diagnostics(tool: name)
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
        // The default SIGPIPE action stays: if the next stage dies, so do we.
        signal(SIGPIPE, SIG_DFL)
        // libarchive converts names through the locale; pax carries UTF-8
        // and falls back to raw bytes for names that are not.
        setlocale(LC_ALL, "")
    }
}

/// Where a tool says things that are not data: stderr, prefixed with the
/// tool's name, at a verbosity set by -q/-v.
public final class Diagnostics: @unchecked Sendable {
    public let tool: String
    public var verbosity = 1
    private let lock = NSLock()

    public init(tool: String) { self.tool = tool }

    public func error(_ m: String) { emit("\(tool): error: \(m)\n") }
    public func hint(_ m: String) { emit("\(tool): hint: \(m)\n") }
    public func warning(_ m: String) { if verbosity >= 1 { emit("\(tool): warning: \(m)\n") } }
    public func info(_ m: String) { if verbosity >= 1 { emit("\(tool): \(m)\n") } }
    public func verbose(_ m: String) { if verbosity >= 2 { emit("\(tool): \(m)\n") } }

    func emit(_ s: String) {
        lock.lock(); defer { lock.unlock() }
        var s = s
        s.withUTF8 { b in
            var p = b.baseAddress!
            var left = b.count
            while left > 0 {
                let n = write(2, p, left)
                if n < 0 { if errno == EINTR { continue }; return }
                p += n; left -= n
            }
        }
    }
}
