import Foundation
import SeedCore
import SeedIO

/// The stream header's JSON payload: what the stream is and which stages
/// made it. Each encoding stage appends itself to `stages`; its `-d` removes it.
public struct StreamMetadata: JSONPayload, Equatable, Sendable {
    public var format: Int
    public var session: String
    public var created: String
    public var stages: [Stage]
    /// A repair stream (seed-snapshot --repair): the session it mends.
    public var repairOf: String?
    /// An increment (seed-snapshot --incremental): the session of the
    /// state it goes on from.
    public var incrementOf: String?

    public struct Stage: Codable, Equatable, Sendable {
        public var tool: String
        public var version: String
        public var settings: [String: String]?
        public init(tool: String, version: String = SeedVersion.current, settings: [String: String]? = nil) {
            self.tool = tool
            self.version = version
            self.settings = settings
        }
    }

    public init(session: String = UUID().uuidString.lowercased(), created: Date = Date(), stages: [Stage]) {
        format = 1
        self.session = session
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        self.created = f.string(from: created)
        self.stages = stages
    }

    public static let notValid = "stream header is not valid JSON metadata"

    public func check(record: String) throws {
        guard format == 1 else { throw SeedError.data("\(record): stream format \(format) is not supported (this is format 1)") }
        try Session.check(session, record: record)
        if let r = repairOf { try Session.check(r, record: record) }
        if let b = incrementOf { try Session.check(b, record: record) }
        if repairOf != nil && incrementOf != nil { throw SeedError.data("\(record): a stream is a repair or an increment, not both") }
        if !StreamMetadata.isRFC3339(created) { throw SeedError.data("\(record): created \(quoted(created)) is not an RFC 3339 time") }
        // What the snapshot stage says its record size is, it must be.
        if let given = stages.first(where: { $0.tool == "seed-snapshot" })?.settings?["recordSize"],
            StreamMetadata.recordSize(given) == nil
        {
            throw SeedError.data("\(record): recordSize \(quoted(given)) is not a multiple of 512 from 4096 to 33554432")
        }
    }

    /// A record size as seed-stream(5) allows it: decimal digits only, a
    /// multiple of 512 from 4 KiB to 32 MiB.
    public static func recordSize(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 9, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let n = UInt64(text),
            n >= 4096, n <= 32 << 20, n % 512 == 0
        else { return nil }
        return n
    }

    /// RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or ±HH:MM.
    public static func isRFC3339(_ s: String) -> Bool {
        let b = Array(s.utf8)
        func digits(_ r: Range<Int>) -> Bool { r.upperBound <= b.count && b[r].allSatisfy { (0x30...0x39).contains($0) } }
        guard b.count >= 20, digits(0..<4), b[4] == 0x2d, digits(5..<7), b[7] == 0x2d, digits(8..<10), b[10] == 0x54 || b[10] == 0x74,
            digits(11..<13), b[13] == 0x3a, digits(14..<16), b[16] == 0x3a, digits(17..<19)
        else { return false }
        var i = 19
        if b[i] == 0x2e {
            i += 1
            let start = i
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
            if i == start { return false }
        }
        guard i < b.count else { return false }
        if b[i] == 0x5a || b[i] == 0x7a { return i + 1 == b.count }
        return (b[i] == 0x2b || b[i] == 0x2d) && i + 6 == b.count && digits(i + 1..<i + 3) && b[i + 3] == 0x3a && digits(i + 4..<i + 6)
    }
}

/// The end record's JSON payload: totals the stream's producer vouches for.
public struct StreamTotals: JSONPayload, Equatable, Sendable {
    public var entries: UInt64
    public var archiveBytes: UInt64
    public var dataRecords: UInt64
    public var indexRecords: UInt64
    public var warnings: UInt64
    /// How many volumes the stream was split into (seed-split; removed again
    /// by seed-split -d).
    public var volumes: UInt32?
    /// An increment's change lines (deletions and renames).
    public var changes: UInt64?

    public init(entries: UInt64 = 0, archiveBytes: UInt64 = 0, dataRecords: UInt64 = 0, indexRecords: UInt64 = 0, warnings: UInt64 = 0) {
        self.entries = entries
        self.archiveBytes = archiveBytes
        self.dataRecords = dataRecords
        self.indexRecords = indexRecords
        self.warnings = warnings
    }

    public static let notValid = "end record is not valid JSON totals"
}

/// A session id: a UUID in its 36-character text form, lower-case hex.
/// It names journal files, so nothing else is accepted from a stream.
public enum Session {
    public static func isValid(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != 0x2d { return false }
            } else if !((0x30...0x39).contains(c) || (0x61...0x66).contains(c)) {
                return false
            }
        }
        return true
    }

    package static func check(_ s: String, record: String) throws {
        if !isValid(s) { throw SeedError.data("\(record): session id is not a lower-case UUID") }
    }
}
