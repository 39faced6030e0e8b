import Foundation
import SeedCore
import Testing

@testable import SeedKit

/// An increment's renames and deletions stay inside the tree, whatever
/// paths a stream gives (seed-stream(5), kind 10).
@Suite struct TreeChangesTests {
    /// Runs `body` with a new tree (its descriptor and path) holding a/f,
    /// a/b/g, and a symlink `out` to a directory outside it holding `victim`.
    func inTree(_ body: (Int32, String, String) throws -> Void) throws {
        let root = tempPath("changes")
        let outside = tempPath("outside")
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: outside)
        }
        try Data("f".utf8).write(to: URL(fileURLWithPath: root + "/a/f"))
        try Data("g".utf8).write(to: URL(fileURLWithPath: root + "/a/b/g"))
        try Data("v".utf8).write(to: URL(fileURLWithPath: outside + "/victim"))
        try FileManager.default.createSymbolicLink(atPath: root + "/out", withDestinationPath: outside)
        let fd = open(root, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try body(fd, root, outside)
    }

    @Test func pathsThatLeaveTheTreeAreRefused() throws {
        try inTree { fd, root, _ in
            for bad in ["../x", "/etc/passwd", "a/../../x", "a//f", ".", "a/./f", ""] {
                #expect(throws: SeedError.self, "\(bad)") { try TreeChanges.remove(Array(bad.utf8), in: fd) }
                #expect(throws: SeedError.self, "\(bad)") { try TreeChanges.rename(from: Array("a/f".utf8), to: Array(bad.utf8), in: fd) }
            }
            #expect(FileManager.default.fileExists(atPath: root + "/a/f"))
        }
    }

    @Test func nothingIsReachedThroughASymbolicLink() throws {
        try inTree { fd, _, outside in
            try TreeChanges.remove(Array("out/victim".utf8), in: fd)
            #expect(FileManager.default.fileExists(atPath: outside + "/victim"))
            #expect(throws: SeedError.self) { try TreeChanges.rename(from: Array("out/victim".utf8), to: Array("stolen".utf8), in: fd) }
            #expect(FileManager.default.fileExists(atPath: outside + "/victim"))
        }
    }

    @Test func aDeletedDirectoryGoesWithAllItHoldsAndAGoneOneIsFine() throws {
        try inTree { fd, root, _ in
            try TreeChanges.remove(Array("a".utf8), in: fd)
            #expect(!FileManager.default.fileExists(atPath: root + "/a"))
            try TreeChanges.remove(Array("a/b/g".utf8), in: fd)
            try TreeChanges.remove(Array("a".utf8), in: fd)
        }
    }

    @Test func aRenameMovesTheEntry() throws {
        try inTree { fd, root, _ in
            try TreeChanges.rename(from: Array("a/b/g".utf8), to: Array("a/g2".utf8), in: fd)
            #expect(try String(contentsOfFile: root + "/a/g2", encoding: .utf8) == "g")
            #expect(!FileManager.default.fileExists(atPath: root + "/a/b/g"))
        }
    }
}
