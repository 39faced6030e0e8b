import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct OrderedPipelineTests {
    final class Collected: @unchecked Sendable {
        var tags: [Int] = []
    }

    @Test func outputKeepsInputOrderWhateverTheWorkersTake() throws {
        let got = Collected()
        let p = OrderedPipeline(
            threads: 4,
            work: { slot, _ in
                usleep(UInt32.random(in: 0...2000)); slot.useOutput = Int(slot.sequence) % 2 == 0
            },
            emit: { slot in got.tags.append(Int(slot.sequence)) })
        for i in 0..<200 { try p.submit { $0.sequence = UInt64(i) } }
        try p.finish()
        #expect(got.tags == Array(0..<200))
    }

    @Test func firstErrorStopsTheOutputAtTheFailingRecord() throws {
        let got = Collected()
        let p = OrderedPipeline(
            threads: 2,
            work: { slot, _ in if slot.sequence == 50 { throw SeedError.data("record 50 is bad") } },
            emit: { slot in got.tags.append(Int(slot.sequence)) })
        var submitError: Error?
        do { for i in 0..<1000 { try p.submit { $0.sequence = UInt64(i) } } } catch { submitError = error }
        let e = seedError { try p.finish() }
        #expect(e?.message == "record 50 is bad")
        #expect(got.tags == Array(0..<50))
        if let s = submitError as? SeedError { #expect(s.message == "record 50 is bad") }
    }

    @Test func slotsInFlightAreBoundedByTheDepth() throws {
        final class Gauge: @unchecked Sendable {
            let lock = NSLock()
            var now = 0, peak = 0
        }
        let g = Gauge()
        let p = OrderedPipeline(
            threads: 2, depth: 5,
            work: { _, _ in usleep(100) },
            emit: { _ in
                g.lock.lock(); g.now -= 1; g.lock.unlock()
            })
        for i in 0..<300 {
            try p.submit { s in
                s.sequence = UInt64(i)
                g.lock.lock(); g.now += 1; g.peak = max(g.peak, g.now); g.lock.unlock()
            }
        }
        try p.finish()
        #expect(g.peak <= 5)
    }
}
