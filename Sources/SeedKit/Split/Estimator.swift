import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// `seed-split --plan --estimate-from DIR`: guesses the stream a tree would
/// make, without making it. Walks the tree for entry counts and sizes, and
/// compresses a sample of files (picked at random, weighted by size) for
/// the compression ratio.
struct Estimator {
    var entries: UInt64 = 0
    var contentBytes: UInt64 = 0
    var archiveBytes: UInt64 = 0
    var indexBytes: UInt64 = 0
    var ratio = 1.0
    var sampled: UInt64 = 0
    let recordSize: UInt64 = 4 << 20

    static let sampleFiles = 64
    static let sampleBytes = 256 << 10

    var summary: String {
        let r = String(format: "%.3f", ratio)
        return "estimate: \(entries) entries, \(formatBytes(contentBytes)) of content, compression ratio \(r) "
            + "(sampled \(formatBytes(sampled)))"
    }

    /// The estimated stream's records, payload lengths in order.
    func forEachRecord(_ body: (UInt64) throws -> Void) rethrows {
        try body(400)  // the stream header
        func records(_ bytes: UInt64, _ r: Double) throws {
            var left = bytes
            while left > 0 {
                let n = min(left, recordSize)
                try body(UInt64((Double(n) * r).rounded(.up)))
                left -= n
            }
        }
        try records(archiveBytes, ratio)
        // JSON Lines shrink far more than file content; take the content's
        // ratio only when it is better.
        try records(indexBytes, min(ratio, ratio < 1 ? 0.3 : 1))
        try body(200)  // the end record
    }

    static func estimate(tree: String, level: Int, diag: Diagnostics) throws -> Estimator {
        var st = stat()
        guard lstat(tree, &st) == 0 else { throw SeedError(.noInput, "cannot read \(quoted(tree)): \(errnoMessage())") }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw SeedError.usage("\(quoted(tree)) is not a directory") }
        var e = Estimator()
        walk(tree, diag: diag) { path, name, s in
            e.entries += 1
            // A pax entry: a ustar header, an extended header (names, times,
            // xattrs) and the content padded to 512 bytes.
            e.archiveBytes += 1536 + UInt64(name.utf8.count)
            e.indexBytes += 260 + UInt64(path.utf8.count)
            if (s.st_mode & S_IFMT) == S_IFREG {
                e.contentBytes += UInt64(s.st_size)
                e.archiveBytes += (UInt64(s.st_size) + 511) & ~511
            }
        }
        e.archiveBytes += 1024  // the archive's end blocks
        guard level > 0, e.contentBytes > 0 else { return e }
        // Samples at random byte offsets of the content, so every byte is
        // as likely to be sampled as any other; a second walk finds them.
        var offsets = (0..<sampleFiles).map { _ in UInt64.random(in: 0..<e.contentBytes) }.sorted()
        let ctx = CodecContext(level: level)
        let input = ByteBuffer(capacity: sampleBytes)
        let out = ByteBuffer(capacity: CodecContext.bound(.zstd, sampleBytes))
        var ratios: [Double] = []
        var seen: UInt64 = 0
        walk(tree, diag: nil) { path, _, s in
            guard (s.st_mode & S_IFMT) == S_IFREG else { return }
            let size = UInt64(s.st_size)
            defer { seen += size }
            guard let first = offsets.first, first < seen + size else { return }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { return }
            defer { close(fd) }
            while let o = offsets.first, o < seen + size {
                offsets.removeFirst()
                let at = min((o - seen) & ~4095, size > UInt64(sampleBytes) ? size - UInt64(sampleBytes) : 0)
                let n = pread(fd, input.base, sampleBytes, off_t(at))
                if n <= 0 { continue }
                input.count = n
                let room = UnsafeMutableRawBufferPointer(start: out.base, count: out.capacity)
                let c = (try? ctx.compress(.zstd, input.bytes, into: room)).flatMap { $0 } ?? n
                ratios.append(Double(min(c, n)) / Double(n))
                e.sampled += UInt64(n)
            }
        }
        if !ratios.isEmpty { e.ratio = ratios.reduce(0, +) / Double(ratios.count) }
        return e
    }

    /// Visits every entry under `root` (not following symlinks) with its
    /// path, name and lstat.
    static func walk(_ root: String, diag: Diagnostics?, _ body: (String, String, stat) -> Void) {
        func visit(_ path: String, _ name: String) {
            var s = stat()
            guard lstat(path, &s) == 0 else { diag?.warning("cannot read \(quoted(path)): \(errnoMessage())"); return }
            body(path, name, s)
            guard (s.st_mode & S_IFMT) == S_IFDIR else { return }
            guard let d = opendir(path) else { diag?.warning("cannot read \(quoted(path)): \(errnoMessage())"); return }
            defer { closedir(d) }
            var names: [String] = []
            while let ent = readdir(d) {
                let n = withUnsafeBytes(of: ent.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if n != "." && n != ".." { names.append(n) }
            }
            for n in names.sorted() { visit(path.hasSuffix("/") ? path + n : path + "/" + n, n) }
        }
        visit(root, ".")
    }
}
