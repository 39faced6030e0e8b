import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Calls a system call, retrying EINTR, and turns -1 into a thrown error
/// naming the operation and the file.
@discardableResult
package func syscall<T: FixedWidthInteger>(_ what: @autoclosure () -> String, status: SeedExit = .ioError, _ call: () -> T) throws -> T {
    while true {
        let r = call()
        if r == -1 {
            let e = errno
            if e == EINTR { continue }
            throw SeedError(status, "\(what()): \(String(cString: strerror(e)))")
        }
        return r
    }
}

package func errnoMessage(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

extension Errno {
    /// strerror text, lower-cased first letter kept as the C library says it.
    package var message: String { String(cString: strerror(rawValue)) }
}

/// Quotes a file name for messages: 'name', with bytes that are not
/// printable UTF-8 shown as \xNN so a message stays one line.
public func quoted(_ name: String) -> String { "'" + escapeForMessage(Array(name.utf8)) + "'" }
public func quoted(bytes: [UInt8]) -> String { "'" + escapeForMessage(bytes) + "'" }

package func escapeForMessage(_ b: [UInt8]) -> String {
    if let s = String(validating: b, as: UTF8.self), !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
        return s
    }
    var out = ""
    var i = 0
    while i < b.count {
        let c = b[i]
        if c >= 0x20 && c < 0x7f { out.unicodeScalars.append(UnicodeScalar(c)) } else { out += String(format: "\\x%02x", c) }
        i += 1
    }
    return out
}
