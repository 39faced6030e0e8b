import Foundation
import SystemPackage

@testable import SeedKit

/// Test-side stream surgery with the project's own codec.
enum StreamSurgery {
    /// Wraps raw archive bytes (a tar made by another tool, say a hostile
    /// one) into a valid seed stream, so only the archive is bad.
    static func wrapArchive(_ tar: [UInt8], into path: String, recordSize: Int = 4096) throws {
        let fd = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        defer { try? fd.close() }
        let w = RecordWriter(fd: fd, destination: path)
        try w.write(kind: .streamHeader, bytes: StreamMetadata(stages: [.init(tool: "seed-snapshot")]).encoded())
        var records: UInt64 = 0
        for start in stride(from: 0, to: tar.count, by: recordSize) {
            try w.write(kind: .data, bytes: Array(tar[start..<min(start + recordSize, tar.count)]))
            records += 1
        }
        try w.write(kind: .end, bytes: StreamTotals(archiveBytes: UInt64(tar.count), dataRecords: records).encoded())
        try w.flush()
    }

    struct Located {
        var header: RecordHeader
        var offset: UInt64
        var payload: [UInt8]
    }

    /// Every record of a stream file, payloads copied.
    static func records(_ path: String) throws -> [Located] {
        let fd = try FileDescriptor.open(path, .readOnly)
        defer { try? fd.close() }
        let r = RecordReader(fd: fd, source: path)
        var out: [Located] = []
        while let rec = try r.next() { out.append(Located(header: rec.header, offset: rec.offset, payload: Array(rec.payload))) }
        return out
    }
}

extension StreamSurgery {
    /// Writes `records` as a stream with valid checksums, as an attacker who
    /// knows the format (but not the keys) could; `renumber` makes the
    /// sequence numbers contiguous again.
    static func write(_ records: [Located], to path: String, renumber: Bool = true) throws {
        var bytes: [UInt8] = []
        for (i, r) in records.enumerated() {
            var h = r.header
            if renumber { h.sequence = UInt64(i) }
            h.payloadLength = UInt64(r.payload.count)
            h.payloadCRC = r.payload.withUnsafeBytes { CRC32.checksum($0) }
            bytes += h.bytes + r.payload
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
