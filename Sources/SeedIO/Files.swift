import Foundation
import SeedCore
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Opening the streams a filter reads and writes: `-` is stdin/stdout, binary
/// never goes to or comes from a terminal unless forced, pipes get 1 MiB
/// buffers, and a file being written is removed again if the run fails.
public enum StreamFiles {
    /// The input stream: stdin for nil or "-", else the named file.
    public static func openInput(_ path: String?) throws -> FileDescriptor {
        if path == nil || path == "-" {
            if Terminal.isTerminal(0) {
                throw SeedError.usage("standard input is a terminal", hint: "redirect a seed stream into it, or name a file")
            }
            enlargePipe(0)
            return .standardInput
        }
        let fd = open(path!, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            throw SeedError(e == ENOENT ? .noInput : .ioError, "cannot open \(quoted(path!)): \(errnoMessage(e))")
        }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            let name = quoted(path!)
            throw SeedError.usage(
                "\(name) is a directory, not a seed stream",
                hint: "a tree is read by seed-snapshot \(name) (list it with: seed-snapshot \(name) | seed-snapshot -t)")
        }
        return FileDescriptor(rawValue: fd)
    }

    /// stdout, refusing a terminal unless forced.
    public static func standardOutput(force: Bool = false) throws -> FileDescriptor {
        if Terminal.isTerminal(1) && !force {
            throw SeedError.usage("refusing to write binary data to a terminal", hint: "redirect standard output, or pass '-o -' to force")
        }
        enlargePipe(1)
        return .standardOutput
    }

    /// Linux pipes default to 64 KiB; 1 MiB triples what a pipe moves.
    public static func enlargePipe(_ fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO else { return }
        _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20)
    }
}

/// An output file that exists under its name only once it is complete:
/// written as a temporary next to it and renamed at `commit()`, removed if
/// never committed.
public final class AtomicOutput {
    public let path: String
    package let tmp: String
    public let fd: FileDescriptor
    private var done = false

    public init(path: String) throws {
        self.path = path
        tmp = path + AtomicOutput.partial + "\(getpid())"
        AtomicOutput.removeStalePartials(of: path)
        // Known to the signal handler before it exists, so never left behind.
        AtomicOutput.register(tmp)
        let r = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if r < 0 {
            let e = errno
            AtomicOutput.unregister(tmp)
            throw SeedError(.cannotCreate, "cannot create \(quoted(path)): \(errnoMessage(e))")
        }
        // Held while it is written: a partial file whose lock can be taken
        // has no writer (seed-compress(1), -o).
        _ = flock(r, LOCK_EX | LOCK_NB)
        fd = FileDescriptor(rawValue: r)
    }

    package static let partial = ".seed-partial."

    /// Removes the partial files of `path` that runs killed outright
    /// (SIGKILL, a power cut) left behind, which may be as large as the
    /// output: those named PATH.seed-partial.PID with no process PID and
    /// whose writer's lock can be taken, so none a live run is writing, in
    /// this PID namespace or another.
    package static func removeStalePartials(of path: String) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let prefix = Array(((slash.map { String(path[path.index(after: $0)...]) } ?? path) + partial).utf8)
        guard let d = opendir(dir.isEmpty ? "/" : dir) else { return }
        defer { closedir(d) }
        let dirFD = dirfd(d)
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard name.count > prefix.count, name.count - prefix.count <= 9, name.starts(with: prefix),
                name[prefix.count...].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let pid = pid_t(String(decoding: name[prefix.count...], as: UTF8.self)),
                kill(pid, 0) != 0 && errno == ESRCH
            else { continue }
            cString(name) { c in
                let fd = openat(dirFD, c, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard fd >= 0 else { return }
                defer { close(fd) }
                var st = stat()
                guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, flock(fd, LOCK_EX | LOCK_NB) == 0 else { return }
                unlinkat(dirFD, c, 0)
            }
        }
    }

    public func commit() throws {
        try syscall("cannot sync \(quoted(path))") { fsync(fd.rawValue) }
        try syscall("cannot close \(quoted(path))") { close(fd.rawValue) }
        try syscall("cannot rename to \(quoted(path))") { rename(tmp, path) }
        AtomicOutput.unregister(tmp)
        done = true
    }

    /// Removes the file being written; a failed run does, and so does
    /// letting go of one never committed.
    public func discard() {
        if !done {
            done = true
            close(fd.rawValue)
            unlink(tmp)
            AtomicOutput.unregister(tmp)
        }
    }

    deinit { discard() }

    // Partial files are removed on SIGINT/SIGTERM too. The handler may run
    // at any moment on any thread, so it reads a fixed table of C strings,
    // with no lock, no allocation and nothing the main thread moves: a
    // slot is filled or emptied by one pointer-sized store, and a string,
    // once in the table, is never freed (a tool has an output or two).
    package static let slotCount = 64
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let t = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: slotCount)
        t.initialize(repeating: nil, count: slotCount)
        installSignalHandlers()
        return t
    }()

    /// Makes the table (and so the handlers) before any signal may need them.
    package static func prepareForSignals() { _ = slots }

    /// SIGINT and SIGTERM remove partial files, or with a stopping role
    /// (`GracefulStop`) the first one is let pass. A signal ignored when
    /// the tool started stays ignored, as the shell meant it: a script's
    /// background jobs ignore SIGINT, so that Ctrl-C on the terminal stops
    /// only what runs in the foreground.
    private static func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM] {
            var old = sigaction()
            if sigaction(sig, nil, &old) == 0, let h = old.__sigaction_handler.sa_handler,
                unsafeBitCast(h, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
            {
                continue
            }
            signal(sig) { s in GracefulStop.onSignal(s) }
        }
        // A parent may hand its blocked signals down through exec.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    package static func register(_ p: String) {
        guard let c = strdup(p) else { return }
        for i in 0..<slotCount where slots[i] == nil {
            slots[i] = c
            return
        }
    }

    package static func unregister(_ p: String) {
        for i in 0..<slotCount {
            if let c = slots[i], strcmp(c, p) == 0 { slots[i] = nil }
        }
    }

    /// Async-signal-safe: unlink(2) and _exit(2) only.
    package static func cleanupAndExit(_ sig: Int32) {
        for i in 0..<slotCount {
            if let c = slots[i] { unlink(c) }
        }
        _exit(128 + sig)
    }
}

extension StreamFiles {
    /// Whether `path` names the file open on `fd` (same device and inode).
    public static func sameFile(_ fd: Int32, _ path: String) -> Bool {
        var a = stat(), b = stat()
        guard fstat(fd, &a) == 0, stat(path, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino && (a.st_mode & S_IFMT) == S_IFREG
    }
}

extension StreamOutput {
    /// The file a dangling symbolic link names, through any links after
    /// it, as `>` would make it.
    static func danglingTarget(_ link: String) throws -> String {
        var p = link
        for _ in 0..<40 {
            var st = stat()
            guard lstat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK else { return p }
            var buf = [UInt8](repeating: 0, count: Int(PATH_MAX))
            let n = buf.withUnsafeMutableBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { readlink(p, $0, b.count) }
            }
            guard n > 0, let target = String(validating: buf[0..<n], as: UTF8.self) else {
                throw SeedError(.cannotCreate, "cannot follow the symbolic link \(quoted(p)): \(n < 0 ? "\(errnoMessage())" : "it names no UTF-8 path")")
            }
            p = target.hasPrefix("/") ? target : String(p[..<(p.lastIndex(of: "/") ?? p.startIndex)]) + "/" + target
        }
        throw SeedError(.cannotCreate, "cannot follow the symbolic link \(quoted(link)): \(errnoMessage(ELOOP))")
    }
}

/// Where a tool writes its stream: a named file that appears only when
/// complete (`commit`), or standard output (refused on a terminal unless
/// forced with `-o -`).
public struct StreamOutput {
    public let fd: FileDescriptor
    /// How messages name it: the quoted file name or "standard output".
    public let name: String
    private let atomic: AtomicOutput?

    /// `path` nil or "-" means standard output. A relative path is made
    /// absolute first, so the tool may change directory while it writes.
    /// `input` is the descriptor read from, which the output must not be.
    public init(path: String?, force: Bool, input: FileDescriptor? = nil) throws {
        guard let path, path != "-" else {
            fd = try StreamFiles.standardOutput(force: force || path == "-")
            name = "standard output"
            atomic = nil
            return
        }
        if let input, StreamFiles.sameFile(input.rawValue, path) {
            throw SeedError.usage("input and output are the same file \(quoted(path))")
        }
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG, (st.st_mode & S_IFMT) != S_IFDIR {
            // A device, FIFO or socket (/dev/null, a tape, a named pipe) is
            // written to, never replaced by a file of that name.
            let r = open(path, O_WRONLY | O_CLOEXEC)
            if r < 0 { throw SeedError(.cannotCreate, "cannot open \(quoted(path)): \(errnoMessage())") }
            fd = FileDescriptor(rawValue: r)
            name = quoted(path)
            atomic = nil
            return
        }
        var absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        // Through a symbolic link, as `>` writes: the file it names is
        // replaced whole (or made, when the link dangles), and the link stays.
        if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
            if let real = realpath(path, nil) {
                absolute = String(cString: real)
                free(real)
            } else {
                absolute = try StreamOutput.danglingTarget(absolute)
            }
        }
        atomic = try AtomicOutput(path: absolute)
        fd = atomic!.fd
        name = quoted(path)
    }

    /// Makes a named output file appear; nothing to do for standard output.
    public func commit() throws { try atomic?.commit() }

    /// Removes a named output file that will not be committed.
    public func discard() { atomic?.discard() }
}

extension StreamFiles {
    /// pread(2) until `buffer` is full or the file ends; the bytes read.
    /// `source` names the file in a message.
    public static func preadFully(_ fd: FileDescriptor, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, source: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd.rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("\(source): read error at byte \(offset + UInt64(done)): \(errnoMessage())")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }
}
