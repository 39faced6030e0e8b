import Foundation
import SeedCore
import SeedFormat
import SeedIO

/// One record in flight through an `OrderedPipeline`: the record as read,
/// and what a worker made of it.
public final class PipelineSlot {
    public var header = RecordHeader(kind: .data, payloadLength: 0)
    public var offset: UInt64 = 0
    public let input = ByteBuffer(capacity: 1 << 20)
    public let output = ByteBuffer(capacity: 1 << 20)
    /// Set by the worker: write `outHeader` with `output` instead of the input.
    public var useOutput = false
    public var outHeader = RecordHeader(kind: .data, payloadLength: 0)
    /// Whether the worker still has to check the input payload's CRC.
    public var needsVerify = true
    /// The sequence number the record goes out with, given when it was put on.
    package var sequence: UInt64 = 0
    /// Whether the stage's workers transform it (else it is only checked).
    package var transforms = false
    /// Whether `input` holds a whole record as the stage framed it.
    package var framed = false
    /// Set with `outHeader` when the record goes out with its input
    /// payload under a changed header.
    package var headerChanged = false
    /// Whatever a tool's workers need for this record (a key, say).
    public var context: AnyObject?
    /// With `useOutput`: bytes a library returned, written from
    /// `outputData[outputSkip...]` instead of `output`, saving a copy.
    public var outputData: Data?
    public var outputSkip = 0

    /// What the writer should write when `useOutput` is set.
    public func withOutputBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let d = outputData {
            return try d.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[outputSkip...])) }
        }
        return try body(output.bytes)
    }
    package var error: Error?
    package var done = false

    public var location: String { RecordReader.describe(sequence: header.sequence, volume: header.volume, offset: offset) }

    /// Checks the input payload against its header's CRC, unless the
    /// reading side already did (or made the payload itself).
    public func verifyInput(source: String) throws {
        guard needsVerify else { return }
        if CRC32.checksum(input.bytes) != header.payloadCRC {
            throw SeedError.data("\(source): \(location): payload checksum mismatch (\(header.kind) record damaged)")
        }
    }

    /// Loads a record as read: its payload from the reader's buffer, or,
    /// when the reader deferred it, straight from the input into `input`.
    /// Its CRC is left to the worker (`verifyInput`).
    public func load(_ r: Record, from reader: RecordReader) throws {
        header = r.header
        offset = r.offset
        if r.payload.count == 0 && r.header.payloadLength > 0 {
            input.reserve(Int(r.header.payloadLength))
            try reader.readPayload(into: input.base)
            input.count = Int(r.header.payloadLength)
        } else {
            input.set(r.payload)
        }
    }

    /// Loads a record whose payload the tool made (a rewritten stream
    /// header, a key record): lengths and CRC follow the new bytes.
    public func load(_ h: RecordHeader, payload: [UInt8]) {
        header = h
        input.set(payload)
        header.payloadLength = UInt64(input.count)
        header.rawLength = header.payloadLength
        header.payloadCRC = CRC32.checksum(input.bytes)
        needsVerify = false
    }

    package func reset() {
        useOutput = false
        needsVerify = true
        transforms = false
        headerChanged = false
        framed = false
        context = nil
        outputData = nil
        outputSkip = 0
        error = nil
        done = false
    }
}

/// Parallel inside, ordered outside: the reading thread fills slots and
/// queues them; `threads` workers transform them in any order; one writer
/// emits them strictly in the order they were submitted, waiting for the
/// next one to be done (both `WorkerPool`s). The slot count bounds memory:
/// at most `depth` records are in flight, whatever the input size. The
/// first error, from a worker or the writer, stops the pipeline; nothing
/// after the failing record is emitted.
public final class OrderedPipeline {
    public typealias Work = (PipelineSlot, Int) throws -> Void
    public typealias Emit = (PipelineSlot) throws -> Void

    private let cond = NSCondition()
    private var free: [PipelineSlot]
    private var failure: Error?
    private let depth: Int
    private var workers: WorkerPool<PipelineSlot>!
    private var writer: WorkerPool<PipelineSlot>!

    public init(threads: Int, depth: Int? = nil, work: @escaping Work, emit: @escaping Emit) {
        let d = depth ?? max(2 * threads + 2, 4)
        free = (0..<d).map { _ in PipelineSlot() }
        self.depth = d
        // A worker's error stays with its slot: the writer meets it in order.
        workers = WorkerPool(threads: threads, bound: d) { [self] slot, i in
            var err: Error?
            do { try work(slot, i) } catch { err = error }
            cond.lock()
            slot.error = err
            slot.done = true
            cond.broadcast()
            cond.unlock()
        }
        writer = WorkerPool(threads: 1, bound: d) { [self] slot, _ in
            cond.lock()
            while !slot.done && failure == nil { cond.wait() }
            var err = failure == nil ? slot.error : failure
            cond.unlock()
            if err == nil {
                do { try emit(slot) } catch { err = error }
            }
            cond.lock()
            if let err, failure == nil { failure = err }
            free.append(slot)
            cond.broadcast()
            cond.unlock()
            if let err { throw err }
        }
    }

    /// Takes a free slot (waiting for one), lets `fill` load it, and queues it.
    /// Throws the pipeline's first error, if any, so the reader stops too.
    public func submit(_ fill: (PipelineSlot) throws -> Void) throws {
        let slot = try acquire()
        do { try fill(slot) } catch {
            release(slot)
            throw error
        }
        enqueue(slot)
    }

    /// A free slot for a producer that fills it over time; give it back
    /// with `enqueue` (or `release` if unused).
    public func acquire() throws -> PipelineSlot {
        cond.lock()
        while free.isEmpty && failure == nil { cond.wait() }
        if let f = failure { cond.unlock(); throw f }
        let slot = free.removeLast()
        cond.unlock()
        slot.reset()
        return slot
    }

    public func release(_ slot: PipelineSlot) {
        cond.lock(); free.append(slot); cond.broadcast(); cond.unlock()
    }

    /// Queues a slot to its workers and, in order, to the writer. Neither
    /// queue waits: no more slots exist than either holds. After a failure
    /// the slot is dropped; the next `acquire` says why.
    public func enqueue(_ slot: PipelineSlot) {
        do {
            try workers.submit(slot)
            try writer.submit(slot)
        } catch {
            cond.lock()
            if failure == nil { failure = error }
            cond.broadcast()
            cond.unlock()
        }
    }

    /// Runs `feed` (which submits records), stops the pipeline if it throws,
    /// then waits for everything submitted to be emitted.
    public func run(feeding feed: () throws -> Void) throws {
        do { try feed() } catch {
            abort(error)
            throw error
        }
        try finish()
    }

    /// Waits until every slot submitted so far is emitted (the pipeline
    /// stays open); throws the first error.
    public func drain() throws {
        cond.lock()
        while free.count < depth && failure == nil { cond.wait() }
        let f = failure
        cond.unlock()
        if let f { throw f }
    }

    /// Waits until every submitted slot is emitted; throws the first error.
    public func finish() throws {
        try? workers.finish()
        try? writer.finish()
        cond.lock()
        let f = failure
        cond.unlock()
        if let f { throw f }
    }

    /// Stops the pipeline with an error from the reading side.
    public func abort(_ e: Error) {
        cond.lock()
        if failure == nil { failure = e }
        cond.broadcast()
        cond.unlock()
        workers.abort(e)
        writer.abort(e)
    }
}
