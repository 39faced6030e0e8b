import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct ExitStatusTests {
    /// The statuses seed(7) lists under EXIT STATUS, each a `.B n` line.
    static func documentedStatuses() throws -> [Int32] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("man/man7/seed.7"), encoding: .utf8)
        guard let start = page.range(of: ".SH EXIT STATUS\n") else { return [] }
        let section = page[start.upperBound...].split(separator: "\n").prefix { !$0.hasPrefix(".SH") }
        return section.compactMap { $0.hasPrefix(".B ") ? Int32($0.dropFirst(3)) : nil }
    }

    @Test func theStatusesAreTheOnesSeed7Documents() throws {
        let documented = try ExitStatusTests.documentedStatuses()
        #expect(documented.count >= 10)
        #expect(documented == SeedExit.all.map(\.rawValue))
    }

    @Test func messagesForFileNamesEscapeWhatIsNotPrintable() {
        #expect(quoted(bytes: [0x61, 0x0a, 0x62]) == "'a\\x0ab'")
        #expect(quoted(bytes: [0x63, 0xe9]) == "'c\\xe9'")
        #expect(quoted("grüße") == "'grüße'")
    }
}

@Suite struct HexTests {
    @Test func hexIsLowerCaseTwoDigitsPerByte() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.encode([UInt8]()) == "")
    }
}
