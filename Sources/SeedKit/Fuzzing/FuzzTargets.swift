import Crypto
import Foundation
import SeedArchive
import SeedCore
import SeedFormat
import SeedIO
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The readers of what comes from outside, each run on arbitrary bytes:
/// what `scripts/fuzz` drives with libFuzzer (under AddressSanitizer) and
/// what the regression test replays from Tests/Fuzz. Every one must end
/// in a value or a thrown error for any input: never a crash, a hang or
/// work beyond what the bytes hold.
public enum FuzzTargets {
    public static let names = ["records", "payloads", "journal", "label", "report", "pax"]

    /// Runs target `name` on `bytes`; false for a name not in `names`.
    @discardableResult
    public static func run(_ name: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        switch name {
        case "records": records(bytes)
        case "payloads": payloads(bytes)
        case "journal": journal(bytes)
        case "label": label(bytes)
        case "report": report(bytes)
        case "pax": pax(bytes)
        default: return false
        }
        return true
    }

    /// A file holding `bytes`, reused run after run (a reader that opens a
    /// path is driven through it).
    private static let scratch: String = {
        let dir = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        return "\(dir)/seed-fuzz-\(getpid())"
    }()

    private static func withFile(_ bytes: UnsafeRawBufferPointer, _ body: (String) throws -> Void) {
        let fd = open(scratch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n <= 0 { break }
            done += n
        }
        close(fd)
        _ = try? body(scratch)
    }

    /// The framer and stream order over a whole stream, every payload checked.
    static func records(_ bytes: UnsafeRawBufferPointer) {
        withFile(bytes) { path in
            let fd = try FileDescriptor.open(path, .readOnly)
            defer { try? fd.close() }
            let r = RecordReader(fd: fd, source: "fuzz", bufferSize: 1 << 16)
            while let rec = try r.next() {
                if rec.header.kind == .streamHeader { _ = try StreamMetadata.decode(rec.payload, record: "fuzz") }
            }
        }
    }

    /// Every JSON payload decoder; the first byte says which.
    static func payloads(_ bytes: UnsafeRawBufferPointer) {
        guard let which = bytes.first else { return }
        let p = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        let r = "fuzz"
        switch which % 9 {
        case 0: _ = try? StreamMetadata.decode(p, record: r)
        case 1: _ = try? StreamTotals.decode(p, record: r)
        case 2: _ = try? VolumeBegin.decode(p, record: r)
        case 3: _ = try? VolumeEnd.decode(p, record: r)
        case 4: _ = try? KeyRecord.decode(p, record: r)
        case 5: _ = try? ResumePoint.decode(p, record: r)
        case 6: _ = try? StopRecord.complete(p, record: r)
        case 7: try? IndexLines.decode(p, location: r) { _ = $0.pathBytes }
        default: try? ChangeLine.decode(p, location: r) { _ = ($0.pathBytes, $0.fromBytes) }
        }
    }

    /// A journal file, line by line; held to a signer as it is (the
    /// refusals); and signed by that signer (the signed copy read, as a
    /// tool given --signer reads it).
    static func journal(_ bytes: UnsafeRawBufferPointer) {
        withFile(bytes) { path in
            let r = try JournalReader(path)
            while try r.next() != nil {}
        }
        withFile(bytes) { path in
            let f = try JournalFile(path, session: fuzzSession, volume: 1, signers: [fuzzSigner.publicKey])
            let r = JournalReader(f)
            while try r.next() != nil {}
        }
        var signed = Array(bytes)
        if let last = signed.last, last != 0x0a { signed.append(0x0a) }
        let message = JournalLine.Signature.message(session: fuzzSession, volume: 1, digest: Array(SHA256.hash(data: signed)))
        guard let signature = try? fuzzSigner.signature(for: message) else { return }
        signed += JournalLine.signature(
            .init(signer: fuzzSigner.publicKey.rawRepresentation.base64EncodedString(), signature: signature.base64EncodedString())
        ).encodedLine()
        signed.withUnsafeBytes { b in
            withFile(b) { path in
                let f = try JournalFile(path, session: fuzzSession, volume: 1, signers: [fuzzSigner.publicKey])
                let r = JournalReader(f)
                while try r.next() != nil {}
            }
        }
    }

    static let fuzzSession = "00000000-0000-4000-8000-000000000000"
    /// The fuzzer's own signing key: inputs as they come are not signed by
    /// it, and the same inputs signed by it are.
    static let fuzzSigner = Curve25519.Signing.PrivateKey()

    /// A drive's label block.
    static func label(_ bytes: UnsafeRawBufferPointer) {
        var b = Array(bytes.prefix(VolumeLabel.size))
        if b.count < VolumeLabel.size { b += [UInt8](repeating: 0, count: VolumeLabel.size - b.count) }
        guard let l = try? VolumeLabel.decode(b, name: "fuzz") else { return }
        _ = BlockReader.gaps(in: [l.volume], upTo: l.volume)
    }

    /// A check report, as seed-snapshot --repair reads it.
    static func report(_ bytes: UnsafeRawBufferPointer) {
        withFile(bytes) { path in
            let diag = Diagnostics(tool: "fuzz")
            diag.verbosity = 0
            _ = try RepairSelection(report: path, index: nil, diag: diag)
        }
    }

    /// A pax archive through libarchive, entry by entry and block by block,
    /// handed over in pieces as records would be.
    static func pax(_ bytes: UnsafeRawBufferPointer) {
        var at = 0
        let piece = 4096
        guard
            let ar = try? TarReader(
                "fuzz",
                next: {
                    guard at < bytes.count else { return nil }
                    let n = min(piece, bytes.count - at)
                    defer { at += n }
                    return UnsafeRawBufferPointer(rebasing: bytes[at..<at + n])
                })
        else { return }
        var blocks = 0
        while let e = try? ar.nextEntry("fuzz") {
            _ = (e.path, e.symlink, e.hardlink, e.size, e.isSparse)
            // Bounded by the bytes: a declared size never makes more blocks than the archive holds.
            while let b = try? ar.nextBlock("fuzz"), blocks < 1 << 20 {
                blocks += 1
                _ = b.bytes.count
            }
        }
    }
}
