import Foundation
import SeedCore
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// The table `seed-split --plan` prints, read back: a row per volume of
/// four numbers (the volume, the drive's bytes, the most the volume puts
/// on it, its records); every other line is passed over.
public enum PlanTable {
    /// Each volume's bytes on its drive, from the plan in `path`.
    public static func read(_ path: String) throws -> [UInt32: UInt64] {
        var rows: [UInt32: UInt64] = [:]
        for (n, line) in try lines(path).enumerated() {
            let fields = String(decoding: line, as: UTF8.self).split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 4, let v = UInt32(fields[0]), v > 0, UInt64(fields[1]) != nil, let most = UInt64(fields[2]), UInt64(fields[3]) != nil
            else { continue }
            if rows[v] != nil { throw SeedError.usage("plan \(quoted(path)) line \(n + 1): volume \(v) a second time") }
            // As many rows as the file has lines, each bounded: no number sizes anything.
            rows[v] = most
        }
        if rows.isEmpty { throw SeedError.usage("\(quoted(path)) holds no plan: save what seed-split --plan prints") }
        return rows
    }

    /// The most a plan may hold: a row per volume, a few dozen bytes each.
    static let maxBytes = 4 << 20

    /// The plan's lines, from a file, a link to one, or a pipe (the
    /// shell's `<(seed-split --plan ...)`), read whole up to `maxBytes`.
    static func lines(_ path: String) throws -> [ArraySlice<UInt8>] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            throw SeedError(e == ENOENT ? .noInput : .ioError, "cannot open plan \(quoted(path)): \(errnoMessage(e))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, [S_IFREG, S_IFIFO, S_IFCHR].contains(st.st_mode & S_IFMT) else {
            throw SeedError.usage("plan \(quoted(path)) is not a file or a pipe")
        }
        var bytes = [UInt8](repeating: 0, count: maxBytes + 1)
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SeedError.io("cannot read plan \(quoted(path)): \(errnoMessage())") }
            if n == 0 { break }
            got += n
        }
        if got > maxBytes { throw SeedError.usage("plan \(quoted(path)) holds more than \(maxBytes) bytes: not what seed-split --plan prints") }
        return bytes[..<got].split(separator: 0x0a, omittingEmptySubsequences: false)
    }
}
