// swift-tools-version:6.0
import PackageDescription

let tools = ["seed-snapshot", "seed-compress", "seed-split", "seed-encrypt", "seed-journal", "seed-writeblk"]
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let system = Target.Dependency.product(name: "SystemPackage", package: "swift-system")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")

// Layers, each a target that sees only the ones below it, so that an
// arrow running up fails the build (see ARCHITECTURE.md):
//   SeedCore    errors, exit statuses, diagnostics, syscall wrappers
//   SeedIO      files, buffers, progress
//   SeedFormat  records, framing, stream order, every payload type
//   SeedRunner  the ordered worker pipeline and the stage runner
//   SeedArchive libarchive, wrapped: the only target that sees its handles
//   SeedKit     the concerns (Snapshot, Compress, Split, Crypto, Journal, Device)
//   SeedCLI     option groups, usage errors, the tool entry point
let package = Package(
    name: "seed",
    platforms: [.macOS(.v13)],
    products: tools.map { .executable(name: $0, targets: [$0]) } + [
        .library(name: "SeedKit", targets: ["SeedKit"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSeedSys"),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CBlkid", pkgConfig: "blkid", providers: [.apt(["libblkid-dev"])]),
        .systemLibrary(name: "CIsal", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .target(name: "SeedCore", dependencies: ["CSeedSys", system]),
        .target(name: "SeedIO", dependencies: ["SeedCore", "CSeedSys", system]),
        .target(name: "SeedFormat", dependencies: ["SeedCore", "SeedIO", "CDeflate", "CSeedSys", system, crypto]),
        .target(name: "SeedRunner", dependencies: ["SeedCore", "SeedIO", "SeedFormat", system]),
        .target(name: "SeedArchive", dependencies: ["SeedCore", "CArchive"]),
        .target(
            name: "SeedKit",
            dependencies: [
                "SeedCore", "SeedIO", "SeedFormat", "SeedRunner", "SeedArchive",
                "CZstd", "CZlib", "CDeflate", "CBlkid", "CIsal", "CSeedSys",
                system, crypto,
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(name: "SeedCLI", dependencies: ["SeedCore", "SeedIO", "SeedRunner", "SeedKit", "CSeedSys", argumentParser]),
        .testTarget(
            name: "SeedKitTests",
            dependencies: ["SeedCore", "SeedIO", "SeedFormat", "SeedRunner", "SeedKit", "SeedCLI", "CZstd", "CZlib", system, crypto]),
        .testTarget(
            name: "PipelineTests",
            dependencies: ["SeedCore", "SeedIO", "SeedFormat", "SeedKit", "CSeedSys", system, crypto],
            exclude: ["Fixtures"]),
    ]
        + tools.map { .executableTarget(name: $0, dependencies: ["SeedCore", "SeedIO", "SeedRunner", "SeedKit", "SeedCLI", argumentParser]) }
        // libFuzzer's entry points over SeedKit's readers (scripts/fuzz).
        + [.executableTarget(name: "seed-fuzz", dependencies: ["SeedCore", "SeedKit"])],
    swiftLanguageModes: [.v5]
)
