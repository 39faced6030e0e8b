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

    /// Files up to this size are hashed on the thread that reads them,
    /// both ways: a lane's queue, lock and wake-up cost more than the hash.
    static let hashedInline: UInt64 = 16 << 10

    /// 1 MiB of zeros that stand in for holes, never written to.
    static let zeroCount = 1 << 20
    static let zeros: UnsafeRawPointer = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: zeroCount, alignment: 4096)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: zeroCount)
        return UnsafeRawPointer(p)
    }()

    /// One lane: a one-thread `WorkerPool` hashing jobs in order, with the
    /// digests of the files it finished.
    private final class Lane {
        struct Job {
            var bytes: UnsafeRawPointer?
            var count: Int
            var finish: Bool
        }

        let lock = NSLock()
        var digests: [UInt64: String] = [:]
        var pool: WorkerPool<Job>!
        /// The lane thread's own: the file being hashed, and how many jobs
        /// it has run (so the job running now has the ticket `ran`).
        var sha = SHA256()
        var ran: UInt64 = 0
    }

    private let lanes: [Lane]
    private var nextLane = 0

    init(lanes count: Int = min(ProcessInfo.processInfo.activeProcessorCount, 8), depth: Int = 64) {
        lanes = (0..<max(count, 1)).map { _ in Lane() }
        for lane in lanes {
            // Woken for 1 MiB or a quarter of the queue, or when someone
            // waits: waking a lane for every small file would cost more than
            // hashing the file.
            lane.pool = WorkerPool(threads: 1, bound: depth, wakeAt: (max(depth / 4, 1), 1 << 20)) { [lane] job, _ in
                lane.ran += 1
                if let p = job.bytes, job.count > 0 { lane.sha.update(bufferPointer: UnsafeRawBufferPointer(start: p, count: job.count)) }
                guard job.finish else { return }
                let digest = lane.sha.finalize().withUnsafeBytes { Hex.encode($0) }
                lane.sha = SHA256()
                lane.lock.lock()
                lane.digests[lane.ran] = digest
                lane.lock.unlock()
            }
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
            let q = lanes[i].pool.queuedWeight
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
        // Hashing throws nothing: the lane's pool never fails.
        try? lanes[t.lane].pool.wait(for: t.sequence)
    }

    /// The hex digest for a `finish` ticket (taken out: ask once), or nil
    /// when it is not ready and `wait` is false.
    func digest(_ t: Ticket, wait: Bool) -> String? {
        let l = lanes[t.lane]
        if wait { self.wait(for: t) }
        l.lock.lock()
        defer { l.lock.unlock() }
        return l.digests.removeValue(forKey: t.sequence)
    }

    /// Finishes the queued work and stops the threads; call once, when done.
    func shutdown() {
        for l in lanes { try? l.pool.finish() }
    }

    private func enqueue(_ i: Int, _ j: Lane.Job) -> Ticket {
        let l = lanes[i]
        // Tickets count the lane's jobs; a finish job's is its digest's key.
        let t = (try? l.pool.submit(j, weight: j.count)) ?? 0
        return Ticket(lane: i, sequence: t)
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
