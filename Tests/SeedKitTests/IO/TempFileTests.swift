import Foundation
import SeedIO
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct TempFileTests {
    /// Both ways to a temporary file: O_TMPFILE, and the named file
    /// unlinked at once that a file system without it gets.
    @Test(arguments: [true, false]) func aTemporaryFileIsUnlinkedReadableAndWritable(unnamed: Bool) throws {
        let dir = tempPath("tmp")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fd = try TempFile.open(in: dir, unnamed: unnamed)
        defer { close(fd) }
        var st = stat()
        #expect(fstat(fd, &st) == 0 && st.st_nlink == 0, "no name left behind")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        #expect(FileWrite.all(fd, "lines\n", 6))
        var back = [UInt8](repeating: 0, count: 6)
        #expect(pread(fd, &back, 6, 0) == 6 && back == Array("lines\n".utf8))
        #expect((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0)
    }

    @Test func aTemporaryFileInADirectoryThatIsNotThereIsAnErrorNamingIt() {
        let e = seedError { _ = try TempFile.open(in: "/nonexistent/dir") }
        #expect(e?.message.contains("'/nonexistent/dir'") == true, "\(String(describing: e?.message))")
    }

    @Test func aLineSpoolGivesBackItsLinesInWholeLineChunks() throws {
        let spool = try LineSpool(what: "the lines", maxLine: 1 << 20)
        let line = Array(repeating: UInt8(ascii: "x"), count: 300_000) + [0x0a]
        for _ in 0..<10 { try line.withUnsafeBytes { try spool.append($0) } }
        var total = 0
        try spool.forEachChunk { chunk in
            #expect(chunk.last == 0x0a)
            total += chunk.count
        }
        #expect(total == 10 * line.count)
    }

    @Test func aLineSpoolRefusesALineLongerThanItsBound() throws {
        let spool = try LineSpool(what: "the lines", maxLine: 1000)
        let line = Array(repeating: UInt8(ascii: "x"), count: 3 << 20) + [0x0a]
        try line.withUnsafeBytes { try spool.append($0) }
        let e = seedError { try spool.forEachChunk { _ in } }
        #expect(e?.message.contains("a line longer than") == true)
    }
}
