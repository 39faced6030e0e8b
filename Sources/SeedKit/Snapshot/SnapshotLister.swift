import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// seed-snapshot -t: lists the entries from the index; data records are
/// checked but not decoded.
public final class SnapshotLister {
    /// Lists the stream `input` holds; with `only`, the entries chosen.
    public static func run(input: String?, long: Bool, only: [String] = [], diag: Diagnostics) throws -> SeedExit {
        let src = try SnapshotSource(input: input)
        let lister = SnapshotLister(long: long, only: PathPatterns(only))
        var listed: UInt64 = 0
        var said = false
        while let item = try src.next(decodeData: false) {
            // -tv: the stream's session first, on stderr with the other news.
            if !said, let m = src.metadata {
                said = true
                let of = m.incrementOf.map { ", an increment on session \($0)" } ?? m.repairOf.map { ", a repair of session \($0)" } ?? ""
                diag.verbose("session \(m.session), created \(m.created)\(of)")
            }
            if item.kind == .changes && long {
                try ChangeLine.decode(item.payload, location: item.location) { try lister.list($0) }
                continue
            }
            guard item.kind == .index else { continue }
            try IndexLines.decode(item.payload, location: item.location, recordSize: src.recordSize) { e in
                listed += 1
                try lister.list(e)
            }
        }
        try lister.out.flush()
        if let t = src.totals, t.entries != listed {
            throw SeedError.data("\(src.source): end record promises \(t.entries) entries, the index lists \(listed)")
        }
        return lister.finish(diag)
    }

    let out = RecordlessOutput(fd: .standardOutput, name: "standard output")
    let long: Bool
    let only: PathPatterns?

    init(long: Bool, only: PathPatterns?) {
        self.long = long
        self.only = only
    }

    /// One line for `e`, when it is chosen.
    func list(_ e: IndexEntry) throws {
        if let only, !only.matches(e.pathBytes) { return }
        if long { try out.write(Array(SnapshotLister.longLine(e).utf8)) }
        try out.write(e.pathBytes)
        if long, let l = e.linkBytes {
            try out.write(Array((e.type == .hardlink ? " link to " : " -> ").utf8))
            try out.write(l)
        }
        try out.write([0x0a])
    }

    /// An increment's rename or deletion, in a long listing.
    func list(_ c: ChangeLine) throws {
        if let only, !only.matches(c.pathBytes) { return }
        switch c.op {
        case .delete:
            try out.write(Array("deleted ".utf8))
            try out.write(c.pathBytes)
        case .rename:
            try out.write(Array("renamed ".utf8))
            try out.write(c.fromBytes ?? [])
            try out.write(Array(" to ".utf8))
            try out.write(c.pathBytes)
        }
        try out.write([0x0a])
    }

    /// Status 2 when a pattern chose nothing, as tar does.
    func finish(_ diag: Diagnostics) -> SeedExit {
        guard let m = only?.unmatchedMessage else { return .success }
        diag.warning(m)
        return .warnings
    }

    static func longLine(_ e: IndexEntry) -> String {
        let t: Character
        switch e.type {
        case .dir: t = "d"
        case .symlink: t = "l"
        case .hardlink: t = "h"
        case .fifo: t = "p"
        case .char: t = "c"
        case .block: t = "b"
        default: t = "-"
        }
        var perm = ""
        let bits: [(UInt32, Character)] = [(0o400, "r"), (0o200, "w"), (0o100, "x"), (0o40, "r"), (0o20, "w"), (0o10, "x"), (0o4, "r"), (0o2, "w"), (0o1, "x")]
        for (b, c) in bits { perm.append(e.mode & b != 0 ? c : "-") }
        func setBit(_ at: Int, _ flag: UInt32, _ on: Character, _ off: Character) {
            guard e.mode & flag != 0 else { return }
            var a = Array(perm)
            a[at] = a[at] == "x" ? on : off
            perm = String(a)
        }
        setBit(2, 0o4000, "s", "S")
        setBit(5, 0o2000, "s", "S")
        setBit(8, 0o1000, "t", "T")
        let owner = "\(e.user ?? String(e.uid))/\(e.group ?? String(e.gid))"
        let size = e.devMajor.map { "\($0),\(e.devMinor ?? 0)" } ?? String(e.size)
        var tm = tm()
        var secs = time_t(e.mtime)
        gmtime_r(&secs, &tm)
        // Not String(format:): it costs more than the rest of the line.
        func padded(_ v: Int, _ width: Int) -> String {
            let d = String(v)
            return d.count >= width ? d : String(repeating: "0", count: width - d.count) + d
        }
        let year = Int(tm.tm_year) + 1900
        let date =
            "\(year < 0 ? "-" + padded(-year, 3) : padded(year, 4))-\(padded(Int(tm.tm_mon) + 1, 2))-\(padded(Int(tm.tm_mday), 2)) "
            + "\(padded(Int(tm.tm_hour), 2)):\(padded(Int(tm.tm_min), 2))"
        let flag = e.changed == true ? " [changed]" : e.incomplete == true ? " [incomplete]" : ""
        return "\(t)\(perm) \(owner) \(String(repeating: " ", count: max(0, 10 - size.count)))\(size) \(date)\(flag) "
    }
}

/// Buffered bytes to a descriptor that is not a record stream (a listing,
/// a plain pax archive).
final class RecordlessOutput {
    let fd: FileDescriptor
    let name: String
    let buffer = ByteBuffer(capacity: 1 << 20)

    init(fd: FileDescriptor, name: String) {
        self.fd = fd
        self.name = name
    }

    func write(_ b: [UInt8]) throws { try b.withUnsafeBytes { try write($0) } }

    func write(_ b: UnsafeRawBufferPointer) throws {
        if b.count >= buffer.capacity / 2 {
            try flush()
            try put(b)
            return
        }
        if buffer.count + b.count > buffer.capacity { try flush() }
        if b.count > 0 { (buffer.base + buffer.count).copyMemory(from: b.baseAddress!, byteCount: b.count) }
        buffer.count += b.count
    }

    func flush() throws {
        if buffer.count > 0 { try put(buffer.bytes); buffer.count = 0 }
    }

    private func put(_ b: UnsafeRawBufferPointer) throws {
        do { _ = try fd.writeAll(b) } catch let e as Errno { throw SeedError.cannotWrite(name, e) }
    }
}
