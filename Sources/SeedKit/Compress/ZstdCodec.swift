import CZstd
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

/// Owns a `ZSTD_CCtx`: one record in, one standard zstd frame out, with
/// the content size and an XXH64 content checksum in the frame.
final class ZstdCompressor {
    private let cctx: OpaquePointer
    let level: Int32

    init(level: Int) throws {
        guard let c = ZSTD_createCCtx() else { throw SeedError(.failure, "zstd: cannot allocate a compression context") }
        cctx = c
        self.level = Int32(level)
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, self.level))
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1))
    }

    deinit { ZSTD_freeCCtx(cctx) }

    static func bound(_ n: Int) -> Int { ZSTD_compressBound(n) }

    /// Compresses `src` into `dst`; nil when it does not fit (did not shrink).
    func compress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) throws -> Int? {
        let r = ZSTD_compress2(cctx, dst.baseAddress, dst.count, src.baseAddress, src.count)
        if ZSTD_isError(r) != 0 {
            if ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall { return nil }
            throw SeedError(.failure, "zstd: \(String(cString: ZSTD_getErrorName(r)))")
        }
        return r
    }

    private func check(_ r: Int) throws {
        if ZSTD_isError(r) != 0 { throw SeedError.usage("zstd: \(String(cString: ZSTD_getErrorName(r)))") }
    }
}

/// Owns a `ZSTD_DCtx`: decodes exactly one zstd frame of a known length.
final class ZstdDecompressor {
    private let dctx: OpaquePointer

    init() throws {
        guard let d = ZSTD_createDCtx() else { throw SeedError(.failure, "zstd: cannot allocate a decompression context") }
        dctx = d
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Decodes `src`, which must be one whole frame, into exactly `dst.count` bytes.
    func decompress(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, what: String) throws {
        let frame = ZSTD_findFrameCompressedSize(src.baseAddress, src.count)
        if ZSTD_isError(frame) != 0 {
            throw SeedError.data("\(what): not a valid zstd frame (\(String(cString: ZSTD_getErrorName(frame))))")
        }
        if frame != src.count { throw SeedError.data("\(what): \(src.count - frame) bytes after the zstd frame") }
        // seed-stream(5): a standard frame (not a skippable one) that states
        // its content size and carries a content checksum.
        let magic = UInt32(littleEndian: src.loadUnaligned(as: UInt32.self))
        guard magic == 0xFD2F_B528, src.count > 4 else { throw SeedError.data("\(what): not a standard zstd frame") }
        if src[4] & 0x04 == 0 { throw SeedError.data("\(what): zstd frame without a content checksum") }
        let size = ZSTD_getFrameContentSize(src.baseAddress, src.count)
        if size >= UInt64.max - 1 {  // ZSTD_CONTENTSIZE_UNKNOWN, ZSTD_CONTENTSIZE_ERROR
            throw SeedError.data("\(what): zstd frame does not state its content size")
        }
        if size != UInt64(dst.count) { throw SeedError.data("\(what): zstd frame holds \(size) bytes, header says \(dst.count)") }
        let r = ZSTD_decompressDCtx(dctx, dst.baseAddress, dst.count, src.baseAddress, src.count)
        if ZSTD_isError(r) != 0 {
            throw SeedError.data("\(what): zstd: \(String(cString: ZSTD_getErrorName(r)))")
        }
        if r != dst.count { throw SeedError.data("\(what): decodes to \(r) bytes, header says \(dst.count)") }
    }
}
