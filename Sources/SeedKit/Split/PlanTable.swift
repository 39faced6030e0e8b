import Foundation
import SeedCore
import SeedIO

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

    /// The plan's lines, from a file, a link to one, or a pipe (the
    /// shell's `<(seed-split --plan ...)`), read whole up to 4 MiB.
    static func lines(_ path: String) throws -> [ArraySlice<UInt8>] {
        [UInt8](try SmallFile.read(path, what: "plan", max: 4 << 20)).split(separator: 0x0a, omittingEmptySubsequences: false)
    }
}
