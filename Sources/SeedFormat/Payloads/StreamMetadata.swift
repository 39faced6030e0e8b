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
