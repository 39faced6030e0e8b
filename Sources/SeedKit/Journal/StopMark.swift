import Foundation
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// SESSION.stopped in a journal directory (seed-journal(5), RESUMING): a
/// run that stopped at a stop record, every stage synced, ended its
/// journals at this volume and byte. While the journals still end there,
/// the next run goes on from their last data or index record, not a
/// checkpoint interval before it: nothing lagged the journal. Any run
/// that journals again removes it first; a run killed leaves none.
enum StopMark {
    struct Mark: JSONPayload, Equatable {
        static let notValid = "stop mark is not valid"
        var volume: UInt32
        var bytes: UInt64
    }

    static func path(_ directory: String, session: String) -> String { directory + "/" + session + ".stopped" }

    static func write(_ directory: String, session: String, volume: UInt32, bytes: UInt64) throws {
        let out = try AtomicOutput(path: path(directory, session: session))
        let line = Mark(volume: volume, bytes: bytes).encoded() + [0x0a]
        let written = try line.withUnsafeBytes { b in
            try syscall("cannot write \(quoted(out.path))") { Glibc.write(out.fd.rawValue, b.baseAddress, b.count) }
        }
        if written != line.count { throw SeedError.io("cannot write \(quoted(out.path)): the disk is full") }
        try out.commit()
    }

    static func clear(_ directory: String, session: String) { unlink(path(directory, session: session)) }

    /// The mark, if there is one that can be read; a damaged one is none.
    static func read(_ directory: String, session: String) -> Mark? {
        let p = path(directory, session: session)
        guard let f = try? LineFile(p, what: "stop mark", maxLine: 4096, missingIsNil: true) else { return nil }
        return try? f.next { try Mark.decode($0, record: quoted(p)) } ?? nil
    }
}
