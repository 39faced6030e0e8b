import SeedCore
import SystemPackage

package enum FileDescriptorWriter {
    package static func stdout(_ s: String) {
        var s = s
        s.withUTF8 { b in _ = try? FileDescriptor.standardOutput.writeAll(UnsafeRawBufferPointer(b)) }
    }
}

extension SeedError {
    /// A write to `destination` that failed with `e`: a broken pipe says
    /// the next stage stopped reading (status 141), anything else is an
    /// I/O error.
    public static func cannotWrite(_ destination: String, _ e: Errno) -> SeedError {
        if e == .brokenPipe {
            return SeedError(.brokenPipe, "cannot write to \(destination): the next stage stopped reading (broken pipe)")
        }
        return SeedError.io("cannot write to \(destination): \(errnoMessage(e.rawValue))")
    }
}
