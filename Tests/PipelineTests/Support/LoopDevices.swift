import Foundation
import SeedCore
import SeedFormat
import SeedIO

/// Loop devices a test attaches, detached again by name when it ends;
/// no other device is ever touched.
final class LoopDevices {
    private(set) var attached: [String] = []
    let scratch: Scratch

    init(_ s: Scratch) { scratch = s }

    /// Whether this machine lets tests make loop devices (root, and losetup works).
    static let available: Bool = {
        guard getuid() == 0 else { return false }
        guard
            let r = try? runProcess(
                "truncate -s 1M /tmp/seed-loop-probe && d=$(losetup --find --show /tmp/seed-loop-probe) && losetup -d \"$d\"; s=$?; rm -f /tmp/seed-loop-probe; exit $s",
                cwd: "/")
        else {
            return false
        }
        return r.status == 0
    }()

    /// A loop device over a new sparse file of `size` bytes in the scratch directory.
    func attach(_ file: String, size: String) throws -> String {
        let r = try scratch.sh("truncate -s \(size) \(file) && losetup --find --show \(file)")
        guard r.status == 0 else { throw ShellError(message: "losetup: \(r.stderr)") }
        let dev = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        attached.append(dev)
        return dev
    }

    deinit {
        for d in attached.reversed() {
            _ = try? runProcess("umount \(d) 2>/dev/null; losetup -d \(d)", cwd: "/")
        }
    }
}

struct ShellError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
