import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO

#if canImport(Glibc)
    import Glibc
#endif

/// What seed-snapshot keeps beside the journals when given --resume DIR, so
/// that a resumed run can make the archive again from inside
/// (seed-snapshot(1), RESUMING):
///
/// - SESSION.snapshot: a JSON line saying how the run was made (the tree,
///   the record size, the stream header), then a line per warning;
/// - SESSION.entries: a line per archive entry as its headers go out: its
///   archive offset and the SHA-256 of its headers, in decimal and hex;
/// - SESSION.index: the index lines, in archive order, as each entry's
///   digest is known.
///
/// Each grows by appending; a line cut short by a crash is ignored.
final class SnapshotState {
    struct Info: JSONPayload, Equatable {
        var session: String
        var root: String
        var recordSize: Int
        var excludes: [String]
        var oneFileSystem: Bool
        /// The stream header's payload, in base64.
        var header: String

        static let notValid = "does not describe a snapshot run"
        func check(record: String) throws { try Session.check(session, record: record) }
    }

    struct Warning: JSONPayload {
        var warning: String
        /// The archive offset when it was given.
        var at: UInt64

        static let notValid = "is not a warning line"
    }

    let directory: String
    let session: String
    private let info: Int32
    private let entries: Int32
    private var pending: [UInt8] = []

    static func path(_ directory: String, _ session: String, _ ext: String) -> String { directory + "/" + session + "." + ext }
    var indexPath: String { SnapshotState.path(directory, session, "index") }

    /// The session whose run `directory` keeps a state of, if any.
    static func session(in directory: String) throws -> String? {
        var found: [String] = []
        for name in try ResumePlanner.names(in: directory) {
            if name.hasSuffix(".snapshot"), Session.isValid(String(name.dropLast(9))) { found.append(String(name.dropLast(9))) }
        }
        if found.count > 1 {
            throw SeedError.usage(
                "\(quoted(directory)) keeps the runs of \(found.count) snapshots (sessions \(found.sorted().joined(separator: ", ")))",
                hint: "give every seeding run a journal directory of its own")
        }
        return found.first
    }

    /// Opens the state of `session` in `directory`, made anew when `info`
    /// is given, else kept as it is.
    init(directory: String, session: String, fresh info: Info?) throws {
        self.directory = directory
        self.session = session
        if info != nil, mkdirP(directory) != 0 {
            throw SeedError(.cannotCreate, "cannot create \(quoted(directory)): \(errnoMessage())")
        }
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (info != nil ? O_TRUNC : 0)
        let a = open(SnapshotState.path(directory, session, "snapshot"), flags, 0o644)
        let b = open(SnapshotState.path(directory, session, "entries"), flags, 0o644)
        guard a >= 0, b >= 0 else {
            let e = errnoMessage()
            if a >= 0 { close(a) }
            if b >= 0 { close(b) }
            throw SeedError(.cannotCreate, "cannot keep the snapshot's state in \(quoted(directory)): \(e)")
        }
        (self.info, entries) = (a, b)
        if let info {
            try write(a, Data(info.encoded() + [0x0a]))
            try sync()
        }
    }

    deinit {
        close(info)
        close(entries)
    }

    /// Notes an entry whose headers, starting at archive offset `offset`, hashed to `digest`.
    func entry(at offset: UInt64, headers digest: SHA256.Digest) throws {
        pending += Array("\(offset) \(Hex.encode(digest))\n".utf8)
        if pending.count >= 1 << 16 { try push() }
    }

    func warning(_ m: String, at offset: UInt64) throws {
        try write(info, Data(Warning(warning: m, at: offset).encoded() + [0x0a]))
    }

    /// Writes what is buffered to the files.
    func push() throws {
        try write(entries, Data(pending))
        pending.removeAll(keepingCapacity: true)
    }

    /// And to the disk.
    func sync() throws {
        try push()
        if fdatasync(info) != 0 || fdatasync(entries) != 0 {
            throw SeedError.io("cannot sync the snapshot's state in \(quoted(directory)): \(errnoMessage())")
        }
    }

    private func write(_ fd: Int32, _ d: Data) throws {
        try d.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = Glibc.write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SeedError.io("cannot write the snapshot's state in \(quoted(directory)): \(errnoMessage())")
                }
                done += n
            }
        }
    }

    /// Cuts the state back to what came before archive offset `offset`,
    /// where a resumed run goes on: later entries and warnings are made anew.
    static func cut(_ directory: String, _ session: String, at offset: UInt64) throws {
        let entries = path(directory, session, "entries")
        var keep: UInt64?
        try eachLine(entries) { line, at in
            guard let o = line.split(separator: 0x20).first.flatMap({ UInt64(String(decoding: $0, as: UTF8.self)) }), o < offset else {
                keep = at
                return false
            }
            return true
        }
        if let keep, truncate(entries, off_t(keep)) != 0 { throw SeedError.io("cannot cut \(quoted(entries)) back: \(errnoMessage())") }
        let info = path(directory, session, "snapshot")
        var kept = Data()
        try eachLine(info) { line, at in
            let w = try? Warning.decode(line, record: info)
            if at == 0 || w.map({ $0.at < offset }) == true { kept += line + Data([0x0a]) }
            return true
        }
        let tmp = info + ".resume"
        guard FileManager.default.createFile(atPath: tmp, contents: kept), rename(tmp, info) == 0 else {
            throw SeedError.io("cannot cut \(quoted(info)) back: \(errnoMessage())")
        }
    }

    // MARK: reading it back

    /// The run's description and the warnings given before archive offset `before`.
    static func read(_ directory: String, _ session: String, warningsBefore before: UInt64) throws -> (Info, [String]) {
        let lines = try wholeLines(path(directory, session, "snapshot"))
        let name = quoted(path(directory, session, "snapshot"))
        guard let first = lines.first, let info = try? Info.decode(first, record: name), info.session == session
        else {
            throw SeedError.data("\(name) does not describe a run of session \(session)")
        }
        let warnings = lines.dropFirst().compactMap { try? Warning.decode($0, record: name) }
            .filter { $0.at < before }.map(\.warning)
        return (info, warnings)
    }

    /// The SHA-256 of the headers of the entry at archive offset `offset`, if noted.
    static func headers(_ directory: String, _ session: String, at offset: UInt64) throws -> String? {
        var found: String?
        try eachLine(path(directory, session, "entries")) { line, _ in
            let parts = line.split(separator: 0x20)
            guard parts.count == 2, let o = UInt64(String(decoding: parts[0], as: UTF8.self)) else { return true }
            if o == offset { found = String(decoding: parts[1], as: UTF8.self) }
            return o <= offset
        }
        return found
    }

    /// The archive offset of the first entry noted after `offset`.
    static func entryStart(after offset: UInt64, _ directory: String, _ session: String) throws -> UInt64? {
        var found: UInt64?
        try eachLine(path(directory, session, "entries")) { line, _ in
            guard let o = line.split(separator: 0x20).first.flatMap({ UInt64(String(decoding: $0, as: UTF8.self)) }) else { return true }
            if o > offset { found = o }
            return found == nil
        }
        return found
    }

    /// Calls `body` with every whole line of `path` (without its newline)
    /// and the byte it starts at, until `body` says false.
    static func eachLine(_ path: String, _ body: (Data, UInt64) throws -> Bool) throws {
        guard let f = try LineFile(path, what: "the run's state", maxLine: IndexLines.maxLine, missingIsNil: true) else { return }
        while true {
            let at = f.offset
            // A line cut short by a crash ends the file.
            guard let line = try f.next({ Data($0) }) else { return }
            if try !body(line, at) { return }
        }
    }

    static func wholeLines(_ path: String) throws -> [Data] {
        var out: [Data] = []
        try eachLine(path) { d, _ in
            out.append(d)
            return true
        }
        return out
    }
}
