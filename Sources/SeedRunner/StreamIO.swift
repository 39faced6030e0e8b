import Foundation

/// What every filter is told the same way: the stream it reads (nil or
/// "-": standard input), where it writes (nil: standard output; "-":
/// standard output even on a terminal), its worker threads (0: one per
/// core) and whether it shows progress.
public struct StreamIO: Sendable {
    public var input: String?
    public var output: String?
    public var threads: Int
    public var progress: Bool
    /// The first stage's --resume: the journal directory of the run it goes on with.
    public var resume: String?
    /// How far back from the journal's last record it goes (nil: one checkpoint interval).
    public var resumeBack: UInt64?
    /// The first stage's --until or --max-duration: when it stops, resumable.
    public var deadline: Date?

    public init(input: String? = nil, output: String? = nil, threads: Int = 0, progress: Bool = false) {
        self.input = input
        self.output = output
        self.threads = threads
        self.progress = progress
    }
}
