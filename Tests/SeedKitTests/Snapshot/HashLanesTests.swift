import Crypto
import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct HashLanesTests {
    func hex(_ d: SHA256.Digest) -> String { d.map { String(format: "%02x", $0) }.joined() }

    @Test func everyFileGetsItsOwnDigestWhateverLaneItIsHashedOn() {
        let h = HashLanes(lanes: 3, depth: 8)
        defer { h.shutdown() }
        // Few buffers reused in turn: each waits for its last ticket first.
        let ring = (0..<4).map { _ in ByteBuffer(capacity: 1 << 16) }
        var tickets = [HashLanes.Ticket](repeating: .none, count: ring.count)
        var next = 0
        var expected: [(HashLanes.Ticket, String)] = []
        for file in 0..<60 {
            let lane = h.begin()
            var direct = SHA256()
            for part in 0..<(file % 7) {
                let i = next
                next = (next + 1) % ring.count
                h.wait(for: tickets[i])
                let bytes = (0..<(1000 + 37 * part)).map { UInt8(truncatingIfNeeded: $0 &* (file + part + 1)) }
                ring[i].set(bytes)
                tickets[i] = h.update(lane: lane, ring[i].base, bytes.count)
                bytes.withUnsafeBytes { direct.update(bufferPointer: $0) }
            }
            expected.append((h.finish(lane: lane), hex(direct.finalize())))
        }
        #expect(Set(expected.map(\.0.lane)).count == 3)
        for (n, (t, want)) in expected.enumerated() { #expect(h.digest(t, wait: true) == want, "file \(n)") }
    }

    @Test func aDigestNotYetReadyIsNilWithoutWaiting() {
        let h = HashLanes(lanes: 1)
        defer { h.shutdown() }
        let lane = h.begin()
        let t = h.finish(lane: lane)
        // A lane is woken only once work piles up or someone waits, so a
        // lone small job sleeps in the queue: asking without waiting must
        // not block and gets nothing; asking with waiting gets it.
        #expect(h.digest(t, wait: false) == nil)
        #expect(h.digest(t, wait: true) == hex(SHA256.hash(data: Data())))
    }
}
