// swift-tools-version:6.0
import PackageDescription

let tools = ["seed-snapshot", "seed-compress", "seed-split", "seed-encrypt", "seed-journal", "seed-writeblk"]

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
        .target(
            name: "SeedKit",
            dependencies: [
                "CZstd", "CZlib", "CDeflate", "CArchive", "CBlkid", "CSeedSys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "SeedKitTests", dependencies: ["SeedKit", "CZstd", "CZlib"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: ["SeedKit", "CSeedSys", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Fixtures"]),
    ]
        + tools.map {
            .executableTarget(name: $0, dependencies: ["SeedKit", .product(name: "ArgumentParser", package: "swift-argument-parser")])
        },
    swiftLanguageModes: [.v5]
)
