import CArchive
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// One archive entry (archive_entry(3)): made and freed here, or lent by a
/// `TarReader` until its next header. Names are bytes in and out.
public final class ArchiveEntry {
    let raw: OpaquePointer
    private let owned: Bool

    public init() {
        raw = archive_entry_new()
        owned = true
    }

    init(borrowing raw: OpaquePointer) {
        self.raw = raw
        owned = false
    }

    deinit { if owned { archive_entry_free(raw) } }

    /// Empties the entry for the next file.
    public func clear() { archive_entry_clear(raw) }

    /// The name the archive gives the entry.
    public var path: [UInt8] {
        get { archive_entry_pathname(raw).map(cBytes) ?? [] }
        set { cString(newValue) { archive_entry_copy_pathname(raw, $0) } }
    }

    /// Where libarchive reads the file's metadata from (relative to the
    /// working directory).
    public func setSourcePath(_ b: [UInt8]) { cString(b) { archive_entry_copy_sourcepath(raw, $0) } }

    /// The file type bits of st_mode (0o100000 for a regular file).
    public var fileType: UInt32 { UInt32(archive_entry_filetype(raw)) }
    public var permissions: UInt32 { UInt32(archive_entry_perm(raw)) }
    public var size: Int64 { archive_entry_size(raw) }
    public var uid: Int64 { archive_entry_uid(raw) }
    public var gid: Int64 { archive_entry_gid(raw) }
    public var userName: String? { archive_entry_uname(raw).map { String(cString: $0) } }
    public var groupName: String? { archive_entry_gname(raw).map { String(cString: $0) } }
    public var modificationTime: timespec { timespec(tv_sec: time_t(archive_entry_mtime(raw)), tv_nsec: Int(archive_entry_mtime_nsec(raw))) }
    public var symlink: [UInt8]? { archive_entry_symlink(raw).map(cBytes) }
    public var hardlink: [UInt8]? { archive_entry_hardlink(raw).map(cBytes) }

    /// A sparse entry's data regions (offset, length), in order; empty for a dense one.
    public var dataRegions: [(offset: UInt64, length: UInt64)] {
        var regions: [(UInt64, UInt64)] = []
        if archive_entry_sparse_reset(raw) > 0 {
            var off: Int64 = 0
            var len: Int64 = 0
            while archive_entry_sparse_next(raw, &off, &len) == ARCHIVE_OK { regions.append((UInt64(off), UInt64(len))) }
        }
        return regions
    }

    public var isSparse: Bool { archive_entry_sparse_count(raw) > 0 }

    /// The owner's and group's names as the archive gives them (a C
    /// string, or nil), for a lookup by name.
    public func withUserName<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R { body(archive_entry_uname(raw)) }
    public func withGroupName<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R { body(archive_entry_gname(raw)) }
    public var modificationTimeIsSet: Bool { archive_entry_mtime_is_set(raw) != 0 }
    /// A device's number, for a char or block device.
    public var deviceNumber: dev_t { CArchive_makedev(UInt32(archive_entry_rdevmajor(raw)), UInt32(archive_entry_rdevminor(raw))) }
    /// Whether the entry carries POSIX.1e or NFSv4 ACLs.
    public var hasACLs: Bool { archive_entry_acl_types(raw) != 0 }
    /// Whether the entry carries file flags (chattr(1)) to set.
    public var hasFileFlags: Bool {
        var set: UInt = 0
        var clear: UInt = 0
        archive_entry_fflags(raw, &set, &clear)
        return set != 0 || clear != 0
    }
    public var hasXattrs: Bool { archive_entry_xattr_count(raw) > 0 }

    /// Extended attributes, names and values as bytes, in the entry's order.
    public var xattrs: [(name: [UInt8], value: [UInt8])] {
        var xs: [([UInt8], [UInt8])] = []
        guard archive_entry_xattr_reset(raw) > 0 else { return xs }
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(raw, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            xs.append((cBytes(name), value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
        }
        return xs
    }

    /// Leaves out access, change and birth times: they cannot be restored,
    /// and reading a tree changes them.
    public func dropVolatileTimes() {
        archive_entry_unset_atime(raw)
        archive_entry_unset_ctime(raw)
        archive_entry_unset_birthtime(raw)
    }
}

/// A device number's major and minor parts (macros in glibc).
public func deviceNumbers(_ rdev: dev_t) -> (major: UInt32, minor: UInt32) {
    (CArchive_major(rdev), CArchive_minor(rdev))
}

/// libarchive's error text for a handle, for messages.
func archiveError(_ a: OpaquePointer) -> String {
    archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
}
