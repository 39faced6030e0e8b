import CArchive
import SeedCore

/// Reads a tar or pax archive (archive_read(3)) from blocks `next` hands
/// out, entry by entry. A block must stay valid until `next` is called again.
public final class TarReader {
    private let raw: OpaquePointer
    private let next: () throws -> UnsafeRawBufferPointer?
    /// The first error `next` threw: what a caller is told.
    public private(set) var pendingError: Error?

    /// `what` names the input for messages.
    public init(_ what: String, next: @escaping () throws -> UnsafeRawBufferPointer?) throws {
        raw = archive_read_new()
        self.next = next
        archive_read_support_format_tar(raw)
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let opened = archive_read_open(
            raw, ctx, nil,
            { _, ctx, out in
                let r = Unmanaged<TarReader>.fromOpaque(ctx!).takeUnretainedValue()
                do {
                    guard let b = try r.next() else { return 0 }
                    out?.pointee = b.baseAddress
                    return b.count
                } catch {
                    if r.pendingError == nil { r.pendingError = error }
                    return -1
                }
            }, nil)
        if opened != ARCHIVE_OK { throw pendingError ?? SeedError.data("\(what): not a pax archive: \(archiveError(raw))") }
    }

    deinit { archive_read_free(raw) }

    /// The next entry, valid until the next call; nil at the archive's end.
    /// `what` prefixes the message for a damaged archive.
    public func nextEntry(_ what: @autoclosure () -> String) throws -> ArchiveEntry? {
        var e: OpaquePointer?
        let r = archive_read_next_header(raw, &e)
        if let p = pendingError { throw p }
        if r == ARCHIVE_EOF { return nil }
        if r < ARCHIVE_WARN { throw SeedError.data("\(what()): \(archiveError(raw))") }
        return e.map(ArchiveEntry.init(borrowing:))
    }

    /// Where the entry just read starts in the archive.
    public var headerPosition: UInt64 { UInt64(archive_read_header_position(raw)) }

    /// The entry's next block of data and its offset in the file (holes
    /// between blocks); nil after the last.
    public func nextBlock(_ what: @autoclosure () -> String) throws -> (bytes: UnsafeRawBufferPointer, offset: Int64)? {
        var buf: UnsafeRawPointer?
        var size = 0
        var off: Int64 = 0
        let d = archive_read_data_block(raw, &buf, &size, &off)
        if d == ARCHIVE_EOF { return nil }
        if let p = pendingError { throw p }
        if d < ARCHIVE_WARN { throw SeedError.data("\(what()): \(archiveError(raw))") }
        return (UnsafeRawBufferPointer(start: buf, count: buf == nil ? 0 : size), off)
    }
}
