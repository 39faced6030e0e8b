import Foundation
import SeedCore
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// Small files whose data is in hand, written, settled (owner, mode,
/// times) and closed on workers while extraction's thread creates the
/// next entries: for a tree of small files these calls are most of the
/// work. Creating, replacing and removing names stays on that thread, in
/// the archive's order; a worker only writes to a descriptor it is given.
final class SmallFileWriters {
    /// Files this size or smaller come here (their data copied once);
    /// larger ones are written straight from the stream.
    static let largest = 256 << 10

    private struct Job {
        var id: Int
        var fd: Int32
        var data: ByteBuffer
        var settling: TreeWriter.Settling
        var path: [UInt8]
    }

    private var pool: WorkerPool<Job>!
    private let lock = NSLock()
    /// Under `lock`: the workers' warnings, the files they could not
    /// write, buffers to use again, and the jobs handed on and not yet
    /// run (a failed pool drops its queue: their files go too).
    private var warnings: [String] = []
    private var failed: [[UInt8]] = []
    private var spare: [ByteBuffer] = []
    private var inFlight: [Int: (fd: Int32, path: [UInt8])] = [:]
    private var nextJob = 0

    init(threads: Int, umask: mode_t) {
        // Woken for a batch, not for every small file.
        pool = WorkerPool(threads: threads, bound: 64, wakeAt: (8, 1 << 20)) { [self] job, _ in try run(job, umask: umask) }
    }

    /// A buffer to gather a file's data in.
    func takeBuffer() -> ByteBuffer {
        lock.lock()
        defer { lock.unlock() }
        if let b = spare.popLast() {
            b.count = 0
            return b
        }
        return ByteBuffer(capacity: 64 << 10)
    }

    func giveBack(_ b: ByteBuffer) {
        lock.lock()
        spare.append(b)
        lock.unlock()
    }

    /// Hands on the file at `fd` (theirs now, to close) with its data.
    func submit(fd: Int32, data: ByteBuffer, settling: TreeWriter.Settling, path: [UInt8]) throws {
        nextJob += 1
        lock.lock()
        inFlight[nextJob] = (fd, path)
        lock.unlock()
        try pool.submit(Job(id: nextJob, fd: fd, data: data, settling: settling, path: path), weight: data.count)
    }

    /// Waits for every file handed on; the first error, if one failed.
    func finish() throws { try pool.finish() }

    /// The workers' warnings, each naming its entry.
    func takeWarnings() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let w = warnings
        warnings = []
        return w
    }

    /// After an error (a worker's, or the run's): the workers stop, and
    /// the file that could not be written and those still queued are
    /// removed from under `root`, not left part written. Returns `error`.
    func fail(_ error: Error, root: Int32) -> Error {
        pool.abort(error)
        lock.lock()
        var gone = failed
        for (_, job) in inFlight {
            close(job.fd)
            gone.append(job.path)
        }
        (failed, inFlight) = ([], [:])
        lock.unlock()
        for p in gone { TreeFiles.removeRegularFile(p, in: root) }
        return error
    }

    /// A worker's job: the data, then the rest, then close.
    private func run(_ job: Job, umask: mode_t) throws {
        defer {
            close(job.fd)
            lock.lock()
            inFlight.removeValue(forKey: job.id)
            spare.append(job.data)
            lock.unlock()
        }
        let what = { "entry \(job.path.isEmpty ? "(unnamed entry)" : quoted(bytes: job.path))" }
        do {
            try TreeWriter.writeAll(job.fd, job.data.bytes, at: 0, what)
            try TreeWriter.settle(job.fd, job.settling, end: Int64(job.data.count), umask: umask, what) { w in
                lock.lock()
                warnings.append("\(what()): \(w)")
                lock.unlock()
            }
        } catch {
            lock.lock()
            failed.append(job.path)
            lock.unlock()
            throw error
        }
    }
}
