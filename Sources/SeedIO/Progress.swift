import Foundation
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// A progress line on stderr, redrawn at most four times a second.
public final class ProgressMeter: @unchecked Sendable {
    package let enabled: Bool
    package let label: String
    package let start = monotonicSeconds()
    package var last = 0.0
    package var drawn = false

    /// More to say on each line, asked for only when one is drawn.
    /// Given the bytes done and the seconds taken so far.
    public var note: ((UInt64, Double) -> String)?

    public init(enabled: Bool, label: String) {
        self.enabled = enabled
        self.label = label
    }

    private var total: UInt64 = 0

    /// Counts `n` more bytes done and redraws; call from one thread only.
    public func advance(by n: UInt64) {
        total += n
        update(bytes: total)
    }

    /// The closing line for a count kept with `advance(by:)`.
    public func finish() { finish(bytes: total) }

    /// `extra` is made only when a line is drawn: callers pass it per entry.
    public func update(bytes: UInt64, extra: @autoclosure () -> String = "") {
        guard enabled else { return }
        let now = monotonicSeconds()
        if now - last < 0.25 { return }
        last = now
        draw(bytes: bytes, extra: extra(), end: "\r")
    }

    public func finish(bytes: UInt64, extra: String = "") {
        guard enabled else { return }
        draw(bytes: bytes, extra: extra, end: "\n")
    }

    private func draw(bytes: UInt64, extra: String, end: String) {
        let secs = max(monotonicSeconds() - start, 0.001)
        let more = extra.isEmpty ? (note?(bytes, secs) ?? "") : extra
        let line = "\(label): \(formatBytes(bytes)) \(formatBytes(UInt64(Double(bytes) / secs)))/s\(more.isEmpty ? "" : " " + more)\u{1b}[K\(end)"
        FileHandleWriter.stderr(line)
    }
}

/// Seconds as h:mm:ss, for an estimate of time left.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    let (h, m, r) = (s / 3600, s / 60 % 60, s % 60)
    return "\(h):\(m < 10 ? "0" : "")\(m):\(r < 10 ? "0" : "")\(r)"
}

public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

public func formatBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
    return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
}

package enum FileHandleWriter {
    package static func stderr(_ s: String) {
        var s = s
        s.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
    }
}
