import CSeedSys
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// `seed-split --plan --estimate-from DIR`: guesses the stream a tree would
/// make, without making it. Walks the tree (names as bytes) for entry
/// counts and the bytes each file's content puts in the archive (a sparse
/// file's data, not its holes), then compresses samples for the
/// compression ratio: evenly spaced through that content (a random start,
/// then every total / samples bytes; all of it when that is less than the
/// samples would read), each a run of the content from there on, across
/// files as the archive holds it, so that small files are sampled the way
/// a data record compresses them, together.
struct Estimator {
    var entries: UInt64 = 0
    var contentBytes: UInt64 = 0
    var archiveBytes: UInt64 = 0
    var indexBytes: UInt64 = 0
    /// Of the archive, the bytes of pax headers (the rest is content).
    var headerBytes: UInt64 = 0
    var ratio = 1.0
    var compressed = false
    var sampled: UInt64 = 0
    let recordSize: UInt64 = 4 << 20

    /// Samples of a data record's size each, since that is what zstd
    /// compresses at a time (text compresses a third smaller in 4 MiB than
    /// in 128 KiB); fewer at the slow levels.
    static func samples(level: Int) -> Int { level > 9 ? 8 : 32 }
    static let sampleBytes = 4 << 20

    var summary: String {
        let r = String(format: "%.3f", ratio)
        return "estimate: \(entries) entries, \(formatBytes(contentBytes)) of content, compression ratio \(r) "
            + "(sampled \(formatBytes(sampled)))"
    }

    /// The estimated stream's records, payload lengths in order.
    func forEachRecord(_ body: (RecordKind, UInt64) throws -> Void) rethrows {
        try body(.streamHeader, 400)
        func records(_ bytes: UInt64, _ r: Double) throws {
            var left = bytes
            while left > 0 {
                let n = min(left, recordSize)
                try body(.data, UInt64((Double(n) * r).rounded(.up)))
                left -= n
            }
        }
        // Pax headers are mostly padding and shrink to a fiftieth;
        // index lines to about a seventh (their digests do not shrink).
        let archive = compressed ? (Double(archiveBytes - headerBytes) * ratio + Double(headerBytes) * 0.02) / Double(max(archiveBytes, 1)) : 1
        try records(archiveBytes, archive)
        try records(indexBytes, compressed ? 0.15 : 1)
        try body(.end, 200)
    }

    /// The bytes of a file's content the archive holds: all of a dense
    /// file, the allocated blocks of one with holes.
    static func stored(_ s: stat) -> UInt64 {
        let size = UInt64(max(s.st_size, 0))
        let allocated = UInt64(max(s.st_blocks, 0)) * 512
        return allocated < size ? allocated : size
    }

    static func estimate(tree: String, level: Int, diag: Diagnostics, progress: Bool = false) throws -> Estimator {
        let meter = ProgressMeter(enabled: progress, label: "seed-split --estimate-from")
        defer { meter.finish() }
        var st = stat()
        guard lstat(tree, &st) == 0 else { throw SeedError(.noInput, "cannot read \(quoted(tree)): \(errnoMessage())") }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw SeedError.usage("\(quoted(tree)) is not a directory") }
        var e = Estimator()
        try TreeFiles.walk(tree, diag: diag) { path, name, s in
            e.entries += 1
            if e.entries & 1023 == 0 { meter.update(bytes: e.contentBytes, extra: "of content in \(e.entries) entries walked") }
            // A pax entry: a ustar header, an extended header (names, times,
            // xattrs) and the content padded to 512 bytes.
            e.archiveBytes += 1536 + UInt64(name.count)
            e.headerBytes += 1536 + UInt64(name.count)
            e.indexBytes += 260 + UInt64(path.count)
            if (s.st_mode & S_IFMT) == S_IFREG {
                let n = stored(s)
                e.contentBytes += n
                e.archiveBytes += (n + 511) & ~511
                if n < UInt64(s.st_size) {
                    e.archiveBytes += 512  // the sparse map
                    e.headerBytes += 512
                }
            }
        }
        e.archiveBytes += 1024  // the archive's end blocks
        guard level > 0 else { return e }
        e.compressed = true
        guard e.contentBytes > 0 else { return e }
        let samples = UInt64(samples(level: level))
        let whole = e.contentBytes <= samples * UInt64(sampleBytes)
        let step = whole ? UInt64(sampleBytes) : e.contentBytes / samples
        var next = whole ? 0 : UInt64.random(in: 0..<step)
        let ctx = CodecContext(level: level)
        let input = ByteBuffer(capacity: sampleBytes)
        let out = ByteBuffer(capacity: CodecContext.bound(.zstd, sampleBytes))
        var compressed: UInt64 = 0
        var seen: UInt64 = 0
        func finishSample() {
            guard input.count > 0 else { return }
            let room = UnsafeMutableRawBufferPointer(start: out.base, count: out.capacity)
            let c = (try? ctx.compress(.zstd, input.bytes, into: room)).flatMap { $0 } ?? input.count
            compressed += UInt64(min(c, input.count))
            e.sampled += UInt64(input.count)
            input.count = 0
        }
        try TreeFiles.walk(tree) { path, _, s in
            guard (s.st_mode & S_IFMT) == S_IFREG else { return }
            let size = stored(s)
            defer { seen += size }
            // A sample under way goes on into this file; else one may start in it.
            guard input.count > 0 || next < seen + size else { return }
            let fd = cString(path) { open($0, O_RDONLY | O_CLOEXEC) }
            if fd < 0 { return }
            defer { close(fd) }
            let sparse = size < UInt64(s.st_size)
            var at: UInt64 = input.count > 0 ? 0 : next - seen
            while at < size || (sparse && at < UInt64(s.st_size)) {
                if input.count == 0 {
                    guard next < seen + size else { break }
                    at = max(at, next - seen)
                }
                // A sparse file's samples come from its data, not its holes.
                var from = off_t(at)
                var want = sampleBytes - input.count
                if sparse {
                    from = lseek(fd, off_t(at), CSeedSys_SEEK_DATA)
                    let hole = from < 0 ? -1 : lseek(fd, from, CSeedSys_SEEK_HOLE)
                    if from < 0 || hole <= from { break }
                    want = min(want, Int(hole - from))
                }
                let n = pread(fd, input.base + input.count, want, from)
                if n <= 0 { break }
                input.count += n
                at = UInt64(from) + UInt64(n)
                if input.count == sampleBytes {
                    finishSample()
                    while next < seen + min(at, size) { next += step }
                }
            }
        }
        finishSample()
        if e.sampled > 0 { e.ratio = Double(compressed) / Double(e.sampled) }
        return e
    }
}
