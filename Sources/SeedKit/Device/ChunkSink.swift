import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one volume's bytes to a target in large aligned chunks: the
/// reading thread fills a chunk, a writer thread writes it (syncing at
/// checkpoints) while a hasher thread digests it, and the chunk is reused
/// once both are done. Memory: `count` chunks, whatever the volume size.
final class ChunkSink {
    static let chunkSize = 8 << 20
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
    /// Where the next chunk goes on the target.
    private var nextOffset: UInt64
    private(set) var bytes: UInt64 = 0

    init(target: Target, at offset: UInt64, checkpoint: UInt64, chunks: Int = 4) {
        self.target = target
        self.checkpoint = checkpoint
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

    /// Appends the deferred payload of the record `reader` just handed out,
    /// read straight into the chunks.
    func appendPayload(from reader: RecordReader) throws {
        while reader.payloadLeft > 0 {
            let c = try room()
            let n = min(reader.payloadLeft, ChunkSink.chunkSize - c.buffer.count)
            try reader.readPayload(into: c.buffer.base + c.buffer.count, count: n)
            c.buffer.count += n
            bytes += UInt64(n)
        }
    }

    /// Writes what is left (the last chunk padded with zeros to the
    /// alignment), waits for both threads, syncs, and returns the SHA-256
    /// of the bytes appended.
    func finish() throws -> [UInt8] {
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
        return Array(sha.finalize())
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
                try target.sync()
                sinceSync = 0
            }
            return \.written
        }
    }

    private func hasherLoop() {
        loop(queue: \.toHash) { c in
            sha.update(bufferPointer: UnsafeRawBufferPointer(start: c.buffer.base, count: c.buffer.count))
            return \.hashed
        }
    }

    private func loop(queue: ReferenceWritableKeyPath<ChunkSink, [Chunk]>, _ body: (Chunk) throws -> ReferenceWritableKeyPath<Chunk, Bool>) {
        while true {
            cond.lock()
            while self[keyPath: queue].isEmpty && !closed && failure == nil { cond.wait() }
            if failure != nil || self[keyPath: queue].isEmpty {
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
