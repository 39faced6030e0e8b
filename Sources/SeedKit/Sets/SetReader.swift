import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Reads one volume of a drive set back as the stream it was
/// (seed-writeblk(1), SETS): its data members' records merged again in
/// sequence order, a shared record once, and the bytes of a data member
/// not given rebuilt, stripe by stripe, from any K members that are.
final class SetReader {
    struct Member {
        let path: String
        let label: VolumeLabel
        let fd: Int32
        var reads = SectorReads()
        var cut = false
    }

    let volume: UInt32
    let set: SetGeometry
    /// Every data member's stream length, as the labels give it.
    let lengths: [UInt64]
    /// The members given, by place (0-based: data, then parity).
    private var members: [Int: Member] = [:]
    /// How to rebuild the data members not given; nil when all are.
    private let rebuilder: ErasureCode.Rebuilder?
    /// The last stripe rebuilt, for each member rebuilt.
    private var cachedStripe: UInt64 = .max
    private var cache: [Int: ByteBuffer] = [:]
    private let stripeBuffers: [ByteBuffer]
    private let payload = ByteBuffer(capacity: 1 << 20)

    /// The data members read from drives (with --partial, only those given).
    var given: [Int] { (0..<set.data).filter { members[$0] != nil } }
    /// The data members rebuilt from the others.
    var rebuilt: [Int] { rebuilder?.missing.filter { $0 < set.data } ?? [] }

    /// Opens the members given; `partial` reads with fewer than K members,
    /// the data members given alone.
    init(volume: UInt32, members given: [(path: String, label: VolumeLabel)], partial: Bool) throws {
        let first = given[0].label
        self.volume = first.volume
        set = first.set!
        lengths = first.memberBytes
        for (path, l) in given {
            guard l.set == set, l.memberBytes == lengths, l.capacity == first.capacity, l.streamOffset == first.streamOffset else {
                throw SeedError.data(
                    "\(quoted(path)) is member \(l.member) of volume \(l.volume), but its set is not the one \(quoted(given[0].path)) is in "
                        + "(shape, lengths or capacity differ): members of different sets are never read together")
            }
        }
        let present = Set(given.map { $0.label.member - 1 })
        if present.isSuperset(of: 0..<set.data) {
            rebuilder = nil
        } else if let r = try ErasureCode(data: set.data, parity: set.parity).rebuilder(present: present) {
            rebuilder = r
        } else if partial {
            rebuilder = nil
        } else {
            let missing = (1...set.members).filter { !present.contains($0 - 1) }
            throw SeedError.data(
                "volume \(volume) is a set of \(set.data)+\(set.parity) drives and members \(missing.map(String.init).joined(separator: ", ")) "
                    + "are missing: any \(set.data) of its \(set.members) are needed",
                hint: "give more of its drives, or --partial to read its data drives given alone")
        }
        let stripe = Int(set.stripe)
        stripeBuffers = (0..<set.data).map { _ in ByteBuffer(capacity: stripe) }
        for m in rebuilder?.missing ?? [] { cache[m] = ByteBuffer(capacity: stripe) }
        for (path, l) in given where rebuilder != nil || l.member <= set.data {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw SeedError.io("cannot open \(quoted(path)): \(errnoMessage())") }
            members[l.member - 1] = Member(path: path, label: l, fd: fd)
        }
    }

    deinit { for m in members.values { close(m.fd) } }

    /// Writes the volume's records, in order, to `out`; the bytes written.
    func stream(to out: FileDescriptor, progress: (UInt64) -> Void) throws -> UInt64 {
        let data = given.count == set.data || rebuilder != nil ? Array(0..<set.data) : given
        var offsets = [UInt64](repeating: 0, count: set.data)
        var heads = [RecordHeader?](repeating: nil, count: set.data)
        var total: UInt64 = 0
        var header = [UInt8](repeating: 0, count: RecordHeader.size)
        while true {
            for i in data where heads[i] == nil && offsets[i] < lengths[i] {
                try header.withUnsafeMutableBytes { try read(member: i, into: $0.baseAddress!, count: RecordHeader.size, at: offsets[i]) }
                switch header.withUnsafeBytes({ RecordHeader.decode($0.baseAddress!) }) {
                case .success(let h): heads[i] = h
                case .failure(let p):
                    throw SeedError.data("volume \(volume), member \(i + 1) at byte \(offsets[i]) of its stream: \(p.message)")
                }
            }
            guard let next = data.compactMap({ heads[$0] }).min(by: { $0.sequence < $1.sequence }) else { break }
            let holders = data.filter { heads[$0]?.sequence == next.sequence }
            let shared = SetGeometry.isShared(next.kind)
            if !shared && holders.count > 1 || shared && data.count == set.data && holders.count != set.data {
                throw SeedError.data(
                    "volume \(volume): record \(next.sequence) (\(next.kind)) lies on members \(holders.map { String($0 + 1) }.joined(separator: ", ")), "
                        + "not where the placement rule puts it")
            }
            let n = Int(next.payloadLength)
            payload.reserve(n)
            try read(member: holders[0], into: payload.base, count: n, at: offsets[holders[0]] + UInt64(RecordHeader.size))
            do {
                try next.encodedBytes { _ = try out.writeAll($0) }
                _ = try out.writeAll(UnsafeRawBufferPointer(start: payload.base, count: n))
            } catch let e as Errno { throw SeedError.cannotWrite("standard output", e) }
            for i in holders {
                offsets[i] += UInt64(RecordHeader.size) + UInt64(n)
                heads[i] = nil
            }
            total += UInt64(RecordHeader.size) + UInt64(n)
            progress(total)
        }
        return total
    }

    /// Problems met on the members read: (member, what) for each.
    var damage: [(String, String, Bool)] {
        members.values.sorted { $0.label.member < $1.label.member }.compactMap { m in
            if m.cut { return (m.path, "cut short", false) }
            if !m.reads.unreadable.isEmpty { return (m.path, "cannot read \(m.reads.describe()) of the drive (\(m.reads.bytesLost) bytes)", true) }
            return nil
        }
    }

    /// Member `i`'s stream bytes `at`..<`at+count`: read from its drive, or
    /// rebuilt; zeros past its length, as in its parity.
    private func read(member i: Int, into p: UnsafeMutableRawPointer, count: Int, at: UInt64) throws {
        guard count > 0 else { return }
        if members[i] != nil {
            readGiven(i, into: p, count: count, at: at)
            return
        }
        var done = 0
        while done < count {
            let x = at + UInt64(done)
            let j = x / set.stripe
            try rebuildStripe(j)
            let within = Int(x % set.stripe)
            let n = min(count - done, Int(set.stripe) - within)
            (p + done).copyMemory(from: cache[i]!.base + within, byteCount: n)
            done += n
        }
    }

    private func readGiven(_ i: Int, into p: UnsafeMutableRawPointer, count: Int, at: UInt64) {
        var m = members[i]!
        let length = i < set.data ? lengths[i] : m.label.streamBytes
        let have = at < length ? Int(min(UInt64(count), length - at)) : 0
        let n = have > 0 ? m.reads.read(m.fd, into: p, count: have, at: m.label.streamOffset + at) : 0
        if n < have { m.cut = true }
        memset(p + n, 0, count - n)
        members[i] = m
    }

    private func rebuildStripe(_ j: UInt64) throws {
        guard cachedStripe != j, let r = rebuilder else { return }
        for (b, s) in zip(stripeBuffers, r.sources) { readGiven(s, into: b.base, count: Int(set.stripe), at: j * set.stripe) }
        r.rebuild(
            sources: stripeBuffers.map { UnsafeRawPointer($0.base) }, into: r.missing.map { cache[$0]!.base }, length: Int(set.stripe))
        cachedStripe = j
    }
}
