import CArchive
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a POSIX pax archive (archive_write(3)) to `write`, with no tar
/// blocking, so every byte goes to `write` as soon as libarchive has it,
/// and file data at the address it was given.
public final class PaxWriter {
    private let raw: OpaquePointer
    private let write: (UnsafeRawBufferPointer) throws -> Void
    /// The first error `write` threw, which is what a caller is told.
    private var pendingError: Error?

    public init(write: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        raw = archive_write_new()
        self.write = write
        archive_write_set_format_pax(raw)
        archive_write_set_bytes_per_block(raw, 0)
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let opened = archive_write_open2(
            raw, ctx, nil,
            { _, ctx, buf, len in
                let w = Unmanaged<PaxWriter>.fromOpaque(ctx!).takeUnretainedValue()
                do {
                    try w.write(UnsafeRawBufferPointer(start: buf, count: len))
                    return len
                } catch {
                    if w.pendingError == nil { w.pendingError = error }
                    return -1
                }
            }, nil, nil)
        if opened != ARCHIVE_OK { throw SeedError(.failure, "cannot start the archive: \(archiveError(raw))") }
    }

    deinit { archive_write_free(raw) }

    /// `what` (made only for a message) prefixes an error's text.
    public func writeHeader(_ entry: ArchiveEntry, _ what: @autoclosure () -> String) throws { try check(archive_write_header(raw, entry.raw), what) }

    /// Hands `b` to the archive; it takes no more than the header's size.
    public func writeData(_ b: UnsafeRawBufferPointer, _ what: @autoclosure () -> String) throws {
        var done = 0
        while done < b.count {
            let n = archive_write_data(raw, b.baseAddress! + done, b.count - done)
            if n < 0 { throw pendingError ?? SeedError.io("\(what()): \(archiveError(raw))") }
            if n == 0 { break }
            done += n
        }
    }

    public func finishEntry(_ what: @autoclosure () -> String) throws { try check(archive_write_finish_entry(raw), what) }

    /// Writes the archive's end.
    public func close(_ what: @autoclosure () -> String) throws { try check(archive_write_close(raw), what) }

    /// The error to report for whatever failed last: `write`'s own, if it threw.
    public var failure: Error? { pendingError }

    private func check(_ r: Int32, _ what: () -> String) throws {
        if r == ARCHIVE_OK || r == ARCHIVE_WARN { return }
        if let e = pendingError { throw e }
        throw SeedError(.failure, "\(what()): \(archiveError(raw))")
    }
}

/// The locale libarchive writes pax headers in. It converts names from
/// the thread's locale to UTF-8, and in the C locale (cron's) a byte
/// past ASCII cannot be converted, so the header says hdrcharset=BINARY:
/// the same tree would make another stream. Writing in C.UTF-8 whatever
/// the user's locale makes the stream's bytes the tree's alone; a name
/// that is not UTF-8 still goes as BINARY, byte for byte.
public enum PaxLocale {
    public static func inUTF8<R>(_ body: () throws -> R) rethrows -> R {
        guard let utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil) else { return try body() }
        let previous = uselocale(utf8)
        defer {
            uselocale(previous)
            freelocale(utf8)
        }
        return try body()
    }
}
