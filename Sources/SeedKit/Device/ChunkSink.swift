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
/// reading thread fills a chunk, a writer thread writes it (syncing at
/// checkpoints) while, for --verify, a digest thread takes the stream's
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
    private var toWrite: [Chunk] = []
    private var toHash: [Chunk] = []
    private var closed = false
    private var failure: Error?
    private var threadsDone = 0
    private var current: Chunk?
    private var sha = SHA256()
    /// The CRC-32 of every chunk, in order: where a read-back differs.
    private(set) var chunkCRCs: [UInt32] = []
    /// Where the next chunk goes on the target.
    private var nextOffset: UInt64
    private(set) var bytes: UInt64 = 0

    /// Whether to take the digest and checksums (for --verify).
    private let checksums: Bool

    init(target: Target, at offset: UInt64, checkpoint: UInt64, checksums: Bool, chunks: Int = 4) {
        self.target = target
        self.checkpoint = checkpoint
        self.checksums = checksums
        nextOffset = offset
        free = (0..<chunks).map { _ in Chunk() }
        Thread { [self] in writerLoop() }.start()
        Thread { [self] in hasherLoop() }.start()
    }

    /// Room in the current chunk, taking a free one if needed.
    private func room() throws -> Chunk {
        if let c = current, c.buffer.count < ChunkSink.chunkSize { return c }
        if let c = current { submit(c) }
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

    private func submit(_ c: Chunk) {
        current = nil
        cond.lock()
        toWrite.append(c)
        toHash.append(c)
        cond.broadcast()
        cond.unlock()
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
    /// alignment), waits for both threads, syncs, and returns the SHA-256
    /// of all the bytes appended (nil without checksums).
    func finish() throws -> [UInt8]? {
        if let c = current {
            let padded = (c.buffer.count + ChunkSink.alignment - 1) & ~(ChunkSink.alignment - 1)
            memset(c.buffer.base + c.buffer.count, 0, padded - c.buffer.count)
            submit(c)
        }
        cond.lock()
        closed = true
        cond.broadcast()
        while threadsDone < 2 { cond.wait() }
        let f = failure
        cond.unlock()
        if let f { throw f }
        try target.sync()
        return checksums ? Array(sha.finalize()) : nil
    }

    /// Stops the threads after an error elsewhere.
    func abort(_ e: Error) {
        cond.lock()
        if failure == nil { failure = e }
        closed = true
        cond.broadcast()
        while threadsDone < 2 { cond.wait() }
        cond.unlock()
    }

    private func release(_ c: Chunk) {
        if c.written && c.hashed { free.append(c) }
    }

    private func writerLoop() {
        var sinceSync: UInt64 = 0
        loop(queue: \.toWrite) { c in
            // The last chunk is written padded (direct I/O wants whole blocks).
            let n = (c.buffer.count + ChunkSink.alignment - 1) & ~(ChunkSink.alignment - 1)
            try target.pwriteAll(c.buffer.base, n, at: c.offset)
            sinceSync += UInt64(n)
            if sinceSync >= checkpoint {
                checkpointSync()
                sinceSync = 0
            }
            return \.written
        } beforeDone: {
            // A checkpoint sync still running must finish, and its failure be
            // known, before finish() may take the volume for written.
            syncs.wait()
        }
    }

    /// A checkpoint's sync runs beside the writes that follow it, one at a
    /// time: everything written before it is on the drive when it returns.
    private let syncs = DispatchGroup()
    private var syncing = false

    private func checkpointSync() {
        cond.lock()
        if syncing {
            cond.unlock()
            return  // the one running covers this checkpoint's writes when it started; the next will catch up
        }
        syncing = true
        cond.unlock()
        syncs.enter()
        Thread { [self] in
            var err: Error?
            do { try target.sync() } catch { err = error }
            cond.lock()
            syncing = false
            if let err, failure == nil { failure = err }
            cond.broadcast()
            cond.unlock()
            syncs.leave()
        }.start()
    }

    private func hasherLoop() {
        loop(queue: \.toHash) { c in
            if checksums {
                let b = UnsafeRawBufferPointer(start: c.buffer.base, count: c.buffer.count)
                sha.update(bufferPointer: b)
                chunkCRCs.append(CRC32.checksum(b))
            }
            return \.hashed
        }
    }

    private func loop(
        queue: ReferenceWritableKeyPath<ChunkSink, [Chunk]>, _ body: (Chunk) throws -> ReferenceWritableKeyPath<Chunk, Bool>,
        beforeDone: () -> Void = {}
    ) {
        while true {
            cond.lock()
            while self[keyPath: queue].isEmpty && !closed && failure == nil { cond.wait() }
            if failure != nil || self[keyPath: queue].isEmpty {
                cond.unlock()
                beforeDone()
                cond.lock()
                threadsDone += 1
                cond.broadcast()
                cond.unlock()
                return
            }
            let c = self[keyPath: queue].removeFirst()
            cond.unlock()
            do {
                let flag = try body(c)
                cond.lock()
                c[keyPath: flag] = true
                release(c)
            } catch {
                cond.lock()
                if failure == nil { failure = error }
            }
            cond.broadcast()
            cond.unlock()
        }
    }
}
