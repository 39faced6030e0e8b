import Foundation
import SeedCore

/// A payload in JSON (seed-stream(5), seed-journal(5)): written with its
/// keys sorted, so that the same value is always the same bytes, and read
/// by one decoder, then checked beyond its JSON shape.
public protocol JSONPayload: Codable {
    /// What a reader says of a payload that is not one: "volume end record is not valid".
    static var notValid: String { get }
    /// Checks what JSON cannot say (a supported format, a session id);
    /// `record` names the record for messages.
    func check(record: String) throws
}

extension JSONPayload {
    public func check(record: String) throws {}

    /// The payload's bytes.
    public func encoded() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return Array((try? e.encode(self)) ?? Data())
    }

    /// The payload in `bytes`, checked; `record` names it in errors.
    public static func decode(_ bytes: UnsafeRawBufferPointer, record: String) throws -> Self {
        guard let v = try? JSONDecoder().decode(Self.self, from: Data(bytes)) else { throw SeedError.data("\(record): \(notValid)") }
        try v.check(record: record)
        return v
    }

    /// The payload in `bytes` (a line read from a file), checked.
    public static func decode(_ bytes: Data, record: String) throws -> Self {
        try bytes.withUnsafeBytes { try decode($0, record: record) }
    }
}
