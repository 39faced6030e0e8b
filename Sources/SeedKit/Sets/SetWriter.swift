import Foundation
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// One volume of a drive set being written (seed-writeblk(1), SETS): its
/// K data members and M parity members, each a drive with its own sink
/// (and so its own writing thread: every drive is written at once), the
/// placement that deals the records, and the parity of each stripe.
final class SetJob {
    let begin: VolumeBegin
    let set: SetGeometry
    /// The data members, then the parity members.
    let members: [DriveJob]
    var placement: SetPlacement
    var parity: StripeParity?
    var encrypted = false

    init(begin: VolumeBegin, set: SetGeometry, members: [DriveJob]) throws {
        self.begin = begin
        self.set = set
        self.members = members
        placement = SetPlacement(data: set.data)
        for (i, m) in members.enumerated() {
            m.label.set = set
            m.label.member = i + 1
        }
    }

    /// Starts every member's sink, once its label says it is being written.
    func start(checkpoint: UInt64, verify: Bool) throws {
        for m in members {
            m.sink = ChunkSink(target: m.target, at: m.label.streamOffset, checkpoint: checkpoint, checksums: verify)
        }
        if set.parity > 0 {
            parity = try StripeParity(set, sinks: members[set.data...].map { $0.sink! })
        }
    }

    /// Puts one record on the member the placement rule names, or on every
    /// data member, and into the parity.
    func put(_ header: RecordHeader, _ payload: UnsafeRawBufferPointer) throws {
        let size = UInt64(RecordHeader.size) + UInt64(payload.count)
        switch placement.place(header.kind, size: size) {
        case .every:
            for i in 0..<set.data { try put(header, payload, on: i) }
        case .member(let m, _):
            try put(header, payload, on: m)
        }
    }

    private func put(_ header: RecordHeader, _ payload: UnsafeRawBufferPointer, on i: Int) throws {
        let sink = members[i].sink!
        try header.encodedBytes { h in
            try sink.append(h)
            parity?.append(h, member: i)
        }
        try sink.append(payload)
        parity?.append(payload, member: i)
        try parity?.codeReady()
    }

    /// The last stripes' parity, and every member's length in every label.
    func finishParity() throws {
        try parity?.finish()
        let lengths = placement.bytes
        for m in members { m.label.memberBytes = lengths }
    }
}

/// Reed-Solomon parity of a set's stripes as the data members' bytes come:
/// a stripe is coded, and its parity handed to the parity members' sinks,
/// once every data member holds it. Memory: per data member, the stripes
/// it is ahead of the shortest, which the placement rule keeps under the
/// longest record's length and one stripe more.
final class StripeParity {
    private let coder: ErasureCode
    private let stripe: Int
    private let sinks: [ChunkSink]
    /// Per data member: its whole stripes not yet coded, and the one filling.
    private var ready: [[ByteBuffer]]
    private var filling: [ByteBuffer]
    private var spare: [ByteBuffer] = []
    private let out: [ByteBuffer]
    private let zeros: ByteBuffer

    init(_ set: SetGeometry, sinks: [ChunkSink]) throws {
        coder = try ErasureCode(data: set.data, parity: set.parity)
        stripe = Int(set.stripe)
        self.sinks = sinks
        ready = Array(repeating: [], count: set.data)
        filling = (0..<set.data).map { _ in ByteBuffer(capacity: Int(set.stripe)) }
        out = (0..<set.parity).map { _ in ByteBuffer(capacity: Int(set.stripe)) }
        zeros = ByteBuffer(capacity: Int(set.stripe))
        memset(zeros.base, 0, stripe)
    }

    func append(_ b: UnsafeRawBufferPointer, member i: Int) {
        var done = 0
        while done < b.count {
            let f = filling[i]
            let n = min(b.count - done, stripe - f.count)
            (f.base + f.count).copyMemory(from: b.baseAddress! + done, byteCount: n)
            f.count += n
            done += n
            if f.count == stripe {
                ready[i].append(f)
                filling[i] = spare.popLast() ?? ByteBuffer(capacity: stripe)
                filling[i].count = 0
            }
        }
    }

    /// Codes every stripe all data members hold.
    func codeReady() throws {
        while ready.allSatisfy({ !$0.isEmpty }) { try codeStripe(ready.map { $0.first! }) }
    }

    /// Codes the rest: a member's last stripe and the stripes past its end
    /// are zeros beyond its bytes.
    func finish() throws {
        try codeReady()
        for i in filling.indices where filling[i].count > 0 {
            memset(filling[i].base + filling[i].count, 0, stripe - filling[i].count)
            filling[i].count = stripe
            ready[i].append(filling[i])
            filling[i] = ByteBuffer(capacity: stripe)
        }
        while ready.contains(where: { !$0.isEmpty }) { try codeStripe(ready.map { $0.first ?? zeros }) }
    }

    private func codeStripe(_ blocks: [ByteBuffer]) throws {
        coder.encode(data: blocks.map { UnsafeRawPointer($0.base) }, into: out.map(\.base), length: stripe)
        for (p, sink) in zip(out, sinks) { try sink.append(UnsafeRawBufferPointer(start: p.base, count: stripe)) }
        for i in ready.indices where !ready[i].isEmpty {
            spare.append(ready[i].removeFirst())
        }
    }
}
