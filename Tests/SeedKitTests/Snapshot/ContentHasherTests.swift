import Crypto
import Foundation
import Testing

@testable import SeedKit

@Suite struct ContentHasherTests {
    static let zeros: UnsafeMutableRawPointer = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: 1 << 20)
        return p
    }()

    func hex(_ d: SHA256.Digest) -> String { d.map { String(format: "%02x", $0) }.joined() }

    @Test func digestsMatchADirectHashWithHolesAndReusedBuffers() {
        let h = ContentHasher()
        defer { h.shutdown() }
        let ring = (0..<4).map { _ in ByteBuffer(capacity: 1 << 20) }
        var tickets = [UInt64](repeating: 0, count: ring.count)
        var next = 0
        for round in 0..<20 {
            var direct = SHA256()
            var expectedFiles: [(UInt64, String)] = []
            for file in 0..<5 {
                for part in 0..<(3 + file) {
                    if part % 2 == 0 {
                        h.update(Self.zeros, 1 << 20)
                        direct.update(bufferPointer: UnsafeRawBufferPointer(start: Self.zeros, count: 1 << 20))
                    } else {
                        let i = next
                        next = (next + 1) % ring.count
                        h.wait(for: tickets[i])
                        let bytes = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* (round + file + part + 1)) }
                        ring[i].set(bytes)
                        tickets[i] = h.update(ring[i].base, bytes.count)
                        bytes.withUnsafeBytes { direct.update(bufferPointer: $0) }
                    }
                }
                expectedFiles.append((h.finish(), hex(direct.finalize())))
                direct = SHA256()
            }
            for (t, want) in expectedFiles { #expect(h.digest(t, wait: true) == want, "round \(round)") }
        }
    }
}
