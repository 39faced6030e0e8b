import CIsal
import SeedCore
import SeedFormat

/// Reed-Solomon parity across the members of a drive set, by ISA-L
/// (seed-stream(5), SETS): the K data members' bytes are coded with the
/// rows K..K+M-1 of ISA-L's Cauchy matrix (`gf_gen_cauchy1_matrix`), whose
/// first K rows are the identity, so that any K of the K+M members give
/// back the others. The only place that sees ISA-L.
public final class ErasureCode: @unchecked Sendable {
    public let data: Int
    public let parity: Int
    /// (K+M) x K, row-major: member i's bytes are row i times the data.
    private let matrix: [UInt8]
    private let encodeTables: [UInt8]

    public init(data k: Int, parity m: Int) throws {
        guard k >= 1, m >= 0, k + m <= SetGeometry.maxMembers else {
            throw SeedError.usage("a drive set of \(k) data and \(m) parity members is not one seed makes (at most \(SetGeometry.maxMembers) members)")
        }
        data = k
        parity = m
        var a = [UInt8](repeating: 0, count: (k + m) * k)
        gf_gen_cauchy1_matrix(&a, Int32(k + m), Int32(k))
        matrix = a
        var t = [UInt8](repeating: 0, count: max(1, 32 * k * m))
        if m > 0 { a.withUnsafeMutableBufferPointer { ec_init_tables(Int32(k), Int32(m), $0.baseAddress! + k * k, &t) } }
        encodeTables = t
    }

    /// Computes the M parity blocks of one stripe from its K data blocks,
    /// each `length` bytes.
    public func encode(data blocks: [UnsafeRawPointer], into parityBlocks: [UnsafeMutableRawPointer], length: Int) {
        precondition(blocks.count == data && parityBlocks.count == parity)
        guard parity > 0, length > 0 else { return }
        code(tables: encodeTables, sources: blocks, outputs: parityBlocks, length: length)
    }

    /// How to get back the members not in `present` from the first K that
    /// are; nil when fewer than K are present.
    public func rebuilder(present: Set<Int>) -> Rebuilder? {
        let sources = (0..<(data + parity)).filter { present.contains($0) }.prefix(data).map { $0 }
        guard sources.count == data else { return nil }
        let missing = (0..<(data + parity)).filter { !present.contains($0) }
        // The K x K matrix that took the data to the sources, inverted,
        // takes the sources back to the data.
        var b = [UInt8](repeating: 0, count: data * data)
        for (r, s) in sources.enumerated() { b.replaceSubrange(r * data..<(r + 1) * data, with: matrix[s * data..<(s + 1) * data]) }
        var d = [UInt8](repeating: 0, count: data * data)
        // Any K rows of a Cauchy matrix over the identity are independent.
        guard gf_invert_matrix(&b, &d, Int32(data)) == 0 else { return nil }
        var rows = [UInt8]()
        rows.reserveCapacity(missing.count * data)
        for e in missing {
            if e < data {
                rows += d[e * data..<(e + 1) * data]
            } else {
                // A parity member is its matrix row times the data, so its
                // row over the sources is that row times the inverse.
                for j in 0..<data {
                    var s: UInt8 = 0
                    for i in 0..<data { s ^= gf_mul(matrix[e * data + i], d[i * data + j]) }
                    rows.append(s)
                }
            }
        }
        var t = [UInt8](repeating: 0, count: max(1, 32 * data * missing.count))
        if !missing.isEmpty { ec_init_tables(Int32(data), Int32(missing.count), &rows, &t) }
        return Rebuilder(code: self, sources: sources, missing: missing, tables: t)
    }

    public struct Rebuilder: Sendable {
        fileprivate let code: ErasureCode
        /// The members read, in the order their blocks are given.
        public let sources: [Int]
        /// The members rebuilt, in the order their blocks are filled.
        public let missing: [Int]
        fileprivate let tables: [UInt8]

        public func rebuild(sources blocks: [UnsafeRawPointer], into outputs: [UnsafeMutableRawPointer], length: Int) {
            precondition(blocks.count == sources.count && outputs.count == missing.count)
            guard !missing.isEmpty, length > 0 else { return }
            code.code(tables: tables, sources: blocks, outputs: outputs, length: length)
        }
    }

    private func code(tables: [UInt8], sources: [UnsafeRawPointer], outputs: [UnsafeMutableRawPointer], length: Int) {
        var src = sources.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: UInt8.self)) as UnsafeMutablePointer<UInt8>? }
        var dst = outputs.map { $0.assumingMemoryBound(to: UInt8.self) as UnsafeMutablePointer<UInt8>? }
        tables.withUnsafeBufferPointer { t in
            ec_encode_data(Int32(length), Int32(data), Int32(dst.count), UnsafeMutablePointer(mutating: t.baseAddress!), &src, &dst)
        }
    }
}
