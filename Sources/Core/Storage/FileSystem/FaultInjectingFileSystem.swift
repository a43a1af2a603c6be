/// Wraps a file system and injects the faults a database must survive:
/// failed syncs (EIO from `fdatasync`) and a full device (ENOSPC with a short write).
public final class FaultInjectingFileSystem: FileSystem, @unchecked Sendable {
    public let inner: any FileSystem
    let lock = Lock()
    var syncFailuresPending = 0
    var freeBytes: UInt64?
    /// Counts of operations seen, for tests that assert what reached the device.
    public private(set) var syncCount = 0

    public init(wrapping inner: any FileSystem) {
        self.inner = inner
    }

    /// The next `count` file syncs fail with EIO.
    public func failNextSyncs(_ count: Int = 1) { lock.withLock { syncFailuresPending = count } }

    /// File syncs block until `releaseSyncs()` (a slow disk: tests interleave work with a
    /// commit that is durable-pending). `heldSyncs` counts the syncs waiting.
    public func holdSyncs() { lock.withLock { holding = true } }

    public func releaseSyncs() {
        lock.withLock {
            holding = false
            released.broadcast()
        }
    }

    public var heldSyncs: Int { lock.withLock { waiting } }

    var holding = false
    var waiting = 0
    let released = Condition()

    func waitWhileHeld() {
        lock.withLock {
            waiting += 1
            while holding { released.wait(lock) }
            waiting -= 1
        }
    }

    /// Limits how many more bytes files may grow by (nil: unlimited). Writes past it fail with ENOSPC.
    public func setFreeSpace(_ bytes: UInt64?) { lock.withLock { freeBytes = bytes } }

    func takeSyncFailure() -> Bool {
        lock.withLock {
            syncCount += 1
            if syncFailuresPending > 0 {
                syncFailuresPending -= 1
                return true
            }
            return false
        }
    }

    /// Reserves space for a write that grows a file by `growth`; returns how many bytes may be written.
    func reserve(growth: UInt64) -> UInt64 {
        lock.withLock {
            guard let free = freeBytes else { return growth }
            let granted = min(free, growth)
            freeBytes = free - granted
            return granted
        }
    }

    public func createDirectory(_ path: String) throws { try inner.createDirectory(path) }
    public func fileExists(_ path: String) -> Bool { inner.fileExists(path) }
    public func listDirectory(_ path: String) throws -> [String] { try inner.listDirectory(path) }
    public func open(_ path: String, create: Bool) throws -> any FileHandle {
        FaultFile(fs: self, inner: try inner.open(path, create: create))
    }
    public func remove(_ path: String) throws { try inner.remove(path) }
    public func rename(_ from: String, to: String) throws { try inner.rename(from, to: to) }
    public func syncDirectory(_ path: String) throws {
        if takeSyncFailure() { throw StorageError.syncFailed(path: path, errno: 5) }
        try inner.syncDirectory(path)
    }
    public func lockDirectory(_ directory: String) throws -> any DirectoryLock { try inner.lockDirectory(directory) }
}

final class FaultFile: FileHandle, @unchecked Sendable {
    let fs: FaultInjectingFileSystem
    let inner: any FileHandle

    init(fs: FaultInjectingFileSystem, inner: any FileHandle) {
        self.fs = fs
        self.inner = inner
    }

    var path: String { inner.path }
    func size() throws -> UInt64 { try inner.size() }

    /// Refuses when the growth does not fit the free space left (without taking it: the
    /// write that follows does).
    func reserve(at offset: UInt64, length: Int) throws -> Bool {
        let current = try inner.size()
        let end = offset + UInt64(length)
        let growth = end > current ? end - current : 0
        if let free = fs.lock.withLock({ fs.freeBytes }), growth > free {
            throw StorageError.noSpace(path: path, written: 0)
        }
        return try inner.reserve(at: offset, length: length)
    }

    /// Takes the growth from the free space (all or nothing, as fallocate does).
    func preallocate(to size: UInt64) throws -> Bool {
        let current = try inner.size()
        guard size > current else { return try inner.preallocate(to: size) }
        let growth = size - current
        let granted = fs.reserve(growth: growth)
        guard granted == growth else {
            fs.lock.withLock { if let f = fs.freeBytes { fs.freeBytes = f + granted } }
            throw StorageError.noSpace(path: path, written: 0)
        }
        do {
            if try inner.preallocate(to: size) { return true }
        } catch {
            fs.lock.withLock { if let f = fs.freeBytes { fs.freeBytes = f + growth } }
            throw error
        }
        fs.lock.withLock { if let f = fs.freeBytes { fs.freeBytes = f + growth } }
        return false
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let current = try inner.size()
        let end = offset + UInt64(bytes.count)
        let growth = end > current ? end - current : 0
        let granted = fs.reserve(growth: growth)
        if granted == growth {
            try inner.write(bytes, at: offset)
            return
        }
        // Write the part that fits, as a real device does before reporting ENOSPC.
        let fits = Int(max(current, offset) - offset + granted)
        if fits > 0 { try inner.write(UnsafeRawBufferPointer(rebasing: bytes[0..<fits]), at: offset) }
        throw StorageError.noSpace(path: path, written: fits)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try inner.read(into: buffer, at: offset)
    }

    func truncate(to size: UInt64) throws {
        let current = try inner.size()
        if size < current { fs.lock.withLock { if let f = fs.freeBytes { fs.freeBytes = f + (current - size) } } }
        try inner.truncate(to: size)
    }

    func sync() throws {
        fs.waitWhileHeld()
        if fs.takeSyncFailure() { throw StorageError.syncFailed(path: path, errno: 5) }
        try inner.sync()
    }

    func map(length: Int) throws -> MappedRegion { try inner.map(length: length) }
    func close() { inner.close() }
}
