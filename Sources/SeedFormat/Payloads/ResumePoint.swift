import SeedCore

/// The resume record's JSON payload (seed-stream(5), kind 7): where an
/// interrupted run goes on, in band, so that only the first stage of a
/// pipeline needs to be told to resume. Positions are those of the stream
/// as it lies on the drives (the journal's), except `sequence` and
/// `dataRecord`, which count the stream before it was split.
public struct ResumePoint: JSONPayload, Equatable, Sendable {
    /// The interrupted run's session, which the resumed run keeps.
    public var session: String
    /// This record's sequence number in the stream before it was split
    /// (what seed-split -d gives back); the records after it follow on.
    public var sequence: UInt64
    /// Data records before it in that stream.
    public var dataRecord: UInt64
    /// The volume it goes into (0: a stream not split), its sequence number
    /// there, and the byte offset in that volume's stream where it goes.
    public var volume: UInt32
    public var volumeSequence: UInt64
    public var offset: UInt64
    /// Key records before it in its volume: its sequence number there once
    /// the volume is decrypted is `volumeSequence` less these.
    public var keyRecords: UInt64
    /// The record before it on the drive: where it starts and its SHA-256
    /// (header and payload), as the journal has them.
    public var previousOffset: UInt64
    public var previousSHA256: String
    /// The stages that made the resumed stream so far, as a stream
    /// header's: each encoding stage adds itself.
    public var stages: [StreamMetadata.Stage]
    /// In a drive set's volume (seed-stream(5), Sets): each data member's
    /// stream length at the point, and the last record on it before the
    /// point (its offset in the member's stream and its SHA-256), member 1
    /// first.
    public var memberBytes: [UInt64]?
    public var memberPrevious: [MemberRecord]?

    public struct MemberRecord: Codable, Equatable, Sendable {
        public var offset: UInt64
        public var sha256: String
        public init(offset: UInt64, sha256: String) { (self.offset, self.sha256) = (offset, sha256) }
    }

    public init(
        session: String, sequence: UInt64, dataRecord: UInt64, volume: UInt32, volumeSequence: UInt64, offset: UInt64,
        keyRecords: UInt64, previousOffset: UInt64, previousSHA256: String, stages: [StreamMetadata.Stage]
    ) {
        self.keyRecords = keyRecords
        (self.session, self.sequence, self.dataRecord, self.volume) = (session, sequence, dataRecord, volume)
        (self.volumeSequence, self.offset, self.previousOffset, self.previousSHA256) = (volumeSequence, offset, previousOffset, previousSHA256)
        self.stages = stages
    }

    public static let notValid = "resume record is not valid"

    public func check(record: String) throws {
        try Session.check(session, record: record)
        try FormatLimits.check(
            [
                "sequence": sequence, "dataRecord": dataRecord, "volumeSequence": volumeSequence, "offset": offset, "keyRecords": keyRecords,
                "previousOffset": previousOffset,
            ], record: record)
        if let m = memberBytes {
            guard !m.isEmpty, m.count <= SetGeometry.maxMembers, let p = memberPrevious, p.count == m.count else {
                throw SeedError.data("\(record): resume record's memberBytes and memberPrevious do not hold together")
            }
            for (b, r) in zip(m, p) {
                try FormatLimits.check(["memberBytes": b, "memberPrevious offset": r.offset], record: record)
                guard r.offset < b, Hex.decode(r.sha256)?.count == 32 else {
                    throw SeedError.data("\(record): resume record's memberPrevious is not a record before its member's length")
                }
            }
        } else if memberPrevious != nil {
            throw SeedError.data("\(record): resume record with memberPrevious but no memberBytes")
        }
        if Hex.decode(previousSHA256)?.count != 32 { throw SeedError.data("\(record): resume record's previousSHA256 is not a SHA-256 in hex") }
        if volumeSequence == 0 || previousOffset >= offset || keyRecords >= volumeSequence {
            throw SeedError.data("\(record): resume record with no record before it (sequence \(volumeSequence), offset \(offset))")
        }
    }

    /// The stage list as a stream header's metadata, for `editStages`.
    public var metadata: StreamMetadata {
        get { StreamMetadata(session: session, stages: stages) }
        set { stages = newValue.stages }
    }
}

/// The stop record (seed-stream(5), kind 9): the first stage of a pipeline
/// was told to stop, and every stage after it ends its run there, with
/// everything it wrote durable, and exits with status 75 (resumable). It
/// never reaches a drive.
public enum StopRecord {
    /// Its payload: empty.
    public static let payload: [UInt8] = []

    /// The payload of the stop record a first stage sends alone when its
    /// journals say the session is whole already (`--resume` on a finished
    /// seed): every stage passes it on, writes nothing, and exits 0.
    public struct Complete: JSONPayload, Equatable {
        public var complete = true
        public var session: String
        public init(session: String) { self.session = session }
        public static let notValid = "stop record's payload is not valid"
        public func check(record: String) throws {
            try Session.check(session, record: record)
            if !complete { throw SeedError.data("\(record): \(Complete.notValid)") }
        }
    }

    /// The session a stop record says is complete; nil for a plain stop.
    public static func complete(_ payload: UnsafeRawBufferPointer, record: String) throws -> String? {
        payload.isEmpty ? nil : try Complete.decode(payload, record: record).session
    }
}
