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

    private(set) var drives: [UInt32: Drive] = [:]
    let session: String
    private let buffer = ByteBuffer(capacity: 8 << 20)

    init(paths: [String]) throws {
        guard !paths.isEmpty else { throw SeedError.usage("--from needs a drive") }
        var session: String?
        for path in paths {
            guard let label = try Target.readLabel(path) else {
                throw SeedError.data("\(quoted(path)) is not a seed drive (it has no seed label)")
            }
            if let s = session, s != label.session {
                throw SeedError.data("\(quoted(path)) holds volume \(label.volume) of session \(label.session), not of \(s) (a drive of another seed)")
            }
            if let twin = drives[label.volume] {
                throw SeedError.data("\(quoted(path)) and \(quoted(twin.path)) both hold volume \(label.volume)")
            }
            session = label.session
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw SeedError.io("cannot open \(quoted(path)): \(errnoMessage())") }
            // Records are read here and there: no read-ahead past them.
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM)
            drives[label.volume] = Drive(path: path, fd: fd, label: label)
        }
        self.session = session!
    }

    deinit { for d in drives.values { close(d.fd) } }

    func has(_ volume: UInt32) -> Bool { drives[volume] != nil }

    /// The record `line` of volume `volume`'s journal names, read from its
    /// drive and checked; valid until the next call.
    func read(_ volume: UInt32, _ line: JournalLine.Entry) throws -> Record {
        guard var d = drives[volume] else { throw SeedError(.nextDrive, "volume \(volume) is needed: give its drive") }
        let what = "\(quoted(d.path)): volume \(volume) record \(line.seq)"
        // A length no record has is a damaged journal, never an allocation.
        guard line.length >= UInt64(RecordHeader.size), line.length <= UInt64(RecordHeader.size) + RecordHeader.maxPayload,
            let digest = Hex.decode(line.sha256), digest.count == 32
        else { throw SeedError.data("\(what): its journal line gives a length or digest no record has") }
        guard line.offset <= d.label.streamBytes, line.length <= d.label.streamBytes - line.offset else {
            throw SeedError.data("\(what): past the \(d.label.streamBytes) bytes the drive's label says it holds")
        }
        buffer.reserve(Int(line.length))
        let n = try StreamFiles.preadFully(
            FileDescriptor(rawValue: d.fd), UnsafeMutableRawBufferPointer(start: buffer.base, count: Int(line.length)),
            at: d.label.streamOffset + line.offset, source: quoted(d.path))
        d.bytesRead += UInt64(n)
        if n < Int(line.length) { throw SeedError.data("\(what): the drive ends inside it (cut short)") }
        drives[volume] = d
        let bytes = UnsafeRawBufferPointer(start: buffer.base, count: Int(line.length))
        guard Array(SHA256.hash(data: bytes)) == digest else {
            throw SeedError.data("\(what) at byte \(line.offset): does not match its journal (damaged on the drive)")
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
        try r.verifyPayload(source: quoted(d.path))
        return r
    }

    /// "read 4.2 MiB of volume 1's 2.0 GiB (0.21%)", one per drive read.
    var readSummary: [String] {
        drives.keys.sorted().compactMap { v in
            let d = drives[v]!
            guard d.bytesRead > 0 else { return nil }
            let share = d.label.streamBytes > 0 ? Double(d.bytesRead) * 100 / Double(d.label.streamBytes) : 0
            return "read \(formatBytes(d.bytesRead)) of volume \(v)'s \(formatBytes(d.label.streamBytes)) (\(String(format: "%.2f", share))%)"
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
            throw SeedError.usage("the stream is encrypted: nothing to decrypt with", hint: "give --identity, --key-file or --passphrase-file")
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
