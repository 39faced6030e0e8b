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

    /// Damage found and reported on the way, the run going on to say all of it.
    public func error(_ m: SeedMessage, path: [UInt8]? = nil, volume: UInt32? = nil, record: UInt64? = nil, code: String? = nil) {
        emit("\(tool): error: \(m.text)\n")
        EventLog.emit("error", Diagnostics.fields(code: code ?? m.code("data"), message: m.text, path: path, volume: volume, record: record))
    }
    /// The error a run ends with.
    public func error(_ e: SeedError) {
        emit("\(tool): error: \(e.message)\n")
        if let h = e.hint { hint(h) }
        var f = Diagnostics.fields(code: e.code, message: e.message, path: e.path, volume: e.volume, record: e.record)
        f.append(("status", .int(Int64(e.status.rawValue))))
        if let h = e.hint { f.append(("hint", .string(h))) }
        EventLog.emit("error", f)
    }
    public func hint(_ m: String) { emit("\(tool): hint: \(m)\n") }
    public func warning(_ m: SeedMessage, path: [UInt8]? = nil, volume: UInt32? = nil) {
        if verbosity >= 1 { emit("\(tool): warning: \(m.text)\n") }
        EventLog.emit("warning", Diagnostics.fields(code: m.code("warning"), message: m.text, path: path, volume: volume, record: nil))
    }

    static func fields(code: String, message: String, path: [UInt8]?, volume: UInt32?, record: UInt64?) -> [(String, EventValue)] {
        var f: [(String, EventValue)] = [("code", .string(code)), ("message", .string(message))]
        if let p = path { f.append(("path", .bytes(p))) }
        if let v = volume { f.append(("volume", .int(Int64(v)))) }
        if let r = record { f.append(("record", .int(Int64(r)))) }
        return f
    }
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
