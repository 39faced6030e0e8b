import CArchive
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes entries to disk (archive_write_disk(3)) with the secure
/// extraction flags always on: no `..`, no absolute paths, nothing written
/// through a symlink.
public final class DiskWriter {
    /// What is restored besides the data.
    public struct Restore: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let permissions = Restore(rawValue: ARCHIVE_EXTRACT_PERM)
        public static let times = Restore(rawValue: ARCHIVE_EXTRACT_TIME)
        public static let acls = Restore(rawValue: ARCHIVE_EXTRACT_ACL)
        public static let xattrs = Restore(rawValue: ARCHIVE_EXTRACT_XATTR)
        public static let fileFlags = Restore(rawValue: ARCHIVE_EXTRACT_FFLAGS)
        public static let owner = Restore(rawValue: ARCHIVE_EXTRACT_OWNER)
    }

    private let raw: OpaquePointer

    /// `ownersByName`: owners and groups by their names where the entry
    /// has them, else by number.
    public init(restore: Restore, ownersByName: Bool) {
        raw = archive_write_disk_new()
        // Sparse entries get their holes back from the archive's sparse map
        // (libarchive seeks over them). ARCHIVE_EXTRACT_SPARSE is left off:
        // it scans every byte for zeros and writes 4 KiB at a time.
        let secure = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS
        archive_write_disk_set_options(raw, secure | restore.rawValue)
        if ownersByName { archive_write_disk_set_standard_lookup(raw) }
    }

    deinit { archive_write_free(raw) }

    /// Creates the entry's file, directory or link; a warning's text, or
    /// nil. A full or failing disk is an I/O error, anything else (a path
    /// the secure flags refuse, say) bad data; `what` prefixes the message.
    public func writeHeader(_ entry: ArchiveEntry, _ what: String) throws -> String? {
        let w = archive_write_header(raw, entry.raw)
        if w < ARCHIVE_WARN {
            let err = archive_errno(raw)
            let status: SeedExit = (err == ENOSPC || err == EIO || err == EROFS || err == EDQUOT) ? .ioError : .dataError
            throw SeedError(status, "\(what): \(archiveError(raw))")
        }
        return w == ARCHIVE_WARN ? archiveError(raw) : nil
    }

    /// Writes a block of the entry's data at `offset`.
    public func writeBlock(_ b: UnsafeRawBufferPointer, at offset: Int64, _ what: String) throws {
        if archive_write_data_block(raw, b.baseAddress, b.count, offset) < ARCHIVE_WARN { throw SeedError.io("\(what): \(archiveError(raw))") }
    }

    /// Ends the entry; a warning's text, or nil.
    public func finishEntry(_ what: String) throws -> String? {
        let f = archive_write_finish_entry(raw)
        if f < ARCHIVE_WARN { throw SeedError.io("\(what): \(archiveError(raw))") }
        return f == ARCHIVE_WARN ? archiveError(raw) : nil
    }

    /// Sets directory times and modes, which wait for everything below them.
    public func close(_ what: String) throws {
        if archive_write_close(raw) < ARCHIVE_WARN { throw SeedError.io("\(what): \(archiveError(raw))") }
    }
}
