/// A message for a person, and the shape it has whatever values fill it:
/// `"cannot open \(path)"` has the text with the path and the template
/// `cannot open %`. An error's or warning's stable code is drawn from the
/// template (see `SeedError.code`), so that a message and its code come
/// from one source and the code stays the same from run to run.
public struct SeedMessage: ExpressibleByStringInterpolation, CustomStringConvertible, Sendable {
    public var text: String
    /// The literal parts, each value as `%`; "" for a message made whole
    /// elsewhere (`init(verbatim:)`), which has no shape of its own.
    public var template: String

    public init(stringLiteral value: String) { (text, template) = (value, value) }
    public init(stringInterpolation i: Interpolation) { (text, template, errno) = (i.text, i.template, i.errno) }
    /// The system error the message reports, if any.
    public var errno: Int32?
    /// A message built elsewhere: its code comes from its status alone.
    public init(verbatim text: String) { (self.text, template) = (text, "") }

    public var description: String { text }

    /// A message written over several lines of source.
    public static func + (l: SeedMessage, r: SeedMessage) -> SeedMessage {
        var m = l
        m.text += r.text
        m.template += r.template
        if m.errno == nil { m.errno = r.errno }
        return m
    }

    public struct Interpolation: StringInterpolationProtocol {
        var text = ""
        var template = ""
        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }
        public mutating func appendLiteral(_ s: String) {
            text += s
            template += s
        }
        public mutating func appendInterpolation<T>(_ value: T) {
            text += String(describing: value)
            template += "%"
        }
        /// A system error's text: the message's code is drawn from its errno.
        public mutating func appendInterpolation(_ e: ErrnoText) {
            text += e.description
            template += "%"
            if errno == nil { errno = e.errno }
        }
        var errno: Int32?
        /// A message inside a message keeps its shape.
        public mutating func appendInterpolation(_ m: SeedMessage) {
            text += m.text
            template += m.template.isEmpty ? "%" : m.template
        }
    }

    /// `prefix` and the template's FNV-1a hash, as eight hex digits: a code
    /// that changes only when the message's wording does.
    public func code(_ prefix: String) -> String {
        if template.isEmpty { return prefix }
        var h: UInt32 = 0x811c_9dc5
        for b in template.utf8 {
            h ^= UInt32(b)
            h = h &* 0x0100_0193
        }
        let hex = String(h, radix: 16)
        return prefix + "-" + String(repeating: "0", count: 8 - hex.count) + hex
    }
}
