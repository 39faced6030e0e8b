import Crypto
import Foundation

/// SHA-256 of file contents on a thread of its own, so that hashing (the
/// largest cost of a snapshot) overlaps reading and archiving.
///
/// `update` queues a chunk and returns a ticket; the caller must not reuse
/// the chunk's memory before `wait(for:)` that ticket. At most `depth`
/// chunks are queued. `finish` closes the current file and returns the
/// ticket under which its digest will be ready (`digest(_:wait:)`), so the
/// reader never waits for the hash of the file it just read.
final class ContentHasher {
    private enum Job {
        case update(UnsafeRawPointer, Int)
        case finish
    }

    private let cond = NSCondition()
    private var queue: [Job] = []
    private var head = 0
    private var submitted: UInt64 = 0
    private var completed: UInt64 = 0
    private var digests: [UInt64: String] = [:]
    private var stopping = false
    private var running = true
    private let depth: Int

    init(depth: Int = 64) {
        self.depth = depth
        let t = Thread { [unowned self] in loop() }
        t.start()
    }

    /// Queues `count` bytes at `p`; returns the ticket for `wait(for:)`.
    @discardableResult
    func update(_ p: UnsafeRawPointer, _ count: Int) -> UInt64 {
        enqueue(.update(p, count))
    }

    /// Waits until the chunk with this ticket has been hashed.
    func wait(for ticket: UInt64) {
        cond.lock()
        while completed < ticket { cond.wait() }
        cond.unlock()
    }

    /// Ends the current file; its digest will be ready under the ticket returned.
    func finish() -> UInt64 { enqueue(.finish) }

    /// The hex digest for a `finish` ticket (taken out: ask once), or nil
    /// when it is not ready and `wait` is false.
    func digest(_ ticket: UInt64, wait: Bool) -> String? {
        cond.lock()
        defer { cond.unlock() }
        if wait { while completed < ticket { cond.wait() } }
        return digests.removeValue(forKey: ticket)
    }

    /// Stops the thread; call once, when done.
    func shutdown() {
        cond.lock()
        stopping = true
        cond.broadcast()
        while running { cond.wait() }
        cond.unlock()
    }

    private func enqueue(_ j: Job) -> UInt64 {
        cond.lock()
        while submitted - completed >= UInt64(depth) { cond.wait() }
        queue.append(j)
        submitted += 1
        let t = submitted
        cond.broadcast()
        cond.unlock()
        return t
    }

    private func loop() {
        var sha = SHA256()
        while true {
            cond.lock()
            while head == queue.count && !stopping { cond.wait() }
            if head == queue.count {
                running = false
                cond.broadcast()
                cond.unlock()
                return
            }
            let job = queue[head]
            head += 1
            if head > 256 {
                queue.removeFirst(head)
                head = 0
            }
            cond.unlock()
            switch job {
            case .update(let p, let n):
                sha.update(bufferPointer: UnsafeRawBufferPointer(start: p, count: n))
                cond.lock()
            case .finish:
                let d = Hex.encode(sha.finalize())
                sha = SHA256()
                cond.lock()
                digests[completed + 1] = d
            }
            completed += 1
            cond.broadcast()
            cond.unlock()
        }
    }
}
