/// JSON text as seed writes it: index lines, reports and events share one
/// string writer, the form JSONEncoder gives with `.withoutEscapingSlashes`.
public enum JSONText {
    /// Appends `s` as a JSON string.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendString(bytes: $0, to: &out) }
    }

    /// Appends UTF-8 bytes as a JSON string: runs that need no escape go
    /// in whole.
    public static func appendString(bytes u: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(0x22)
        var start = 0
        var i = 0
        while i < u.count {
            let b = u[i]
            if b >= 0x20 && b != 0x22 && b != 0x5c {
                i += 1
                continue
            }
            if start < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i])) }
            switch b {
            case 0x22: out.append(contentsOf: [0x5c, 0x22])
            case 0x5c: out.append(contentsOf: [0x5c, 0x5c])
            case 0x08: out.append(contentsOf: [0x5c, 0x62])
            case 0x0c: out.append(contentsOf: [0x5c, 0x66])
            case 0x0a: out.append(contentsOf: [0x5c, 0x6e])
            case 0x0d: out.append(contentsOf: [0x5c, 0x72])
            case 0x09: out.append(contentsOf: [0x5c, 0x74])
            default:
                out.append(contentsOf: [0x5c, 0x75, 0x30, 0x30])
                out.append(contentsOf: Hex.encode([b]).utf8)
            }
            i += 1
            start = i
        }
        if start < u.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<u.count])) }
        out.append(0x22)
    }

    /// `s` as a JSON string.
    public static func string(_ s: String) -> String {
        var out: [UInt8] = []
        appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
