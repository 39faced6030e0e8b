/// Lower-case hex, for digests (String(format:) per byte is slow).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        if let s = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0)) }) { return s }
        return Array(bytes).withUnsafeBytes { encode($0) }
    }

    /// The bytes at `b` in hex, written straight into the string's storage
    /// (a digest per file: no array in between).
    public static func encode(_ b: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: b.count * 2) { out in
            digits.withUnsafeBufferPointer { d in
                for (i, byte) in b.enumerated() {
                    out[2 * i] = d[Int(byte >> 4)]
                    out[2 * i + 1] = d[Int(byte & 0x0f)]
                }
            }
            return b.count * 2
        }
    }

    /// Whether every byte is a lower-case hex digit.
    public static func isLowerHex(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in b where !((0x30...0x39).contains(c) || (0x61...0x66).contains(c)) { return false }
        return true
    }

    /// The bytes lower-case hex `text` spells; nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        let t = Array(text.utf8)
        guard t.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(t.count / 2)
        var i = 0
        while i < t.count {
            guard let hi = value(t[i]), let lo = value(t[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
