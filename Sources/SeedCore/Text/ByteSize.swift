import Foundation

/// Byte counts as people write them: K M G T P are powers of 1024, KB MB GB
/// TB PB powers of 1000 (as drive makers count), plain digits are bytes.
public enum ByteSize {
    public static func parse(_ text: String) throws -> UInt64 {
        let t = text.trimmingCharacters(in: .whitespaces)
        let digits = t.prefix { $0.isNumber || $0 == "." }
        let suffix = t.dropFirst(digits.count).uppercased()
        let scale: Double
        switch suffix {
        case "", "B": scale = 1
        case "K", "KIB": scale = 1024
        case "M", "MIB": scale = 1024 * 1024
        case "G", "GIB": scale = 1024 * 1024 * 1024
        case "T", "TIB": scale = 1024 * 1024 * 1024 * 1024
        case "P", "PIB": scale = 1024 * 1024 * 1024 * 1024 * 1024
        case "KB": scale = 1e3
        case "MB": scale = 1e6
        case "GB": scale = 1e9
        case "TB": scale = 1e12
        case "PB": scale = 1e15
        default: throw SeedError.usage("bad size \(quoted(text)): unknown unit \(quoted(String(suffix)))", hint: "use K M G T (1024) or KB MB GB TB (1000)")
        }
        guard !digits.isEmpty, let n = Double(digits), n > 0 else { throw SeedError.usage("bad size \(quoted(text))") }
        if suffix.isEmpty || suffix == "B" {
            guard let exact = UInt64(digits) else { throw SeedError.usage("bad size \(quoted(text)): not a whole number of bytes") }
            return exact
        }
        let v = (n * scale).rounded(.down)
        guard v < 1.8e19 else { throw SeedError.usage("bad size \(quoted(text)): too large") }
        return UInt64(v)
    }
}
