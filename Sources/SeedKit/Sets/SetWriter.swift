import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

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
    /// A resumed set: the stripe its parity is coded again from.
    private var resumeStripe: UInt64?

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

    /// Starts every member's sink, once its label says it is being written
    /// (a resumed member's at where it goes on).
    func start(checkpoint: UInt64, verify: Bool) throws {
        for m in members {
            let sink = ChunkSink(target: m.target, at: m.label.drive(m.base), checkpoint: checkpoint, checksums: verify)
            try m.prefix.withUnsafeBytes { try sink.append($0) }
            m.sink = sink
        }
        if set.parity > 0 {
            parity = try StripeParity(set, sinks: members[set.data...].map { $0.sink! })
            if let j = resumeStripe { try refill(from: j) }
        }
    }

    /// Goes on with a set a run stopped in, at the data members' lengths
    /// at the resume point: the record before it must be on its member,
    /// whole, with its journal's digest; each data member goes on at its
    /// length; the parity is coded again from the first stripe whose
    /// stored parity does not match its data (going back from the stripe
    /// the shortest member is in), as if the run had never stopped.
    func resume(at lengths: [UInt64], previous: [ResumePoint.MemberRecord], volume: UInt32) throws {
        placement = SetPlacement(bytes: lengths)
        let label = members[0].label
        let short = { (m: Int) in
            SeedError.io(
                "\(self.members[m].target.name) (member \(m + 1)) does not hold volume \(volume) up to byte \(lengths[m]) of its stream, where the run goes on "
                    + "(the drive lost writes the journal names)", hint: "see RESUMING in seed(7)", code: "drive-lost-writes")
        }
        try withReaders { fds in
            // Each data member holds its last record before the point, whole.
            for (pm, last) in previous.enumerated() {
                let framer = RecordFramer(fd: FileDescriptor(rawValue: fds[pm]), source: members[pm].target.name)
                let prev: Record
                do { prev = try framer.record(at: label.drive(last.offset)) } catch { throw short(pm) }
                var sha = SHA256()
                prev.header.encodedBytes { sha.update(bufferPointer: $0) }
                sha.update(bufferPointer: prev.payload)
                guard Hex.encode(Array(sha.finalize())) == last.sha256, last.offset + UInt64(RecordHeader.size) + prev.header.payloadLength == lengths[pm]
                else { throw short(pm) }
            }
            for i in 0..<set.data {
                let m = members[i]
                m.base = lengths[i] & ~UInt64(ChunkSink.alignment - 1)
                m.prefix = [UInt8](repeating: 0, count: Int(lengths[i] - m.base))
                let n = try m.prefix.withUnsafeMutableBytes {
                    try StreamFiles.preadFully(FileDescriptor(rawValue: fds[i]), $0, at: label.drive(m.base), source: m.target.name)
                }
                if n != m.prefix.count { throw short(i) }
            }
            guard set.parity > 0 else { return }
            var j = lengths.min()! / set.stripe
            let coder = try ErasureCode(data: set.data, parity: set.parity)
            let s = Int(set.stripe)
            let data = (0..<set.data).map { _ in ByteBuffer(capacity: s) }
            let stored = (0..<set.parity).map { _ in ByteBuffer(capacity: s) }
            let coded = (0..<set.parity).map { _ in ByteBuffer(capacity: s) }
            checking: while j > 0 {
                let at = label.drive((j - 1) * set.stripe)
                for (i, b) in data.enumerated() {
                    let n = try StreamFiles.preadFully(
                        FileDescriptor(rawValue: fds[i]), UnsafeMutableRawBufferPointer(start: b.base, count: s), at: at, source: members[i].target.name)
                    if n != s { throw short(i) }
                }
                // A parity member that ends before the stripe (its last
                // writes were lost, or it lagged the data members when the
                // run was killed) holds no parity for it: code it again.
                for (p, b) in stored.enumerated() {
                    let n = try StreamFiles.preadFully(
                        FileDescriptor(rawValue: fds[set.data + p]), UnsafeMutableRawBufferPointer(start: b.base, count: s), at: at,
                        source: members[set.data + p].target.name)
                    if n != s {
                        j -= 1
                        continue checking
                    }
                }
                coder.encode(data: data.map { UnsafeRawPointer($0.base) }, into: coded.map(\.base), length: s)
                if (0..<set.parity).allSatisfy({ memcmp(coded[$0].base, stored[$0].base, s) == 0 }) { break }
                j -= 1
            }
            resumeStripe = j
            for p in members[set.data...] { p.base = j * set.stripe }
        }
    }

    /// The data members' bytes from stripe `j` to their lengths at the
    /// resume point, read back into the parity stripe by stripe.
    private func refill(from j: UInt64) throws {
        let lengths = placement.bytes
        let label = members[0].label
        let buffer = ByteBuffer(capacity: Int(set.stripe))
        try withReaders { fds in
            var at = j * set.stripe
            while at < lengths.max()! {
                for i in 0..<set.data where at < lengths[i] {
                    let n = Int(min(set.stripe, lengths[i] - at))
                    let got = try StreamFiles.preadFully(
                        FileDescriptor(rawValue: fds[i]), UnsafeMutableRawBufferPointer(start: buffer.base, count: n), at: label.drive(at),
                        source: members[i].target.name)
                    if got != n { throw SeedError.io("\(members[i].target.name) ends before byte \(lengths[i]) of its stream, where the run goes on") }
                    parity!.append(UnsafeRawBufferPointer(start: buffer.base, count: n), member: i)
                }
                try parity!.codeReady()
                at += set.stripe
            }
        }
    }

    /// Every member opened for reading, for the length of `body`.
    private func withReaders(_ body: ([Int32]) throws -> Void) throws {
        var fds: [Int32] = []
        defer { fds.forEach { close($0) } }
        for m in members {
            let fd = open(m.target.path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw SeedError.io("cannot open \(m.target.name) to read it: \(errnoMessage())") }
            fds.append(fd)
        }
        try body(fds)
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
/// a stripe is coded, on a worker of its own (a one-thread `WorkerPool`,
/// two stripes queued at most), and its parity handed to the parity
/// members' sinks, once every data member holds it. Memory: per data
/// member, the stripes it is ahead of the shortest, which the placement
/// rule keeps under the longest record's length and one stripe more, and
/// the stripes queued.
final class StripeParity {
    private let stripe: Int
    /// Per data member: its whole stripes not yet coded, and the one filling.
    private var ready: [[ByteBuffer]]
    private var filling: [ByteBuffer]
    private let lock = NSLock()
    /// Stripe buffers coded and free again (the coder gives them back).
    private var spare: [ByteBuffer] = []
    private let zeros: ByteBuffer
    private var coder: WorkerPool<(blocks: [ByteBuffer], done: [ByteBuffer])>!

    init(_ set: SetGeometry, sinks: [ChunkSink]) throws {
        let code = try ErasureCode(data: set.data, parity: set.parity)
        let stripe = Int(set.stripe)
        self.stripe = stripe
        ready = Array(repeating: [], count: set.data)
        filling = (0..<set.data).map { _ in ByteBuffer(capacity: stripe) }
        zeros = ByteBuffer(capacity: stripe)
        memset(zeros.base, 0, stripe)
        // The coder's own: what it codes into.
        let out = (0..<set.parity).map { _ in ByteBuffer(capacity: stripe) }
        coder = WorkerPool(threads: 1, bound: 2) { [self] job, _ in
            code.encode(data: job.blocks.map { UnsafeRawPointer($0.base) }, into: out.map(\.base), length: stripe)
            for (p, sink) in zip(out, sinks) { try sink.append(UnsafeRawBufferPointer(start: p.base, count: stripe)) }
            lock.withLock { spare.append(contentsOf: job.done) }
        }
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
                filling[i] = lock.withLock { spare.popLast() } ?? ByteBuffer(capacity: stripe)
                filling[i].count = 0
            }
        }
    }

    /// Codes every stripe all data members hold.
    func codeReady() throws {
        while ready.allSatisfy({ !$0.isEmpty }) { try codeStripe() }
    }

    /// Codes the rest: a member's last stripe and the stripes past its end
    /// are zeros beyond its bytes; then waits for the coder.
    func finish() throws {
        try codeReady()
        for i in filling.indices where filling[i].count > 0 {
            memset(filling[i].base + filling[i].count, 0, stripe - filling[i].count)
            filling[i].count = stripe
            ready[i].append(filling[i])
            filling[i] = ByteBuffer(capacity: stripe)
        }
        while ready.contains(where: { !$0.isEmpty }) { try codeStripe() }
        try coder.finish()
    }

    /// A run stopped: the stripes handed to the coder are written, the
    /// rest left for the resumed run to code again.
    func stop() throws { try coder.finish() }

    /// Stops the coder after an error elsewhere.
    func abort(_ e: Error) { coder.abort(e) }

    /// Hands the first stripe of every data member (zeros for one that has
    /// none) to the coder.
    private func codeStripe() throws {
        var blocks: [ByteBuffer] = []
        var done: [ByteBuffer] = []
        for i in ready.indices {
            if ready[i].isEmpty {
                blocks.append(zeros)
            } else {
                let b = ready[i].removeFirst()
                blocks.append(b)
                done.append(b)
            }
        }
        try coder.submit((blocks, done))
    }
}
