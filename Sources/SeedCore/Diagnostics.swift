import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a tool says things that are not data: stderr, prefixed with the
/// tool's name, at a verbosity set by -q/-v.
public final class Diagnostics: @unchecked Sendable {
    public let tool: String
    public var verbosity: Int
    private let lock = NSLock()
    /// What -q and -v set for the whole process: every Diagnostics made
    /// after starts at it, so no part of a tool speaks past -q.
    nonisolated(unsafe) public static var processVerbosity = 1

    public init(tool: String) {
        self.tool = tool
        verbosity = Diagnostics.processVerbosity
    }

    public func error(_ m: String) { emit("\(tool): error: \(m)\n") }
    public func hint(_ m: String) { emit("\(tool): hint: \(m)\n") }
    public func warning(_ m: String) { if verbosity >= 1 { emit("\(tool): warning: \(m)\n") } }
    public func info(_ m: String) { if verbosity >= 1 { emit("\(tool): \(m)\n") } }
    public func verbose(_ m: String) { if verbosity >= 2 { emit("\(tool): \(m)\n") } }

    package func emit(_ s: String) {
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
