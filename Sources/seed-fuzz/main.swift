// The libFuzzer entry points for scripts/fuzz, which builds this with
// -sanitize=fuzzer,address -parse-as-library (libFuzzer then brings main).
// Built as a plain tool it does nothing. SEED_FUZZ_TARGET names the
// target (FuzzTargets.names).
import Foundation
import SeedKit

#if canImport(Glibc)
    import Glibc
#endif

nonisolated(unsafe) private var target = ""

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    target = ProcessInfo.processInfo.environment["SEED_FUZZ_TARGET"] ?? ""
    guard FuzzTargets.names.contains(target) else {
        fputs("seed-fuzz: set SEED_FUZZ_TARGET to one of \(FuzzTargets.names.joined(separator: ", "))\n", stderr)
        exit(64)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.run(target, UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}
