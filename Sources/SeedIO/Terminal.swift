import Foundation
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Whether a descriptor is a terminal a person watches; TERM=dumb counts as none.
public enum Terminal {
    public static func isInteractive(_ fd: Int32) -> Bool {
        guard isatty(fd) == 1 else { return false }
        if let t = getenv("TERM"), String(cString: t) == "dumb" { return false }
        return true
    }
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
    /// Whether `fd` is a pipe or socket: a stage with another after it.
    public static func isPipe(_ fd: Int32) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        return (st.st_mode & S_IFMT) == S_IFIFO || (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Asks a person on the controlling terminal (never standard input,
    /// which carries data) and returns the answer, trimmed; nil when there
    /// is no terminal or no answer.
    package static func ask(_ question: String) -> String? {
        guard let tty = fopen("/dev/tty", "r+") else { return nil }
        defer { fclose(tty) }
        fputs(question, tty)
        fflush(tty)
        var line: UnsafeMutablePointer<CChar>?
        var cap = 0
        defer { free(line) }
        guard getline(&line, &cap, tty) > 0, let l = line else { return nil }
        return String(cString: l).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
