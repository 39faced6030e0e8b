import CSeedSys
import Foundation
import SeedArchive
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Writes archive entries under the target: every name is created
/// relative to a directory held open, reached from the target one name at
/// a time without following a symbolic link, so nothing is written outside
/// the tree and no link is written through. The directories from the
/// target down to the one being filled stay open, so a file costs an open,
/// its writes, its owner, mode (only where the umask took bits), extended
/// attributes and times, and a close; a directory's mode and times are set
/// last, deepest first, once everything below it is written.
///
/// What it does not write itself (ACLs, file flags, extended attributes on
/// a link or a device, a hard link that carries data, the root's own
/// entry, a type it does not know) goes to libarchive's disk writer, with
/// its secure flags on.
final class TreeWriter {
    /// Owners are set (as root); looked up by name where the entry has one.
    private let owners: Bool
    private let ownersByName: Bool
    private let umaskBits: mode_t
    private let restore: DiskWriter.Restore
    private let root: Int32
    /// The open directories below the root, outermost first, and their names.
    private var chainNames: [[UInt8]] = []
    private var chainFds: [Int32] = []
    /// A directory deeper than the chain holds, open for the entry being written.
    private var deepFd: Int32 = -1
    /// The entry's path split at its slashes, each name NUL-ended in place.
    private var names: [UInt8] = []
    private var starts: [Int] = []

    private enum Current { case none, file, fallback }
    private var current = Current.none
    private var file: Int32 = -1
    private var fileEnd: Int64 = 0
    private var settling = Settling(size: 0, mode: 0, owner: nil, wanted: (0, 0), times: nil)
    /// A small file's data, gathered to be written with the rest of it on
    /// a worker; nil while the file is written here.
    private var gathered: ByteBuffer?
    /// The entry being written's path, for a worker's messages.
    private var entryPath: [UInt8] = []
    private var warnings: [String] = []

    /// What a file gets once its data is in.
    struct Settling {
        var size: Int64
        var mode: mode_t
        var owner: (uid: uid_t, gid: gid_t)?
        /// The ids the file should have (the owner's, else the entry's
        /// numbers): a set-ID bit stays only where the file has them.
        var wanted: (uid: uid_t, gid: gid_t)
        var times: timespec?
    }

    /// Directories written, for their mode and times at the end.
    private var fixups: [(path: [UInt8], mode: mode_t, mtime: timespec?)] = []
    private var fallbackWriter: DiskWriter?
    private var userIDs: [[UInt8]: uid_t] = [:]
    private var groupIDs: [[UInt8]: gid_t] = [:]
    private var lookupBuffer = [CChar](repeating: 0, count: 16384)

    /// The chain holds at most this many directories open; a deeper
    /// path opens the rest for its entry alone.
    static let chainDepth = 128

    /// Writes under the current directory; `restore` as for libarchive's
    /// writer (owners set only when it holds `.owner`).
    init(restore: DiskWriter.Restore, ownersByName: Bool) throws {
        self.restore = restore
        owners = restore.contains(.owner)
        self.ownersByName = ownersByName
        let m = umask(0)
        umask(m)
        umaskBits = m
        root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if root < 0 { throw SeedError(.cannotCreate, "cannot open the target: \(errnoMessage())") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if cores > 1 { smallFiles = SmallFileWriters(threads: min(cores - 1, 4), umask: umaskBits) }
    }

    /// The workers small files go to; nil on one core.
    private var smallFiles: SmallFileWriters?

    deinit {
        if let f = smallFiles { _ = f.fail(SeedError.io("extraction stopped"), root: root) }
        abandon()
        dropChain(to: 0)
        close(root)
    }

    private var fallback: DiskWriter {
        if let w = fallbackWriter { return w }
        let w = DiskWriter(restore: restore, ownersByName: ownersByName)
        fallbackWriter = w
        return w
    }

    // MARK: Entries

    /// Creates the entry's file, directory, link or node; a warning's
    /// text, or nil. A full or failing disk is an I/O error, anything else
    /// (a path outside the tree, a symbolic link on the way) bad data;
    /// `what` prefixes the message.
    func begin(_ e: ArchiveEntry, _ describe: @autoclosure () -> String) throws -> String? {
        abandon()
        warnings = []
        // The entry's name for a message, made only for one.
        var named: String?
        var what: String {
            if named == nil { named = describe() }
            return named!
        }
        var path = e.path
        let type = e.fileType
        if type == S_IFDIR && path.count > 1 && path.last == 0x2f { path.removeLast() }
        if RootMetadata.isRoot(path) || needsFallback(e) {
            // Only the directories above it stay open: it may replace
            // what is at its name.
            if !RootMetadata.isRoot(path), EntryName.pathProblem(path) == nil, split(path) {
                dropChain(toPrefixOf: starts.count - 1)
            } else {
                dropChain(to: 0)
            }
            current = .fallback
            return try fallback.writeHeader(e, what)
        }
        if let problem = EntryName.pathProblem(path, rootAllowed: false) { throw SeedError.data("\(what): the path \(problem)") }
        guard split(path) else { throw SeedError.data("\(what): the path holds a NUL byte") }
        let dir = try parent(count: starts.count - 1, what)
        let name = nameIndex(starts.count - 1)
        // A hard link is a name for a file already written: nothing of its own to set.
        if let link = e.hardlink {
            try hardLink(link, path: path, in: dir, name, what)
            return nil
        }
        let mode = mode_t(e.permissions & 0o7777)
        let owner = ownerIDs(e)
        let mtime = e.modificationTimeIsSet ? e.modificationTime : nil
        switch type {
        case S_IFREG:
            var fd = names.withUnsafeBufferPointer { openat(dir, rawName($0, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0o777) }
            if fd < 0 && errno == EEXIST {
                try clearWay(dir, name, what)
                fd = names.withUnsafeBufferPointer { openat(dir, rawName($0, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0o777) }
            }
            if fd < 0 { throw createError(what, "cannot create the file") }
            (current, file, fileEnd, entryPath) = (.file, fd, 0, path)
            let wanted = owner ?? (uid_t(truncatingIfNeeded: e.uid), gid_t(truncatingIfNeeded: e.gid))
            settling = Settling(size: max(e.size, 0), mode: mode, owner: owner, wanted: wanted, times: mtime)
            if let f = smallFiles, settling.size <= SmallFileWriters.largest && !e.isSparse { gathered = f.takeBuffer() }
            if e.hasXattrs { setXattrs(e, fd: fd) }
        case S_IFDIR:
            var existing = false
            var r = names.withUnsafeBufferPointer { mkdirat(dir, rawName($0, name), (mode & 0o777) | 0o700) }
            if r != 0 && errno == EEXIST {
                var st = stat()
                if names.withUnsafeBufferPointer({ fstatat(dir, rawName($0, name), &st, AT_SYMLINK_NOFOLLOW) }) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                    existing = true
                } else {
                    try clearWay(dir, name, what)
                    r = names.withUnsafeBufferPointer { mkdirat(dir, rawName($0, name), (mode & 0o777) | 0o700) }
                }
            }
            if r != 0 && !existing { throw createError(what, "cannot create the directory") }
            if let owner { setOwner(dir, name, owner) }
            if e.hasXattrs {
                let fd = names.withUnsafeBufferPointer { openat(dir, rawName($0, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                if fd >= 0 {
                    setXattrs(e, fd: fd)
                    close(fd)
                } else {
                    warnings.append("cannot open it to set its extended attributes: \(errnoMessage())")
                }
            }
            // Its mode (which may take away the writing its entries
            // need) and times wait for everything below it.
            fixups.append((path, mode, mtime))
        case S_IFLNK:
            guard let target = e.symlink, !target.isEmpty else { throw SeedError.data("\(what): a symbolic link without a target") }
            try create(dir, name, what, "cannot create the symbolic link") { d, n in cString(target) { symlinkat($0, d, n) } }
            try finishNode(dir, name, mode: nil, owner: owner, mtime: mtime)
        case S_IFIFO, S_IFCHR, S_IFBLK:
            let dev = type == S_IFIFO ? 0 : e.deviceNumber
            try create(dir, name, what, "cannot create the node") { d, n in mknodat(d, n, type | (mode & 0o777), dev) }
            try finishNode(dir, name, mode: mode, owner: owner, mtime: mtime)
        default:
            throw SeedError.data("\(what): an entry of unknown type \(String(type, radix: 8))")
        }
        return joinedWarnings()
    }

    /// Writes a block of the entry's data at `offset`.
    func write(_ b: UnsafeRawBufferPointer, at offset: Int64, _ what: @autoclosure () -> String) throws {
        switch current {
        case .fallback: try fallback.writeBlock(b, at: offset, what())
        case .none: return
        case .file:
            let size = settling.size
            guard offset >= 0, offset <= size, Int64(b.count) <= size - offset else {
                throw SeedError.data("\(what()): data past the \(size) bytes its header gives")
            }
            if let g = gathered {
                if offset == g.count {
                    g.reserveKeeping(g.count + b.count)
                    memcpy(g.base + g.count, b.baseAddress!, b.count)
                    g.count += b.count
                    fileEnd = offset + Int64(b.count)
                    return
                }
                // Not in order after all: what was gathered is written here, and the rest.
                gathered = nil
                defer { smallFiles?.giveBack(g) }
                try TreeWriter.writeAll(file, g.bytes, at: 0, what)
            }
            try TreeWriter.writeAll(file, b, at: offset, what)
            fileEnd = max(fileEnd, offset + Int64(b.count))
        }
    }

    static func writeAll(_ fd: Int32, _ b: UnsafeRawBufferPointer, at offset: Int64, _ what: () -> String) throws {
        var done = 0
        while done < b.count {
            let n = pwrite(fd, b.baseAddress! + done, b.count - done, off_t(offset) + done)
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("\(what()): write error: \(errnoMessage())")
            }
            done += n
        }
    }

    /// Ends the entry: a file gets its length (a hole at its end), owner,
    /// mode and times; a warning's text, or nil.
    func finish(_ what: @autoclosure () -> String) throws -> String? {
        defer { closeDeep() }
        switch current {
        case .none: return nil
        case .fallback:
            current = .none
            return try fallback.finishEntry(what())
        case .file:
            current = .none
            let fd = file
            file = -1
            if let g = gathered, let f = smallFiles {
                gathered = nil
                do { try f.submit(fd: fd, data: g, settling: settling, path: entryPath) } catch {
                    smallFiles = nil
                    throw f.fail(error, root: root)
                }
                return joinedWarnings()
            }
            defer { close(fd) }
            try TreeWriter.settle(fd, settling, end: fileEnd, umask: umaskBits, what) { warnings.append($0) }
            return joinedWarnings()
        }
    }

    /// Gives the file at `fd` (written up to `end`) its length (a hole at
    /// its end), owner, mode and times; `warn` hears what could not be set.
    static func settle(_ fd: Int32, _ s: Settling, end: Int64, umask: mode_t, _ what: () -> String, warn: (String) -> Void) throws {
        if end < s.size && ftruncate(fd, off_t(s.size)) != 0 {
            throw SeedError.io("\(what()): cannot give it its \(s.size) bytes: \(errnoMessage())")
        }
        var mode = s.mode
        var owned = false
        if let o = s.owner {
            if fchown(fd, o.uid, o.gid) == 0 { owned = true } else { warn("cannot set its owner: \(errnoMessage())") }
        }
        if mode & (S_ISUID | S_ISGID) != 0 && !owned { mode = dropSetIDBits(mode, fd: fd, wanted: s.wanted) }
        // The umask took nothing the file needs, or it is set back.
        if mode != mode & 0o777 & ~umask {
            if fchmod(fd, mode) != 0 { warn("cannot set its mode: \(errnoMessage())") }
        }
        if let t = s.times {
            var times = [timespec(tv_sec: 0, tv_nsec: CSeedSys_UTIME_OMIT), t]
            if futimens(fd, &times) != 0 { warn("cannot set its times: \(errnoMessage())") }
        }
    }

    /// Leaves the entry being written (after an error): its file is
    /// closed, and its removal left to the caller.
    func abandon() {
        switch current {
        case .none: break
        case .file:
            close(file)
            file = -1
            if let g = gathered {
                gathered = nil
                smallFiles?.giveBack(g)
            }
        case .fallback: _ = try? fallbackWriter?.finishEntry("entry")
        }
        current = .none
        closeDeep()
    }

    /// Sets each directory's mode and times, deepest first, then lets
    /// libarchive's writer finish what it wrote.
    func end(_ what: String) throws -> [String] {
        abandon()
        // Every file is whole before a directory's time is set.
        var out: [String] = []
        if let f = smallFiles {
            smallFiles = nil
            do { try f.finish() } catch { throw f.fail(error, root: root) }
            out = f.takeWarnings()
        }
        fixups.sort { $1.path.lexicographicallyPrecedes($0.path) }
        for f in fixups {
            // A directory replaced since, or gone, is left alone.
            guard split(f.path), let fd = try? parent(count: starts.count, "", making: false) else { continue }
            if fchmod(fd, f.mode) != 0 { out.append("\(quoted(bytes: f.path)): cannot set its mode: \(errnoMessage())") }
            if let t = f.mtime {
                var times = [timespec(tv_sec: 0, tv_nsec: CSeedSys_UTIME_OMIT), t]
                if futimens(fd, &times) != 0 { out.append("\(quoted(bytes: f.path)): cannot set its times: \(errnoMessage())") }
            }
            closeDeep()
        }
        fixups = []
        dropChain(to: 0)
        try fallbackWriter?.close(what)
        return out
    }

    // MARK: Paths

    /// Splits `path` into `names`, each NUL-ended; false when it holds a NUL.
    private func split(_ path: [UInt8]) -> Bool {
        names.removeAll(keepingCapacity: true)
        names.append(contentsOf: path)
        names.append(0)
        starts.removeAll(keepingCapacity: true)
        starts.append(0)
        return names.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            if strlen(UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)) != path.count { return false }
            var at = 0
            while let hit = memchr(base + at, 0x2f, path.count - at) {
                let i = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                base[i] = 0
                at = i + 1
                starts.append(at)
            }
            return true
        }
    }

    private func nameIndex(_ i: Int) -> Int { starts[i] }

    private func rawName(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int) -> UnsafePointer<CChar> {
        UnsafeRawPointer(buf.baseAddress! + start).assumingMemoryBound(to: CChar.self)
    }

    private func nameEquals(_ i: Int, _ held: [UInt8]) -> Bool {
        let end = (i + 1 < starts.count ? starts[i + 1] : names.count) - 1
        return end - starts[i] == held.count && names[starts[i]..<end].elementsEqual(held)
    }

    private func nameBytes(_ i: Int) -> [UInt8] {
        let end = (i + 1 < starts.count ? starts[i + 1] : names.count) - 1
        return Array(names[starts[i]..<end])
    }

    /// The directory holding the first `count` names of the split path,
    /// opened name by name from the target without following a link; a
    /// missing one is made (as tar makes them) when `making`.
    private func parent(count: Int, _ what: @autoclosure () -> String, making: Bool = true) throws -> Int32 {
        closeDeep()
        dropChain(toPrefixOf: count)
        var fd = chainFds.last ?? root
        var depth = chainFds.count
        while depth < count {
            let next = try openDirectory(in: fd, depth, what(), making: making)
            if depth < TreeWriter.chainDepth {
                chainNames.append(nameBytes(depth))
                chainFds.append(next)
            } else {
                if deepFd >= 0 { close(deepFd) }
                deepFd = next
            }
            fd = next
            depth += 1
        }
        return fd
    }

    private func openDirectory(in dir: Int32, _ i: Int, _ what: @autoclosure () -> String, making: Bool) throws -> Int32 {
        let start = starts[i]
        func openIt() -> Int32 { names.withUnsafeBufferPointer { openat(dir, rawName($0, start), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } }
        var fd = openIt()
        if fd < 0 && errno == ENOENT && making {
            if names.withUnsafeBufferPointer({ mkdirat(dir, rawName($0, start), 0o755) }) != 0 && errno != EEXIST {
                throw createError(what(), "cannot create the directory \(quoted(bytes: nameBytes(i))) on the way")
            }
            fd = openIt()
        }
        if fd < 0 {
            let e = errno
            let on = quoted(bytes: nameBytes(i))
            if e == ELOOP { throw SeedError.data("\(what()): \(on) on the way is a symbolic link, not followed") }
            if e == ENOTDIR { throw SeedError.data("\(what()): \(on) on the way is not a directory") }
            throw createError(what(), "cannot open \(on) on the way", errno: e)
        }
        return fd
    }

    /// Closes the chain's directories past the first `count`.
    private func dropChain(to count: Int) {
        while chainFds.count > count {
            close(chainFds.removeLast())
            chainNames.removeLast()
        }
    }

    /// Keeps the chain's directories the split path's first `count` names share.
    private func dropChain(toPrefixOf count: Int) {
        var keep = 0
        while keep < min(count, chainNames.count) && nameEquals(keep, chainNames[keep]) { keep += 1 }
        dropChain(to: keep)
    }

    private func closeDeep() {
        if deepFd >= 0 {
            close(deepFd)
            deepFd = -1
        }
    }

    // MARK: Making

    /// Runs `make` on the last name in `dir`; what is in the way (not a
    /// directory with anything in it) is removed and `make` run again.
    private func create(
        _ dir: Int32, _ name: Int, _ what: @autoclosure () -> String, _ failure: String, _ make: (Int32, UnsafePointer<CChar>) -> Int32
    ) throws {
        var r = names.withUnsafeBufferPointer { make(dir, rawName($0, name)) }
        if r != 0 && errno == EEXIST {
            try clearWay(dir, name, what())
            r = names.withUnsafeBufferPointer { make(dir, rawName($0, name)) }
        }
        if r != 0 { throw createError(what(), failure) }
    }

    /// Removes what stands at the last name: a file, link or node, or an
    /// empty directory; a directory with entries stays, and is an error.
    private func clearWay(_ dir: Int32, _ name: Int, _ what: @autoclosure () -> String) throws {
        var st = stat()
        let r = names.withUnsafeBufferPointer { buf -> Int32 in
            let n = rawName(buf, name)
            guard fstatat(dir, n, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return 0 }
            return unlinkat(dir, n, (st.st_mode & S_IFMT) == S_IFDIR ? AT_REMOVEDIR : 0)
        }
        if r != 0 { throw createError(what(), "cannot replace what is there") }
    }

    private func hardLink(_ link: [UInt8], path: [UInt8], in dir: Int32, _ name: Int, _ what: @autoclosure () -> String) throws {
        if let problem = EntryName.pathProblem(link, rootAllowed: false) { throw SeedError.data("\(what()): its link \(problem)") }
        if link == path { throw SeedError.data("\(what()): a hard link to itself") }
        let (tdir, tname): (Int32, [UInt8])
        do { (tdir, tname) = try TreeFiles.parent(link, in: root) } catch let e as SeedError { throw SeedError.data("\(what()): its link: \(e.message)") }
        defer { close(tdir) }
        try create(dir, name, what(), "cannot link it to \(quoted(bytes: link))") { d, n in cString(tname) { linkat(tdir, $0, d, n, 0) } }
    }

    /// A link's or node's owner, mode and times, set by name without
    /// following a link.
    private func finishNode(_ dir: Int32, _ name: Int, mode: mode_t?, owner: (uid: uid_t, gid: gid_t)?, mtime: timespec?) throws {
        if let owner { setOwner(dir, name, owner) }
        names.withUnsafeBufferPointer { buf in
            let n = rawName(buf, name)
            if var mode, mode != mode & 0o777 & ~umaskBits {
                if owner == nil { mode &= ~(S_ISUID | S_ISGID) }
                if fchmodat(dir, n, mode, AT_SYMLINK_NOFOLLOW) != 0 { warnings.append("cannot set its mode: \(errnoMessage())") }
            }
            if let t = mtime {
                var times = [timespec(tv_sec: 0, tv_nsec: CSeedSys_UTIME_OMIT), t]
                if utimensat(dir, n, &times, AT_SYMLINK_NOFOLLOW) != 0 { warnings.append("cannot set its times: \(errnoMessage())") }
            }
        }
    }

    private func setOwner(_ dir: Int32, _ name: Int, _ o: (uid: uid_t, gid: gid_t)) {
        if names.withUnsafeBufferPointer({ fchownat(dir, rawName($0, name), o.uid, o.gid, AT_SYMLINK_NOFOLLOW) }) != 0 {
            warnings.append("cannot set its owner: \(errnoMessage())")
        }
    }

    /// A set-user-ID or set-group-ID bit stays only where the file has
    /// the owner or group it names (as tar and libarchive do).
    private static func dropSetIDBits(_ mode: mode_t, fd: Int32, wanted want: (uid: uid_t, gid: gid_t)) -> mode_t {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return mode & ~(S_ISUID | S_ISGID) }
        var m = mode
        if st.st_uid != want.uid { m &= ~S_ISUID }
        if st.st_gid != want.gid { m &= ~S_ISGID }
        return m
    }

    private func setXattrs(_ e: ArchiveEntry, fd: Int32) {
        for x in e.xattrs {
            let r = cString(x.name) { n in x.value.withUnsafeBytes { fsetxattr(fd, n, $0.baseAddress, $0.count, 0) } }
            if r != 0 { warnings.append("cannot set the extended attribute \(quoted(bytes: x.name)): \(errnoMessage())") }
        }
    }

    private func needsFallback(_ e: ArchiveEntry) -> Bool {
        if e.hasACLs || e.hasFileFlags { return true }
        if e.hardlink != nil { return e.size > 0 }
        let t = e.fileType
        if t == S_IFREG || t == S_IFDIR { return false }
        if t == S_IFLNK || t == S_IFIFO || t == S_IFCHR || t == S_IFBLK { return e.hasXattrs }
        return true
    }

    private func joinedWarnings() -> String? { warnings.isEmpty ? nil : warnings.joined(separator: "; ") }

    private func createError(_ what: @autoclosure () -> String, _ doing: String, errno e: Int32 = errno) -> SeedError {
        let status: SeedExit = (e == ENOSPC || e == EIO || e == EROFS || e == EDQUOT) ? .ioError : .dataError
        return SeedError(status, "\(what()): \(doing): \(errnoMessage(e))")
    }

    // MARK: Owners

    /// The owner and group to give the entry, or nil when owners are not
    /// set; by name where the entry has a name the system knows.
    private func ownerIDs(_ e: ArchiveEntry) -> (uid: uid_t, gid: gid_t)? {
        let uid = e.uid
        let gid = e.gid
        guard owners else { return nil }
        guard (0..<Int64(UInt32.max)).contains(uid), (0..<Int64(UInt32.max)).contains(gid) else {
            warnings.append("owner \(uid):\(gid) out of range, not set")
            return nil
        }
        var ids = (uid: uid_t(uid), gid: gid_t(gid))
        if ownersByName {
            if let u = e.withUserName({ $0.map(cBytes) }), !u.isEmpty, let found = lookUp(user: u) { ids.uid = found }
            if let g = e.withGroupName({ $0.map(cBytes) }), !g.isEmpty, let found = lookUp(group: g) { ids.gid = found }
        }
        return ids
    }

    private func lookUp(user name: [UInt8]) -> uid_t? {
        lookUp(name, in: &userIDs) { n, buf, len in
            var pw = passwd()
            var found: UnsafeMutablePointer<passwd>?
            let r = getpwnam_r(n, &pw, buf, len, &found)
            return (r, found.map { $0.pointee.pw_uid })
        }
    }

    private func lookUp(group name: [UInt8]) -> gid_t? {
        lookUp(name, in: &groupIDs) { n, buf, len in
            var gr = group()
            var found: UnsafeMutablePointer<group>?
            let r = getgrnam_r(n, &gr, buf, len, &found)
            return (r, found.map { $0.pointee.gr_gid })
        }
    }

    /// An id by name from a reentrant lookup (`call`: getpwnam_r or
    /// getgrnam_r, its result and the id found), the buffer grown while
    /// it is too small; cached, and nil for a name the system does not know.
    private func lookUp(
        _ name: [UInt8], in cache: inout [[UInt8]: UInt32], _ call: (UnsafePointer<CChar>, UnsafeMutablePointer<CChar>, Int) -> (Int32, UInt32?)
    ) -> UInt32? {
        if let id = cache[name] { return id == UInt32.max ? nil : id }
        var id = UInt32.max
        while true {
            let (r, found) = cString(name) { n in lookupBuffer.withUnsafeMutableBufferPointer { call(n, $0.baseAddress!, $0.count) } }
            if r == ERANGE && lookupBuffer.count < 1 << 20 {
                lookupBuffer = [CChar](repeating: 0, count: lookupBuffer.count * 4)
                continue
            }
            if r == 0, let f = found { id = f }
            break
        }
        cache[name] = id
        return id == UInt32.max ? nil : id
    }
}
