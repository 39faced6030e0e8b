// libFuzzer over SeedKit's readers (FuzzTargets), for scripts/fuzz, which
// builds this with -sanitize=fuzzer,address and -D SEED_FUZZ. Built as a
// plain tool it only says so. SEED_FUZZ_TARGET names the target.
import CSeedSys
import Foundation
import SeedCore
import SeedKit

#if canImport(Glibc)
    import Glibc
#endif

let usage = """
    usage: SEED_FUZZ_TARGET=TARGET seed-fuzz [libFuzzer options] [CORPUS...]
    Runs libFuzzer over one of seed's readers; TARGET is one of \(FuzzTargets.names.joined(separator: ", ")).
    Built by scripts/fuzz (libFuzzer and AddressSanitizer); see seed-fuzz(1).

    """
switch CommandLine.arguments.dropFirst().first {
case "-h", "--help":
    print(usage, terminator: "")
    exit(0)
case "--version":
    print("seed-fuzz \(SeedVersion.current)")
    exit(0)
default: break
}

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
