import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

/// SHA-256 of file contents on threads of their own, one lane per core:
/// hashing is a snapshot's largest cost, and SHA-256 is sequential within
/// a file, so each file is hashed whole by one lane and files are spread
/// over the lanes while the reading thread goes on.
///
/// `begin` picks the least busy lane for a file; `update` queues a chunk
/// and returns a ticket, and the chunk's memory must not be reused before
/// `wait(for:)` that ticket; `finish` closes the file and returns the
/// ticket under which its digest will be ready (`digest(_:wait:)`). A
/// lane takes one file at a time: the chunks of a file are queued before
/// the next file begins.
final class HashLanes {
    struct Ticket: Equatable {
        var lane: Int
        var sequence: UInt64
        static let none = Ticket(lane: 0, sequence: 0)
    }

    /// What a buffer waits for before it is reused: the last ticket of
    /// each lane that hashes from it.
    final class Fence {
        private(set) var tickets: [Ticket] = []

        func add(_ t: Ticket) {
            if let i = tickets.firstIndex(where: { $0.lane == t.lane }) { tickets[i] = t } else { tickets.append(t) }
        }

        func clear() { tickets.removeAll(keepingCapacity: true) }
    }

    /// 1 MiB of zeros that stand in for holes, never written to.
    static let zeroCount = 1 << 20
    static let zeros: UnsafeRawPointer = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: zeroCount, alignment: 4096)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: zeroCount)
        return UnsafeRawPointer(p)
    }()

    private final class Lane {
        struct Job {
            var bytes: UnsafeRawPointer?
            var count: Int
            var finish: Bool
        }

        let cond = NSCondition()
        var jobs: [Job] = []
        var head = 0
        var submitted: UInt64 = 0
        var completed: UInt64 = 0
        var queuedBytes = 0
        var digests: [UInt64: String] = [:]
        /// Whether the lane's thread sleeps for want of work.
        var idle = false
        /// Threads sleeping on `cond` for room or for a ticket.
        var waiters = 0
        var stopping = false
        var running = true

        /// Wakes the lane's thread if it sleeps with work queued: waking
        /// it for every small file would cost more than hashing the file.
        func kick() { if idle && head < jobs.count { cond.broadcast() } }

        /// Waits on `cond` (held) for the lane's thread to make progress,
        /// waking it first if it sleeps with work queued.
        func sleep() {
            kick()
            waiters += 1
            cond.wait()
            waiters -= 1
        }
    }

    private let lanes: [Lane]
    private let depth: Int
    private var nextLane = 0

    init(lanes count: Int = min(ProcessInfo.processInfo.activeProcessorCount, 8), depth: Int = 64) {
        self.depth = depth
        lanes = (0..<max(count, 1)).map { _ in Lane() }
        for lane in lanes {
            let t = Thread { [lane] in Self.loop(lane) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    var laneCount: Int { lanes.count }

    /// The lane for the next file: the one with the fewest bytes queued
    /// (in turn, among equals).
    func begin() -> Int {
        var best = nextLane % lanes.count
        var bestBytes = Int.max
        for k in 0..<lanes.count {
            let i = (nextLane + k) % lanes.count
            let l = lanes[i]
            l.cond.lock()
            let q = l.queuedBytes
            l.cond.unlock()
            if q < bestBytes { best = i; bestBytes = q }
        }
        nextLane = best + 1
        return best
    }

    /// Queues `count` bytes at `p` on `lane`; returns the ticket for `wait(for:)`.
    @discardableResult
    func update(lane: Int, _ p: UnsafeRawPointer, _ count: Int) -> Ticket {
        enqueue(lane, .init(bytes: p, count: count, finish: false))
    }

    /// Ends the file on `lane`; its digest will be ready under the ticket returned.
    func finish(lane: Int) -> Ticket { enqueue(lane, .init(bytes: nil, count: 0, finish: true)) }

    /// Waits for every ticket of `f`, then clears it.
    func wait(for f: Fence) {
        for t in f.tickets { wait(for: t) }
        f.clear()
    }

    /// Waits until the job with this ticket is done.
    func wait(for t: Ticket) {
        if t.sequence == 0 { return }
        let l = lanes[t.lane]
        l.cond.lock()
        while l.completed < t.sequence {
            l.sleep()
        }
        l.cond.unlock()
    }

    /// The hex digest for a `finish` ticket (taken out: ask once), or nil
    /// when it is not ready and `wait` is false.
    func digest(_ t: Ticket, wait: Bool) -> String? {
        let l = lanes[t.lane]
        l.cond.lock()
        defer { l.cond.unlock() }
        if wait {
            while l.completed < t.sequence {
                l.sleep()
            }
        }
        return l.digests.removeValue(forKey: t.sequence)
    }

    /// Finishes the queued work and stops the threads; call once, when done.
    func shutdown() {
        for l in lanes {
            l.cond.lock()
            l.stopping = true
            l.cond.broadcast()
            while l.running { l.sleep() }
            l.cond.unlock()
        }
    }

    private func enqueue(_ i: Int, _ j: Lane.Job) -> Ticket {
        let l = lanes[i]
        l.cond.lock()
        while l.submitted - l.completed >= UInt64(depth) {
            l.sleep()
        }
        l.jobs.append(j)
        l.submitted += 1
        l.queuedBytes += j.count
        let t = Ticket(lane: i, sequence: l.submitted)
        if l.idle && (l.queuedBytes >= 1 << 20 || l.jobs.count - l.head >= depth / 4) { l.cond.broadcast() }
        l.cond.unlock()
        return t
    }

    private static func loop(_ l: Lane) {
        var sha = SHA256()
        l.cond.lock()
        while true {
            while l.head == l.jobs.count && !l.stopping {
                l.idle = true
                l.cond.wait()
                l.idle = false
            }
            if l.head == l.jobs.count {
                l.running = false
                l.cond.broadcast()
                l.cond.unlock()
                return
            }
            let job = l.jobs[l.head]
            l.head += 1
            if l.head > 256 {
                l.jobs.removeFirst(l.head)
                l.head = 0
            }
            l.cond.unlock()
            var digest: String?
            if let p = job.bytes, job.count > 0 { sha.update(bufferPointer: UnsafeRawBufferPointer(start: p, count: job.count)) }
            if job.finish {
                digest = Hex.encode(sha.finalize())
                sha = SHA256()
            }
            l.cond.lock()
            l.completed += 1
            l.queuedBytes -= job.count
            if let digest { l.digests[l.completed] = digest }
            if l.waiters > 0 { l.cond.broadcast() }
        }
    }
}

/// Items waiting, in order, for the digests of their hash-lane tickets
/// (`.none` for an item with no content), handed on in the same order as
/// the digests come ready: index entries on create, archive entries on
/// extract.
struct DigestQueue<Item> {
    private var items: [(Item, HashLanes.Ticket)] = []
    private var head = 0

    var count: Int { items.count - head }

    mutating func append(_ item: Item, _ ticket: HashLanes.Ticket) { items.append((item, ticket)) }

    /// Hands on each item whose digest is ready, in order, stopping at the
    /// first that is not; with `all`, waits for every one.
    mutating func drain(_ lanes: HashLanes, all: Bool, _ body: (Item, String?) throws -> Void) rethrows {
        while head < items.count {
            let (item, ticket) = items[head]
            var digest: String?
            if ticket != .none {
                guard let d = lanes.digest(ticket, wait: all) else { break }
                digest = d
            }
            try body(item, digest)
            head += 1
        }
        if head > 1024 {
            items.removeFirst(head)
            head = 0
        }
    }
}
