/// What every filter is told the same way: the stream it reads (nil or
/// "-": standard input), where it writes (nil: standard output; "-":
/// standard output even on a terminal), its worker threads (0: one per
/// core) and whether it shows progress.
public struct StreamIO: Sendable {
    public var input: String?
    public var output: String?
    public var threads: Int
    public var progress: Bool

    public init(input: String? = nil, output: String? = nil, threads: Int = 0, progress: Bool = false) {
        self.input = input
        self.output = output
        self.threads = threads
        self.progress = progress
    }
}
