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
}
