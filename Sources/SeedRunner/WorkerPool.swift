import Foundation

/// Threads that run jobs from a bounded queue: the one worker-pool
/// primitive behind `OrderedPipeline`'s record workers and writer (so
/// every stage's compressing, sealing and checking), each drive's writer,
/// digest and checkpoint syncs (`ChunkSink`, and so every member of a
/// drive set), and the snapshot's hash lanes (`HashLanes`).
///
/// `submit` waits while `bound` jobs are queued, so memory is bounded by
/// what the caller hands in, and returns a ticket: with one thread, jobs
/// run in the order submitted and `wait(for:)` waits until the job with
/// that ticket has run. An idle thread is woken at once, or, with
/// `wakeAt`, only once that many jobs or that much weight is queued (or
/// someone waits): waking a thread for every small job can cost more than
/// the job. The first error a job throws stops the pool: the jobs still
/// queued are dropped, and `submit`, `wait`, `drain` and `finish` throw it.
package final class WorkerPool<Job> {
    package typealias Run = (Job, Int) throws -> Void

    private let cond = NSCondition()
    private var queue: [(job: Job, weight: Int)] = []
    private var head = 0
    private let bound: Int
    private let wakeAt: (jobs: Int, weight: Int)
    private var closed = false
    private var failure: Error?
    private var live: Int
    private var busy = 0
    private var idle = 0
    /// Threads other than the workers sleeping on `cond`.
    private var waiters = 0
    private var submitted: UInt64 = 0
    private var completed: UInt64 = 0
    /// The weight of the jobs queued or running.
    private var weight = 0

    package init(threads: Int, bound: Int, wakeAt: (jobs: Int, weight: Int) = (1, 0), stackSize: Int = 1 << 20, run: @escaping Run) {
        precondition(threads >= 1 && bound >= 1)
        self.bound = bound
        self.wakeAt = wakeAt
        live = threads
        for i in 0..<threads {
            let t = Thread { [self] in loop(i, run) }
            t.stackSize = stackSize
            t.start()
        }
    }

    private var queued: Int { queue.count - head }

    /// Sleeps on `cond` (held) as a caller, first waking the workers if
    /// they sleep with work queued.
    private func sleep() {
        if idle > 0 && queued > 0 { cond.broadcast() }
        waiters += 1
        cond.wait()
        waiters -= 1
    }

    /// Queues `job`, waiting while `bound` jobs are queued; its ticket.
    @discardableResult
    package func submit(_ job: Job, weight w: Int = 0) throws -> UInt64 {
        cond.lock()
        defer { cond.unlock() }
        while queued >= bound && failure == nil { sleep() }
        if let f = failure { throw f }
        precondition(!closed, "a job submitted to a closed pool")
        queue.append((job, w))
        submitted += 1
        weight += w
        if idle > 0 && (queued >= wakeAt.jobs || (wakeAt.weight > 0 && weight >= wakeAt.weight)) { cond.broadcast() }
        return submitted
    }

    /// Queues `job` only if no job is queued or running: for work one
    /// running already covers (a sync). Whether it was queued.
    package func submitIfIdle(_ job: Job) -> Bool {
        cond.lock()
        defer { cond.unlock() }
        guard queued == 0, busy == 0, failure == nil, !closed else { return false }
        queue.append((job, 0))
        submitted += 1
        cond.broadcast()
        return true
    }

    /// The weight of the jobs queued or running.
    package var queuedWeight: Int {
        cond.lock()
        defer { cond.unlock() }
        return weight
    }

    /// Waits until `ticket`'s job has run (with one thread: every job
    /// before it too).
    package func wait(for ticket: UInt64) throws {
        cond.lock()
        defer { cond.unlock() }
        while completed < ticket && failure == nil { sleep() }
        if let f = failure { throw f }
    }

    /// Waits until every job queued so far has run.
    package func drain() throws {
        cond.lock()
        defer { cond.unlock() }
        while (queued > 0 || busy > 0) && failure == nil { sleep() }
        if let f = failure { throw f }
    }

    /// Runs what is queued, then ends the threads.
    package func finish() throws {
        end(nil)
        cond.lock()
        let f = failure
        cond.unlock()
        if let f { throw f }
    }

    /// Ends the threads after an error elsewhere; queued jobs are dropped.
    package func abort(_ e: Error) { end(e) }

    private func end(_ e: Error?) {
        cond.lock()
        if let e, failure == nil { failure = e }
        closed = true
        cond.broadcast()
        while live > 0 { sleep() }
        cond.unlock()
    }

    private func loop(_ index: Int, _ run: Run) {
        cond.lock()
        while true {
            while queued == 0 && !closed && failure == nil {
                idle += 1
                cond.wait()
                idle -= 1
            }
            if failure != nil || queued == 0 { break }
            let (job, w) = queue[head]
            head += 1
            if head >= 64 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            busy += 1
            // Room in the queue: a submitter may be waiting for it.
            if waiters > 0 { cond.broadcast() }
            cond.unlock()
            var err: Error?
            do { try run(job, index) } catch { err = error }
            cond.lock()
            busy -= 1
            completed += 1
            weight -= w
            if let err, failure == nil {
                failure = err
                cond.broadcast()
            } else if waiters > 0 {
                cond.broadcast()
            }
        }
        live -= 1
        cond.broadcast()
        cond.unlock()
    }
}
