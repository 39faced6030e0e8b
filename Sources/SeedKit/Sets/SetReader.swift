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
/// not given rebuilt, stripe by stripe, from any K members that are. A
/// record that fails its checksums on a member, or lies on sectors that
/// cannot be read, is mended: the stripes it lies in are rebuilt from the
/// other members and checked again.
final class SetReader {
    struct Member {
        let path: String
        let label: VolumeLabel
        let fd: Int32
        var reads = SectorReads()
        var cut = false
    }

    /// A stripe of a member rebuilt from the others because a record in it
    /// was damaged there.
    struct Mend: Equatable {
        var member: Int
        var stripe: UInt64
        var records: [UInt64]
    }

    let volume: UInt32
    let set: SetGeometry
    /// Every data member's stream length, as the labels give it.
    let lengths: [UInt64]
    private let code: ErasureCode
    /// The members given, by place (0-based: data, then parity).
    private var members: [Int: Member] = [:]
    /// The members given, as the erasure code counts them.
    private let present: Set<Int>
    /// Stripes rebuilt, by stripe, for members read without the ones
    /// in the key's set (the members not given, or one found damaged).
    private var cacheKey: (UInt64, Set<Int>)?
    private var cache: [Int: ByteBuffer] = [:]
    private var rebuilders: [Set<Int>: ErasureCode.Rebuilder] = [:]
    private let stripeBuffers: [ByteBuffer]
    private let payload = ByteBuffer(capacity: 1 << 20)
    /// Every stripe mended, in the order met.
    private(set) var mended: [Mend] = []

    /// The data members read from drives (with --partial, only those given).
    var given: [Int] { (0..<set.data).filter { members[$0] != nil } }
    /// The data members rebuilt from the others.
    let rebuilt: [Int]

    /// Opens the members given; `partial` reads with fewer than K members,
    /// the data members given alone.
    init(volume: UInt32, members given: [(path: String, label: VolumeLabel)], partial: Bool, pread: SectorReads.Pread? = nil) throws {
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
        code = try ErasureCode(data: set.data, parity: set.parity)
        let have = Set(given.map { $0.label.member - 1 })
        present = have
        let enough = have.count >= set.data
        if !enough && !partial {
            let missing = (1...set.members).filter { !have.contains($0 - 1) }
            throw SeedError.data(
                "volume \(volume) is a set of \(set.data)+\(set.parity) drives and members \(missing.map(String.init).joined(separator: ", ")) "
                    + "are missing: any \(set.data) of its \(set.members) are needed",
                hint: "give more of its drives, or --partial to read its data drives given alone", code: "set-members-missing")
        }
        rebuilt = enough ? (0..<set.data).filter { !have.contains($0) } : []
        let stripe = Int(set.stripe)
        stripeBuffers = (0..<set.data).map { _ in ByteBuffer(capacity: stripe) }
        for (path, l) in given {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw SeedError.io("cannot open \(quoted(path)): \(errnoMessage())") }
            var m = Member(path: path, label: l, fd: fd)
            if let pread { m.reads.pread = pread }
            members[l.member - 1] = m
        }
    }

    deinit { for m in members.values { close(m.fd) } }

    /// Writes the volume's records, in order, to `out`; the bytes written.
    func stream(to out: FileDescriptor, progress: (UInt64) -> Void) throws -> UInt64 {
        let data = rebuilt.isEmpty ? given : Array(0..<set.data)
        var offsets = [UInt64](repeating: 0, count: set.data)
        var heads = [RecordHeader?](repeating: nil, count: set.data)
        var total: UInt64 = 0
        while true {
            for i in data where heads[i] == nil && offsets[i] < lengths[i] { heads[i] = try header(member: i, at: offsets[i]) }
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
            try self.payload(of: next, member: holders[0], at: offsets[holders[0]])
            if next.kind == .volumeBegin { try holdToLabels(UnsafeRawBufferPointer(start: payload.base, count: n)) }
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

    /// The volume begin on the members must say what their labels say:
    /// the same session, volume and set, else nothing of them is trusted.
    private func holdToLabels(_ p: UnsafeRawBufferPointer) throws {
        let label = members.values.first!.label
        let b = try VolumeBegin.decode(p, record: "volume \(volume) record 0")
        guard b.session == label.session, b.volume == volume, b.set == set, b.capacity == label.capacity else {
            let says = b.set.map { "a \($0.data)+\($0.parity) set with \($0.stripe)-byte stripes" } ?? "no set"
            throw SeedError.data(
                "volume \(volume): the members' labels say a \(set.data)+\(set.parity) set with \(set.stripe)-byte stripes of \(label.capacity)-byte drives, "
                    + "their stream's volume begin says \(says) of volume \(b.volume), \(b.capacity)-byte drives: the labels do not belong to the stream")
        }
    }

    /// The record header at `at` of member `i`'s stream, mended if it is
    /// damaged there and the others can give it back.
    private func header(member i: Int, at: UInt64) throws -> RecordHeader {
        var problem: RecordHeader.DecodeProblem?
        for mending in [false, true] {
            if mending && !canMend(i) { break }
            var h: Result<RecordHeader, RecordHeader.DecodeProblem> = .failure(.badMagic)
            try withUnsafeTemporaryAllocation(byteCount: RecordHeader.size, alignment: 8) { b in
                try read(member: i, into: b.baseAddress!, count: RecordHeader.size, at: at, mending: mending)
                h = RecordHeader.decode(b.baseAddress!)
            }
            switch h {
            case .success(let header):
                if mending { noteMend(i, at, UInt64(RecordHeader.size), header.sequence) }
                return header
            case .failure(let p): problem = problem ?? p
            }
        }
        throw SeedError.data("volume \(volume), member \(i + 1), byte \(at) of its stream: \(problem!.message)")
    }

    /// The payload of the record whose header is at `at`, into `payload`:
    /// as read, if its checksum holds; else mended from the others, if they
    /// can give it back; else as read, for the reader downstream to name.
    private func payload(of h: RecordHeader, member i: Int, at: UInt64) throws {
        let n = Int(h.payloadLength)
        let start = at + UInt64(RecordHeader.size)
        try read(member: i, into: payload.base, count: n, at: start, mending: false)
        let whole = { CRC32.checksum(UnsafeRawBufferPointer(start: self.payload.base, count: n)) == h.payloadCRC }
        if whole() { return }
        guard canMend(i) else {
            unmended.append((i, h.sequence))
            return
        }
        let scratch = ByteBuffer(capacity: n)
        scratch.count = 0
        memcpy(scratch.base, payload.base, n)
        try read(member: i, into: payload.base, count: n, at: start, mending: true)
        if whole() {
            // Only the stripes whose bytes the mend changed are named.
            var x = start
            while x < start + UInt64(n) {
                let end = min(start + UInt64(n), (x / set.stripe + 1) * set.stripe)
                let k = Int(x - start)
                if memcmp(scratch.base + k, payload.base + k, Int(end - x)) != 0 { noteMend(i, x, end - x, h.sequence) }
                x = end
            }
        } else {
            memcpy(payload.base, scratch.base, n)
            unmended.append((i, h.sequence))
        }
    }

    /// Whether member `i`, given, can be rebuilt from the others given.
    private func canMend(_ i: Int) -> Bool {
        members[i] != nil && present.count - 1 >= set.data
    }

    private func noteMend(_ i: Int, _ at: UInt64, _ count: UInt64, _ record: UInt64) {
        for j in at / set.stripe...(at + count - 1) / set.stripe {
            if let k = mended.firstIndex(where: { $0.member == i && $0.stripe == j }) {
                if !mended[k].records.contains(record) { mended[k].records.append(record) }
            } else {
                mended.append(Mend(member: i, stripe: j, records: [record]))
            }
        }
    }

    /// Problems met on the members read: (drive, what, whether it is an
    /// I/O error) for each. Sectors of a data member that could not be
    /// read count where no mend covered them; a parity member's only lessen
    /// what could be mended, and are said as a warning.
    var damage: [(path: String, what: String, io: Bool, warning: Bool)] {
        members.sorted { $0.key < $1.key }.compactMap { i, m in
            if m.cut { return (m.path, "cut short", false, i >= set.data) }
            guard !m.reads.unreadable.isEmpty else { return nil }
            let covered = m.reads.unreadable.allSatisfy { r in
                stripes(of: r, in: m).allSatisfy { j in mended.contains { $0.member == i && $0.stripe == j } }
            }
            if i < set.data && covered { return nil }
            return (m.path, "cannot read \(m.reads.describe()) of the drive (\(m.reads.bytesLost) bytes)", true, i >= set.data)
        }
    }

    /// Records whose checksums failed on their member and that the others
    /// could not mend: they went on as read, for the reader after to name.
    private(set) var unmended: [(member: Int, record: UInt64)] = []

    private func stripes(of r: Range<UInt64>, in m: Member) -> ClosedRange<UInt64> {
        m.label.stream(r.lowerBound) / set.stripe...m.label.stream(r.upperBound - 1) / set.stripe
    }

    /// Member `i`'s stream bytes, as `--rebuild` writes them: read, or
    /// rebuilt from the others when it is not given.
    func bytes(of i: Int, into p: UnsafeMutableRawPointer, count: Int, at: UInt64) throws {
        try read(member: i, into: p, count: count, at: at, mending: false)
    }

    /// Member `i`'s stream bytes rebuilt from the others, even when it is
    /// given: to mend what it holds.
    func mended(_ i: Int, into p: UnsafeMutableRawPointer, count: Int, at: UInt64) throws {
        try read(member: i, into: p, count: count, at: at, mending: true)
    }

    /// Whether member `i` can be rebuilt from the other members given.
    func canMend(member i: Int) -> Bool { present.subtracting([i]).count >= set.data }

    /// Member `i`'s stream bytes as its drive holds them, for `--scrub`.
    func given(_ i: Int, into p: UnsafeMutableRawPointer, count: Int, at: UInt64) {
        readGiven(i, into: p, count: count, at: at)
    }

    /// The length of member `i`'s stream (0-based; parity: whole stripes).
    /// The stream length member `i`'s label gives, if it is given.
    func labelLength(of i: Int) -> UInt64? { members[i]?.label.streamBytes }

    func length(of i: Int) -> UInt64 {
        i < set.data ? lengths[i] : VolumeLabel.parityBytes(lengths, stripe: set.stripe)
    }

    var erasureCode: ErasureCode { code }
    var givenMembers: [Int] { members.keys.sorted() }

    /// Member `i`'s stream bytes `at`..<`at+count`: read from its drive, or
    /// rebuilt from the others (when it is not given, or `mending`); zeros
    /// past its length, as in its parity.
    private func read(member i: Int, into p: UnsafeMutableRawPointer, count: Int, at: UInt64, mending: Bool) throws {
        guard count > 0 else { return }
        if members[i] != nil && !mending {
            readGiven(i, into: p, count: count, at: at)
            return
        }
        let without = mending ? Set(rebuilt).union([i]) : Set(rebuilt)
        var done = 0
        while done < count {
            let x = at + UInt64(done)
            let j = x / set.stripe
            try rebuildStripe(j, without: without)
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
        let n = have > 0 ? m.reads.read(m.fd, into: p, count: have, at: m.label.drive(at)) : 0
        if n < have { m.cut = true }
        memset(p + n, 0, count - n)
        members[i] = m
    }

    /// Stripe `j` of the members in `without` and those not given, from
    /// the first K of the others.
    private func rebuildStripe(_ j: UInt64, without: Set<Int>) throws {
        if let (cj, cw) = cacheKey, cj == j, cw == without { return }
        let r: ErasureCode.Rebuilder
        if let known = rebuilders[without] {
            r = known
        } else {
            guard let made = code.rebuilder(present: present.subtracting(without)) else {
                throw SeedError.data("volume \(volume): too few members of the set to rebuild stripe \(j) from")
            }
            r = made
            rebuilders[without] = r
        }
        for (b, s) in zip(stripeBuffers, r.sources) { readGiven(s, into: b.base, count: Int(set.stripe), at: j * set.stripe) }
        for m in r.missing where cache[m] == nil { cache[m] = ByteBuffer(capacity: Int(set.stripe)) }
        r.rebuild(sources: stripeBuffers.map { UnsafeRawPointer($0.base) }, into: r.missing.map { cache[$0]!.base }, length: Int(set.stripe))
        cacheKey = (j, without)
    }
}
