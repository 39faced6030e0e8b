import SeedCore
import SeedFormat
import Testing

@testable import SeedKit

@Suite struct ErasureCodeTests {
    /// K data blocks of pseudo-random bytes, then their M parity blocks.
    private func stripe(_ code: ErasureCode, length: Int, seed: UInt64) -> [[UInt8]] {
        var g = SplitMix(seed)
        var blocks = (0..<code.data).map { _ in (0..<length).map { _ in UInt8(truncatingIfNeeded: g.next()) } }
        var parity = [[UInt8]](repeating: [UInt8](repeating: 0, count: length), count: code.parity)
        withPointers(blocks, &parity) { src, dst in code.encode(data: src, into: dst, length: length) }
        blocks += parity
        return blocks
    }

    private func withPointers(_ src: [[UInt8]], _ dst: inout [[UInt8]], _ body: ([UnsafeRawPointer], [UnsafeMutableRawPointer]) -> Void) {
        let s = src.map { b -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, b.count), alignment: 64)
            b.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: b.count) }
            return p
        }
        let d = dst.map { b in UnsafeMutableRawPointer.allocate(byteCount: max(1, b.count), alignment: 64) }
        body(s.map { UnsafeRawPointer($0) }, d)
        for i in dst.indices { dst[i] = Array(UnsafeRawBufferPointer(start: d[i], count: dst[i].count)) }
        (s + d).forEach { $0.deallocate() }
    }

    private func combinations(_ n: Int, _ k: Int) -> [[Int]] {
        guard k > 0 else { return [[]] }
        guard n >= k else { return [] }
        return combinations(n - 1, k - 1).map { $0 + [n - 1] } + combinations(n - 1, k)
    }

    @Test(arguments: [(4, 1), (4, 2), (3, 1), (1, 2), (8, 3)])
    func anyKOfTheMembersGiveBackTheOthers(_ k: Int, _ m: Int) throws {
        let code = try ErasureCode(data: k, parity: m)
        let length = 4096 + 17
        let whole = stripe(code, length: length, seed: UInt64(k * 100 + m))
        for lost in 1...m {
            for gone in combinations(k + m, lost) {
                let present = Set(0..<(k + m)).subtracting(gone)
                let r = try #require(code.rebuilder(present: present))
                #expect(r.missing == gone.sorted())
                var out = [[UInt8]](repeating: [UInt8](repeating: 0, count: length), count: r.missing.count)
                withPointers(r.sources.map { whole[$0] }, &out) { src, dst in r.rebuild(sources: src, into: dst, length: length) }
                for (i, e) in r.missing.enumerated() { #expect(out[i] == whole[e], "member \(e) of \(k)+\(m) with \(gone) lost") }
            }
        }
    }

    @Test func moreMembersLostThanParityGiveNoRebuilder() throws {
        let code = try ErasureCode(data: 4, parity: 2)
        #expect(code.rebuilder(present: [0, 1, 5]) == nil)
        #expect(code.rebuilder(present: [0, 2, 4, 5]) != nil)
    }

    @Test func parityIsTheCauchyRowsOverGF256WithPolynomial0x11d() throws {
        // seed-stream(5): parity member i of a K+M set has coefficient
        // 1 / ((K + i) xor j) for data member j. For 3+2 the rows are
        // (f4 8e 01) and (47 a7 7a): another implementation must compute
        // these same bytes.
        let code = try ErasureCode(data: 3, parity: 2)
        var parity = [[UInt8]](repeating: [0], count: 2)
        withPointers([[1], [2], [3]], &parity) { src, dst in code.encode(data: src, into: dst, length: 1) }
        #expect(parity == [[0xf6], [0x9a]])
    }

    @Test func aSetTooLargeIsRefused() {
        #expect(throws: SeedError.self) { try ErasureCode(data: 60, parity: 10) }
        #expect(throws: SeedError.self) { try ErasureCode(data: 0, parity: 1) }
    }
}

@Suite struct SetPlacementTests {
    @Test func recordsGoToTheShortestMemberTheLowestNumberedOfEquals() {
        var p = SetPlacement(data: 3)
        #expect(p.place(.volumeBegin, size: 100) == .every)
        #expect(p.place(.data, size: 500) == .member(0, offset: 100))
        #expect(p.place(.data, size: 200) == .member(1, offset: 100))
        #expect(p.place(.data, size: 200) == .member(2, offset: 100))
        #expect(p.place(.index, size: 50) == .member(1, offset: 300))
        #expect(p.place(.key, size: 80) == .every)
        #expect(p.place(.changes, size: 10) == .member(2, offset: 380))
        #expect(p.bytes == [680, 430, 390])
    }

    @Test func membersNeverDifferByMoreThanTheLargestRecord() {
        var p = SetPlacement(data: 4)
        var g = SplitMix(7)
        var largest: UInt64 = 0
        for _ in 0..<10_000 {
            let size = 48 + g.next() % (1 << 20)
            largest = max(largest, size)
            _ = p.place(.data, size: size)
        }
        #expect(p.bytes.max()! - p.bytes.min()! <= largest)
    }

    @Test func aGeometryOutsideItsBoundsIsRefused() {
        for g in [SetGeometry(data: 0, parity: 1), SetGeometry(data: 3, parity: 62), SetGeometry(data: 3, parity: 1, stripe: 1000)] {
            #expect(throws: SeedError.self) { try g.check("volume 1") }
        }
        #expect(throws: Never.self) { try SetGeometry(data: 3, parity: 1).check("volume 1") }
    }
}

/// A small deterministic generator for test bytes.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
