import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// seed-writeblk -d: reads the labels of the drives given (in any order),
/// checks they are complete volumes of one session with none repeated or
/// missing, and streams the volumes in order.
enum BlockReader {
    static func run(_ o: WriteOptions, diag: Diagnostics) throws -> SeedExit {
        guard !o.targets.isEmpty else { throw SeedError.usage("-d needs the drives to read") }
        var volumes: [(path: String, label: VolumeLabel)] = []
        for path in o.targets {
            guard let label = try Target.readLabel(path) else {
                throw SeedError.data("\(quoted(path)) is not a seed drive (it has no seed label)")
            }
            guard label.complete else {
                throw SeedError.data("\(quoted(path)) holds volume \(label.volume), but its writing never finished", hint: "write the volume again")
            }
            if let first = volumes.first, first.label.session != label.session {
                throw SeedError.data(
                    "\(quoted(path)) holds volume \(label.volume) of session \(label.session), not \(first.label.session) "
                        + "as \(quoted(first.path)) does (a drive of another seed)")
            }
            if let twin = volumes.first(where: { $0.label.volume == label.volume }) {
                throw SeedError.data("\(quoted(path)) and \(quoted(twin.path)) both hold volume \(label.volume)")
            }
            volumes.append((path, label))
        }
        volumes.sort { $0.label.volume < $1.label.volume }
        let have = Set(volumes.map(\.label.volume))
        let last = volumes.first { $0.label.lastVolume }?.label.volume
        let upTo = last ?? volumes.last!.label.volume
        let missing = (1...upTo).filter { !have.contains($0) }
        if !o.partial {
            if !missing.isEmpty {
                let of = last.map { " of \($0)" } ?? ""
                throw SeedError.data(
                    "volume\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", "))\(of) missing",
                    hint: "give every drive, or --partial to read these alone")
            }
            if last == nil {
                throw SeedError.data(
                    "the last volume is missing (no drive given holds the end of the stream; volumes after \(upTo))", hint: "give every drive, or --partial")
            }
        }
        let output = try StreamOutput(path: o.io.output, force: false)
        let progress = ProgressMeter(enabled: o.io.progress, label: "seed-writeblk -d")
        let buf = ByteBuffer(capacity: ChunkSink.chunkSize)
        var short: [String] = []
        var total: UInt64 = 0
        for (path, l) in volumes {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw SeedError.io("cannot open \(quoted(path)): \(errnoMessage())") }
            defer { close(fd) }
            // A drive cannot hold more than its size: a label that says so is
            // damage, and reading on would pass zeros for as long as it says.
            // (A file standing in for a drive may have been cut short; the
            // zeros for its missing bytes end at what its label claims.)
            var st = stat()
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFBLK {
                let size = try DriveSizes.deviceSize(path)
                if l.streamOffset + l.streamBytes > size {
                    throw SeedError.data(
                        "\(quoted(path)): its label says volume \(l.volume) runs to byte \(l.streamOffset + l.streamBytes), past the drive's end at \(size)")
                }
            }
            _ = posix_fadvise(fd, off_t(l.streamOffset), off_t(l.streamBytes), POSIX_FADV_SEQUENTIAL)
            var done: UInt64 = 0
            var cut = false
            while done < l.streamBytes {
                let want = Int(min(UInt64(buf.capacity), l.streamBytes - done))
                var n = 0
                while n < want {
                    let r = pread(fd, buf.base + n, want - n, off_t(l.streamOffset + done) + off_t(n))
                    if r < 0 {
                        if errno == EINTR { continue }
                        throw SeedError.io("\(quoted(path)): read error in volume \(l.volume) at byte \(l.streamOffset + done + UInt64(n)): \(errnoMessage())")
                    }
                    if r == 0 { break }
                    n += r
                }
                if n < want {
                    // Cut short: zeros keep the volumes after it in place, and
                    // every reader downstream rejects them.
                    memset(buf.base + n, 0, want - n)
                    cut = true
                }
                do { _ = try output.fd.writeAll(UnsafeRawBufferPointer(start: buf.base, count: want)) } catch let e as Errno {
                    throw SeedError.cannotWrite(output.name, e)
                }
                done += UInt64(want)
                total += UInt64(want)
                progress.update(bytes: total)
            }
            if cut { short.append("\(quoted(path)) (volume \(l.volume))") }
            diag.verbose("volume \(l.volume) from \(quoted(path)): \(l.streamBytes) bytes")
        }
        try output.commit()
        progress.finish(bytes: total)
        if !short.isEmpty {
            throw SeedError.data("\(short.joined(separator: ", ")) cut short: the missing bytes went on as zeros")
        }
        if o.partial && !missing.isEmpty { diag.info("volumes not read: \(missing.map(String.init).joined(separator: ", "))") }
        return .success
    }
}
