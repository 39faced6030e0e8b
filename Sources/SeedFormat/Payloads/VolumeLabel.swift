import Foundation
import SeedCore
import SeedIO

/// The label at the start of every drive seed-writeblk writes: 4096 bytes
/// of text a person can read with `head -c 4096`, NUL-padded, ending with a
/// CRC-32 of the lines before it (seed-writeblk(1), LABEL). The volume's
/// stream follows at `streamOffset`.
public struct VolumeLabel: Equatable {
    public static let size = 4096
    package static let firstLine = "SEED VOLUME"

    public var session: String
    public var volume: UInt32
    public var lastVolume = false
    public var complete = false
    public var streamOffset: UInt64
    public var streamBytes: UInt64 = 0
    public var capacity: UInt64
    /// SHA-256 of the volume's stream, in hex (written with --verify).
    public var streamSHA256 = ""
    public var written = ""
    public var tool = "seed-writeblk \(SeedVersion.current)"
    public var readBack = ""
    /// A member of a drive set (seed-stream(5), SETS): the set's shape,
    /// this drive's place in it (1 to K data, K+1 to K+M parity), and,
    /// once complete, every data member's stream length, which is what a
    /// rebuild from the others needs.
    public var set: SetGeometry?
    public var member = 0
    public var memberBytes: [UInt64] = []

    public init(session: String, volume: UInt32, capacity: UInt64, streamOffset: UInt64) {
        self.session = session
        self.volume = volume
        self.capacity = capacity
        self.streamOffset = streamOffset
    }

    /// The drive byte that holds byte `at` of the stream the label is
    /// for: the one place a stream position becomes a drive position. A
    /// decoded label's stream offset is within its drive, and a position
    /// is bounded by the stream it came from.
    public func drive(_ at: UInt64) -> UInt64 { streamOffset + at }

    /// The stream byte drive byte `at` holds (0 for a byte of the label area).
    public func stream(_ at: UInt64) -> UInt64 { at >= streamOffset ? at - streamOffset : 0 }

    public func encoded() -> [UInt8] {
        var text = """
            \(VolumeLabel.firstLine)
            format: 1
            session: \(session)
            volume: \(volume)
            last-volume: \(lastVolume ? "yes" : "no")
            state: \(complete ? "complete" : "writing")
            stream-offset: \(streamOffset)
            stream-bytes: \(streamBytes)
            capacity: \(capacity)
            stream-sha256: \(streamSHA256)
            written: \(written)
            tool: \(tool)
            read back with: \(readBack)

            """
        if let set {
            text += """
                set: \(set.data)+\(set.parity)
                member: \(member)
                stripe: \(set.stripe)
                member-bytes: \(memberBytes.map(String.init).joined(separator: ","))

                """
        }
        let crc = text.utf8.withContiguousStorageIfAvailable { CRC32.checksum(UnsafeRawBufferPointer($0)) } ?? 0
        text += String(format: "crc32: %08x\n", crc)
        var bytes = Array(text.utf8.prefix(VolumeLabel.size))
        bytes += [UInt8](repeating: 0, count: VolumeLabel.size - bytes.count)
        return bytes
    }

    /// Reads a label; nil if the bytes do not start like one, an error if
    /// they do but are damaged.
    public static func decode(_ bytes: [UInt8], name: String) throws -> VolumeLabel? {
        guard bytes.starts(with: Array((firstLine + "\n").utf8)) else { return nil }
        let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        guard let r = text.range(of: "\ncrc32: ") else { throw SeedError.data("\(name): the drive label is damaged (no checksum)") }
        let body = String(text[..<r.lowerBound]) + "\n"
        let want = text[r.upperBound...].prefix(8)
        let crc = body.utf8.withContiguousStorageIfAvailable { CRC32.checksum(UnsafeRawBufferPointer($0)) } ?? 0
        guard String(format: "%08x", crc) == want else { throw SeedError.data("\(name): the drive label is damaged (checksum mismatch)") }
        var f: [String: String] = [:]
        for line in body.split(separator: "\n") {
            guard let c = line.range(of: ": ") else { continue }
            f[String(line[..<c.lowerBound])] = String(line[c.upperBound...])
        }
        guard f["format"] == "1", let s = f["session"], let v = f["volume"].flatMap(UInt32.init),
            let off = f["stream-offset"].flatMap(UInt64.init), let cap = f["capacity"].flatMap(UInt64.init),
            let n = f["stream-bytes"].flatMap(UInt64.init)
        else { throw SeedError.data("\(name): the drive label is not one this version reads") }
        // The numbers say where to read and how much: they must fit together.
        let (end, overflow) = off.addingReportingOverflow(n)
        guard Session.isValid(s), v > 0, off >= UInt64(VolumeLabel.size), !overflow, end <= cap else {
            throw SeedError.data("\(name): the drive label does not hold together (session, volume, stream offset, bytes and capacity)")
        }
        var l = VolumeLabel(session: s, volume: v, capacity: cap, streamOffset: off)
        l.streamBytes = n
        l.lastVolume = f["last-volume"] == "yes"
        l.complete = f["state"] == "complete"
        l.streamSHA256 = f["stream-sha256"] ?? ""
        l.written = f["written"] ?? ""
        l.tool = f["tool"] ?? ""
        l.readBack = f["read back with"] ?? ""
        if let shape = f["set"] { try l.readSet(shape, f, name: name) }
        return l
    }

    private mutating func readSet(_ shape: String, _ f: [String: String], name: String) throws {
        let bad = SeedError.data("\(name): the drive label's set fields do not hold together (set, member, stripe, member bytes)")
        let parts = shape.split(separator: "+", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let m = Int(parts[1]), let stripe = f["stripe"].flatMap(UInt64.init),
            let member = f["member"].flatMap(Int.init), let list = f["member-bytes"]
        else { throw bad }
        let g = SetGeometry(data: k, parity: m, stripe: stripe)
        do { try g.check(name) } catch { throw bad }
        guard (1...g.members).contains(member) else { throw bad }
        let room = capacity - streamOffset
        var bytes: [UInt64] = []
        for p in list.split(separator: ",") {
            guard bytes.count < k, let n = UInt64(p), n <= room else { throw bad }
            bytes.append(n)
        }
        // A complete member knows every data member's length; its own is one
        // of them, or, for parity, the stripes that cover the longest.
        if complete {
            guard bytes.count == k else { throw bad }
            let own = member <= k ? bytes[member - 1] : VolumeLabel.parityBytes(bytes, stripe: stripe)
            guard own == streamBytes else { throw bad }
        }
        set = g
        self.member = member
        memberBytes = bytes
    }

    /// A parity member's stream: whole stripes up to the longest data member.
    public static func parityBytes(_ dataBytes: [UInt64], stripe: UInt64) -> UInt64 {
        let longest = dataBytes.max() ?? 0
        let stripes = longest / stripe + (longest % stripe == 0 ? 0 : 1)
        let (bytes, overflow) = stripes.multipliedReportingOverflow(by: stripe)
        return overflow ? .max : bytes
    }
}
