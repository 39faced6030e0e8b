import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import SystemPackage
import Testing

@testable import SeedKit

/// The in-place read path's fallback: a file libarchive did not take where
/// it lay is written again through the copying path, and the snapshot is
/// whole and checks out.
@Suite struct CopyingPathTests {
    @Test func aFileNotTakenInPlaceIsWrittenAgainByCopying() throws {
        let root = tempPath("tree")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for i in 0..<3 { try Data(repeating: UInt8(i + 1), count: 300_000).write(to: URL(fileURLWithPath: "\(root)/f\(i)")) }
        let out = tempPath("stream")
        defer { unlink(out) }
        let fd = try FileDescriptor.open(out, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        var o = SnapshotOptions(root: root)
        o.recordSize = 65536
        let writer = RecordWriter(fd: fd, destination: "test")
        let c = try SnapshotCreator(o, writer: writer, diag: Diagnostics(tool: "test"))
        c.simulateNotInPlace = 2
        try c.snapshot(StreamMetadata(stages: [.init(tool: "seed-snapshot", settings: ["recordSize": "65536"])]).encoded())
        try writer.flush()
        try fd.close()
        #expect(c.simulateNotInPlace == 0)
        #expect(c.warnings == 0)
        let target = tempPath("out")
        defer { try? FileManager.default.removeItem(atPath: target) }
        var x = ExtractOptions(target: target)
        x.input = out
        let cwd = FileManager.default.currentDirectoryPath
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }  // extraction works from inside its target
        #expect(try SnapshotExtractor.extract(x, diag: Diagnostics(tool: "test")) == .success)
        for i in 0..<3 { #expect(try Data(contentsOf: URL(fileURLWithPath: "\(target)/f\(i)")) == Data(repeating: UInt8(i + 1), count: 300_000)) }
    }
}
