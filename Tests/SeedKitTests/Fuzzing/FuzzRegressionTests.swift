import Foundation
import Testing

@testable import SeedKit

/// Every input under Tests/Fuzz/TARGET (what scripts/fuzz found, and the
/// hostile inputs of each class of fault seen so far) runs through its
/// fuzz target again and ends in a value or an error, never a crash.
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static var inputs: [(target: String, file: String)] {
        FuzzTargets.names.flatMap { t in
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(t).path)) ?? []).sorted().map { (t, $0) }
        }
    }

    @Test func everyTargetHasRegressionInputs() {
        for t in FuzzTargets.names { #expect(Self.inputs.contains { $0.target == t }, "no input under Tests/Fuzz/\(t)") }
    }

    @Test(arguments: inputs.map { "\($0.target)/\($0.file)" })
    func aKeptInputRunsThroughItsTargetWithoutACrash(_ input: String) throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent(input))
        let target = String(input.split(separator: "/")[0])
        let ran = data.withUnsafeBytes { FuzzTargets.run(target, $0) }
        #expect(ran)
    }

    @Test func aReportNamingAFileWithANulByteIsRefused() throws {
        let path = Self.root.appendingPathComponent("report/nul-and-base64-names").path
        #expect(throws: (any Error).self) { try RepairSelection(report: path, index: nil, diag: .init(tool: "test")) }
    }
}
