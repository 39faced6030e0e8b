import CZlib
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

/// Owns a zlib deflate stream set up for the gzip wrapper: one record in,
/// one gzip member out.
final class GzipCompressor {
    private var strm = z_stream()

    init(level: Int) throws {
        let r = CZlib_deflateInit2(&strm, Int32(level), 15 + 16, 8)
        if r != Z_OK { throw SeedError(.failure, "zlib: cannot set up deflate (\(r))") }
    }

    deinit { deflateEnd(&strm) }

    static func bound(_ n: Int) -> Int { n + n / 1000 + 64 + 18 }

    func compress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws -> Int? {
        deflateReset(&strm)
        CZlib_setInput(&strm, src.baseAddress, UInt32(src.count))
        CZlib_setOutput(&strm, dst.baseAddress, UInt32(dst.count))
        let r = deflate(&strm, Z_FINISH)
        if r == Z_STREAM_END { return dst.count - Int(strm.avail_out) }
        if r == Z_OK || r == Z_BUF_ERROR { return nil }  // did not fit: store it
        throw SeedError(.failure, "zlib: deflate failed (\(r))")
    }
}

/// Owns a zlib inflate stream that accepts exactly one gzip member.
final class GzipDecompressor {
    private var strm = z_stream()

    init() throws {
        let r = CZlib_inflateInit2(&strm, 16 + 15)
        if r != Z_OK { throw SeedError(.failure, "zlib: cannot set up inflate (\(r))") }
    }

    deinit { inflateEnd(&strm) }

    func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, what: String) throws {
        inflateReset(&strm)
        CZlib_setInput(&strm, src.baseAddress, UInt32(src.count))
        CZlib_setOutput(&strm, dst.baseAddress, UInt32(dst.count))
        let r = inflate(&strm, Z_FINISH)
        if r != Z_STREAM_END {
            let msg = strm.msg.map { String(cString: $0) } ?? (r == Z_BUF_ERROR ? "longer than the header says or cut short" : "error \(r)")
            throw SeedError.data("\(what): gzip: \(msg)")
        }
        if strm.avail_in != 0 { throw SeedError.data("\(what): \(strm.avail_in) bytes after the gzip member") }
        if Int(strm.avail_out) != 0 {
            throw SeedError.data("\(what): decodes to \(dst.count - Int(strm.avail_out)) bytes, header says \(dst.count)")
        }
    }
}

/// The codecs one thread uses, created on first use and kept.
final class CodecContext {
    let level: Int
    private var zc: ZstdCompressor?
    private var zd: ZstdDecompressor?
    private var gc: GzipCompressor?
    private var gd: GzipDecompressor?

    init(level: Int) { self.level = level }

    static func bound(_ codec: Codec, _ n: Int) -> Int {
        codec == .gzip ? GzipCompressor.bound(n) : ZstdCompressor.bound(n)
    }

    func compress(_ codec: Codec, _ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws -> Int? {
        switch codec {
        case .zstd:
            if zc == nil { zc = try ZstdCompressor(level: level) }
            return try zc!.compress(src, into: dst)
        case .gzip:
            if gc == nil { gc = try GzipCompressor(level: level) }
            return try gc!.compress(src, into: dst)
        case .none:
            return nil
        }
    }

    func decompress(_ codec: Codec, _ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, what: String) throws {
        switch codec {
        case .zstd:
            if zd == nil { zd = try ZstdDecompressor() }
            try zd!.decompress(src, into: dst, what: what)
        case .gzip:
            if gd == nil { gd = try GzipDecompressor() }
            try gd!.decompress(src, into: dst, what: what)
        case .none:
            precondition(src.count == dst.count)
            if src.count > 0 { dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: src.count) }
        }
    }
}
