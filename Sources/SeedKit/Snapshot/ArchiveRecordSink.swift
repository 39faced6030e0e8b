import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

/// Receives the pax archive libarchive writes and cuts it into data records
/// of exactly `recordSize` bytes (the last may be shorter), so that an
/// archive offset alone gives the record and the offset inside it.
///
/// File data is read straight into the record being filled (`freeSpace`)
/// and handed to libarchive from there; with no blocking, libarchive passes
/// it back to `append` at the same address, so it is never copied. Each
/// record's CRC-32 is taken piece by piece as bytes arrive, while they are
/// still in cache; a writer thread writes the records in order, and a
/// record's memory is reused only after the hash lanes are done with it.
final class ArchiveRecordSink {
    let recordSize: Int
    let writer: RecordWriter
    let pipeline: OrderedPipeline
    private var current: PipelineSlot?
    private var currentCRC: UInt32 = 0
    private(set) var archiveBytes: UInt64 = 0
    private(set) var dataRecords: UInt64 = 0
    /// Bytes `append` took where they already lay (see `freeSpace`).
    private(set) var inPlaceBytes: UInt64 = 0
    /// While set, every byte appended is hashed here too (an entry's
    /// headers, for a resumed run to know them again).
    var tap: SHA256?
    /// A resumed run makes the archive again from the start of the entry
    /// it goes on in: bytes before this offset are already on the drives
    /// and are dropped here.
    private var dropUntil: UInt64 = 0

    init(writer: RecordWriter, recordSize: Int, lanes: HashLanes) {
        self.writer = writer
        self.recordSize = recordSize
        pipeline = OrderedPipeline(
            threads: 1, depth: 8,
            work: { slot, _ in
                if slot.needsVerify { slot.header.payloadCRC = CRC32.checksum(slot.input.bytes) }
            },
            emit: { [lanes] slot in
                try writer.write(header: slot.header, payload: slot.input.bytes)
                if let f = slot.context as? HashLanes.Fence { lanes.wait(for: f) }
            })
    }

    /// Queues a non-data record behind the data already queued.
    func enqueue(kind: RecordKind, payload: UnsafeRawBufferPointer, sequence: UInt64 = 0) throws {
        try flushPartial()
        try pipeline.submit { slot in
            slot.input.set(payload)
            slot.header = RecordHeader(kind: kind, sequence: sequence, payloadLength: UInt64(payload.count))
        }
    }

    /// Goes on at archive offset `entryStart` (where the entry being made
    /// again starts) with `records` data records before it, dropping what
    /// comes before data record `records`.
    func resume(at entryStart: UInt64, records: UInt64) {
        archiveBytes = entryStart
        dataRecords = records
        dropUntil = records * UInt64(recordSize)
        precondition(entryStart <= dropUntil && dropUntil - entryStart < UInt64(Int.max))
    }

    /// The free tail of the data record being filled, taking a fresh
    /// record if there is none. Bytes read into it and then given to
    /// libarchive come back to `append` at this address, in place.
    func freeSpace() throws -> UnsafeMutableRawBufferPointer {
        let slot = try currentSlot()
        return UnsafeMutableRawBufferPointer(start: slot.input.base + slot.input.count, count: recordSize - slot.input.count)
    }

    /// Keeps the record being filled from reuse until hash ticket `t` is done.
    func fence(_ t: HashLanes.Ticket) {
        (current?.context as? HashLanes.Fence)?.add(t)
    }

    private func currentSlot() throws -> PipelineSlot {
        if let s = current { return s }
        let s = try pipeline.acquire()
        s.input.reserve(recordSize)
        s.input.count = 0
        s.needsVerify = false
        s.context = HashLanes.Fence()
        currentCRC = 0
        current = s
        return s
    }

    func append(_ p: UnsafeRawBufferPointer) throws {
        var src = p
        if tap != nil { tap!.update(bufferPointer: p) }
        if archiveBytes < dropUntil {
            let n = Int(min(UInt64(src.count), dropUntil - archiveBytes))
            archiveBytes += UInt64(n)
            src = UnsafeRawBufferPointer(rebasing: src[n...])
        }
        while src.count > 0 {
            let slot = try currentSlot()
            let n = min(recordSize - slot.input.count, src.count)
            let dest = slot.input.base + slot.input.count
            if UnsafeRawPointer(dest) == src.baseAddress! {
                inPlaceBytes += UInt64(n)
            } else {
                dest.copyMemory(from: src.baseAddress!, byteCount: n)
            }
            currentCRC = CRC32.checksum(UnsafeRawBufferPointer(start: dest, count: n), continuing: currentCRC)
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
        slot.header.payloadCRC = currentCRC
        dataRecords += 1
        pipeline.enqueue(slot)
    }

    /// Whether bytes appended now are dropped (a resumed run, before its first record).
    var dropping: Bool { archiveBytes < dropUntil }

    /// Lets go of the record being filled, unwritten (a run stopped).
    func dropPartial() {
        guard let slot = current else { return }
        current = nil
        pipeline.release(slot)
    }

    func finish() throws {
        try flushPartial()
        try pipeline.finish()
    }

    func abort(_ e: Error) { pipeline.abort(e) }
}
