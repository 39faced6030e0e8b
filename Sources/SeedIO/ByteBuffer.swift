import SeedCore

/// A reusable raw byte buffer that grows to the largest size asked of it
/// and never shrinks: allocated once per slot or thread, not per record.
public final class ByteBuffer {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public var count = 0

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 4096)
        base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 4096)
    }

    deinit { base.deallocate() }

    public func reserve(_ n: Int) {
        if n <= capacity { return }
        let newCap = (n + (1 << 20) - 1) & ~((1 << 20) - 1)
        base.deallocate()
        base = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 4096)
        capacity = newCap
    }

    /// Grows to `n` bytes, keeping the first `count` bytes.
    public func reserveKeeping(_ n: Int) {
        if n <= capacity { return }
        let nb = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 4096)
        if count > 0 { nb.copyMemory(from: base, byteCount: count) }
        base.deallocate()
        base = nb
        capacity = n
    }

    public func set(_ b: UnsafeRawBufferPointer) {
        reserve(b.count)
        if b.count > 0 { base.copyMemory(from: b.baseAddress!, byteCount: b.count) }
        count = b.count
    }

    public func set(_ a: [UInt8]) { a.withUnsafeBytes { set($0) } }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
