import Crypto
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one volume's bytes to a target in large aligned chunks: the
/// reading thread fills a chunk, a writer (a one-thread `WorkerPool`)
/// writes it, syncing at checkpoints on a pool of its own so the writes go
/// on meanwhile, while, for --verify, a digest pool takes the stream's
/// SHA-256 and each chunk's CRC-32 (without --verify it does nothing:
/// seed-journal keeps SHA-256 of every record, and two cores are better
/// spent keeping up with the drive), and the chunk is reused once both are
/// done. Memory: `count` chunks, whatever the volume size, and 4 bytes per
/// chunk for --verify.
final class ChunkSink {
    static let chunkSize = 4 << 20
    static let alignment = 4096

    private final class Chunk {
        let buffer = ByteBuffer(capacity: ChunkSink.chunkSize)
        var offset: UInt64 = 0
        var written = false
        var hashed = false
    }

    private let target: Target
    private let checkpoint: UInt64
    private let cond = NSCondition()
    private var free: [Chunk]
    private var failure: Error?
    private var current: Chunk?
    private var sha = SHA256()
    /// The CRC-32 of every chunk, in order: where a read-back differs.
    private(set) var chunkCRCs: [UInt32] = []
    /// Where the next chunk goes on the target.
    private var nextOffset: UInt64
    private(set) var bytes: UInt64 = 0
    private var sinceSync: UInt64 = 0

    /// Whether to take the digest and checksums (for --verify).
    private let checksums: Bool
    private var writer: WorkerPool<Chunk>!
    private var hasher: WorkerPool<Chunk>!
    /// A checkpoint's sync, beside the writes that follow it; one at a time.
    private var syncer: WorkerPool<UInt64>!

    init(target: Target, at offset: UInt64, checkpoint: UInt64, checksums: Bool, chunks: Int = 4) {
        self.target = target
        self.checkpoint = checkpoint
        self.checksums = checksums
        nextOffset = offset
        free = (0..<chunks).map { _ in Chunk() }
        syncer = WorkerPool(threads: 1, bound: 1) { [self] upTo, _ in
            try guarded { try target.sync() }
            EventLog.emit("checkpoint", [("drive", .bytes(Array(target.path.utf8))), ("durable_bytes", .int(Int64(upTo)))])
        }
        writer = WorkerPool(threads: 1, bound: chunks) { [self] c, _ in
            try guarded {
                // The last chunk is written padded (direct I/O wants whole blocks).
                let n = (c.buffer.count + ChunkSink.alignment - 1) & ~(ChunkSink.alignment - 1)
                try target.pwriteAll(c.buffer.base, n, at: c.offset)
                sinceSync += UInt64(n)
                if sinceSync >= checkpoint {
                    // The one running covers this checkpoint's writes when it
                    // started; the next will catch up.
                    _ = syncer.submitIfIdle(c.offset + UInt64(n))
                    sinceSync = 0
                }
            }
            done(c, \.written)
        }
        hasher = WorkerPool(threads: 1, bound: chunks) { [self] c, _ in
            if checksums {
                let b = UnsafeRawBufferPointer(start: c.buffer.base, count: c.buffer.count)
                sha.update(bufferPointer: b)
                chunkCRCs.append(CRC32.checksum(b))
            }
            done(c, \.hashed)
        }
    }

    /// Runs `body`; its error is the sink's first, which `room` and
    /// `finish` throw.
    private func guarded(_ body: () throws -> Void) throws {
        do { try body() } catch {
            cond.lock()
            if failure == nil { failure = error }
            cond.broadcast()
            cond.unlock()
            throw error
        }
    }

    /// A chunk written (or hashed); free again once both are done.
    private func done(_ c: Chunk, _ flag: ReferenceWritableKeyPath<Chunk, Bool>) {
        cond.lock()
        c[keyPath: flag] = true
        if c.written && c.hashed { free.append(c) }
        cond.broadcast()
        cond.unlock()
    }

    /// Room in the current chunk, taking a free one if needed.
    private func room() throws -> Chunk {
        if let c = current, c.buffer.count < ChunkSink.chunkSize { return c }
        if let c = current { try submit(c) }
        cond.lock()
        while free.isEmpty && failure == nil { cond.wait() }
        if let f = failure { cond.unlock(); throw f }
        let c = free.removeLast()
        cond.unlock()
        c.buffer.count = 0
        c.offset = nextOffset
        c.written = false
        c.hashed = false
        nextOffset += UInt64(ChunkSink.chunkSize)
        current = c
        return c
    }

    private func submit(_ c: Chunk) throws {
        current = nil
        try writer.submit(c)
        try hasher.submit(c)
    }

    /// Appends bytes from memory.
    func append(_ b: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < b.count {
            let c = try room()
            let n = min(b.count - done, ChunkSink.chunkSize - c.buffer.count)
            (c.buffer.base + c.buffer.count).copyMemory(from: b.baseAddress! + done, byteCount: n)
            c.buffer.count += n
            done += n
        }
        bytes += UInt64(b.count)
    }

    /// Writes what is left (the last chunk padded with zeros to the
    /// alignment), waits for the writes, the digest and any checkpoint
    /// sync still running, syncs, and returns the SHA-256 of all the bytes
    /// appended (nil without checksums).
    func finish() throws -> [UInt8]? {
        if let c = current {
            let padded = (c.buffer.count + ChunkSink.alignment - 1) & ~(ChunkSink.alignment - 1)
            memset(c.buffer.base + c.buffer.count, 0, padded - c.buffer.count)
            try submit(c)
        }
        // Every pool ends before any error is reported: no thread is left
        // writing after the caller goes on.
        let results = [Result { try writer.finish() }, Result { try hasher.finish() }, Result { try syncer.finish() }]
        cond.lock()
        let f = failure
        cond.unlock()
        if let f { throw f }
        for r in results { try r.get() }
        try target.sync()
        return checksums ? Array(sha.finalize()) : nil
    }

    /// Stops the threads after an error elsewhere.
    func abort(_ e: Error) {
        cond.lock()
        if failure == nil { failure = e }
        cond.broadcast()
        cond.unlock()
        writer.abort(e)
        hasher.abort(e)
        syncer.abort(e)
    }
}
