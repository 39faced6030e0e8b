import Foundation
import SeedCore
import SeedFormat
import SeedIO
import Testing

/// Where the built seed tools are: $SEED_BIN_DIR, or next to this test bundle.
let toolsDir: String = {
    if let d = ProcessInfo.processInfo.environment["SEED_BIN_DIR"], !d.isEmpty {
        return URL(fileURLWithPath: d).standardizedFileURL.path
    }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("seed-snapshot").path) { return url.path }
    }
    return FileManager.default.currentDirectoryPath + "/.build/debug"
}()

let fixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path

struct ShellResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
}

/// A scratch directory with a bash to run real pipelines in, the seed
/// tools first on PATH. Removed when the test ends.
final class Scratch {
    let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "seed-pipeline-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit {
        // Restored trees may hold read-only directories.
        _ = try? runProcess("chmod -R u+rwx '\(dir)' 2>/dev/null; rm -rf '\(dir)'", cwd: "/")
    }

    func path(_ p: String) -> String { dir + "/" + p }

    /// Runs `script` under `bash -c 'set -o pipefail; ...'` in the scratch directory.
    @discardableResult
    func sh(_ script: String) throws -> ShellResult { try runProcess("set -o pipefail\n" + script, cwd: dir) }

    /// Builds the awkward tree (see Fixtures/make-awkward-tree) at `name`.
    func awkwardTree(_ name: String = "src", huge: Bool = false) throws -> String {
        let r = try sh("'\(fixturesDir)/make-awkward-tree' \(name)\(huge ? " --huge" : "")")
        #expect(r.status == 0, "make-awkward-tree: \(r.stderr)")
        return path(name)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    func exists(_ name: String) -> Bool {
        var st = stat()
        return lstat(path(name), &st) == 0
    }
}

func runProcess(_ script: String, cwd: String) throws -> ShellResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", script]
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    var env = ProcessInfo.processInfo.environment
    env["PATH"] = toolsDir + ":" + (env["PATH"] ?? "/usr/bin:/bin")
    env["LC_ALL"] = "C.UTF-8"
    p.environment = env
    let outURL = URL(fileURLWithPath: NSTemporaryDirectory() + "seed-out-\(UUID().uuidString)")
    let errURL = URL(fileURLWithPath: NSTemporaryDirectory() + "seed-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try out.close()
    try err.close()
    let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    return ShellResult(
        status: status,
        stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
        stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// Defines `flip FILE OFFSET` for a test's script: inverts the byte at
/// OFFSET, so it changes whatever it was.
let flipByte = """
    flip() { local b; b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '); printf "$(printf '\\\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

    """
