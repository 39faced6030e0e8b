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

    package static func decode(_ payload: UnsafeRawBufferPointer, location: String, _ body: (IndexEntry) throws -> Void) throws {
        let decoder = JSONDecoder()
        guard let base = payload.baseAddress, payload.count > 0 else { return }
        var start = 0
        var lineNo = 0
        while start < payload.count {
            let end: Int
            if let nl = memchr(base + start, 0x0a, payload.count - start) {
                end = UnsafeRawPointer(nl) - base
            } else {
                throw SeedError.data("\(location): index record ends inside a line")
            }
            lineNo += 1
            if end - start > maxLine { throw SeedError.data("\(location): index line \(lineNo) is longer than \(maxLine >> 20) MiB") }
            let line = Data(bytes: base + start, count: end - start)
            start = end + 1
            guard let e = try? decoder.decode(IndexEntry.self, from: line) else {
                throw SeedError.data("\(location): index line \(lineNo) is not a valid entry")
            }
            if let why = e.formProblem { throw SeedError.data("\(location): index line \(lineNo) \(why)") }
            try body(e)
        }
    }
}
