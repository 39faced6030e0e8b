import ArgumentParser
import SeedCLI
import SeedCore
import SeedKit

@main
struct SeedSplit: SeedCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-split",
        abstract: "Cut a seed stream into volumes that fit their drives, or join them again.",
        discussion: """
            Volumes end on record boundaries. Each volume's size counts, besides its records, the bytes later \
            stages add: the encryption tag of every record, a key record, and the drive label and padding of \
            seed-writeblk. Sizes take K M G T (powers of 1024) or KB MB GB TB (powers of 1000).
            """,
        version: Tool.version)

    @Flag(name: [.customShort("d"), .long], help: "Join volumes (in any order) back into one stream.")
    var join = false
    @Option(help: ArgumentHelp("Every drive holds SIZE bytes (after the --drives list, if any).", valueName: "SIZE"))
    var volumeSize: String?
    @Option(help: ArgumentHelp("The drives' sizes, in order, separated by commas.", valueName: "SIZE,..."))
    var drives: String?
    @Option(help: ArgumentHelp("Read the drives from FILE: a size or a device path per line.", valueName: "FILE"))
    var drivesFrom: String?
    @Option(
        help: ArgumentHelp(
            "Make each volume a drive set: the --drives list is its data drives, written at once, and N parity drives are added.",
            valueName: "N"))
    var parity: Int?
    @Flag(help: "Print how many drives the stream needs, and write nothing.")
    var plan = false
    @Option(help: ArgumentHelp("With --plan: estimate from the tree DIR instead of reading a stream.", valueName: "DIR"))
    var estimateFrom: String?
    @Option(help: ArgumentHelp("With --estimate-from: the zstd level seed-compress will use (0: not compressed).", valueName: "N"))
    var estimateLevel = 3
    @Option(help: ArgumentHelp("With --plan: how fast a drive is written, bytes a second (150MB, 1G).", valueName: "RATE"))
    var driveSpeed: String?
    @Option(help: ArgumentHelp("With --plan: measure how fast DEVICE reads (never writing it) and plan with that.", valueName: "DEVICE"))
    var measureSpeed: String?
    @Option(help: ArgumentHelp("Write only volumes N and later; earlier ones are planned the same and left out.", valueName: "N"))
    var firstVolume: UInt32 = 1
    @OptionGroup var first: FirstStageOptions
    @OptionGroup var filter: FilterOptions
    var common: CommonOptions { filter.common }

    func body(_ diag: Diagnostics) throws -> SeedExit {
        var o = SplitOptions()
        o.join = join
        o.plan = plan || estimateFrom != nil
        o.estimateFrom = estimateFrom
        guard (0...19).contains(estimateLevel) else { throw SeedError.usage("--estimate-level must be 0 to 19") }
        o.estimateLevel = estimateLevel
        if (driveSpeed != nil || measureSpeed != nil) && !o.plan { throw SeedError.usage("--drive-speed and --measure-speed go with --plan") }
        if driveSpeed != nil && measureSpeed != nil { throw SeedError.usage("give --drive-speed or --measure-speed, not both") }
        o.driveSpeed = try driveSpeed.map { try ByteSize.parse($0.hasSuffix("/s") ? String($0.dropLast(2)) : $0) }
        o.measureSpeed = measureSpeed
        if join && (volumeSize != nil || drives != nil || drivesFrom != nil || o.plan) {
            throw SeedError.usage("-d takes no drive sizes and no --plan: the volumes say what they are")
        }
        (o.drives, o.drivesText) = try DriveSizes.given(list: drives, from: drivesFrom, each: volumeSize)
        if let parity {
            if join { throw SeedError.usage("-d takes no --parity: the volumes say what they are") }
            if volumeSize != nil { throw SeedError.usage("--parity takes the set's data drives from --drives or --drives-from, not --volume-size") }
            try o.makeSets(parity: parity)
        }
        guard firstVolume >= 1 else { throw SeedError.usage("volumes count from 1") }
        if join && firstVolume != 1 { throw SeedError.usage("--first-volume does not go with -d") }
        o.firstVolume = firstVolume
        o.io = filter.io()
        try first.refuse("-d", when: join)
        try first.apply(to: &o.io)
        return try Splitter.run(o, diag: diag)
    }
}
