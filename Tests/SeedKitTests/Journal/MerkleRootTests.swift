import Crypto
import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct MerkleRootTests {
    func leaf(_ i: UInt8) -> [UInt8] { Array(SHA256.hash(data: [i])) }

    /// RFC 6962's tree hash, written out plainly from its definition.
    func reference(_ leaves: [[UInt8]]) -> [UInt8] {
        if leaves.isEmpty { return Array(SHA256.hash(data: [UInt8]())) }
        if leaves.count == 1 { return leaves[0] }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        return MerkleRoot.node(reference(Array(leaves[..<k])), reference(Array(leaves[k...])))
    }

    @Test func theRootIsTheTreeHashOfRFC6962ShapeForEveryCount() {
        for n in 0...19 {
            let leaves = (0..<n).map { leaf(UInt8($0)) }
            var m = MerkleRoot()
            for l in leaves { m.add(l) }
            #expect(m.root == reference(leaves), "\(n) leaves")
        }
    }

    @Test func journalNamesAreTheSessionAndAThreeDigitVolume() {
        #expect(JournalNames.name(session: "s", volume: 7) == "s.v007.jrn")
        #expect(JournalNames.name(session: "s", volume: 1234) == "s.v1234.jrn")
    }
}
