import SeedCore

/// The order seed-stream(5) requires of a stream's records, checked one
/// header at a time: the sequence follows on (no record missing, repeated
/// or reordered), each kind stands where it may (one stream header, before
/// any data, index or end record; a key record right after the stream
/// header or a volume begin; one end record, and nothing after it), and
/// in a stream split into volumes every record lies inside its own volume.
///
/// It knows nothing of where headers come from: `RecordReader` frames
/// them from the start of a stream, and a reader that starts in the middle
/// of a volume (one file from one drive) starts the order there.
public struct StreamOrder {
    /// How messages name the input.
    public let source: String
    /// Whether the stream is split into volumes (known after the first record).
    public private(set) var volumed = false
    /// The volume being read, between its begin and end records.
    public private(set) var currentVolume: UInt32?
    public private(set) var sawEnd = false
    public private(set) var recordsRead: UInt64 = 0
    public private(set) var lastSequence: UInt64?
    private var expectedSequence: UInt64?
    private var lastVolume: UInt32 = 0
    private var endInVolume = false
    private var lastKind: RecordKind?
    private var sawStreamHeader = false
    /// A stop record was read: nothing may follow, and the input may end.
    public private(set) var sawStop = false

    /// The order of a whole stream, from its first record.
    public init(source: String) { self.source = source }

    /// The order from record `sequence` of `volume` on (volume 0: a stream
    /// not split into volumes), past its stream header and key record.
    public init(source: String, volume: UInt32, sequence: UInt64) {
        self.source = source
        volumed = volume != 0
        currentVolume = volumed ? volume : nil
        expectedSequence = sequence
        lastSequence = sequence > 0 ? sequence - 1 : nil
        recordsRead = 1
        sawStreamHeader = true
        lastKind = .data
    }

    /// The sequence number the next record must have.
    public var nextSequence: UInt64 { volumed && currentVolume == nil ? 0 : lastSequence.map { $0 &+ 1 } ?? 0 }

    /// Checks that a record belongs where it lies; `loc` names it.
    public func check(_ h: RecordHeader, _ loc: String) throws {
        if recordsRead == 0 && h.kind != .streamHeader && h.kind != .volumeBegin && h.kind != .resume && h.kind != .stop {
            throw SeedError.data("\(source): \(loc): stream does not start with a stream header, volume begin, resume or stop record")
        }
        if sawStop { throw SeedError.data("\(source): \(loc): \(h.kind) record after the stop record") }
        // A stream that is a stop record alone: a run found nothing to send.
        if recordsRead == 0 && h.kind == .stop {
            if h.volume != 0 || h.sequence != 0 { throw SeedError.data("\(source): \(loc): a stop record alone must be record 0 of volume 0") }
            return
        }
        // A resumed run's stream starts with its resume record, in the
        // volume it goes on in, numbered as it lies there.
        if recordsRead == 0 && h.kind == .resume { return }
        let volumed = recordsRead == 0 ? h.kind == .volumeBegin : self.volumed
        try checkKind(h, loc, volumed: volumed)
        if !volumed {
            if h.kind == .volumeBegin || h.kind == .volumeEnd || h.volume != 0 {
                throw SeedError.data("\(source): \(loc): volume \(h.volume) record in a stream that is not split into volumes")
            }
        } else if h.kind == .volumeBegin {
            if let v = currentVolume {
                throw SeedError.data("\(source): \(loc): volume \(v) has no volume end record before volume \(h.volume) begins (truncated volume)")
            }
            if h.volume == 0 { throw SeedError.data("\(source): \(loc): volume begin record for volume 0") }
            if h.sequence != 0 { throw SeedError.data("\(source): \(loc): volume \(h.volume) does not begin with record 0") }
            return
        } else {
            guard let v = currentVolume else {
                throw SeedError.data("\(source): \(loc): \(h.kind) record after the end of volume \(lastVolume) (expected a volume begin)")
            }
            if h.volume != v {
                throw SeedError.data("\(source): \(loc): record of volume \(h.volume) inside volume \(v) (moved from another volume)")
            }
            if endInVolume && h.kind != .volumeEnd {
                throw SeedError.data("\(source): \(loc): \(h.kind) record after the end record")
            }
        }
        if let want = expectedSequence, h.sequence != want {
            throw SeedError.data("\(source): \(loc): expected record \(want) (a record is missing, repeated or out of order)", code: "record-out-of-order")
        }
    }

    /// The places seed-stream(5) allows each kind.
    private func checkKind(_ h: RecordHeader, _ loc: String, volumed: Bool) throws {
        switch h.kind {
        case .streamHeader:
            if sawStreamHeader { throw SeedError.data("\(source): \(loc): a second stream header") }
        case .key:
            let after: RecordKind = volumed ? .volumeBegin : .streamHeader
            if lastKind != after && lastKind != .resume {
                throw SeedError.data("\(source): \(loc): key record out of place (a key record may only follow the \(after) or a resume record)")
            }
        case .end where sawEnd:
            throw SeedError.data("\(source): \(loc): a second end record")
        case .data, .index, .changes, .end, .resume:
            if !volumed && !sawStreamHeader { throw SeedError.data("\(source): \(loc): \(h.kind) record before the stream header") }
        default: break
        }
    }

    /// Takes a checked record as read.
    public mutating func accept(_ h: RecordHeader) {
        if recordsRead == 0 {
            volumed = h.kind == .volumeBegin || (h.kind == .resume && h.volume != 0)
            if h.kind == .resume {
                sawStreamHeader = true
                if volumed { currentVolume = h.volume }
            }
        }
        if h.kind == .stop { sawStop = true }
        lastKind = h.kind
        if h.kind == .streamHeader { sawStreamHeader = true }
        expectedSequence = h.sequence &+ 1
        lastSequence = h.sequence
        recordsRead += 1
        if h.kind == .end {
            sawEnd = true
            endInVolume = volumed
        }
        if volumed {
            if h.kind == .volumeBegin { currentVolume = h.volume }
            if h.kind == .volumeEnd {
                currentVolume = nil
                lastVolume = h.volume
                endInVolume = false
            }
        }
    }

    /// Whether the input may end here; else the error that says what is cut off.
    public func checkEnd(at position: UInt64) throws {
        if recordsRead == 0 { throw SeedError.data("\(source): empty input, not a seed stream") }
        if sawStop { return }
        if volumed {
            guard let v = currentVolume else { return }
            throw SeedError.data("\(source): volume \(v) truncated after record \(lastSequence ?? 0) at byte \(position): no volume end record")
        }
        if !sawEnd {
            throw SeedError.data("\(source): stream truncated after record \(lastSequence ?? 0) at byte \(position): no end record")
        }
    }
}
