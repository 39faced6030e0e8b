import Foundation
import SeedCore
import SeedIO

/// The table `seed-split --plan` prints, read back: a row per volume of
/// four numbers (the volume, the drive's bytes, the most the volume puts
/// on it, its records); every other line is passed over.
public enum PlanTable {
    /// Each volume's bytes on its drive, from the plan in `path`.
    public static func read(_ path: String) throws -> [UInt32: UInt64] {
        guard let f = try LineFile(path, what: "plan", maxLine: 4096) else { return [:] }
        var rows: [UInt32: UInt64] = [:]
        while let fields = try f.next({ String(decoding: $0, as: UTF8.self).split(separator: " ", omittingEmptySubsequences: true) }) {
            guard fields.count == 4, let v = UInt32(fields[0]), v > 0, UInt64(fields[1]) != nil, let most = UInt64(fields[2]), UInt64(fields[3]) != nil
            else { continue }
            if rows[v] != nil { throw SeedError.usage("plan \(quoted(path)) line \(f.lineNumber): volume \(v) a second time") }
            // As many rows as the file has lines, each bounded: no number sizes anything.
            rows[v] = most
        }
        if rows.isEmpty { throw SeedError.usage("\(quoted(path)) holds no plan: save what seed-split --plan prints") }
        return rows
    }
}
