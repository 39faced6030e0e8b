import SeedCore

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
        if b.contains(0) { return "holds a NUL byte" }
        return nil
    }

    /// What is wrong with a path under the tree, or nil; "." (the root)
    /// only where `rootAllowed`.
    package static func pathProblem(_ b: [UInt8], rootAllowed: Bool = true) -> String? {
        if let p = bytesProblem(b) { return p }
        if b == [0x2e] { return rootAllowed ? nil : "is the root" }
        if b.first == 0x2f { return "is absolute" }
        for part in b.split(separator: 0x2f, omittingEmptySubsequences: false) {
            if part.isEmpty { return "has an empty component" }
            if part.count <= 2 && part.allSatisfy({ $0 == 0x2e }) { return "has a \(part.count == 1 ? "." : "..") component" }
        }
        return nil
    }
}
