import SeedCore
import SeedFormat

/// A first stage resuming a staging file written after seed-split: the
/// volume it goes on in holds one record more than the file (the resume
/// record), so its volume end is counted again from the resume record on
/// (seed-stream(5), kind 5); and each later volume's begin moves on by the
/// resume records before it, its volume end counted again with the new
/// begin. The split stage's bookkeeping, kept out of the runner.
struct ResumedVolumes {
    /// The volume being counted again, its tally so far, and how much later
    /// its records come than in the file.
    private var counting: (volume: UInt32, tally: VolumeTally, shift: UInt64)?
    /// How many records the resume records before a later volume add to
    /// where its volume begin says it starts.
    private var firstRecordShift: UInt64 = 0

    /// The run goes on in `volume` with the resume record `header`.
    mutating func resumed(in volume: UInt32, with header: RecordHeader, firstRecordShift: UInt64) {
        guard volume != 0 else { return }
        var tally = VolumeTally()
        tally.add(header)
        // The records after the resume record come one later than in the input.
        counting = (volume, tally, 1)
        self.firstRecordShift = firstRecordShift
    }

    /// The payload record `r` goes on with instead of its own (a volume
    /// begin or end counted again), or nil when it goes on as read.
    mutating func payload(for r: Record, at loc: String) throws -> [UInt8]? {
        if r.header.kind == .volumeEnd, let v = counting, v.volume == r.header.volume {
            counting = nil
            return v.tally.end(volume: v.volume).encoded()
        }
        if r.header.kind == .volumeBegin && firstRecordShift > 0 {
            var b = try VolumeBegin.decode(r.payload, record: loc)
            b.firstRecord += firstRecordShift
            let payload = b.encoded()
            var tally = VolumeTally()
            tally.add(ResumedVolumes.header(r.header, for: payload))
            counting = (r.header.volume, tally, 0)
            return payload
        }
        if let v = counting, v.volume == r.header.volume {
            var h = r.header
            h.sequence += v.shift
            counting!.tally.add(h)
        }
        return nil
    }

    /// `h` for a control record's new payload.
    static func header(_ h: RecordHeader, for payload: [UInt8]) -> RecordHeader {
        var h = h
        (h.payloadLength, h.rawLength) = (UInt64(payload.count), UInt64(payload.count))
        h.payloadCRC = payload.withUnsafeBytes { CRC32.checksum($0) }
        return h
    }
}
