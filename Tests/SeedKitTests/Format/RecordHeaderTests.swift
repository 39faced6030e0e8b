import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct RecordHeaderTests {
    @Test func headerRoundTripsThroughItsEncoding() throws {
        let h = RecordHeader(
            kind: .index, flags: RecordFlags(rawValue: 0x0009), volume: 7, sequence: 1 << 40,
            payloadLength: 12345, rawLength: 99999, payloadCRC: 0xdead_beef)
        let bytes = h.bytes
        #expect(bytes.count == 48)
        #expect(Array(bytes[0..<4]) == Array("SEED".utf8))
        let back = bytes.withUnsafeBytes { RecordHeader.decode($0.baseAddress!) }
        #expect(try back.get() == h)
    }

    @Test func headerFieldsAreLittleEndianAtTheirDocumentedOffsets() {
        let h = RecordHeader(kind: .data, volume: 0x0102_0304, sequence: 0x0a0b, payloadLength: 0x10, rawLength: 0x20, payloadCRC: 0x1122_3344)
        let b = h.bytes
        #expect(b[4] == 1)  // format version
        #expect(b[5] == 2)  // kind: data
        #expect(Array(b[8..<12]) == [4, 3, 2, 1])
        #expect(Array(b[12..<16]) == [0x44, 0x33, 0x22, 0x11])
        #expect(Array(b[16..<18]) == [0x0b, 0x0a])
        #expect(b[24] == 0x10 && b[32] == 0x20)
        #expect(CRC32.checksum(b[0..<44].withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[...]) }) != 0)
    }

    @Test func everySingleByteChangeOfAHeaderIsDetected() {
        let good = RecordHeader(kind: .data, sequence: 5, payloadLength: 100, payloadCRC: 1).bytes
        for i in 0..<good.count {
            for bit in 0..<8 {
                var b = good
                b[i] ^= UInt8(1 << bit)
                let r = b.withUnsafeBytes { RecordHeader.decode($0.baseAddress!) }
                if case .success = r { Issue.record("flipping bit \(bit) of byte \(i) went unnoticed") }
            }
        }
    }

    @Test func payloadLengthOverTheLimitIsRejectedEvenWithAValidChecksum() {
        let h = RecordHeader(kind: .data, payloadLength: 4 << 30)
        let r = h.bytes.withUnsafeBytes { RecordHeader.decode($0.baseAddress!) }
        #expect(throws: RecordHeader.DecodeProblem.tooLong(4 << 30)) { try r.get() }
    }

    @Test func anotherFormatVersionIsRejected() {
        var b = RecordHeader(kind: .data, payloadLength: 0).bytes
        b[4] = 2
        let crc = b[0..<44].withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[...])) }
        withUnsafeBytes(of: crc.littleEndian) { b.replaceSubrange(44..<48, with: $0) }
        let r = b.withUnsafeBytes { RecordHeader.decode($0.baseAddress!) }
        #expect(throws: RecordHeader.DecodeProblem.badVersion(2)) { try r.get() }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        let v = Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }
        #expect(v == 0xcbf4_3926)
    }

    @Test func codecBitsAndEncryptionFlagAreIndependent() {
        var f = RecordFlags(rawValue: 0)
        f.setCodec(.gzip)
        f.rawValue |= RecordFlags.encrypted.rawValue
        #expect(f.codec == .gzip)
        #expect(f.isEncrypted)
        f.setCodec(.none)
        #expect(f.codec == Codec.none)
        #expect(f.isEncrypted)
    }

    @Test func everyKindsTokenNamesItAndNoOtherStringDoes() {
        for raw in 0...UInt8.max {
            let k = RecordKind(rawValue: raw)
            #expect(RecordKind(token: k.token) == k, "\(k.token)")
        }
        #expect(RecordKind(token: "volume begin") == nil)
        #expect(RecordKind(token: "kind-01") == nil)
        #expect(RecordKind(token: "kind-256") == nil)
        #expect(Hex.decode("00ff1a") == [0, 255, 26])
        #expect(Hex.decode("0F") == nil && Hex.decode("abc") == nil)
    }
}
