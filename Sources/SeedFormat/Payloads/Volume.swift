import Crypto
import Foundation
import SeedCore
import SeedIO

/// The bytes later stages add to a volume, which seed-split keeps free so
/// that every volume still fits its drive once encrypted and written
/// (seed-split(1), OVERHEAD). seed-encrypt and seed-writeblk check that they
/// stay within what the volume begin record says was kept for them.
public struct VolumeBudget: Codable, Equatable, Sendable {
    /// Per record after the volume begin: seed-encrypt's 16-byte AEAD tag.
    public var record: UInt64
    /// Per volume, for records later stages add: seed-encrypt's key record.
    public var volume: UInt64
    /// Per volume, on the drive before the stream: seed-writeblk's label
    /// area, which also aligns the stream for direct I/O.
    public var label: UInt64
    /// Per volume, on the drive after the stream: padding to the drive's
    /// write alignment.
    public var tail: UInt64

    public static let standard = VolumeBudget(record: 16, volume: 64 << 10, label: 1 << 20, tail: 4096)

    /// What a volume's capacity loses before any record is placed.
    public var fixed: UInt64 { volume + label + tail }
}

/// The volume begin record's JSON payload.
public struct VolumeBegin: JSONPayload, Equatable, Sendable {
    public var format: Int
    public var session: String
    public var volume: UInt32
    /// The drive's size in bytes, as split planned the volume for it.
    public var capacity: UInt64
    /// Sequence number, in the joined stream, of the volume's first record
    /// after this one: seed-split -d checks the volumes follow on.
    public var firstRecord: UInt64
    /// How many data records come before this volume's first one: data
    /// record numbers are what the index's `record` field counts.
    public var firstDataRecord: UInt64?
    public var budget: VolumeBudget
    /// The stages that made the stream, up to and including seed-split.
    public var stages: [StreamMetadata.Stage]?
    /// The drive set the volume is spread over, written at once: each of
    /// its drives is `capacity` bytes (seed-stream(5), SETS).
    public var set: SetGeometry?
    public var tool: String

    public init(
        session: String, volume: UInt32, capacity: UInt64, firstRecord: UInt64, firstDataRecord: UInt64? = nil,
        budget: VolumeBudget, stages: [StreamMetadata.Stage]? = nil, set: SetGeometry? = nil
    ) {
        format = 1
        self.session = session
        self.volume = volume
        self.capacity = capacity
        self.firstRecord = firstRecord
        self.firstDataRecord = firstDataRecord
        self.budget = budget
        self.stages = stages
        self.set = set
        tool = "seed-split \(SeedVersion.current)"
    }

    public static let notValid = "volume begin record is not valid"

    public func check(record: String) throws {
        guard format == 1 else { throw SeedError.data("\(record): volume format \(format) is not supported (this is format 1)") }
        try Session.check(session, record: record)
        if volume == 0 { throw SeedError.data("\(record): volume begin record for volume 0") }
        try set?.check(record)
    }
}

/// The volume end record's JSON payload: what the volume holds, counted
/// from its begin record up to (not including) this one.
public struct VolumeEnd: JSONPayload, Equatable, Sendable {
    public var volume: UInt32
    public var records: UInt64
    public var bytes: UInt64
    /// SHA-256 over the headers of those records, in order. Each header
    /// carries its payload's length and CRC-32, so the digest pins down
    /// every record's kind, place, length and checksum.
    public var headerDigest: String

    public static let notValid = "volume end record is not valid"

    /// The longest payload a volume end can have: split keeps room for it.
    public static let maxPayload: UInt64 = {
        let v = VolumeEnd(volume: .max, records: .max, bytes: .max, headerDigest: String(repeating: "f", count: 64))
        return UInt64(v.encoded().count)
    }()
}

/// Counts and digests the records of one volume as they pass.
package struct VolumeTally {
    package init() {}

    package var records: UInt64 = 0
    package var bytes: UInt64 = 0
    private var sha = SHA256()

    package mutating func add(_ header: RecordHeader) {
        withUnsafeTemporaryAllocation(byteCount: RecordHeader.size, alignment: 8) { b in
            header.encode(into: b.baseAddress!)
            sha.update(bufferPointer: UnsafeRawBufferPointer(b))
        }
        records += 1
        bytes += UInt64(RecordHeader.size) + header.payloadLength
    }

    package func end(volume: UInt32) -> VolumeEnd {
        VolumeEnd(volume: volume, records: records, bytes: bytes, headerDigest: Hex.encode(Array(sha.finalize())))
    }
}
