import SeedCore

#if canImport(Glibc)
    import Glibc
#endif

/// The rules every name a stream, journal or report carries must keep
/// (seed-stream(5), Names): bytes with no NUL, since a NUL ends the C
/// string a system call is given and the kernel would see another name;
/// and for a path in the tree, "." or names joined by single slashes,
/// none empty, "." or "..".
package enum EntryName {
    /// What is wrong with a name that is only bytes (a link target, an
    /// extended attribute's name), or nil.
    package static func bytesProblem(_ b: [UInt8]) -> String? {
        if b.isEmpty { return "is empty" }
        if b.withUnsafeBytes({ memchr($0.baseAddress!, 0, $0.count) }) != nil { return "holds a NUL byte" }
        return nil
    }

    /// What is wrong with a path under the tree, or nil; "." (the root)
    /// only where `rootAllowed`.
    package static func pathProblem(_ b: [UInt8], rootAllowed: Bool = true) -> String? {
        if let p = bytesProblem(b) { return p }
        if b == [0x2e] { return rootAllowed ? nil : "is the root" }
        if b.first == 0x2f { return "is absolute" }
        // Component by component, in place: every index line's path comes here.
        return b.withUnsafeBufferPointer { buf -> String? in
            var start = 0
            while true {
                let slash = memchr(buf.baseAddress! + start, 0x2f, buf.count - start)
                let end = slash.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - buf.baseAddress! } ?? buf.count
                let n = end - start
                if n == 0 { return "has an empty component" }
                if n <= 2 && buf[start] == 0x2e && buf[end - 1] == 0x2e { return "has a \(n == 1 ? "." : "..") component" }
                if end == buf.count { return nil }
                start = end + 1
            }
        }
    }
}
