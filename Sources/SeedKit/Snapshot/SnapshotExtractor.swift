import CArchive
import CSeedSys
import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What `seed-snapshot -x DIR` is asked to do.
public struct ExtractOptions {
    public var target: String
    public var input: String?
    public var numericOwner = false
    public var progress = false
    public init(target: String) { self.target = target }
}

/// seed-snapshot -x DIR: extracts with libarchive, its secure-extraction
/// flags on (no `..`, no absolute paths, nothing written through a symlink,
/// hard-link targets checked the same way), restoring modes, times, xattrs,
/// ACLs, links, sparse files, and owners when run as root. Every regular
/// file's content is hashed as it is written and checked against the index
/// once the index arrives; a mismatch or an entry missing from the archive
/// fails the run.
public final class SnapshotExtractor {
    let src: SnapshotSource
    var pendingError: Error?
    var lookahead: SnapshotSource.Item?
    var sawNonData = false
    let diag: Diagnostics
    var warnings = 0

    init(src: SnapshotSource, diag: Diagnostics) {
        self.src = src
        self.diag = diag
    }

    /// The libarchive read callback's source: the next data payload, or 0
    /// at the first record that is not data (kept for later).
    func nextData() throws -> UnsafeRawBufferPointer? {
        if sawNonData { return nil }
        while let item = try src.next() {
            if item.kind == .data {
                if item.payload.count == 0 { continue }
                return item.payload
            }
            lookahead = item
            sawNonData = true
            return nil
        }
        sawNonData = true
        return nil
    }

    public static func extract(_ o: ExtractOptions, diag: Diagnostics) throws -> SeedExit {
        let src = try SnapshotSource(input: o.input)
        let x = SnapshotExtractor(src: src, diag: diag)
        return try x.extract(o)
    }

    func extract(_ o: ExtractOptions) throws -> SeedExit {
        if mkdirP(o.target) != 0 { throw SeedError(.cannotCreate, "cannot create \(quoted(o.target)): \(errnoMessage())") }
        try syscall("cannot enter \(quoted(o.target))", status: .cannotCreate) { chdir(o.target) }
        let digests = try DigestSpool()
        let progress = Progress(enabled: o.progress, label: "seed-snapshot")
        // Content is hashed on the hash lanes while this thread writes: data
        // blocks lie in the source's payload ring, which waits for their
        // hashes before it reuses a buffer.
        let lanes = HashLanes()
        defer { lanes.shutdown() }
        let fences = (0..<6).map { _ in HashLanes.Fence() }
        src.useRing(depth: fences.count)
        src.willReuse = { i in lanes.wait(for: fences[i]) }
        let spill = ByteBuffer(capacity: 1 << 16)
        var spillTicket = HashLanes.Ticket.none
        var waitingDigests: [(UInt64, HashLanes.Ticket)] = []
        var waitingHead = 0
        func storeDigests(all: Bool) throws {
            while waitingHead < waitingDigests.count {
                let (at, t) = waitingDigests[waitingHead]
                guard let d = lanes.digest(t, wait: all) else { break }
                try digests.append(offset: at, hex: d)
                waitingHead += 1
            }
            if waitingHead > 1024 {
                waitingDigests.removeFirst(waitingHead)
                waitingHead = 0
            }
        }
        func hashZeros(_ lane: Int, _ n: Int64) {
            var left = n
            while left > 0 {
                let k = Int(min(left, Int64(HashLanes.zeroCount)))
                lanes.update(lane: lane, HashLanes.zeros, k)
                left -= Int64(k)
            }
        }

        let ar = archive_read_new()!
        let aw = archive_write_disk_new()!
        defer {
            archive_read_free(ar)
            archive_write_free(aw)
        }
        archive_read_support_format_tar(ar)
        // Sparse entries get their holes back from the archive's sparse map
        // (libarchive seeks over them). ARCHIVE_EXTRACT_SPARSE is left off:
        // it scans every byte for zeros and writes 4 KiB at a time.
        var flags =
            ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS
            | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR
            | ARCHIVE_EXTRACT_FFLAGS
        if geteuid() == 0 { flags |= ARCHIVE_EXTRACT_OWNER }
        archive_write_disk_set_options(aw, flags)
        if !o.numericOwner { archive_write_disk_set_standard_lookup(aw) }

        let ctx = Unmanaged.passUnretained(self).toOpaque()
        let opened = archive_read_open(
            ar, ctx, nil,
            { _, ctx, out in
                let x = Unmanaged<SnapshotExtractor>.fromOpaque(ctx!).takeUnretainedValue()
                do {
                    guard let b = try x.nextData() else { return 0 }
                    out?.pointee = b.baseAddress
                    return b.count
                } catch {
                    if x.pendingError == nil { x.pendingError = error }
                    return -1
                }
            }, nil)
        if opened != ARCHIVE_OK { throw pendingError ?? SeedError.data("\(src.source): not a pax archive: \(archiveError(ar))") }

        var entry: OpaquePointer?
        var bytes: UInt64 = 0
        var root: RootMetadata?
        while true {
            let r = archive_read_next_header(ar, &entry)
            if r == ARCHIVE_EOF { break }
            if let e = pendingError { throw e }
            if r < ARCHIVE_WARN { throw SeedError.data("\(src.source): archive damaged: \(archiveError(ar))") }
            guard let e = entry else { break }
            let name = archive_entry_pathname(e).map { quoted(bytes: cBytes($0)) } ?? "(unnamed entry)"
            let headerPos = UInt64(archive_read_header_position(ar))
            if let p = archive_entry_pathname(e), RootMetadata.isRoot(cBytes(p)) { root = RootMetadata(e) }
            let w = archive_write_header(aw, e)
            if w < ARCHIVE_WARN {
                let err = archive_errno(aw)
                let status: SeedExit = (err == ENOSPC || err == EIO || err == EROFS || err == EDQUOT) ? .ioError : .dataError
                throw SeedError(status, "entry \(name): \(archiveError(aw))")
            }
            if w == ARCHIVE_WARN { warn("entry \(name): \(archiveError(aw))") }
            let isFile = archive_entry_filetype(e) == 0o100000 /* AE_IFREG */ && archive_entry_hardlink(e) == nil
            let lane = isFile ? lanes.begin() : 0
            var pos: Int64 = 0
            var buf: UnsafeRawPointer?
            var size = 0
            var off: Int64 = 0
            while isFile {
                let d = archive_read_data_block(ar, &buf, &size, &off)
                if d == ARCHIVE_EOF { break }
                if let pe = pendingError { throw pe }
                if d < ARCHIVE_WARN { throw SeedError.data("entry \(name): \(archiveError(ar))") }
                if off > pos { hashZeros(lane, Int64(off - pos)) }
                if size > 0, let buf {
                    if let k = src.ringBuffer(holding: buf, count: size) {
                        fences[k].add(lanes.update(lane: lane, buf, size))
                    } else {
                        // libarchive's own buffer (a block it had to join
                        // across records): copied, as libarchive reuses it.
                        lanes.wait(for: spillTicket)
                        spill.set(UnsafeRawBufferPointer(start: buf, count: size))
                        spillTicket = lanes.update(lane: lane, spill.base, size)
                    }
                    let n = archive_write_data_block(aw, buf, size, off)
                    if n < ARCHIVE_WARN { throw SeedError.io("entry \(name): \(archiveError(aw))") }
                }
                pos = off + Int64(size)
                bytes += UInt64(size)
                progress.update(bytes: bytes)
            }
            if isFile {
                let total = archive_entry_size(e)
                if total > pos { hashZeros(lane, total - pos) }
                waitingDigests.append((headerPos, lanes.finish(lane: lane)))
                try storeDigests(all: false)
            }
            let f = archive_write_finish_entry(aw)
            if f < ARCHIVE_WARN { throw SeedError.io("entry \(name): \(archiveError(aw))") }
            if f == ARCHIVE_WARN { warn("entry \(name): \(archiveError(aw))") }
        }
        if let e = pendingError { throw e }
        // Directory times and modes are set at close.
        if archive_write_close(aw) < ARCHIVE_WARN { throw SeedError.io("cannot finish extraction: \(archiveError(aw))") }
        if let root { try root.apply(owner: flags & ARCHIVE_EXTRACT_OWNER != 0) }
        // The archive's trailing blocks, then the index and the end record.
        while try nextData() != nil {}
        try storeDigests(all: true)
        var checked = 0
        try digests.rewind()
        var item = lookahead
        lookahead = nil
        while true {
            if item == nil { item = try src.next() }
            guard let it = item else { break }
            item = nil
            guard it.kind == .index else {
                if it.kind == .data { throw SeedError.data("\(it.location): data record after the index") }
                continue
            }
            try IndexLines.decode(it.payload, location: it.location) { ie in
                if ie.changed == true { warn("\(ie.displayPath): changed while the snapshot was made; restored as it was read") }
                if ie.incomplete == true { warn("\(ie.displayPath): could not be read in full when the snapshot was made; the rest is zeros") }
                guard ie.type == "file", let want = ie.sha256 else { return }
                guard let got = try digests.find(offset: ie.archiveOffset) else {
                    throw SeedError.data("\(ie.displayPath): listed in the index at archive byte \(ie.archiveOffset) but not in the archive")
                }
                if got != want { throw SeedError.data("\(ie.displayPath): content does not match the index (SHA-256 \(got), expected \(want))") }
                checked += 1
            }
        }
        progress.finish(bytes: bytes)
        diag.verbose("\(checked) files checked against the index")
        return warnings > 0 ? .warnings : .success
    }

    func warn(_ m: String) {
        warnings += 1
        diag.warning(m)
    }

    /// seed-snapshot -d: the plain pax archive, every record checked, to stdout.
    public static func pax(input: String?, force: Bool, diag: Diagnostics) throws -> SeedExit {
        let src = try SnapshotSource(input: input)
        let out = RecordlessOutput(fd: try StreamFiles.standardOutput(force: force), name: "standard output")
        while let item = try src.next() {
            if item.kind == .data { try out.write(item.payload) }
        }
        try out.flush()
        return .success
    }
}

/// The metadata of the archive's "." entry. libarchive takes the entry but
/// leaves an existing directory's mode and times alone; tar restores them
/// on the target, and so do we, after everything below it is written.
struct RootMetadata {
    var mode: mode_t
    var uid: uid_t
    var gid: gid_t
    var mtime: timespec

    static func isRoot(_ p: [UInt8]) -> Bool { p == [0x2e] || p == [0x2e, 0x2f] }

    init(_ e: OpaquePointer) {
        mode = mode_t(archive_entry_perm(e))
        uid = uid_t(archive_entry_uid(e))
        gid = gid_t(archive_entry_gid(e))
        mtime = timespec(tv_sec: time_t(archive_entry_mtime(e)), tv_nsec: Int(archive_entry_mtime_nsec(e)))
    }

    func apply(owner: Bool) throws {
        if owner { try syscall("cannot set the owner of the target") { chown(".", uid, gid) } }
        try syscall("cannot set the mode of the target") { chmod(".", mode) }
        var times = [timespec(tv_sec: 0, tv_nsec: CSeedSys_UTIME_OMIT), mtime]
        try syscall("cannot set the times of the target") { utimensat(AT_FDCWD, ".", &times, 0) }
    }
}

/// mkdir -p: creates `path` and any missing parents; 0, or -1 with errno.
func mkdirP(_ path: String) -> Int32 {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST { return -1 }
    }
    var st = stat()
    if stat(path.isEmpty ? "." : path, &st) != 0 { return -1 }
    if (st.st_mode & S_IFMT) != S_IFDIR {
        errno = ENOTDIR
        return -1
    }
    return 0
}

/// (archive offset, hex SHA-256) of each extracted file, in archive order, in an
/// unlinked temporary file: bounded memory however many files there are.
final class DigestSpool {
    private let file: UnsafeMutablePointer<FILE>
    private var next: (UInt64, String)?

    init() throws {
        guard let f = tmpfile() else { throw SeedError(.cannotCreate, "cannot create a temporary file: \(errnoMessage())") }
        file = f
    }

    deinit { fclose(file) }

    func append(offset: UInt64, hex: String) throws {
        var rec = [UInt8](repeating: 0, count: 72)
        withUnsafeBytes(of: offset.littleEndian) { rec.replaceSubrange(0..<8, with: $0) }
        rec.replaceSubrange(8..<72, with: Array(hex.utf8))
        if fwrite(rec, 1, 72, file) != 72 { throw SeedError.io("cannot write a temporary file: \(errnoMessage())") }
    }

    func rewind() throws {
        if fflush(file) != 0 || fseek(file, 0, SEEK_SET) != 0 { throw SeedError.io("cannot rewind a temporary file: \(errnoMessage())") }
        next = nil
    }

    /// The digest of the entry at `offset`; entries before it (copies a
    /// later one replaced) are passed over. Offsets must be asked in order.
    func find(offset: UInt64) throws -> String? {
        while true {
            if next == nil {
                var rec = [UInt8](repeating: 0, count: 72)
                if fread(&rec, 1, 72, file) != 72 { return nil }
                let off = rec.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                next = (off, String(decoding: rec[8..<72], as: UTF8.self))
            }
            let (off, d) = next!
            if off == offset { next = nil; return d }
            if off > offset { return nil }
            next = nil
        }
    }
}
