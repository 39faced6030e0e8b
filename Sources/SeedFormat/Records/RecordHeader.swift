import CDeflate
import SeedCore
import SeedIO

/// The kinds of record in a seed stream (seed-stream(5)). Kind 0 and
/// kinds 11 to 255 are reserved: a reader refuses them.
public struct RecordKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let streamHeader = RecordKind(rawValue: 1)
    public static let data = RecordKind(rawValue: 2)
    public static let index = RecordKind(rawValue: 3)
    public static let volumeBegin = RecordKind(rawValue: 4)
    public static let volumeEnd = RecordKind(rawValue: 5)
    public static let key = RecordKind(rawValue: 6)
    public static let resume = RecordKind(rawValue: 7)
    public static let end = RecordKind(rawValue: 8)
    public static let stop = RecordKind(rawValue: 9)
    /// An increment's deletions and renames (seed-snapshot --incremental).
    public static let changes = RecordKind(rawValue: 10)

    /// Whether format version 1 defines this kind.
    public var isDefined: Bool { (1...10).contains(rawValue) }
    /// Whether seed-compress may give this kind's payloads a codec.
    public var mayBeCompressed: Bool { self == .data || self == .index || self == .changes }
    /// Whether seed-encrypt seals this kind's payloads: all but the
    /// records a reader needs before it has a key.
    public var isSealed: Bool { self != .streamHeader && self != .volumeBegin && self != .key && self != .resume && self != .stop }

    public var description: String {
        switch self {
        case .streamHeader: return "stream header"
        case .data: return "data"
        case .index: return "index"
        case .volumeBegin: return "volume begin"
        case .volumeEnd: return "volume end"
        case .key: return "key"
        case .resume: return "resume"
        case .end: return "end"
        case .stop: return "stop"
        case .changes: return "changes"
        default: return "kind \(rawValue)"
        }
    }
}

/// In JSON (journals, reports) a kind is its token: "data", "volume-begin".
extension RecordKind: Codable {
    /// The kind as journals and reports spell it: "data", "volume-begin".
    public var token: String { description.replacingOccurrences(of: " ", with: "-") }

    /// The kind a token names; nil for one no kind has.
    public init?(token: String) {
        // A journal has a line per record: a table, not a search of every kind.
        if let k = RecordKind.byToken[token] {
            self = k
        } else if token.hasPrefix("kind-"), let n = UInt8(token.dropFirst(5)), RecordKind(rawValue: n).token == token {
            self = RecordKind(rawValue: n)
        } else {
            return nil
        }
    }

    private static let byToken: [String: RecordKind] = Dictionary(
        uniqueKeysWithValues: (1...10).map { RecordKind(rawValue: $0) }.map { ($0.token, $0) })

    public init(from decoder: Decoder) throws {
        let token = try decoder.singleValueContainer().decode(String.self)
        guard let k = RecordKind(token: token) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no record kind \(token)"))
        }
        self = k
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(token)
    }
}

/// How a payload is stored: bits 0-2 name the codec, bit 3 marks encryption.
public struct RecordFlags: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let codecMask: UInt16 = 0x0007
    public static let encrypted = RecordFlags(rawValue: 0x0008)
    /// Bits 4 to 15: reserved, zero.
    public static let reservedMask: UInt16 = 0xfff0
    /// What AEAD appends to a sealed payload.
    public static let tagSize: UInt64 = 16

    public var codec: Codec? {
        get { Codec(rawValue: UInt8(rawValue & RecordFlags.codecMask)) }
    }
    public var codecBits: UInt8 { UInt8(rawValue & RecordFlags.codecMask) }
    public mutating func setCodec(_ c: Codec) {
        rawValue = (rawValue & ~RecordFlags.codecMask) | UInt16(c.rawValue)
    }
    public var isEncrypted: Bool { rawValue & RecordFlags.encrypted.rawValue != 0 }
}

/// The payload codecs a record may name.
public enum Codec: UInt8, Sendable {
    case none = 0
    case zstd = 1
    case gzip = 2

    public var name: String {
        switch self {
        case .none: return "none"
        case .zstd: return "zstd"
        case .gzip: return "gzip"
        }
    }
}

/// The fixed 48-byte record header, little-endian:
///
///     0  magic "SEED"       4  version (1)     5  kind      6  flags (u16)
///     8  volume (u32)      12  payload CRC-32 (u32)
///    16  sequence (u64)    24  payload length (u64)
///    32  raw length (u64): the payload's length before its codec
///    40  reserved, zero (u32)                 44  header CRC-32 of bytes 0..<44
public struct RecordHeader: Equatable, Sendable {
    public static let size = 48
    public static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x53, 0x45, 0x45, 0x44)  // "SEED"
    public static let formatVersion: UInt8 = 1
    /// No record carries more; a larger length is damage, not data.
    public static let maxPayload: UInt64 = 64 << 20
    /// Nor does a record of JSON (every kind but data and index) carry more
    /// than this, so decoding one stays cheap whatever a stream holds.
    public static let maxControlPayload: UInt64 = 1 << 20

    public var kind: RecordKind
    public var flags: RecordFlags
    public var volume: UInt32
    public var sequence: UInt64
    public var payloadLength: UInt64
    public var rawLength: UInt64
    public var payloadCRC: UInt32

    public init(
        kind: RecordKind, flags: RecordFlags = RecordFlags(rawValue: 0), volume: UInt32 = 0, sequence: UInt64 = 0,
        payloadLength: UInt64, rawLength: UInt64? = nil, payloadCRC: UInt32 = 0
    ) {
        self.kind = kind
        self.flags = flags
        self.volume = volume
        self.sequence = sequence
        self.payloadLength = payloadLength
        self.rawLength = rawLength ?? payloadLength
        self.payloadCRC = payloadCRC
    }

    public func encode(into p: UnsafeMutableRawPointer) {
        p.storeBytes(of: RecordHeader.magic.0, toByteOffset: 0, as: UInt8.self)
        p.storeBytes(of: RecordHeader.magic.1, toByteOffset: 1, as: UInt8.self)
        p.storeBytes(of: RecordHeader.magic.2, toByteOffset: 2, as: UInt8.self)
        p.storeBytes(of: RecordHeader.magic.3, toByteOffset: 3, as: UInt8.self)
        p.storeBytes(of: RecordHeader.formatVersion, toByteOffset: 4, as: UInt8.self)
        p.storeBytes(of: kind.rawValue, toByteOffset: 5, as: UInt8.self)
        p.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 6, as: UInt16.self)
        p.storeBytes(of: volume.littleEndian, toByteOffset: 8, as: UInt32.self)
        p.storeBytes(of: payloadCRC.littleEndian, toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: payloadLength.littleEndian, toByteOffset: 24, as: UInt64.self)
        p.storeBytes(of: rawLength.littleEndian, toByteOffset: 32, as: UInt64.self)
        p.storeBytes(of: UInt32(0), toByteOffset: 40, as: UInt32.self)
        let crc = CRC32.checksum(UnsafeRawBufferPointer(start: p, count: 44))
        p.storeBytes(of: crc.littleEndian, toByteOffset: 44, as: UInt32.self)
    }

    public var bytes: [UInt8] {
        var b = [UInt8](repeating: 0, count: RecordHeader.size)
        b.withUnsafeMutableBytes { encode(into: $0.baseAddress!) }
        return b
    }

    /// What can be wrong with 48 bytes that should be a header.
    public enum DecodeProblem: Error, Equatable {
        case badMagic, badVersion(UInt8), badChecksum, nonzeroReserved, tooLong(UInt64)
        case reservedKind(UInt8), reservedFlags(UInt16), unknownCodec(UInt8)
        /// A flag or length that the kind does not allow (seed-stream(5), Flags).
        case inconsistent(String)

        /// The error code (seed(7), TROUBLESHOOTING).
        public var code: String {
            switch self {
            case .badMagic: return "record-bad-magic"
            case .badChecksum: return "record-header-checksum"
            case .badVersion: return "record-version"
            case .nonzeroReserved: return "record-reserved-field"
            case .tooLong: return "record-too-long"
            case .reservedKind: return "record-reserved-kind"
            case .reservedFlags: return "record-reserved-flags"
            case .unknownCodec: return "record-reserved-codec"
            case .inconsistent: return "record-inconsistent"
            }
        }

        /// What is wrong, for messages.
        public var message: String {
            switch self {
            case .badMagic: return "damaged record header (bad magic)"
            case .badChecksum: return "damaged record header (header checksum mismatch)"
            case .badVersion(let v): return "record format version \(v) is not supported (this is version 1)"
            case .nonzeroReserved: return "damaged record header (reserved field not zero)"
            case .tooLong(let n): return "record length \(n) exceeds the \(RecordHeader.maxPayload >> 20) MiB limit"
            case .reservedKind(let k): return "record kind \(k) is reserved"
            case .reservedFlags(let f): return String(format: "reserved flag bits set (0x%04x)", f)
            case .unknownCodec(let c): return "codec \(c) is reserved"
            case .inconsistent(let why): return why
            }
        }
    }

    /// Decodes and checks a header: magic, version, header CRC, reserved
    /// field, and a payload length within `maxPayload`.
    public static func decode(_ p: UnsafeRawPointer) -> Result<RecordHeader, DecodeProblem> {
        func u8(_ o: Int) -> UInt8 { p.load(fromByteOffset: o, as: UInt8.self) }
        func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        guard u8(0) == magic.0, u8(1) == magic.1, u8(2) == magic.2, u8(3) == magic.3 else { return .failure(.badMagic) }
        guard CRC32.checksum(UnsafeRawBufferPointer(start: p, count: 44)) == u32(44) else { return .failure(.badChecksum) }
        guard u8(4) == formatVersion else { return .failure(.badVersion(u8(4))) }
        guard u32(40) == 0 else { return .failure(.nonzeroReserved) }
        let len = u64(24)
        guard len <= maxPayload, u64(32) <= maxPayload else { return .failure(.tooLong(max(len, u64(32)))) }
        let h = RecordHeader(
            kind: RecordKind(rawValue: u8(5)), flags: RecordFlags(rawValue: u16(6)), volume: u32(8),
            sequence: u64(16), payloadLength: len, rawLength: u64(32), payloadCRC: u32(12))
        if let problem = h.formProblem { return .failure(problem) }
        return .success(h)
    }

    /// What seed-stream(5) forbids in a header on its own: reserved kinds,
    /// flags and codecs, a codec or seal on a kind that never has one, and
    /// lengths that cannot belong together.
    public var formProblem: DecodeProblem? {
        guard kind.isDefined else { return .reservedKind(kind.rawValue) }
        guard flags.rawValue & RecordFlags.reservedMask == 0 else { return .reservedFlags(flags.rawValue & RecordFlags.reservedMask) }
        guard let codec = flags.codec else { return .unknownCodec(flags.codecBits) }
        if !kind.mayBeCompressed && payloadLength > RecordHeader.maxControlPayload + RecordFlags.tagSize {
            return .inconsistent("\(kind) record of \(payloadLength) bytes (at most 1 MiB)")
        }
        if codec != .none && !kind.mayBeCompressed { return .inconsistent("\(kind) record with codec \(codec.name)") }
        if flags.isEncrypted {
            if !kind.isSealed { return .inconsistent("\(kind) record marked encrypted") }
            if payloadLength < RecordFlags.tagSize { return .inconsistent("encrypted record shorter than its tag") }
            if codec == .none && rawLength != payloadLength - RecordFlags.tagSize {
                return .inconsistent("raw length \(rawLength) of an encrypted record without codec is not its payload length less the tag")
            }
        } else if codec == .none && rawLength != payloadLength {
            return .inconsistent("raw length \(rawLength) differs from the payload length \(payloadLength) of a record without codec")
        }
        return nil
    }
}

/// CRC-32 (ISO-HDLC, as gzip and zip use), computed by libdeflate
/// (`libdeflate_crc32`), which folds with carry-less multiplication.
public enum CRC32 {
    public static func checksum(_ b: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = b.baseAddress, b.count > 0 else { return crc }
        return libdeflate_crc32(crc, base, b.count)
    }
}
