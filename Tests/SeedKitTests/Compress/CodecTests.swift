import CZlib
import CZstd
import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct CodecTests {
    let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog\n", count: 2000).utf8)

    func roundTrip(_ codec: Codec, level: Int) throws -> (compressed: Int, back: [UInt8]) {
        let ctx = CodecContext(level: level)
        var out = [UInt8](repeating: 0, count: CodecContext.bound(codec, text.count))
        let n = try text.withUnsafeBytes { src in
            try out.withUnsafeMutableBytes { try ctx.compress(codec, src, into: $0) }
        }
        let size = try #require(n)
        var back = [UInt8](repeating: 0, count: text.count)
        try out[0..<size].withUnsafeBytes { src in
            try back.withUnsafeMutableBytes { try ctx.decompress(codec, UnsafeRawBufferPointer(rebasing: src[...]), into: $0, what: "test") }
        }
        return (size, back)
    }

    @Test func zstdRoundTripsARecord() throws {
        let r = try roundTrip(.zstd, level: 3)
        #expect(r.back == text)
        #expect(r.compressed < text.count / 10)
    }

    @Test func gzipRoundTripsARecord() throws {
        let r = try roundTrip(.gzip, level: 6)
        #expect(r.back == text)
        #expect(r.compressed < text.count / 10)
    }

    @Test func zstdRecordIsOneStandardFrameWithContentSizeAndChecksum() throws {
        let z = try ZstdCompressor(level: 3)
        var out = [UInt8](repeating: 0, count: ZstdCompressor.bound(text.count))
        let n = try #require(try text.withUnsafeBytes { s in try out.withUnsafeMutableBytes { try z.compress(s, into: $0) } })
        #expect(out.withUnsafeBytes { ZSTD_findFrameCompressedSize($0.baseAddress, n) } == n)
        #expect(out.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, n) } == UInt64(text.count))
        #expect(out[4] & 0x04 != 0)  // frame header descriptor: content checksum flag
    }

    @Test func gzipRecordStartsWithTheGzipMagic() throws {
        let g = try GzipCompressor(level: 6)
        var out = [UInt8](repeating: 0, count: GzipCompressor.bound(text.count))
        _ = try text.withUnsafeBytes { s in try out.withUnsafeMutableBytes { try g.compress(s, into: $0) } }
        #expect(out[0] == 0x1f && out[1] == 0x8b)
    }

    @Test func incompressibleDataDoesNotFitInLessSpace() throws {
        var random = [UInt8](repeating: 0, count: 65536)
        for i in random.indices { random[i] = UInt8.random(in: 0...255) }
        for codec in [Codec.zstd, .gzip] {
            let ctx = CodecContext(level: 3)
            var out = [UInt8](repeating: 0, count: random.count - 1)
            let n = try random.withUnsafeBytes { s in try out.withUnsafeMutableBytes { try ctx.compress(codec, s, into: $0) } }
            #expect(n == nil, "\(codec.name)")
        }
    }

    @Test func zstdRejectsAFrameThatDoesNotDecodeToTheRecordedLength() throws {
        let r = try roundTrip(.zstd, level: 1)
        #expect(r.back == text)
        let z = try ZstdCompressor(level: 1)
        var out = [UInt8](repeating: 0, count: ZstdCompressor.bound(text.count))
        let n = try #require(try text.withUnsafeBytes { s in try out.withUnsafeMutableBytes { try z.compress(s, into: $0) } })
        let d = try ZstdDecompressor()
        var small = [UInt8](repeating: 0, count: text.count - 1)
        let e = seedError {
            try out[0..<n].withUnsafeBytes { s in
                try small.withUnsafeMutableBytes { try d.decompress(UnsafeRawBufferPointer(rebasing: s[...]), into: $0, what: "record 3") }
            }
        }
        #expect(e?.status == .dataError)
        #expect(e?.message.hasPrefix("record 3: ") == true)
    }

    @Test func gzipRejectsGarbage() throws {
        let d = try GzipDecompressor()
        var out = [UInt8](repeating: 0, count: 100)
        let e = seedError {
            try [UInt8](repeating: 0x41, count: 50).withUnsafeBytes { s in try out.withUnsafeMutableBytes { try d.decompress(s, into: $0, what: "record 9") } }
        }
        #expect(e?.status == .dataError)
    }
}
