import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

/// Decides where volumes end. A volume's bytes are counted as they will
/// finally lie on its drive: the label area and tail padding seed-writeblk
/// adds, the records later stages add (the key record), every record with
/// the tag encryption adds to it, and room for the volume end record.
struct VolumePlanner {
    let drives: DriveSizes
    let budget: VolumeBudget
    private(set) var volume: UInt32 = 0
    private(set) var capacity: UInt64 = 0
    /// Bytes of the volume's stream placed so far, with their budgets.
    private(set) var used: UInt64 = 0
    /// Records placed in this volume after its begin record.
    private(set) var placed = 0

    init(drives: DriveSizes, budget: VolumeBudget) {
        self.drives = drives
        self.budget = budget
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
    }

    /// Goes on with volume `n` of a resumed run, `used` bytes of it taken.
    mutating func resume(_ n: UInt32, size: UInt64, used: UInt64) {
        volume = n
        capacity = size
        self.used = used
        placed = 1
    }

    func fits(_ payloadLength: UInt64) -> Bool {
        let limit = capacity >= budget.fixed + endReserve ? capacity - budget.fixed - endReserve : 0
        return used + cost(payloadLength) <= limit
    }

    mutating func place(_ payloadLength: UInt64) {
        used += cost(payloadLength)
        placed += 1
    }

    /// The most the current volume can take on its drive, all stages done.
    var driveBytes: UInt64 { used + endReserve + budget.fixed }
}
