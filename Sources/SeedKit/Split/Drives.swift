import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The drives the volumes go to, in order: a list of sizes (`--drives`,
/// `--drives-from`), then, if given, one size for every drive after it
/// (`--volume-size`).
public struct DriveSizes: Sendable {
    public var listed: [UInt64]
    public var thereafter: UInt64?

    public init(listed: [UInt64] = [], thereafter: UInt64? = nil) {
        self.listed = listed
        self.thereafter = thereafter
    }

    /// The size of the drive for volume `n` (from 1), or nil if there is none.
    public func capacity(of n: UInt32) -> UInt64? {
        let i = Int(n) - 1
        return i < listed.count ? listed[i] : thereafter
    }

    /// All the distinct sizes a volume may be given.
    var all: [UInt64] { listed + (thereafter.map { [$0] } ?? []) }

    /// The drives as given by `--drives`, `--drives-from` and
    /// `--volume-size` (one of the first two at most), and how they were
    /// given, for the stream header's stage settings.
    public static func given(list: String?, from file: String?, each: String?) throws -> (DriveSizes, String) {
        if list != nil && file != nil { throw SeedError.usage("give --drives or --drives-from, not both") }
        var listed: [UInt64] = []
        var text: [String] = []
        if let d = list {
            listed = try parseList(d)
            text.append(d)
        }
        if let f = file {
            listed = try read(from: f)
            text.append(listed.map(String.init).joined(separator: ","))
        }
        let thereafter = try each.map(ByteSize.parse)
        if let v = each { text.append(listed.isEmpty ? v : "then " + v) }
        return (DriveSizes(listed: listed, thereafter: thereafter), text.joined(separator: " "))
    }

    /// Parses `--drives 4T,4T,2TB`.
    public static func parseList(_ text: String) throws -> [UInt64] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
        guard !parts.isEmpty else { throw SeedError.usage("--drives needs at least one size") }
        return try parts.map { try ByteSize.parse($0) }
    }

    /// Reads `--drives-from FILE`: one size, or the path of a device or
    /// file whose size is read, per line; blank lines and `#` comments are
    /// skipped.
    public static func read(from path: String) throws -> [UInt64] {
        let text: String
        let data = try SmallFile.read(path, what: "drive list", max: 16 << 20)
        text = String(decoding: data, as: UTF8.self)
        var sizes: [UInt64] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line =
                raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            if line.hasPrefix("/") || line.hasPrefix(".") {
                sizes.append(try deviceSize(line))
            } else {
                do { sizes.append(try ByteSize.parse(line)) } catch let e as SeedError {
                    throw SeedError.usage("\(quoted(path)) line \(i + 1): \(e.message)")
                }
            }
        }
        guard !sizes.isEmpty else { throw SeedError.usage("\(quoted(path)) names no drive") }
        return sizes
    }

    /// The size of a block device (what the kernel reports) or regular file.
    public static func deviceSize(_ path: String) throws -> UInt64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            throw SeedError(e == ENOENT ? .noInput : .ioError, "cannot open drive \(quoted(path)): \(errnoMessage(e))")
        }
        defer { close(fd) }
        let end = lseek(fd, 0, SEEK_END)
        guard end > 0 else { throw SeedError.io("cannot tell the size of \(quoted(path)): it reads as empty") }
        return UInt64(end)
    }
}
