import CSeedSys
import Crypto
import Foundation
import SeedCore
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// A journal opened once: every JournalReader made from it reads the same
/// open file. Given signers, the journal is read once, line by line, into
/// a private temporary file while its bytes are hashed, and its last line
/// must be a signature by one of them over every byte before it
/// (seed-journal(5)): the lines a tool then relies on are the very bytes
/// the signature covers, whatever happens to the journal meanwhile.
package final class JournalFile {
    package let path: String
    let fd: Int32

    /// Opens the journal at `path` (a regular file, not through a link).
    package init(_ path: String) throws {
        self.path = path
        fd = try LineFile.openRegular(path, what: "journal")!
    }

    deinit { close(fd) }

    /// Opens the journal at `path` and holds it to `signers`: the journal
    /// of `volume` of `session` whose last line is a valid signature by
    /// one of them over everything before it, or an error saying why not.
    package init(_ path: String, session: String, volume: UInt32, signers: [Curve25519.Signing.PublicKey]) throws {
        self.path = path
        fd = try TempFile.open(what: "a copy of journal \(quoted(path))")
        let source = try LineFile(path, what: "journal", maxLine: JournalReader.maxLine)!
        // Room for a whole line at any time: a line is never written in two parts.
        let out = ByteBuffer(capacity: max(1 << 20, 2 * (JournalReader.maxLine + 1)))
        var hash = SHA256()
        // What the lines read so far end with: a valid signature, another
        // signature, or some other line.
        enum Last { case none, signed, badSignature, line }
        var last = Last.none
        var sawSignature = false
        let keys = signers.map { ($0, $0.rawRepresentation.base64EncodedString()) }
        let fd = self.fd
        func spill() throws {
            guard out.count > 0 else { return }
            if !FileWrite.all(fd, out.base, out.count) { throw SeedError.io("cannot write a temporary copy of journal \(quoted(path)): \(errnoMessage())") }
            out.count = 0
        }
        while try source.next({ line -> Bool in
            let lineBase = line.baseAddress ?? UnsafeRawPointer(out.base)
            last = .line
            // Only a line naming a signature is decoded here; every line is
            // decoded again, from the copy, by the tool that uses it.
            if memmem(lineBase, line.count, "\"signature\"", 11) != nil,
                case .signature(let g)? = try? JournalLine.decode(line, record: path)
            {
                sawSignature = true
                let message = JournalLine.Signature.message(session: session, volume: volume, digest: Array(hash.finalize()))
                let valid = Data(base64Encoded: g.signature).map { sig in
                    keys.contains { $0.1 == g.signer && $0.0.isValidSignature(sig, for: message) }
                }
                last = valid == true ? .signed : .badSignature
            }
            hash.update(bufferPointer: line)
            hash.update(data: [0x0a])
            if out.count + line.count + 1 > out.capacity { try spill() }
            (out.base + out.count).copyMemory(from: lineBase, byteCount: line.count)
            out.base.storeBytes(of: 0x0a, toByteOffset: out.count + line.count, as: UInt8.self)
            out.count += line.count + 1
            return true
        }) != nil {}
        try spill()
        if source.torn { last = .line }
        switch last {
        case .signed: return
        case .badSignature:
            throw SeedError.data("journal \(quoted(path)) is not signed by the signer given (altered, or signed by someone else)", code: "journal-not-signed")
        case .line where sawSignature:
            throw SeedError.data("journal \(quoted(path)) has lines after its signature, which it does not cover (altered)")
        default:
            throw SeedError.data(
                "journal \(quoted(path)) is not signed (written without --sign, or by a run that stopped before its volume ended)")
        }
    }
}

extension FileWrite {
    /// The SHA-256 of every byte of an open file, read with pread: what a
    /// signature line appended next covers.
    package static func sha256(of fd: Int32) throws -> [UInt8] {
        var hash = SHA256()
        let buf = ByteBuffer(capacity: 1 << 20)
        var at: off_t = 0
        while true {
            let n = pread(fd, buf.base, buf.capacity, at)
            if n < 0 {
                if errno == EINTR { continue }
                throw SeedError.io("cannot read back a journal: \(errnoMessage())")
            }
            if n == 0 { return Array(hash.finalize()) }
            hash.update(bufferPointer: UnsafeRawBufferPointer(start: buf.base, count: n))
            at += off_t(n)
        }
    }
}
