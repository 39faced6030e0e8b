import CSeedSys
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A drive being written: a block device or a regular file standing in
/// for one, written with O_DIRECT where the device or filesystem has it.
final class Target {
    let path: String
    let fd: Int32
    let isBlock: Bool
    /// The drive's size; nil for a file that grows as it is written.
    let size: UInt64?
    let direct: Bool
    /// A regular file's lock against a second run (a block device is
    /// opened O_EXCL instead).
    private var lock: RunLock?
    var name: String { quoted(path) }

    private init(path: String, fd: Int32, isBlock: Bool, size: UInt64?, direct: Bool, lock: RunLock?) throws {
        self.path = path
        self.fd = fd
        self.isBlock = isBlock
        self.size = size
        self.direct = direct
        // A file made just now is locked once it exists.
        self.lock = try lock ?? (isBlock ? nil : RunLock(fd: fd, what: "drive \(quoted(path))"))
    }

    deinit { close(fd) }

    /// What a write of volume `begin` to `path` must get past: a mounted or
    /// busy device, a drive holding something (a filesystem, a partition
    /// table, another seed's volume) without --format and its confirmation,
    /// a drive smaller than the volume was planned for.
    static func openForWriting(_ path: String, begin: VolumeBegin, _ o: WriteOptions, diag: Diagnostics, resuming: Bool = false) throws -> Target {
        var st = stat()
        let exists = stat(path, &st) == 0
        let isBlock = exists && (st.st_mode & S_IFMT) == S_IFBLK
        if exists && !isBlock && (st.st_mode & S_IFMT) != S_IFREG {
            throw SeedError.usage("\(quoted(path)) is neither a block device nor a regular file")
        }
        // Before its label is read: another run may be writing it.
        let lock = exists && !isBlock ? try RunLock(path: path, what: "drive \(quoted(path))") : nil
        var size: UInt64?
        if isBlock {
            let uses = BlockDevices.uses(st.st_rdev)
            if !uses.isEmpty {
                throw SeedError.io(
                    "\(quoted(path)) is in use (\(uses.joined(separator: "; "))): seed-writeblk never writes to a mounted or busy device", code: "drive-busy")
            }
            size = try DriveSizes.deviceSize(path)
        } else if exists && st.st_size > 0 && !resuming {
            // A file made to stand in for a drive; one a run stopped in grows on.
            size = UInt64(st.st_size)
        }
        // What the drive holds now.
        if exists && (isBlock || st.st_size > 0) {
            var held: String?
            // A seed label that cannot be read (its checksum fails) is a seed
            // drive damaged, someone's data: never taken for a blank drive.
            let label: VolumeLabel?
            do { label = try readLabel(path) } catch let e as SeedError where e.status == .dataError {
                held = "a damaged seed label (\(e.message))"; label = nil
            }
            if let l = label {
                if l.session != begin.session || l.volume != begin.volume {
                    held = "volume \(l.volume) of seed session \(l.session)"
                } else {
                    diag.verbose("\(quoted(path)) holds volume \(l.volume) of this session already: writing it again")
                    // A file this volume was written to grows as it is written again.
                    if !isBlock { size = nil }
                }
            } else if held == nil, let sig = BlockDevices.signature(path) {
                let plain = sig == "more than one filesystem signature" || sig.hasPrefix("partition table") || sig.hasPrefix("an ")
                held = plain ? sig : ("aeiou".contains(sig.prefix(1)) ? "an " : "a ") + sig + " filesystem"
            }
            if let held {
                let what = isBlock ? "\(quoted(path)) (\(BlockDevices.describe(st.st_rdev, size: size ?? 0)))" : quoted(path)
                guard o.format else {
                    throw SeedError.io("\(what) holds \(held)", hint: "give --format to overwrite it", code: "drive-not-blank")
                }
                try confirm("overwrite \(what), which holds \(held)?", o)
            }
        }
        if let s = size, s < begin.capacity {
            throw SeedError.io(
                "\(quoted(path)) holds \(s) bytes, less than the \(begin.capacity) bytes volume \(begin.volume) was planned for",
                hint: "use a larger drive, or split again with its size", code: "drive-too-small")
        }
        // Direct I/O for a file standing in for a drive too: the chunks are
        // whole aligned blocks either way, and a copy through the page
        // cache costs more CPU than the rest of the writer.
        let flags = O_WRONLY | O_CLOEXEC | (isBlock ? O_EXCL : O_CREAT)
        var fd = open(path, flags | CSeedSys_O_DIRECT, 0o644)
        var direct = true
        if fd < 0 && errno == EINVAL {
            // No direct I/O on this device or filesystem (ramfs, some FUSE
            // ones): buffered writes, synced at checkpoints.
            fd = open(path, flags, 0o644)
            direct = false
        }
        if fd < 0 {
            let e = errno
            if e == EBUSY {
                let by = RunLock.openers(of: path).map { " by " + RunLock.describe($0) }.first ?? " (mounted, or open exclusively)"
                throw SeedError.io("\(quoted(path)) is in use\(by)", hint: "one run at a time; wait for it to end, or stop it", code: "in-use")
            }
            throw SeedError(.cannotCreate, "cannot open \(quoted(path)) for writing: \(errnoMessage(e))")
        }
        do {
            return try Target(path: path, fd: fd, isBlock: isBlock, size: size, direct: direct, lock: lock)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Asks on the terminal, or takes --yes; never asks a script.
    static func confirm(_ question: String, _ o: WriteOptions) throws {
        if o.yes { return }
        guard let answer = Terminal.ask("seed-writeblk: \(question) Type 'yes' to go on: ") else {
            throw SeedError.usage("--format needs a confirmation and there is no terminal to ask on", hint: "add --yes in scripts")
        }
        if answer != "yes" { throw SeedError(.failure, "not confirmed: nothing written") }
    }

    /// Refuses one drive named twice, under whatever names: a set's members
    /// written to one drive would overwrite each other.
    static func refuseTwice(_ paths: [String]) throws {
        var seen: [String: String] = [:]
        for p in paths {
            var st = stat()
            // A file not made yet is named by its path, made absolute.
            let absolute = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
            let key =
                stat(p, &st) != 0
                ? "p" + (absolute as NSString).standardizingPath
                : (st.st_mode & S_IFMT) == S_IFBLK ? "b\(st.st_rdev)" : "f\(st.st_dev):\(st.st_ino)"
            if let first = seen[key] { throw SeedError.usage("\(quoted(first)) and \(quoted(p)) are the same drive: a set needs each of its drives once") }
            seen[key] = p
        }
    }

    /// The seed label at the start of a drive or file, if it has one.
    static func readLabel(_ path: String) throws -> VolumeLabel? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            throw SeedError(e == ENOENT ? .noInput : .ioError, "cannot open \(quoted(path)): \(errnoMessage(e))")
        }
        defer { close(fd) }
        var b = [UInt8](repeating: 0, count: VolumeLabel.size)
        let n = pread(fd, &b, b.count, 0)
        if n < 0 { throw SeedError.io("cannot read \(quoted(path)): \(errnoMessage())") }
        if n < VolumeLabel.size { return nil }
        return try VolumeLabel.decode(b, name: quoted(path))
    }

    func pwriteAll(_ p: UnsafeRawPointer, _ n: Int, at offset: UInt64) throws {
        var done = 0
        while done < n {
            let w = pwrite(fd, p + done, n - done, off_t(offset) + off_t(done))
            if w < 0 {
                if errno == EINTR { continue }
                let e = errno
                throw SeedError.io("cannot write to \(name) at byte \(offset + UInt64(done)): \(errnoMessage(e))")
            }
            if w == 0 { throw SeedError.io("cannot write to \(name) at byte \(offset + UInt64(done)): the drive is full") }
            done += w
        }
    }

    func sync() throws {
        if fdatasync(fd) != 0 { throw SeedError.io("cannot sync \(name): \(errnoMessage())") }
    }
}
