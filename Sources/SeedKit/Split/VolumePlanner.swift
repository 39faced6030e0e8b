import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

/// Decides where volumes end. A volume's bytes are counted as they will
/// finally lie on its drive: the label area and tail padding seed-writeblk
/// adds, the records later stages add (the key record), every record with
/// the tag encryption adds to it, and room for the volume end record.
///
/// A volume for a drive set lies on its data members by the placement
/// rule (seed-stream(5), SETS): shared records on each, the others dealt to
/// the shortest. Dealing so, no member is longer than the shared bytes,
/// its share of the dealt bytes and the longest dealt record together,
/// and each record's cost is at least what it takes once encrypted: that
/// bound is what must fit each member's drive.
struct VolumePlanner {
    let drives: DriveSizes
    let budget: VolumeBudget
    let set: SetGeometry?
    private(set) var volume: UInt32 = 0
    private(set) var capacity: UInt64 = 0
    /// Bytes of the volume's stream placed so far, with their budgets.
    private(set) var used: UInt64 = 0
    /// Records placed in this volume after its begin record.
    private(set) var placed = 0
    /// For a set: the bytes on every member, those dealt, and the longest
    /// record dealt.
    private var shared: UInt64 = 0
    private var dealt: UInt64 = 0
    private var longest: UInt64 = 0

    init(drives: DriveSizes, budget: VolumeBudget, set: SetGeometry? = nil) {
        self.drives = drives
        self.budget = budget
        self.set = set
    }

    /// What the volume end record may take, with its tag.
    var endReserve: UInt64 { UInt64(RecordHeader.size) + VolumeEnd.maxPayload + budget.record }

    /// What a record with this payload length takes on the drive.
    func cost(_ payloadLength: UInt64) -> UInt64 { UInt64(RecordHeader.size) + payloadLength + budget.record }

    /// What one volume needs beyond the records it carries.
    func overhead(beginPayload: UInt64) -> UInt64 { budget.fixed + endReserve + UInt64(RecordHeader.size) + beginPayload }

    /// The next volume's number and drive size, or nil when no drive is left.
    func next() -> (UInt32, UInt64)? {
        drives.capacity(of: volume + 1).map { (volume + 1, $0) }
    }

    /// Starts volume `n` on a drive of `size` bytes with its begin record.
    mutating func start(_ n: UInt32, size: UInt64, beginPayload: UInt64) {
        volume = n
        capacity = size
        used = UInt64(RecordHeader.size) + beginPayload
        placed = 0
        (shared, dealt, longest) = (used, 0, 0)
    }

    /// Goes on with volume `n` of a resumed run, `used` bytes of it taken;
    /// in a set's volume, `longestMember` bytes of it on its longest data
    /// member (so `added` more, the records the resume puts on every
    /// member, on each).
    mutating func resume(_ n: UInt32, size: UInt64, used: UInt64, longestMember: UInt64? = nil, added: UInt64 = 0) {
        volume = n
        capacity = size
        self.used = used + added
        placed = 1
        (shared, dealt, longest) = ((longestMember ?? used) + added, 0, 0)
    }

    func fits(_ payloadLength: UInt64, kind: RecordKind = .data) -> Bool {
        let limit = capacity >= budget.fixed + endReserve ? capacity - budget.fixed - endReserve : 0
        guard let set else { return used + cost(payloadLength) <= limit }
        var next = self
        next.place(payloadLength, kind: kind)
        return next.memberBound(set) <= limit
    }

    mutating func place(_ payloadLength: UInt64, kind: RecordKind = .data) {
        let c = cost(payloadLength)
        used += c
        placed += 1
        if SetGeometry.isShared(kind) {
            shared += c
        } else {
            dealt += c
            longest = max(longest, c)
        }
    }

    /// The longest any data member's stream can be, placed by the rule.
    private func memberBound(_ set: SetGeometry) -> UInt64 {
        shared + (dealt + UInt64(set.data) - 1) / UInt64(set.data) + longest
    }

    /// The most the current volume can take on its drive (on each member's
    /// for a set), all stages done.
    var driveBytes: UInt64 { (set.map(memberBound) ?? used) + endReserve + budget.fixed }
}
