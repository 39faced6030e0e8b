import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// How to open a sealed stream's data keys: seed-encrypt -d's options.
public struct KeyOptions {
    public var identities: [String] = []
    public var keyFile: String?
    public var passphraseFile: String?
    public init() {}
}

/// The drives at hand for random access (seed-snapshot --from): each one's
/// label, and single records read where a journal line says they lie,
/// each checked against that line (place, kind, length, SHA-256) and its
/// own CRC before anything else looks at it. Counts what it reads.
final class DriveSet {
    struct Drive {
        let path: String
        let fd: Int32
        let label: VolumeLabel
        var bytesRead: UInt64 = 0
    }

    /// A volume written to a drive set: its members at hand, read (or
    /// rebuilt from any K of them) through one reader.
    final class SetAtHand {
        let reader: SetReader
        var bytesRead: UInt64 = 0
        init(_ reader: SetReader) { self.reader = reader }
    }

    private(set) var drives: [UInt32: Drive] = [:]
    private(set) var sets: [UInt32: SetAtHand] = [:]
    /// Records found damaged on a set's member and mended from the others,
    /// for the caller to say.
    var mends: [String] = []
    let session: String
    private let buffer = ByteBuffer(capacity: 8 << 20)

    init(paths: [String]) throws {
        guard !paths.isEmpty else { throw SeedError.usage("--from needs a drive") }
        var session: String?
        var members: [UInt32: [(path: String, label: VolumeLabel)]] = [:]
        for path in paths {
            guard let label = try Target.readLabel(path) else {
                throw SeedError.data("\(quoted(path)) is not a seed drive (it has no seed label)")
            }
            if let s = session, s != label.session {
                throw SeedError.data("\(quoted(path)) holds volume \(label.volume) of session \(label.session), not of \(s) (a drive of another seed)")
            }
            session = label.session
            if label.set != nil {
                if let twin = members[label.volume]?.first(where: { $0.label.member == label.member }) {
                    throw SeedError.data("\(quoted(path)) and \(quoted(twin.path)) both hold member \(label.member) of volume \(label.volume)")
                }
                members[label.volume, default: []].append((path, label))
                continue
            }
            if let twin = drives[label.volume] {
                throw SeedError.data("\(quoted(path)) and \(quoted(twin.path)) both hold volume \(label.volume)")
            }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw SeedError.io("cannot open \(quoted(path)): \(errnoMessage())") }
            // Records are read here and there: no read-ahead past them.
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM)
            drives[label.volume] = Drive(path: path, fd: fd, label: label)
        }
        for (volume, given) in members {
            if let plain = drives[volume] {
                throw SeedError.data("\(quoted(plain.path)) and \(quoted(given[0].path)) both hold volume \(volume)")
            }
            sets[volume] = SetAtHand(try SetReader(volume: volume, members: given, partial: true))
        }
        self.session = session!
    }

    deinit { for d in drives.values { close(d.fd) } }

    func has(_ volume: UInt32) -> Bool { drives[volume] != nil || sets[volume] != nil }

    /// The record `line` of volume `volume`'s journal names, read from its
    /// drive and checked; valid until the next call.
    func read(_ volume: UInt32, _ line: JournalLine.Entry) throws -> Record {
        let what: String
        var at = line.offset
        // A length no record has is a damaged journal, never an allocation.
        let sane =
            line.length >= UInt64(RecordHeader.size) && line.length <= UInt64(RecordHeader.size) + RecordHeader.maxPayload
        if let s = sets[volume] {
            let r = s.reader
            let (m, offset) = try place(line, in: r)
            what = "volume \(volume) member \(m + 1) record \(line.seq)"
            guard sane, let digest = Hex.decode(line.sha256), digest.count == 32 else {
                throw SeedError.data("\(what): its journal line gives a length or digest no record has")
            }
            guard offset <= r.length(of: m), line.length <= r.length(of: m) - offset else {
                throw SeedError.data("\(what): past the \(r.length(of: m)) bytes the member's label says it holds")
            }
            buffer.reserve(Int(line.length))
            try r.bytes(of: m, into: buffer.base, count: Int(line.length), at: offset)
            s.bytesRead += line.length
            at = offset
            do {
                return try check(what, line, digest, volume: volume, at: at, source: "volume \(volume) member \(m + 1)")
            } catch let e as SeedError where r.givenMembers.contains(m) && r.canMend(member: m) {
                // Damaged on its member: mended from the others, and said so.
                try r.mended(m, into: buffer.base, count: Int(line.length), at: offset)
                let record = try check(what, line, digest, volume: volume, at: at, source: "volume \(volume) member \(m + 1)")
                mends.append("\(e.message): mended from the set's other members")
                return record
            }
        }
        guard var d = drives[volume] else { throw SeedError(.nextDrive, "volume \(volume) is needed: give its drive") }
        what = "\(quoted(d.path)): volume \(volume) record \(line.seq)"
        guard sane, let digest = Hex.decode(line.sha256), digest.count == 32 else {
            throw SeedError.data("\(what): its journal line gives a length or digest no record has")
        }
        guard line.offset <= d.label.streamBytes, line.length <= d.label.streamBytes - line.offset else {
            throw SeedError.data("\(what): past the \(d.label.streamBytes) bytes the drive's label says it holds")
        }
        buffer.reserve(Int(line.length))
        let n = try StreamFiles.preadFully(
            FileDescriptor(rawValue: d.fd), UnsafeMutableRawBufferPointer(start: buffer.base, count: Int(line.length)),
            at: d.label.drive(line.offset), source: quoted(d.path))
        d.bytesRead += UInt64(n)
        if n < Int(line.length) { throw SeedError.data("\(what): the drive ends inside it (cut short)") }
        drives[volume] = d
        return try check(what, line, digest, volume: volume, at: at, source: quoted(d.path))
    }

    /// Which data member (from 0) to read a record from, and where: the
    /// member its journal line names, or for a shared record the first
    /// member at hand; a member neither given nor rebuildable is asked for.
    private func place(_ line: JournalLine.Entry, in r: SetReader) throws -> (Int, UInt64) {
        let canRebuild = r.givenMembers.count >= r.set.data
        let loc = "volume \(r.volume) record \(line.seq)"
        if let m = line.member, let at = line.memberOffset {
            guard m >= 1, m <= r.set.data else { throw SeedError.data("\(loc): its journal puts it on member \(m), not a data member of the set") }
            guard canRebuild || r.givenMembers.contains(m - 1) else {
                let shape = "\(r.set.data)+\(r.set.parity)"
                throw SeedError(.nextDrive, "\(loc) lies on data member \(m) of the volume's \(shape) set: give that drive, or any \(r.set.data) of the set")
            }
            return (m - 1, at)
        }
        guard let offsets = line.memberOffsets, offsets.count == r.set.data else {
            throw SeedError.data("\(loc): its journal line does not say where it lies on the set's members")
        }
        let m = r.givenMembers.first { $0 < r.set.data } ?? 0
        guard canRebuild || r.givenMembers.contains(m) else {
            throw SeedError(.nextDrive, "\(loc): no data member of the volume's set is at hand: give one, or any \(r.set.data) of the set")
        }
        return (m, offsets[m])
    }

    /// The record in the buffer, held to its journal line and its CRC.
    private func check(_ what: String, _ line: JournalLine.Entry, _ digest: [UInt8], volume: UInt32, at: UInt64, source: String) throws -> Record {
        let bytes = UnsafeRawBufferPointer(start: buffer.base, count: Int(line.length))
        guard Array(SHA256.hash(data: bytes)) == digest else {
            throw SeedError.data("\(what) at byte \(at): does not match its journal (damaged on the drive)", code: "journal-mismatch")
        }
        let h: RecordHeader
        switch RecordHeader.decode(buffer.base) {
        case .success(let ok): h = ok
        case .failure(let p): throw SeedError.data("\(what): bad record header (\(p))")
        }
        guard h.sequence == line.seq, h.kind == line.kind, h.volume == volume, UInt64(RecordHeader.size) + h.payloadLength == line.length else {
            throw SeedError.data("\(what): the record there is not the one its journal names")
        }
        let r = Record(header: h, payload: UnsafeRawBufferPointer(start: buffer.base + RecordHeader.size, count: Int(h.payloadLength)), offset: line.offset)
        try r.verifyPayload(source: source)
        return r
    }

    /// "read 4.2 MiB of volume 1's 2.0 GiB (0.21%)", one per drive read.
    var readSummary: [String] {
        var read: [UInt32: (UInt64, UInt64)] = drives.mapValues { ($0.bytesRead, $0.label.streamBytes) }
        for (v, s) in sets {
            let all = (0..<s.reader.set.members).reduce(UInt64(0)) { $0 + s.reader.length(of: $1) }
            read[v] = (s.bytesRead, all)
        }
        return read.keys.sorted().compactMap { v in
            let (n, of) = read[v]!
            guard n > 0 else { return nil }
            let share = of > 0 ? Double(n) * 100 / Double(of) : 0
            let set = sets[v] != nil ? " set" : ""
            return "read \(formatBytes(n)) of volume \(v)'s \(formatBytes(of))\(set) (\(String(format: "%.2f", share))%)"
        }
    }
}

/// The data keys of a drive set's key segments (seed-stream(5), kind 6):
/// a segment's clear records (volume begin, key record, stream header, or
/// a resumed run's resume record and key record), read in order, give the
/// binding every sealed record of the segment is opened with.
final class SegmentKeys {
    private let identities: [Curve25519.KeyAgreement.PrivateKey]
    private let keyFile: Data?
    private let passphrase: Data?
    private var cache: [String: DataKey] = [:]

    init(_ o: KeyOptions) throws {
        identities = try o.identities.flatMap { try KeyFiles.identities($0) }
        keyFile = try o.keyFile.map(KeyFiles.keyFile)
        passphrase = try KeyFiles.passphrase(file: o.passphraseFile)
    }

    /// The key of the segment whose clear records `clear` names.
    func key(volume: UInt32, clear: [JournalLine.Entry], drives: DriveSet) throws -> DataKey {
        let id = "\(volume):\(clear.first?.seq ?? 0)"
        if let k = cache[id] { return k }
        guard !identities.isEmpty || keyFile != nil || passphrase != nil else {
            throw SeedError.usage("the stream is encrypted: nothing to decrypt with", hint: "give --identity, --key-file or --passphrase-file", code: "no-key")
        }
        var transcript = ClearTranscript()
        var key: DataKey?
        for line in clear {
            let r = try drives.read(volume, line)
            let loc = "volume \(volume) record \(line.seq)"
            if r.header.flags.isEncrypted { throw SeedError.data("\(loc): a \(line.kind) record is never encrypted") }
            transcript.add(r.header.kind, r.payload)
            if r.header.kind == .key {
                key = try Encryptor.unwrapKey(r, loc, identities, keyFile, passphrase, binding: transcript.digest).0
            }
        }
        guard let key else { throw SeedError.data("volume \(volume): an encrypted record with no key record before it") }
        let bound = key.bound(to: transcript.digest)
        cache[id] = bound
        return bound
    }
}
