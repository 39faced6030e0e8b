import CArchive
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file's metadata into an entry (archive_read_disk(3)): owner
/// names, links, extended attributes, ACLs and, unless told not to look,
/// the holes of a sparse file.
public final class DiskMetadataReader {
    private let raw: OpaquePointer

    /// `findHoles` false saves the lseek calls that look for holes, for
    /// files that cannot have any; `extendedAttributes` false the calls
    /// that look for ACLs and extended attributes, for files whose list of
    /// extended attributes is empty (where every kind of ACL is one).
    public init(findHoles: Bool, extendedAttributes: Bool = true) {
        raw = archive_read_disk_new()
        archive_read_disk_set_standard_lookup(raw)
        var behavior: Int32 = 0
        if !findHoles { behavior |= ARCHIVE_READDISK_NO_SPARSE }
        if !extendedAttributes { behavior |= ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL }
        if behavior != 0 { archive_read_disk_set_behavior(raw, behavior) }
    }

    deinit { archive_read_free(raw) }

    /// Fills `entry` from the open file `fd` (-1: from the entry's source
    /// path) and its `st`; nil, or what went wrong.
    public func read(into entry: ArchiveEntry, fd: Int32, stat st: inout stat) -> String? {
        archive_read_disk_entry_from_file(raw, entry.raw, fd, &st) < ARCHIVE_WARN ? archiveError(raw) : nil
    }
}

/// Tells the second and later names of a file with several links that they
/// are hard links to the first (archive_entry_linkify(3), pax rules).
public final class HardLinkResolver {
    private let raw: OpaquePointer

    public init() {
        raw = archive_entry_linkresolver_new()
        archive_entry_linkresolver_set_strategy(raw, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
    }

    deinit { archive_entry_linkresolver_free(raw) }

    /// Makes `entry` a hard link if a name of its file came before; true then.
    public func resolve(_ entry: ArchiveEntry) -> Bool {
        // With the pax strategy an entry is never deferred: it comes back
        // as it went in, a hard link or not.
        var e: OpaquePointer? = entry.raw
        var spare: OpaquePointer?
        archive_entry_linkify(raw, &e, &spare)
        return entry.hardlink != nil
    }
}
