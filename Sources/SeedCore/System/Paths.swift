import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// mkdir -p: creates `path` and any missing parents; 0, or -1 with errno.
package func mkdirP(_ path: String) -> Int32 {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST { return -1 }
    }
    var st = stat()
    if stat(path.isEmpty ? "." : path, &st) != 0 { return -1 }
    if (st.st_mode & S_IFMT) != S_IFDIR {
        errno = ENOTDIR
        return -1
    }
    return 0
}

/// Calls `body` with `bytes` as a NUL-terminated C string. Bytes holding
/// a NUL are no name at all (the kernel would see the name before it, a
/// different file): they are passed as the empty string, which every
/// system call seed makes refuses with ENOENT. Decoders refuse such names
/// first; this keeps one that slipped past from reaching any file.
package func cString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
    if bytes.contains(0) { return body("") }
    var z = bytes
    z.append(0)
    return z.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
}

/// `cString` with one buffer kept from call to call: for the names a
/// walk passes to the kernel, one per entry, without an allocation each.
package final class CNameBuffer {
    private var z: [UInt8] = []

    package init() {}

    package func with<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        if bytes.withUnsafeBytes({ $0.count > 0 && memchr($0.baseAddress!, 0, $0.count) != nil }) { return body("") }
        z.removeAll(keepingCapacity: true)
        z.append(contentsOf: bytes)
        z.append(0)
        return z.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }
}

package func cBytes(_ p: UnsafePointer<CChar>) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
}
