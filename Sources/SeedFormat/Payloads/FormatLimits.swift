import SeedCore

/// The bounds seed-stream(5) and seed-journal(5) set on every count,
/// offset and length a payload, journal line or resume record carries, so
/// that a reader adding or multiplying a few of them never overflows.
public enum FormatLimits {
    /// 2^56: 64 PiB of bytes, or as many records; no real seed comes near it.
    public static let maxCount: UInt64 = 1 << 56

    /// Throws naming `field` when a number from outside is past `maxCount`.
    package static func check(_ values: KeyValuePairs<String, UInt64?>, record: String) throws {
        for (field, v) in values {
            if let v, v > maxCount { throw SeedError.data("\(record): \(field) \(v) is past the format's bound of 2^56") }
        }
    }
}
