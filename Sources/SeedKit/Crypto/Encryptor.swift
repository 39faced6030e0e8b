import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

/// What seed-encrypt is asked to do.
public struct EncryptOptions {
    public var decrypt = false
    public var chacha = false
    public var recipients: [String] = []
    public var identities: [String] = []
    public var keyFile: String?
    public var passphraseFile: String?
    public var io = StreamIO()
    public init() {}
}

/// A data key, the cipher it is used with, and what every record sealed
/// under it is bound to besides its own header: the digest of the clear
/// records of its scope (see `ClearTranscript`), so that none of them (the
/// stream header, a volume begin, the key record itself) can be altered
/// or swapped for another.
final class DataKey: Sendable {
    let key: SymmetricKey
    let chacha: Bool
    /// Never changed: a clear record that comes after the key record (the
    /// stream header of a first volume) gives a new DataKey, so workers
    /// sealing with this one never see it move.
    let binding: [UInt8]
    init(key: SymmetricKey, chacha: Bool, binding: [UInt8]) {
        self.key = key
        self.chacha = chacha
        self.binding = binding
    }
    /// The same key bound to `binding`.
    func bound(to binding: [UInt8]) -> DataKey { DataKey(key: key, chacha: chacha, binding: binding) }
    static func cipherName(chacha: Bool) -> String { chacha ? "chacha20-poly1305" : "aes-256-gcm" }
}

/// seed-encrypt: authenticated encryption of every record payload but the
/// stream header's, volume begins' and key records', each record's header
/// bound as associated data and its sequence number as the nonce. A fresh
/// random data key starts after the stream header (of a stream not split
/// into volumes) or after every volume begin, in a key record that wraps it
/// for each recipient; with `-d`, every record is authenticated before any
/// of its bytes go out.
/// seed-encrypt -d: each volume's key record against the volume before
/// it (seed-stream(5), kind 6, chain). A volume whose predecessor has not
/// come yet is checked when it comes.
struct VolumeChains {
    private var keys: [UInt32: SymmetricKey] = [:]
    private var pending: [UInt32: (chain: String, keyId: String, key: SymmetricKey, loc: String)] = [:]

    mutating func admit(volume v: UInt32, record: KeyRecord, key: SymmetricKey, resumed: Bool, _ loc: String, _ diag: Diagnostics) throws {
        if (v == 1 || resumed) && record.chain != nil { throw SeedError.data("\(loc): key record chained to a volume before it") }
        if !resumed, v > 1, let chain = record.chain {
            if let prev = keys[v - 1] {
                if !Chain.holds(chain, key: key, keyId: record.keyId, previous: prev) { throw notChained(loc, v) }
            } else {
                pending[v] = (chain, record.keyId, key, loc)
            }
        } else if v > 1 && !resumed {
            // A later run of seed-encrypt (seed-split --first-volume)
            // never had the key before it, so cannot chain to it.
            diag.warning("\(loc): volume \(v) was sealed by a later run of seed-encrypt: nothing but the stream binds it to volume \(v - 1)")
        }
        // The next volume chains to this volume's last key: a resumed run's
        // segment (bound by its resume record, not chained) may come yet.
        keys[v] = key
        if let next = pending[v + 1], Chain.holds(next.chain, key: next.key, keyId: next.keyId, previous: key) {
            pending[v + 1] = nil
        }
    }

    /// At the end: a volume read before the one it chains to, which came
    /// and holds no key it chains to, is refused.
    func finish() throws {
        for (v, p) in pending.sorted(by: { $0.key < $1.key }) where keys[v - 1] != nil { throw notChained(p.loc, v) }
    }

    private func notChained(_ loc: String, _ v: UInt32) -> SeedError {
        SeedError.data("\(loc): volume \(v) is not chained to volume \(v - 1) (sealed under a key of another encryption)")
    }
}

/// The records of a scope (a stream not split into volumes, or one
/// volume) that travel in the clear: the volume begin, the key record and
/// the stream header. Each adds its kind (1 byte), its payload length
/// (8 bytes, little-endian) and its payload to a SHA-256, in stream
/// order; the digest so far is bound into every sealed record after them
/// (seed-stream(5), kind 6).
struct ClearTranscript {
    private var hash = SHA256()

    mutating func reset() { hash = SHA256() }

    mutating func add(_ kind: RecordKind, _ payload: UnsafeRawBufferPointer) {
        var head = [kind.rawValue]
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { head.append(contentsOf: $0) }
        hash.update(data: head)
        hash.update(bufferPointer: payload)
    }

    var digest: [UInt8] { Array(hash.finalize()) }
}

public enum Encryptor {
    static let tagSize = Int(RecordFlags.tagSize)

    public static func run(_ o: EncryptOptions, diag: Diagnostics) throws -> SeedExit {
        let runner = try StageRunner(o.io, label: "seed-encrypt")
        try FirstStageResume.install(on: runner, o.io, diag: diag)
        // Keys are read before any output exists.
        return try runner.run(EncryptStage(o, diag: diag, source: runner.source))
    }
}

/// seed-encrypt as a stage: with -e, a key record after the stream header
/// (or after each volume begin) and every later record sealed in the
/// workers; with -d, key records opened and dropped, sealed records opened
/// in the workers.
final class EncryptStage: RecordStage {
    let o: EncryptOptions
    let diag: Diagnostics
    let source: String
    var recipients: [Curve25519.KeyAgreement.PublicKey] = []
    var identities: [Curve25519.KeyAgreement.PrivateKey] = []
    let keyFile: Data?
    let passphrase: Data?
    var current: DataKey?
    var keyRecords = 0
    var transcript = ClearTranscript()
    /// The last volume's number and data key, for the chain to the next.
    var lastVolumeKey: (volume: UInt32, key: SymmetricKey)?
    var chains = VolumeChains()
    /// With -d, a volume begin must be followed by its key record.
    var keyDue: String?
    /// With -d, the key record due opens a resumed run's segment.
    var resumedSegment = false

    init(_ o: EncryptOptions, diag: Diagnostics, source: String) throws {
        self.o = o
        self.diag = diag
        self.source = source
        for r in o.recipients { recipients += try KeyFiles.recipients(r) }
        for i in o.identities { identities += try KeyFiles.identities(i) }
        keyFile = try o.keyFile.map(KeyFiles.keyFile)
        passphrase = try KeyFiles.passphrase(file: o.passphraseFile)
        if o.decrypt {
            if identities.isEmpty && keyFile == nil && passphrase == nil {
                throw SeedError.usage(
                    "nothing to decrypt with", hint: "give --identity, --key-file or --passphrase-file (or set SEED_PASSPHRASE)", code: "no-key")
            }
        } else if recipients.isEmpty && keyFile == nil && passphrase == nil {
            throw SeedError.usage("no recipient", hint: "give --recipient, --key-file or --passphrase-file (or set SEED_PASSPHRASE)")
        }
    }

    /// Adds a clear record to the scope's transcript and binds the scope's key to it.
    func bindClear(_ kind: RecordKind, _ payload: UnsafeRawBufferPointer) {
        transcript.add(kind, payload)
        current = current?.bound(to: transcript.digest)
    }

    func checkKeyDue(_ kind: RecordKind, _ loc: String) throws {
        if let due = keyDue, kind != .key {
            throw SeedError.data("\(loc): \(due) has no key record (not encrypted, or its key record was removed)")
        }
        keyDue = nil
    }

    func streamHeader(_ r: Record, _ meta: StreamMetadata, _ run: StageRunner) throws {
        let loc = run.locate(r)
        try checkKeyDue(.streamHeader, loc)
        var m = meta
        if o.decrypt {
            try m.removeStage("seed-encrypt", missing: "the stream is not encrypted", at: loc)
        } else {
            try m.addStage("seed-encrypt", settings: ["cipher": DataKey.cipherName(chacha: o.chacha)], refusing: "the stream is already encrypted", at: loc)
        }
        let out = m.encoded()
        // The encrypted stream's stream header is the one bound.
        if o.decrypt { bindClear(.streamHeader, r.payload) } else { out.withUnsafeBytes { bindClear(.streamHeader, $0) } }
        try run.insert(like: r.header, payload: out)
        if !o.decrypt && !run.volumed {
            current = try emitKeyRecord(run, budget: nil, volume: 0, chainFrom: nil)
            keyRecords += 1
        }
    }

    func finish(_ run: StageRunner) throws {
        if o.decrypt && !run.stoppedResumable { try chains.finish() }
    }

    /// A resume record starts a key segment of its own: sealing, a fresh
    /// data key in a key record right after it; opening, the key record
    /// that must follow. The segment's clear records are the resume record
    /// and its key record, so the segment is bound to where the resume
    /// record says it goes (seed-stream(5), kind 7).
    func resume(_ r: Record, _ point: ResumePoint, _ run: StageRunner) throws {
        let loc = run.locate(r)
        try checkKeyDue(.resume, loc)
        current = nil
        transcript.reset()
        if o.decrypt {
            guard r.header.volume == point.volume || !run.volumed else {
                throw SeedError.data("\(loc): resume record of volume \(point.volume) in volume \(r.header.volume)")
            }
            bindClear(.resume, r.payload)
            resumedSegment = true
            keyDue = "the resumed run at \(loc)"
            var p = point
            try p.metadata.removeStage("seed-encrypt", missing: "the resumed run's stream is not encrypted", at: loc)
            try run.insert(like: r.header, payload: p.encoded())
            return
        }
        guard run.startsResumed else { throw SeedError.data("\(loc): resume record in the middle of a stream to encrypt") }
        if !point.stages.contains(where: { $0.tool == "seed-split" }) && point.volume != 0 {
            throw SeedError.data("\(loc): the interrupted run's stream was split into volumes", hint: "resume it through seed-split")
        }
        var p = point
        try p.metadata.addStage(
            "seed-encrypt", settings: ["cipher": DataKey.cipherName(chacha: o.chacha)], refusing: "the stream is already encrypted", at: loc)
        let payload = p.encoded()
        payload.withUnsafeBytes { bindClear(.resume, $0) }
        // Numbered as it lies on the drive, after the volume's key records.
        run.continueNumbering(at: point.volumeSequence)
        try run.insert(like: r.header, payload: payload)
        // No chain: this run never had the key before it (seed-stream(5)).
        current = try emitKeyRecord(run, budget: nil, volume: r.header.volume, chainFrom: nil)
        lastVolumeKey = (r.header.volume, current!.key)
        keyRecords += 1
    }

    func record(_ r: Record, at loc: String, _ run: StageRunner) throws {
        let kind = r.header.kind
        if kind == .volumeBegin {
            current = nil
            transcript.reset()
            bindClear(kind, r.payload)
        } else {
            try checkKeyDue(kind, loc)
        }
        if o.decrypt { return try open(r, loc, run) }
        if kind == .key || r.header.flags.isEncrypted { throw SeedError.data("\(loc): the stream is already encrypted") }
        guard kind == .volumeBegin else {
            guard let current else { throw SeedError.data("\(loc): \(kind) record before the stream header") }
            return try run.transform(r, context: current)
        }
        try run.pass(r)
        let budget = try VolumeBegin.decode(r.payload, record: loc).budget
        let v = r.header.volume
        current = try emitKeyRecord(run, budget: budget, volume: v, chainFrom: lastVolumeKey.flatMap { $0.volume + 1 == v ? $0.key : nil })
        lastVolumeKey = (v, current!.key)
        keyRecords += 1
    }

    /// -d: a key record is opened and goes no further; sealed records go
    /// to the workers with their key.
    private func open(_ r: Record, _ loc: String, _ run: StageRunner) throws {
        let kind = r.header.kind
        if kind == .key {
            transcript.add(kind, r.payload)
            let (key, record) = try Encryptor.unwrapKey(r, loc, identities, keyFile, passphrase, binding: transcript.digest)
            current = key
            keyRecords += 1
            if run.volumed {
                try chains.admit(volume: r.header.volume, record: record, key: key.key, resumed: resumedSegment, loc, diag)
                resumedSegment = false
            } else if record.chain != nil {
                throw SeedError.data("\(loc): key record chained to a volume in a stream not split into volumes")
            }
            return
        }
        if kind != .volumeBegin && !r.header.flags.isEncrypted && keyRecords > 0 {
            throw SeedError.data("\(loc): \(kind) record is not encrypted in an encrypted stream")
        }
        if r.header.flags.isEncrypted {
            guard let current else { throw SeedError.data("\(loc): encrypted \(kind) record with no key record before it") }
            try run.transform(r, context: current)
        } else {
            try run.pass(r)
        }
        if kind == .volumeEnd { current = nil }  // the next volume has a key of its own
        if kind == .volumeBegin { keyDue = "volume \(r.header.volume)" }
    }

    func work(_ slot: PipelineSlot, lane: Int) throws {
        guard let key = slot.context as? DataKey else { return }
        if o.decrypt { return try Encryptor.open(slot, key, source) }
        var h = slot.header
        h.sequence = slot.sequence
        h.flags.rawValue |= RecordFlags.encrypted.rawValue
        h.payloadLength += UInt64(Encryptor.tagSize)
        slot.outHeader = h
        try Encryptor.seal(slot, key)
    }

    /// A fresh data key, wrapped for everyone named, in a key record.
    func emitKeyRecord(_ run: StageRunner, budget: VolumeBudget?, volume: UInt32, chainFrom previous: SymmetricKey?) throws -> DataKey {
        let key = SymmetricKey(size: .bits256)
        let keyId = Hex.encode(randomBytes(8))
        var slots: [KeyRecord.Slot] = []
        for r in recipients { slots.append(try Wrapping.wrapForRecipient(key, keyId: keyId, to: r)) }
        if let k = keyFile { slots.append(try Wrapping.wrapWithKeyFile(key, keyId: keyId, secret: k)) }
        if let pass = passphrase { slots.append(try Wrapping.wrapWithPassphrase(key, keyId: keyId, passphrase: pass)) }
        var record = KeyRecord(cipher: DataKey.cipherName(chacha: o.chacha), keyId: keyId, slots: slots)
        if let previous { record.chain = try Chain.seal(key, keyId: keyId, previous: previous) }
        let payload = record.encoded()
        payload.withUnsafeBytes { transcript.add(.key, $0) }
        let dk = DataKey(key: key, chacha: o.chacha, binding: transcript.digest)
        // seed-split kept room for the key record in every volume.
        if let b = budget, UInt64(RecordHeader.size + payload.count) > b.volume {
            throw SeedError.usage(
                "the key record for \(slots.count) key slots takes \(RecordHeader.size + payload.count) bytes, "
                    + "more than the \(b.volume) bytes seed-split kept free in each volume",
                hint: "encrypt for fewer recipients")
        }
        try run.insert(.key, volume: volume, payload: Array(payload))
        return dk
    }
}

extension Encryptor {
    static func unwrapKey(
        _ r: Record, _ loc: String, _ ids: [Curve25519.KeyAgreement.PrivateKey], _ keyFile: Data?, _ pass: Data?, binding: [UInt8]
    ) throws -> (DataKey, KeyRecord) {
        let kr = try KeyRecord.decode(r.payload, record: loc)
        var scryptTries = 0
        for slot in kr.slots {
            var key: SymmetricKey?
            switch slot.kind {
            case .x25519: key = ids.lazy.compactMap { Wrapping.unwrap(slot, keyId: kr.keyId, identity: $0) }.first
            case .keyfile: key = keyFile.flatMap { Wrapping.unwrap(slot, keyId: kr.keyId, keyFile: $0) }
            case .scrypt:
                guard scryptTries < KeyRecord.maxScryptTries else { continue }
                scryptTries += 1
                key = pass.flatMap { Wrapping.unwrap(slot, keyId: kr.keyId, passphrase: $0) }
            default: continue
            }
            if let key { return (DataKey(key: key, chacha: kr.cipher == DataKey.cipherName(chacha: true), binding: binding), kr) }
        }
        throw SeedError.data("\(loc): no key matches: none of the \(kr.slots.count) key slots opens with the identity, key file or passphrase given")
    }

    /// The associated data of a record: its header with the payload CRC
    /// (computed over the ciphertext, after sealing) and header CRC left
    /// out, then the key's binding to the clear records of its scope.
    static func associatedData(_ h: RecordHeader, _ k: DataKey) -> [UInt8] {
        var z = h
        z.payloadCRC = 0
        return Array(z.bytes[0..<44]) + k.binding
    }

    static func nonce(_ sequence: UInt64) -> [UInt8] {
        withUnsafeBytes(of: sequence.littleEndian) { Array($0) } + [0, 0, 0, 0]
    }

    static func seal(_ slot: PipelineSlot, _ k: DataKey) throws {
        let h = slot.outHeader
        let aad = associatedData(h, k)
        let n = nonce(h.sequence)
        let plain = UnsafeRawBufferPointer(start: slot.input.base, count: slot.input.count)
        // The sealed box's combined form is nonce || ciphertext || tag: the
        // payload is all of it after the nonce, written without a copy.
        let combined: Data
        if k.chacha {
            combined = try ChaChaPoly.seal(plain, using: k.key, nonce: ChaChaPoly.Nonce(data: n), authenticating: aad).combined
        } else {
            guard let c = try AES.GCM.seal(plain, using: k.key, nonce: AES.GCM.Nonce(data: n), authenticating: aad).combined else {
                throw SeedError(.failure, "internal error: AES-GCM gave no combined box")
            }
            combined = c
        }
        slot.outputData = combined
        slot.outputSkip = n.count
        slot.useOutput = true
        slot.outHeader.payloadCRC = slot.withOutputBytes { CRC32.checksum($0) }
        precondition(UInt64(combined.count - n.count) == slot.outHeader.payloadLength)
    }

    static func open(_ slot: PipelineSlot, _ k: DataKey, _ source: String) throws {
        let h = slot.header
        let sealed = UnsafeRawBufferPointer(start: slot.input.base, count: slot.input.count)
        let plain = try openPayload(h, sealed, k, "\(source): \(slot.location)")
        slot.outputData = plain
        slot.useOutput = true
        var out = h
        out.flags.rawValue &= ~RecordFlags.encrypted.rawValue
        out.payloadLength = UInt64(plain.count)
        out.payloadCRC = slot.withOutputBytes { CRC32.checksum($0) }
        slot.outHeader = out
    }

    /// A sealed record's plaintext payload, authenticated with its header
    /// `h` and its key's binding; `what` names the record for messages.
    static func openPayload(_ h: RecordHeader, _ sealed: UnsafeRawBufferPointer, _ k: DataKey, _ what: String) throws -> Data {
        guard let base = sealed.baseAddress, sealed.count >= tagSize else { throw SeedError.data("\(what): encrypted record too short") }
        let aad = associatedData(h, k)
        let n = nonce(h.sequence)
        let ct = UnsafeRawBufferPointer(start: base, count: sealed.count - tagSize)
        let tag = UnsafeRawBufferPointer(start: base + ct.count, count: tagSize)
        do {
            if k.chacha {
                return try ChaChaPoly.open(ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: n), ciphertext: ct, tag: tag), using: k.key, authenticating: aad)
            }
            return try AES.GCM.open(AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: n), ciphertext: ct, tag: tag), using: k.key, authenticating: aad)
        } catch {
            throw SeedError.data("\(what): \(h.kind) record fails authentication (altered, moved or from another key)")
        }
    }
}
