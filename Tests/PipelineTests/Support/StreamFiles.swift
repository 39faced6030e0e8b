import Foundation
import SeedCore
import SeedFormat
import SeedIO
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
    /// sequence numbers contiguous again (from 0 in each volume).
    static func write(_ records: [Located], to path: String, renumber: Bool = true) throws {
        var bytes: [UInt8] = []
        var next: UInt64 = 0
        for r in records {
            var h = r.header
            if h.kind == .volumeBegin { next = 0 }
            if renumber { h.sequence = next }
            next += 1
            h.payloadLength = UInt64(r.payload.count)
            if h.flags.codecBits == 0 && !h.flags.isEncrypted { h.rawLength = h.payloadLength }
            h.payloadCRC = r.payload.withUnsafeBytes { CRC32.checksum($0) }
            bytes += h.bytes + r.payload
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

extension StreamSurgery {
    /// Cuts a split stream into one file per volume, `prefix`1, `prefix`2, ...,
    /// as a drive writer would; returns the files' sizes by volume.
    @discardableResult
    static func cutVolumes(_ path: String, prefix: String) throws -> [Int] {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var sizes: [Int] = []
        var o = 0
        var start = 0
        var volume = 0
        func flush(_ end: Int) throws {
            guard volume > 0 else { return }
            try Data(bytes[start..<end]).write(to: URL(fileURLWithPath: prefix + "\(volume)"))
            sizes.append(end - start)
        }
        while o + RecordHeader.size <= bytes.count {
            let len = bytes[(o + 24)..<(o + 32)].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
            if bytes[o + 5] == RecordKind.volumeBegin.rawValue {
                try flush(o)
                start = o
                volume = bytes[(o + 8)..<(o + 12)].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
            }
            o += RecordHeader.size + len
        }
        try flush(bytes.count)
        return sizes
    }
}

extension StreamSurgery {
    /// The index entries of a plain stream's records, in order.
    static func indexEntries(_ records: [Located]) throws -> [IndexEntry] {
        try records.filter { $0.header.kind == .index }.flatMap { r in
            try r.payload.split(separator: 0x0a).map { try JSONDecoder().decode(IndexEntry.self, from: Data($0)) }
        }
    }

    /// `records` with its index records replaced by one holding `entries`,
    /// and the end record's totals made to agree, as a careful forger would.
    static func replacingIndex(_ records: [Located], with entries: [IndexEntry]) throws -> [Located] {
        var out = records.filter { $0.header.kind != .index && $0.header.kind != .end }
        var payload: [UInt8] = []
        for e in entries { e.appendJSONLine(to: &payload) }
        if !entries.isEmpty { out.append(Located(header: RecordHeader(kind: .index, payloadLength: 0), offset: 0, payload: payload)) }
        guard let end = records.last(where: { $0.header.kind == .end }) else { return out }
        var totals = try end.payload.withUnsafeBytes { try StreamTotals.decode($0, record: "") }
        totals.entries = UInt64(entries.count)
        totals.indexRecords = entries.isEmpty ? 0 : 1
        out.append(Located(header: end.header, offset: 0, payload: totals.encoded()))
        return out
    }
}
