import CSeedSys
import Foundation
import SeedCore
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// Splits index record payloads into entries.
package enum IndexLines {
    /// A longer line is damage: decoding one costs several times its size.
    package static let maxLine = 4 << 20

    /// Every line of an index payload, checked; with the stream's record
    /// size, its place too (what random access relies on).
    /// `worth` passes over a line it says cannot matter, before it is decoded.
    package static func decode(
        _ payload: UnsafeRawBufferPointer, location: String, recordSize: UInt64? = nil, worth: ((UnsafeRawBufferPointer) -> Bool)? = nil,
        _ body: (IndexEntry) throws -> Void
    ) throws {
        let decoder = JSONDecoder()
        try rawLines(payload, location: location, what: "index") { line, lineNo in
            if let worth, !worth(line) { return }
            // Lines as seed writes them are read without JSONDecoder's
            // per-line cost; any other JSON, by it.
            guard let e = IndexLineReader.read(line) ?? (try? decoder.decode(IndexEntry.self, from: Data(line))) else {
                throw SeedError.data("\(location): index line \(lineNo) is not a valid entry")
            }
            if let why = e.formProblem { throw SeedError.data("\(location): index line \(lineNo) \(why)") }
            if let size = recordSize, let why = e.positionProblem(recordSize: size) {
                throw SeedError.data("\(location): index line \(lineNo): \(why)")
            }
            try body(e)
        }
    }

    /// The lines of a JSON Lines payload (`what` names its kind of record
    /// for messages): whole lines only, none longer than `maxLine`.
    package static func lines(_ payload: UnsafeRawBufferPointer, location: String, what: String, _ body: (Data, Int) throws -> Void) throws {
        try rawLines(payload, location: location, what: what) { line, lineNo in try body(Data(line), lineNo) }
    }

    /// The same lines, lent in place.
    package static func rawLines(
        _ payload: UnsafeRawBufferPointer, location: String, what: String, _ body: (UnsafeRawBufferPointer, Int) throws -> Void
    ) throws {
        guard let base = payload.baseAddress, payload.count > 0 else { return }
        var start = 0
        var lineNo = 0
        while start < payload.count {
            guard let nl = memchr(base + start, 0x0a, payload.count - start) else {
                throw SeedError.data("\(location): \(what) record ends inside a line")
            }
            let end = UnsafeRawPointer(nl) - base
            lineNo += 1
            if end - start > maxLine { throw SeedError.data("\(location): \(what) line \(lineNo) is longer than \(maxLine >> 20) MiB") }
            let line = UnsafeRawBufferPointer(start: base + start, count: end - start)
            start = end + 1
            try body(line, lineNo)
        }
    }

    /// Whether a line can be a hard link's: it spells `hardlink`, or
    /// holds an escape (which could spell it).
    package static func mayBeHardLink(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let base = line.baseAddress else { return false }
        return memchr(base, 0x5c, line.count) != nil || memmem(base, line.count, "hardlink", 8) != nil
    }
}
