import Foundation
import SeedCore
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// One line of an increment's changes record (seed-stream(5), kind 10):
/// an entry of the base that is gone (`delete`), or one that moved to a
/// new path with its content and metadata unchanged (`rename`, from
/// `from`). Paths are as in the index: `path` or, for a name that is not
/// UTF-8, `pathB64` (and `from` or `fromB64`).
public struct ChangeLine: Codable, Equatable, Sendable {
    public enum Op: String, Codable, Sendable {
        case delete, rename
    }

    public var op: Op
    public var path: String?
    public var pathB64: String?
    public var from: String?
    public var fromB64: String?
    public var type: EntryType

    public init(op: Op, path: [UInt8], from: [UInt8]? = nil, type: EntryType) {
        self.op = op
        self.type = type
        (self.path, pathB64) = ChangeLine.encode(path)
        if let f = from { (self.from, fromB64) = ChangeLine.encode(f) }
    }

    static func encode(_ b: [UInt8]) -> (String?, String?) {
        if let s = String(validating: b, as: UTF8.self) { return (s, nil) }
        return (nil, Data(b).base64EncodedString())
    }

    static func bytes(_ s: String?, _ b64: String?) -> [UInt8]? {
        if let s { return Array(s.utf8) }
        return b64.flatMap { Data(base64Encoded: $0) }.map(Array.init)
    }

    public var pathBytes: [UInt8] { ChangeLine.bytes(path, pathB64) ?? [] }
    public var fromBytes: [UInt8]? { ChangeLine.bytes(from, fromB64) }

    /// What seed-stream(5) requires of a line beyond its JSON shape, or nil.
    public var formProblem: String? {
        if (path == nil) == (pathB64 == nil) { return "has not exactly one of path and pathB64" }
        if let b = pathB64, Data(base64Encoded: b) == nil { return "pathB64 is not base64" }
        if let b = fromB64, Data(base64Encoded: b) == nil { return "fromB64 is not base64" }
        if pathBytes.isEmpty { return "has no path" }
        if let why = EntryName.pathProblem(pathBytes, rootAllowed: false) { return "path \(why)" }
        switch op {
        case .delete:
            if from != nil || fromB64 != nil { return "deletes with a from" }
        case .rename:
            if (from == nil) == (fromB64 == nil) { return "renames without exactly one of from and fromB64" }
            if (fromBytes ?? []).isEmpty { return "renames from no path" }
            if let why = EntryName.pathProblem(fromBytes ?? [], rootAllowed: false) { return "from \(why)" }
        }
        if !EntryType.defined.contains(type) { return "type \(type) is not one seed-stream(5) names" }
        return nil
    }

    public func encodedLine() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? e.encode(self)) ?? Data()) + [0x0a]
    }

    /// Splits a changes record's payload into lines, each checked.
    package static func decode(_ payload: UnsafeRawBufferPointer, location: String, _ body: (ChangeLine) throws -> Void) throws {
        let decoder = JSONDecoder()
        try IndexLines.lines(payload, location: location, what: "changes") { line, lineNo in
            guard let c = try? decoder.decode(ChangeLine.self, from: line) else {
                throw SeedError.data("\(location): change line \(lineNo) is not a valid change")
            }
            if let why = c.formProblem { throw SeedError.data("\(location): change line \(lineNo) \(why)") }
            try body(c)
        }
    }
}
