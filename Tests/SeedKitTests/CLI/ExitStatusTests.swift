import Testing

@testable import SeedKit

@Suite struct ExitStatusTests {
    @Test func statusesMatchTheDocumentedTable() {
        let table: [(SeedExit, Int32)] = [
            (.success, 0), (.failure, 1), (.warnings, 2), (.nextDrive, 3), (.usage, 64), (.dataError, 65),
            (.noInput, 66), (.cannotCreate, 73), (.ioError, 74), (.resumable, 75), (.interrupted, 130),
        ]
        for (s, v) in table { #expect(s.rawValue == v) }
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
