import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage
import Testing

@testable import SeedKit

/// A stream built in memory with the real writer, through a temporary file.
struct StreamBytes {
    var bytes: [UInt8]

    /// Writes records with RecordWriter and returns the bytes written.
    static func make(_ body: (RecordWriter) throws -> Void) throws -> StreamBytes {
        let path = tempPath("stream")
        let fd = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        let w = RecordWriter(fd: fd, destination: "test")
        try body(w)
        try w.flush()
        try fd.close()
        defer { unlink(path) }
        return StreamBytes(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// A small valid stream: header, `dataRecords` data records, an index, the end.
    static func sample(dataRecords: Int = 3, payload: Int = 100) throws -> StreamBytes {
        try make { w in
            try w.write(kind: .streamHeader, bytes: StreamMetadata(stages: [.init(tool: "test")]).encoded())
            for i in 0..<dataRecords {
                try w.write(kind: .data, bytes: (0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) })
            }
            try w.write(kind: .index, bytes: Array("{\"x\":1}\n".utf8))
            try w.write(kind: .end, bytes: StreamTotals(dataRecords: UInt64(dataRecords)).encoded())
        }
    }

    /// Reads every record with a RecordReader; returns the kinds, or throws
    /// what the reader throws.
    func readAll(configure: (RecordReader) -> Void = { _ in }) throws -> [RecordKind] {
        let path = tempPath("read")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let fd = try FileDescriptor.open(path, .readOnly)
        defer { try? fd.close() }
        let r = RecordReader(fd: fd, source: "test", bufferSize: 4096)
        configure(r)
        var kinds: [RecordKind] = []
        while let rec = try r.next() { kinds.append(rec.header.kind) }
        return kinds
    }

    /// Byte offsets of each record header.
    var recordOffsets: [Int] {
        var offs: [Int] = []
        var o = 0
        while o + RecordHeader.size <= bytes.count {
            offs.append(o)
            let len = bytes[(o + 24)..<(o + 32)].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
            o += RecordHeader.size + len
        }
        return offs
    }
}

func tempPath(_ tag: String) -> String {
    NSTemporaryDirectory() + "seedkit-\(tag)-\(getpid())-\(UUID().uuidString)"
}

/// The error a throwing body throws, as a SeedError (fails the test otherwise).
func seedError(_ body: () throws -> Void) -> SeedError? {
    do {
        try body()
        return nil
    } catch let e as SeedError {
        return e
    } catch {
        Issue.record("expected a SeedError, got \(error)")
        return nil
    }
}
