import SeedCore
import SystemPackage

package enum FileDescriptorWriter {
    package static func stdout(_ s: String) {
        var s = s
        s.withUTF8 { b in _ = try? FileDescriptor.standardOutput.writeAll(UnsafeRawBufferPointer(b)) }
    }
}
