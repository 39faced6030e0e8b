import Foundation
import SeedCLI
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner
import Testing

@testable import SeedKit

@Suite struct VolumeLabelTests {
    let session = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"

    @Test func aLabelReadsBackAsWritten() throws {
        var l = VolumeLabel(session: session, volume: 2, capacity: 1 << 30, streamOffset: 1 << 20)
        l.streamBytes = 12345
        l.complete = true
        let back = try VolumeLabel.decode(l.encoded(), name: "d")
        #expect(back?.session == session && back?.volume == 2 && back?.streamBytes == 12345 && back?.complete == true)
    }

    @Test func aLabelWhoseNumbersDoNotHoldTogetherIsRefused() throws {
        var cases: [VolumeLabel] = []
        var past = VolumeLabel(session: session, volume: 1, capacity: 1 << 30, streamOffset: 1 << 20)
        past.streamBytes = 1 << 30  // ends past the capacity
        cases.append(past)
        cases.append(VolumeLabel(session: "../x", volume: 1, capacity: 1 << 30, streamOffset: 1 << 20))
        cases.append(VolumeLabel(session: session, volume: 0, capacity: 1 << 30, streamOffset: 1 << 20))
        cases.append(VolumeLabel(session: session, volume: 1, capacity: 1 << 30, streamOffset: 100))
        var overflow = VolumeLabel(session: session, volume: 1, capacity: .max, streamOffset: .max - 10)
        overflow.streamBytes = 100
        cases.append(overflow)
        for l in cases {
            #expect(throws: SeedError.self) { _ = try VolumeLabel.decode(l.encoded(), name: "d") }
        }
    }

    @Test func aDamagedLabelIsRefusedAndNoLabelIsNil() throws {
        var b = VolumeLabel(session: session, volume: 1, capacity: 1 << 30, streamOffset: 1 << 20).encoded()
        b[60] ^= 0x01
        #expect(throws: SeedError.self) { _ = try VolumeLabel.decode(b, name: "d") }
        #expect(try VolumeLabel.decode([UInt8](repeating: 0, count: VolumeLabel.size), name: "d") == nil)
    }
}
