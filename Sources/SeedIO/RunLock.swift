import Foundation
import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps two runs off one journal directory or drive: an flock(2) on it,
/// held for the whole run. The kernel drops the lock when its process
/// ends, however it ends, so a run killed with -9 leaves nothing stale
/// behind: the next run simply gets the lock. A run refused names the
/// holder, found in /proc/locks.
public final class RunLock {
    private let fd: Int32
    private let owned: Bool

    /// Locks the open descriptor `fd` (which the caller keeps open), or
    /// throws, naming `what` and whoever holds it. A shared lock lets
    /// other shared holders in and keeps an exclusive one out.
    public init(fd: Int32, what: String, exclusive: Bool = true) throws {
        self.fd = fd
        owned = false
        try RunLock.take(fd, what, exclusive)
    }

    /// Opens `path` (a directory or file) read-only and locks it.
    public init(path: String, what: String, exclusive: Bool = true) throws {
        let f = open(path, O_RDONLY | O_CLOEXEC)
        if f < 0 { throw SeedError.io("cannot open \(what) to lock it: \(errnoMessage())") }
        fd = f
        owned = true
        do { try RunLock.take(f, what, exclusive) } catch {
            close(f)
            throw error
        }
    }

    deinit { if owned { close(fd) } else { flock(fd, LOCK_UN) } }

    private static func take(_ fd: Int32, _ what: String, _ exclusive: Bool) throws {
        while flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            if errno != EWOULDBLOCK { throw SeedError.io("cannot lock \(what): \(errnoMessage())") }
            let by = holder(fd).map { " by \(describe($0))" } ?? " by another process"
            throw SeedError.io("\(what) is in use\(by)", hint: "one run at a time; wait for it to end, or stop it", code: "in-use")
        }
    }

    /// The pid holding a lock on the file `fd` is open on, from /proc/locks.
    static func holder(_ fd: Int32) -> Int32? {
        var st = stat()
        guard fstat(fd, &st) == 0, let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        let dev = UInt64(st.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)
        let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
        let key = String(format: "%02llx:%02llx:%llu", major, minor, UInt64(st.st_ino))
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:16408764 0 EOF"
            guard f.count >= 6, f[1] == "FLOCK", f[5] == key, let pid = Int32(f[4]), pid != getpid() else { continue }
            return pid
        }
        return nil
    }

    /// The processes (other than this one) with `path` open: for a block
    /// device, any node of the same device. For naming who holds a drive.
    public static func openers(of path: String) -> [Int32] {
        var want = stat()
        guard stat(path, &want) == 0 else { return [] }
        let isBlock = (want.st_mode & S_IFMT) == S_IFBLK
        var found: [Int32] = []
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for p in procs {
            guard let pid = Int32(p), pid != getpid() else { continue }
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p)/fd")) ?? []
            for f in fds {
                var st = stat()
                guard stat("/proc/\(p)/fd/\(f)", &st) == 0 else { continue }
                let same = isBlock ? (st.st_mode & S_IFMT) == S_IFBLK && st.st_rdev == want.st_rdev : st.st_dev == want.st_dev && st.st_ino == want.st_ino
                if same {
                    found.append(pid)
                    break
                }
            }
        }
        return found
    }

    /// "pid 1234 (seed-journal --journal-dir J)", or the pid alone.
    public static func describe(_ pid: Int32) -> String {
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !d.isEmpty else { return "pid \(pid)" }
        let args = d.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        let name = args.first.map { ($0 as NSString).lastPathComponent } ?? ""
        let command = ([name] + args.dropFirst()).joined(separator: " ")
        return "pid \(pid) (\(command.count > 120 ? String(command.prefix(117)) + "..." : command))"
    }
}
