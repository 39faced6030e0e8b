import SeedCore

/// A drive set's shape (seed-stream(5), SETS): a volume spread over `data`
/// drives written at once, each holding whole records, and `parity` more
/// drives holding Reed-Solomon parity over stripes of `stripe` bytes of
/// the data drives. It travels in the volume begin record and in every
/// member's label; each member's capacity is the volume's.
public struct SetGeometry: Codable, Equatable, Hashable, Sendable {
    public var data: Int
    public var parity: Int
    public var stripe: UInt64

    /// ISA-L's Cauchy matrices stay invertible far beyond this; it bounds
    /// what a stream can make a reader allocate and open.
    public static let maxMembers = 64
    public static let standardStripe: UInt64 = 1 << 20

    public init(data: Int, parity: Int, stripe: UInt64 = SetGeometry.standardStripe) {
        self.data = data
        self.parity = parity
        self.stripe = stripe
    }

    public var members: Int { data + parity }

    /// Every number a stream or label gives is checked here before it
    /// sizes a buffer or a loop.
    public func check(_ what: String) throws {
        guard data >= 1, parity >= 0, data <= SetGeometry.maxMembers, parity <= SetGeometry.maxMembers - data else {
            throw SeedError.data("\(what): a drive set of \(data) data and \(parity) parity drives is not valid (1 to \(SetGeometry.maxMembers) drives in all)")
        }
        guard stripe >= 4096, stripe <= 64 << 20, stripe % 4096 == 0 else {
            throw SeedError.data("\(what): a stripe of \(stripe) bytes is not valid (a multiple of 4096 up to 64 MiB)")
        }
    }

    /// Whether a record of this kind goes on every data member (the clear
    /// records a member needs to be read alone, and the volume's and the
    /// stream's ends) rather than on one.
    public static func isShared(_ kind: RecordKind) -> Bool { kind != .data && kind != .index && kind != .changes }
}

/// Where each record of a volume lies on its set's data members: the rule
/// seed-stream(5) gives, so that seed-journal, which sees the stream before
/// seed-writeblk does, records the same drive and offset. A shared record
/// goes on every data member; any other record goes on the member whose
/// stream is shortest so far, the lowest-numbered of those. Each member's
/// stream is so the volume's records it holds, in order, and no member is
/// longer than another by more than one record.
public struct SetPlacement: Sendable {
    public let data: Int
    /// Each data member's stream length so far, in bytes.
    public private(set) var bytes: [UInt64]

    public init(data: Int) {
        precondition(data >= 1)
        self.data = data
        bytes = [UInt64](repeating: 0, count: data)
    }

    /// Goes on from the members' lengths so far (a resumed run).
    public init(bytes: [UInt64]) {
        precondition(!bytes.isEmpty)
        data = bytes.count
        self.bytes = bytes
    }

    public enum Place: Equatable, Sendable {
        /// On every data member, at each one's own offset.
        case every
        /// On one member (0-based), at this offset of its stream.
        case member(Int, offset: UInt64)
    }

    /// Places the next record of the volume, `size` bytes with its header.
    public mutating func place(_ kind: RecordKind, size: UInt64) -> Place {
        if SetGeometry.isShared(kind) {
            for i in bytes.indices { bytes[i] += size }
            return .every
        }
        let m = shortest
        let at = bytes[m]
        bytes[m] += size
        return .member(m, offset: at)
    }

    /// The member the next record that is not shared goes on.
    public var shortest: Int {
        var m = 0
        for i in 1..<data where bytes[i] < bytes[m] { m = i }
        return m
    }
}
