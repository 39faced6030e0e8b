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
            throw SeedError(status, SeedMessage(verbatim: "\(what()): \(String(cString: strerror(e)))"), code: errnoCode(e, status))
        }
        return r
    }
}

/// A failed call's code: its status's class and the error's name
/// (`io-enospc`), so a full disk reads the same whichever call met it.
public func errnoCode(_ e: Int32, _ status: SeedExit = .ioError) -> String {
    let names: [Int32: String] = [
        EPERM: "eperm", ENOENT: "enoent", EIO: "eio", ENXIO: "enxio", EBADF: "ebadf", ENOMEM: "enomem", EACCES: "eacces",
        EBUSY: "ebusy", EEXIST: "eexist", EXDEV: "exdev", ENOTDIR: "enotdir", EISDIR: "eisdir", EINVAL: "einval", EMFILE: "emfile",
        ENFILE: "enfile", EFBIG: "efbig", ENOSPC: "enospc", EROFS: "erofs", EPIPE: "epipe", ENAMETOOLONG: "enametoolong",
        ENOTEMPTY: "enotempty", ELOOP: "eloop", EDQUOT: "edquot", EOPNOTSUPP: "eopnotsupp", ETIMEDOUT: "etimedout", ENODEV: "enodev",
    ]
    return status.name + "-" + (names[e] ?? "errno-\(e)")
}

/// strerror's text for `e`; in an error's message it also gives the error
/// its code (`io-enospc`), unless the error names one.
package func errnoMessage(_ e: Int32 = errno) -> ErrnoText { ErrnoText(errno: e) }

public struct ErrnoText: CustomStringConvertible, Sendable {
    public let errno: Int32
    public var description: String { String(cString: strerror(errno)) }
}

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
