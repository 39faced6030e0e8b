import Foundation
import SeedCore
import Testing

@testable import SeedRunner

@Suite struct WorkerPoolTests {
    final class Log: @unchecked Sendable {
        let lock = NSLock()
        var items: [Int] = []
        func add(_ i: Int) { lock.withLock { items.append(i) } }
        var all: [Int] { lock.withLock { items } }
    }

    @Test func oneThreadRunsJobsInTheOrderSubmitted() throws {
        let log = Log()
        let pool = WorkerPool<Int>(threads: 1, bound: 4) { i, _ in
            if i % 7 == 0 { usleep(200) }
            log.add(i)
        }
        for i in 0..<200 { try pool.submit(i) }
        try pool.finish()
        #expect(log.all == Array(0..<200))
    }

    @Test func manyThreadsRunEveryJobOnce() throws {
        let log = Log()
        let pool = WorkerPool<Int>(threads: 4, bound: 8) { i, _ in log.add(i) }
        for i in 0..<1000 { try pool.submit(i) }
        try pool.drain()
        #expect(log.all.count == 1000)
        try pool.finish()
        #expect(log.all.sorted() == Array(0..<1000))
    }

    @Test func submitWaitsWhileTheQueueIsFull() throws {
        let gate = DispatchSemaphore(value: 0)
        let pool = WorkerPool<Int>(threads: 1, bound: 2) { _, _ in gate.wait() }
        // One running, two queued: the fourth waits until a job ends.
        for i in 0..<3 { try pool.submit(i) }
        let submitted = DispatchSemaphore(value: 0)
        Thread {
            try? pool.submit(3)
            submitted.signal()
        }.start()
        #expect(submitted.wait(timeout: .now() + 0.2) == .timedOut)
        gate.signal()
        #expect(submitted.wait(timeout: .now() + 5) == .success)
        for _ in 0..<3 { gate.signal() }
        try pool.finish()
    }

    @Test func theFirstErrorStopsThePoolAndComesBackFromEveryCall() throws {
        let log = Log()
        let pool = WorkerPool<Int>(threads: 1, bound: 100) { i, _ in
            if i == 3 { throw SeedError.io("job 3 failed") }
            log.add(i)
        }
        for i in 0..<10 { try pool.submit(i) }
        #expect((try? pool.drain()) == nil)
        #expect(throws: SeedError.self) { try pool.submit(11) }
        #expect(throws: SeedError.self) { try pool.finish() }
        // Nothing after the failing job ran.
        #expect(log.all == [0, 1, 2])
    }

    @Test func aTicketWaitedForIsDoneThoughTheThreadIsWokenLazily() throws {
        let log = Log()
        // Woken only for 1000 jobs or 1 MiB: waiting wakes it all the same.
        let pool = WorkerPool<Int>(threads: 1, bound: 2000, wakeAt: (1000, 1 << 20)) { i, _ in log.add(i) }
        var last: UInt64 = 0
        for i in 0..<10 { last = try pool.submit(i, weight: 10) }
        try pool.wait(for: last)
        #expect(log.all == Array(0..<10))
        #expect(pool.queuedWeight == 0)
        try pool.finish()
    }

    @Test func aJobQueuedOnlyIfIdleIsNotQueuedBesideARunningOne() throws {
        let gate = DispatchSemaphore(value: 0)
        let pool = WorkerPool<Void>(threads: 1, bound: 1) { _, _ in gate.wait() }
        #expect(pool.submitIfIdle(()))
        #expect(!pool.submitIfIdle(()))
        gate.signal()
        try pool.drain()
        #expect(pool.submitIfIdle(()))
        gate.signal()
        try pool.finish()
    }
}
