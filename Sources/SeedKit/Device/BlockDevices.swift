import CBlkid
import Foundation
import SeedCore
import SeedFormat
import SeedIO
import SeedRunner

#if canImport(Glibc)
    import Glibc
#endif

/// What the kernel says about block devices, through /sys and /proc.
public enum BlockDevices {
    static func major(_ d: dev_t) -> UInt32 { UInt32((d >> 8) & 0xfff) | UInt32((d >> 32) & ~0xfff) }
    static func minor(_ d: dev_t) -> UInt32 { UInt32(d & 0xff) | UInt32((d >> 12) & ~0xff) }
    static func name(_ d: dev_t) -> String { "\(major(d)):\(minor(d))" }

    /// The sysfs directory of a device number, symlinks resolved.
    static func sysDir(_ d: dev_t) -> String? {
        let link = "/sys/dev/block/" + name(d)
        guard let r = realpath(link, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    static func read(_ path: String) -> String? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The whole disk a device belongs to ("8:0" for "8:1"), as "maj:min".
    static func wholeDisk(_ d: dev_t) -> String {
        guard let dir = sysDir(d) else { return name(d) }
        if FileManager.default.fileExists(atPath: dir + "/partition") {
            let parent = (dir as NSString).deletingLastPathComponent
            if let n = read(parent + "/dev") { return n }
        }
        return name(d)
    }

    /// Whether two device numbers are on the same disk (a filesystem's
    /// st_dev against a target's st_rdev, say).
    public static func sameDisk(_ a: dev_t, _ b: dev_t) -> Bool { wholeDisk(a) == wholeDisk(b) }

    /// The device numbers of a disk and all its partitions.
    static func family(_ d: dev_t) -> Set<String> {
        let whole = wholeDisk(d)
        var set: Set<String> = [whole, name(d)]
        let parts = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/dev/block/" + whole + "/")) ?? []
        for p in parts {
            if let n = read("/sys/dev/block/" + whole + "/" + p + "/dev"),
                FileManager.default.fileExists(atPath: "/sys/dev/block/" + whole + "/" + p + "/partition")
            {
                set.insert(n)
            }
        }
        return set
    }

    /// Where a device, its disk or any partition of the disk is mounted,
    /// used as swap, or held by another device (LVM, RAID, dm-crypt).
    static func uses(_ d: dev_t) -> [String] {
        let fam = family(d)
        var found: [String] = []
        if let mi = read("/proc/self/mountinfo") {
            for line in mi.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count > 4, fam.contains(String(f[2])) { found.append("mounted on \(f[4])") }
            }
        }
        if let sw = read("/proc/swaps") {
            for line in sw.split(separator: "\n").dropFirst() {
                if let dev = line.split(separator: " ").first {
                    var st = stat()
                    if stat(String(dev), &st) == 0, (st.st_mode & S_IFMT) == S_IFBLK, fam.contains(name(st.st_rdev)) { found.append("used as swap") }
                }
            }
        }
        for n in fam {
            let holders = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/dev/block/" + n + "/holders")) ?? []
            if !holders.isEmpty { found.append("held by \(holders.joined(separator: ", "))") }
        }
        return found
    }

    /// "model ST4000DM004, serial ZFN0ABCD, 4.0 TB": what the kernel knows.
    static func describe(_ d: dev_t, size: UInt64) -> String {
        var parts: [String] = []
        let whole = wholeDisk(d)
        let base = "/sys/dev/block/" + whole
        if let m = read(base + "/device/model"), !m.isEmpty { parts.append("model \(m)") }
        var serial = read(base + "/device/serial")
        if serial == nil || serial!.isEmpty, let udev = read("/run/udev/data/b" + whole) {
            serial = udev.split(separator: "\n").first { $0.hasPrefix("E:ID_SERIAL_SHORT=") }.map { String($0.dropFirst(18)) }
        }
        if let s = serial, !s.isEmpty { parts.append("serial \(s)") }
        if let b = read(base + "/loop/backing_file") { parts.append("backed by \(b)") }
        parts.append(size >= 1_000_000_000 ? String(format: "%.1f GB (%llu bytes)", Double(size) / 1e9, size) : "\(formatBytes(size)) (\(size) bytes)")
        return parts.joined(separator: ", ")
    }

    /// A filesystem, RAID member or partition table on a device or file, as
    /// libblkid names it ("ext4", "partition table gpt"), or nil.
    static func signature(_ path: String) -> String? {
        guard let pr = blkid_new_probe_from_filename(path) else { return nil }
        defer { blkid_free_probe(pr) }
        blkid_probe_enable_superblocks(pr, 1)
        blkid_probe_set_superblocks_flags(pr, Int32(BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL))
        blkid_probe_enable_partitions(pr, 1)
        blkid_probe_set_partitions_flags(pr, Int32(BLKID_PARTS_MAGIC))
        let rc = blkid_do_safeprobe(pr)
        if rc == -2 { return "more than one filesystem signature" }
        guard rc == 0 else { return nil }
        var value: UnsafePointer<CChar>?
        if blkid_probe_lookup_value(pr, "TYPE", &value, nil) == 0, let v = value { return String(cString: v) }
        if blkid_probe_lookup_value(pr, "PTTYPE", &value, nil) == 0, let v = value { return "partition table \(String(cString: v))" }
        return "an unknown signature"
    }
}
