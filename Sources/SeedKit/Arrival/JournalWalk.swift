import Foundation
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// A session's volume journals in a journal directory, as random access
/// uses them: each checked to begin with its volume (and, given signers,
/// signed), then read line by line.
struct SessionJournals {
    let dir: String
    let session: String
    /// Each volume's number and journal, opened once (by absolute path:
    /// extraction opens them from inside its target), and with signers
    /// held to them before any line is used.
    private(set) var volumes: [(volume: UInt32, file: JournalFile)] = []

    init(dir: String, session: String, signers: [String]) throws {
        guard let full = realpath(dir, nil) else {
            throw SeedError(.noInput, "cannot open journal directory \(quoted(dir)): \(errnoMessage())")
        }
        self.dir = String(cString: full)
        free(full)
        self.session = session
        for (volume, path) in try ResumePlanner.journals(self.dir, session: session) {
            let file = try VolumeChecker.open(path, session: session, volume: volume, signers: signers)
            _ = try JournalReader(file).volumeLine(volume, of: session)
            volumes.append((volume, file))
        }
        guard !volumes.isEmpty else {
            throw SeedError(.noInput, "no journal of session \(session) in \(quoted(dir))", hint: "give the journal directory seed-journal wrote")
        }
    }

    /// Every record line of every volume, in order.
    func cursor() -> JournalCursor { JournalCursor(volumes) }
}

/// Reads a session's journals' record lines one after another, volume
/// after volume, keeping the clear records of the key segment each lies in.
final class JournalCursor {
    private let journals: [(volume: UInt32, file: JournalFile)]
    private var next = 0
    private var reader: JournalReader?
    private var volume: UInt32 = 0
    private var segment: [JournalLine.Entry] = []

    init(_ journals: [(volume: UInt32, file: JournalFile)]) { self.journals = journals }

    /// The next record line, its volume and its segment's clear records.
    func read() throws -> (volume: UInt32, line: JournalLine.Entry, segment: [JournalLine.Entry])? {
        while true {
            if reader == nil {
                guard next < journals.count else { return nil }
                reader = JournalReader(journals[next].file)
                volume = journals[next].volume
                segment = []
                next += 1
            }
            guard let l = try reader!.next() else {
                reader = nil
                continue
            }
            if case .end = l {
                reader = nil
                continue
            }
            guard case .record(let e) = l else { continue }
            switch e.kind {
            case .volumeBegin, .resume: segment = [e]
            case .key, .streamHeader: segment.append(e)
            default: break
            }
            return (volume, e, segment)
        }
    }
}
