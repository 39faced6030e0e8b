// libFuzzer over SeedKit's readers (FuzzTargets), for scripts/fuzz, which
// builds this with -sanitize=fuzzer,address and -D SEED_FUZZ. Built as a
// plain tool it only says so. SEED_FUZZ_TARGET names the target.
import CSeedSys
import Foundation
import SeedKit

#if canImport(Glibc)
    import Glibc
#endif

nonisolated(unsafe) private var target = ProcessInfo.processInfo.environment["SEED_FUZZ_TARGET"] ?? ""

guard FuzzTargets.names.contains(target) else {
    fputs("seed-fuzz: set SEED_FUZZ_TARGET to one of \(FuzzTargets.names.joined(separator: ", "))\n", stderr)
    exit(64)
}

#if SEED_FUZZ
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(
        LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            FuzzTargets.run(target, UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
            return 0
        })
#else
    fputs("seed-fuzz: built without libFuzzer: run scripts/fuzz\n", stderr)
    exit(64)
#endif
