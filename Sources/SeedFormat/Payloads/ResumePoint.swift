import SeedCore

/// The resume record's JSON payload (seed-stream(5), kind 7): where an
/// interrupted run goes on, in band, so that only the first stage of a
/// pipeline needs to be told to resume. Reserved: no tool writes one yet,
/// and a format 1 reader refuses the kind.
public struct ResumePoint: JSONPayload, Equatable, Sendable {
    /// The interrupted run's session, which the resumed run keeps.
    public var session: String
    /// The sequence number, in the stream before it was split, of the
    /// record the run goes on with.
    public var sequence: UInt64
    /// The volume that record goes into (0: a stream not split), and the
    /// byte offset in that volume's stream where it goes.
    public var volume: UInt32
    public var offset: UInt64
    /// Bytes of the resumed data the receiving side already has and drops.
    public var discard: UInt64

    public init(session: String, sequence: UInt64, volume: UInt32, offset: UInt64, discard: UInt64) {
        (self.session, self.sequence, self.volume, self.offset, self.discard) = (session, sequence, volume, offset, discard)
    }

    public static let notValid = "resume record is not valid"

    public func check(record: String) throws { try Session.check(session, record: record) }
}
