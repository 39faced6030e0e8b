import CArchive
import Foundation
import SystemPackage

/// Receives the pax archive libarchive writes and cuts it into data records
/// of exactly `recordSize` bytes (the last may be shorter), so that an
/// archive offset alone gives the record and the offset inside it. Records
/// are checksummed on a worker thread and written in order by another.
final class ArchiveRecordSink {
    let recordSize: Int
    let writer: RecordWriter
    let pipeline: OrderedPipeline
    private var current: PipelineSlot?
    private(set) var archiveBytes: UInt64 = 0
    private(set) var dataRecords: UInt64 = 0
    /// The first error thrown inside a libarchive callback, rethrown by the caller.
    var pendingError: Error?

    init(writer: RecordWriter, recordSize: Int) {
        self.writer = writer
        self.recordSize = recordSize
        pipeline = OrderedPipeline(
            threads: 1, depth: 4,
            work: { slot, _ in
                if slot.needsVerify { slot.header.payloadCRC = CRC32.checksum(slot.input.bytes) }
            },
            emit: { slot in try writer.write(header: slot.header, payload: slot.input.bytes) })
    }

    /// Queues a non-data record behind the data already queued.
    func enqueue(kind: RecordKind, payload: UnsafeRawBufferPointer) throws {
        try flushPartial()
        try pipeline.submit { slot in
            slot.input.set(payload)
            slot.header = RecordHeader(kind: kind, payloadLength: UInt64(payload.count))
        }
    }

    func append(_ p: UnsafeRawBufferPointer) throws {
        var src = p
        while src.count > 0 {
            if current == nil {
                let s = try pipeline.acquire()
                s.input.reserve(recordSize)
                s.input.count = 0
                current = s
            }
            let slot = current!
            let n = min(recordSize - slot.input.count, src.count)
            (slot.input.base + slot.input.count).copyMemory(from: src.baseAddress!, byteCount: n)
            slot.input.count += n
            archiveBytes += UInt64(n)
            src = UnsafeRawBufferPointer(rebasing: src[n...])
            if slot.input.count == recordSize { try flushPartial() }
        }
    }

    func flushPartial() throws {
        guard let slot = current else { return }
        current = nil
        if slot.input.count == 0 { pipeline.release(slot); return }
        slot.header = RecordHeader(kind: .data, payloadLength: UInt64(slot.input.count))
        dataRecords += 1
        pipeline.enqueue(slot)
    }

    func finish() throws {
        try flushPartial()
        try pipeline.finish()
    }

    func abort(_ e: Error) { pipeline.abort(e) }

    /// Opens `archive` for writing into this sink (archive_write_open2).
    func open(_ archive: OpaquePointer) -> Int32 {
        let ctx = Unmanaged.passUnretained(self).toOpaque()
        return archive_write_open2(
            archive, ctx, nil,
            { _, ctx, buf, len in
                let sink = Unmanaged<ArchiveRecordSink>.fromOpaque(ctx!).takeUnretainedValue()
                do {
                    try sink.append(UnsafeRawBufferPointer(start: buf, count: len))
                    return len
                } catch {
                    if sink.pendingError == nil { sink.pendingError = error }
                    return -1
                }
            }, nil, nil)
    }
}

/// libarchive's error text for `a`, for messages.
func archiveError(_ a: OpaquePointer?) -> String {
    guard let a, let s = archive_error_string(a) else { return "unknown libarchive error" }
    return String(cString: s)
}
