import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a stretch of a drive whole even where sectors cannot be read:
/// a failed read is tried again sector by sector, and what still fails
/// reads as zeros and is noted, so that a reader downstream names the
/// records it damaged instead of losing everything after it.
struct SectorReads {
    /// The size the slow path reads in: the smallest sector a drive has.
    static let sector = 512
    typealias Pread = (Int32, UnsafeMutableRawPointer, Int, off_t) -> Int

    /// pread(2); a test gives one that fails where it says.
    var pread: Pread = { Glibc.pread($0, $1, $2, $3) }
    /// The stretches that could not be read, in drive bytes, merged.
    private(set) var unreadable: [Range<UInt64>] = []

    /// Fills `count` bytes at `p` from `offset` of `fd`; the bytes read
    /// (fewer only at the end of the file). Unreadable sectors are zeros.
    mutating func read(_ fd: Int32, into p: UnsafeMutableRawPointer, count: Int, at offset: UInt64) -> Int {
        var n = 0
        while n < count {
            let r = pread(fd, p + n, count - n, off_t(offset) + off_t(n))
            if r > 0 {
                n += r
                continue
            }
            if r == 0 { return n }
            if errno == EINTR { continue }
            // The rest of the stretch sector by sector: a drive may take
            // seconds over each failed read, so a bad sector costs one.
            while n < count {
                let at = offset + UInt64(n)
                let len = min(count - n, SectorReads.sector - Int(at % UInt64(SectorReads.sector)))
                var got = 0
                while got < len {
                    let s = pread(fd, p + n + got, len - got, off_t(at) + off_t(got))
                    if s > 0 {
                        got += s
                    } else if s == 0 {
                        return n + got
                    } else if errno != EINTR {
                        memset(p + n + got, 0, len - got)
                        note(at + UInt64(got)..<at + UInt64(len))
                        got = len
                    }
                }
                n += len
            }
        }
        return n
    }

    private mutating func note(_ r: Range<UInt64>) {
        if let last = unreadable.last, last.upperBound == r.lowerBound {
            unreadable[unreadable.count - 1] = last.lowerBound..<r.upperBound
        } else {
            unreadable.append(r)
        }
    }

    /// "bytes A to B, C to D" for a message, the first few.
    func describe() -> String {
        let shown = unreadable.prefix(8).map { "\($0.lowerBound)-\($0.upperBound - 1)" }.joined(separator: ", ")
        return "bytes " + shown + (unreadable.count > 8 ? " and \(unreadable.count - 8) more stretches" : "")
    }

    var bytesLost: UInt64 { unreadable.reduce(0) { $0 + UInt64($1.count) } }
}
