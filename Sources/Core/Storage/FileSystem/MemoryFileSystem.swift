/// What a crash (or power loss) leaves of the bytes written after a file's last sync.
public enum CrashShape: Sendable, Equatable {
    /// None of them reached the disk.
    case missing
    /// The first `keep` of them did (a torn write).
    case torn(keep: Int)
    /// The file grew but its new blocks hold zeros (ext4 `data=writeback`, XFS).
    case zeroed
    /// The file grew but its new blocks hold other bytes.
    case garbage(seed: UInt64)

    public static let all: [CrashShape] = [.missing, .torn(keep: 1), .zeroed, .garbage(seed: 1)]
}

/// An in-memory file system that models what survives a crash: a file's bytes
/// survive only up to its last `sync()`, and a directory entry only once its
/// directory was synced (Pebble's crashable MemFS). `crashed()` returns the
/// file system a restarted process would see; `crashed(_:)` shapes the unsynced bytes
/// as a power loss can leave them.
public final class MemoryFileSystem: FileSystem, @unchecked Sendable {
    final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            pointer = .allocate(byteCount: max(capacity, 1), alignment: 16)
        }
        deinit { pointer.deallocate() }
    }

    final class File: @unchecked Sendable {
        var storage: Storage
        var size = 0
        var durable: [UInt8] = []

        init(contents: [UInt8] = []) {
            storage = Storage(capacity: max(4096, contents.count))
            contents.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(storage.pointer), byteCount: $0.count) }
            size = contents.count
            durable = contents
        }

        func ensureCapacity(_ n: Int) {
            guard n > storage.capacity else { return }
            let grown = Storage(capacity: max(n, storage.capacity * 2))
            grown.pointer.copyMemory(from: storage.pointer, byteCount: size)
            storage = grown
        }

        var contents: [UInt8] { Array(UnsafeRawBufferPointer(start: storage.pointer, count: size)) }
    }

    let lock = Lock()
    var files: [String: File] = [:]
    var directories: Set<String> = []
    /// Directory entries as of each directory's last sync.
    var durableEntries: [String: [String: File]] = [:]
    var lockedDirectories: Set<String> = []
    var preallocationEnabled = false

    /// Whether `preallocate(to:)` grows files (as ext4 and XFS do); off by default, so a
    /// file's size is its written bytes as on a file system without fallocate.
    public var preallocates: Bool {
        get { lock.withLock { preallocationEnabled } }
        set { lock.withLock { preallocationEnabled = newValue } }
    }

    public init() {}

    /// Called after every write, outside the file system's lock (tests capture crash images here).
    public var onWrite: (@Sendable (MemoryFileSystem) -> Void)? {
        get { lock.withLock { writeHook } }
        set { lock.withLock { writeHook = newValue } }
    }
    var writeHook: (@Sendable (MemoryFileSystem) -> Void)?

    /// The file system as a process restarted after a crash (or power loss) now would see it:
    /// synced bytes, and of the bytes appended after each file's last sync, what `shape` says.
    public func crashed(_ shape: CrashShape = .missing) -> MemoryFileSystem {
        lock.withLock {
            let fs = MemoryFileSystem()
            fs.preallocationEnabled = preallocationEnabled
            fs.directories = directories
            for (dir, entries) in durableEntries {
                var copies: [String: File] = [:]
                for (name, file) in entries {
                    let copy = File(contents: Self.survivor(of: file, shape))
                    fs.files[Path.join(dir, name)] = copy
                    copies[name] = copy
                }
                fs.durableEntries[dir] = copies
            }
            return fs
        }
    }

    static func survivor(of file: File, _ shape: CrashShape) -> [UInt8] {
        let durable = file.durable
        let current = file.contents
        // The unsynced bytes: from the first byte that differs from the durable file to the
        // end of the file when it grew, else to the last byte that differs (writes into
        // preallocated space change bytes without growing the file). Shrinking (a truncate
        // not yet synced) leaves the durable file.
        guard current.count >= durable.count else { return durable }
        var first = 0
        while first < durable.count && current[first] == durable[first] { first += 1 }
        var end = current.count
        if current.count == durable.count {
            while end > first && current[end - 1] == durable[end - 1] { end -= 1 }
        }
        guard end > first else { return durable }
        let unsynced = current[first..<end]
        // What reached the disk of the unsynced bytes, laid over the durable file from `first`.
        let landed: [UInt8]
        switch shape {
        case .missing: return durable
        case .torn(let keep): landed = Array(unsynced.prefix(min(max(keep, 0), unsynced.count)))
        case .zeroed: landed = [UInt8](repeating: 0, count: unsynced.count)
        case .garbage(let seed):
            var state = seed
            var out: [UInt8] = []
            out.reserveCapacity(unsynced.count)
            for _ in 0..<unsynced.count {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                out.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            landed = out
        }
        let tail = first + landed.count
        return Array(durable[0..<first]) + landed + (tail < durable.count ? Array(durable[tail...]) : [])
    }

    /// Current bytes of a file (for tests that cut or flip bytes).
    public func contents(of path: String) -> [UInt8]? {
        lock.withLock { files[path]?.contents }
    }

    /// Replaces a file's bytes, durably (for tests that cut or flip bytes).
    public func setContents(of path: String, _ bytes: [UInt8]) {
        lock.withLock {
            let f = File(contents: bytes)
            files[path] = f
            let dir = Path.parent(path)
            durableEntries[dir, default: [:]][Path.name(path)] = f
        }
    }

    public func createDirectory(_ path: String) throws {
        lock.withLock {
            var p = path
            while !p.isEmpty && p != "." && p != "/" && !directories.contains(p) {
                directories.insert(p)
                durableEntries[p, default: [:]] = durableEntries[p] ?? [:]
                p = Path.parent(p)
            }
        }
    }

    public func fileExists(_ path: String) -> Bool {
        lock.withLock { files[path] != nil || directories.contains(path) }
    }

    public func listDirectory(_ path: String) throws -> [String] {
        try lock.withLock {
            guard directories.contains(path) else {
                throw StorageError.io(operation: "opendir", path: path, errno: 2)
            }
            var names = Set<String>()
            for p in files.keys where Path.parent(p) == path { names.insert(Path.name(p)) }
            for d in directories where Path.parent(d) == path && d != path { names.insert(Path.name(d)) }
            return Array(names)
        }
    }

    public func open(_ path: String, create: Bool) throws -> any FileHandle {
        try lock.withLock {
            if let f = files[path] { return MemoryFileHandle(fs: self, path: path, file: f) }
            guard create else { throw StorageError.io(operation: "open", path: path, errno: 2) }
            guard directories.contains(Path.parent(path)) else {
                throw StorageError.io(operation: "open", path: path, errno: 2)
            }
            let f = File()
            files[path] = f
            return MemoryFileHandle(fs: self, path: path, file: f)
        }
    }

    public func remove(_ path: String) throws {
        try lock.withLock {
            guard files.removeValue(forKey: path) != nil else {
                throw StorageError.io(operation: "unlink", path: path, errno: 2)
            }
        }
    }

    public func rename(_ from: String, to: String) throws {
        try lock.withLock {
            guard let f = files.removeValue(forKey: from) else {
                throw StorageError.io(operation: "rename", path: from, errno: 2)
            }
            files[to] = f
        }
    }

    public func syncDirectory(_ path: String) throws {
        lock.withLock {
            var entries: [String: File] = [:]
            for (p, f) in files where Path.parent(p) == path { entries[Path.name(p)] = f }
            durableEntries[path] = entries
        }
    }

    public func lockDirectory(_ directory: String) throws -> any DirectoryLock {
        try lock.withLock {
            if lockedDirectories.contains(directory) { throw StorageError.inUse(directory: directory, pid: nil) }
            lockedDirectories.insert(directory)
            return MemoryDirectoryLock(fs: self, directory: directory)
        }
    }
}

final class MemoryDirectoryLock: DirectoryLock, @unchecked Sendable {
    let fs: MemoryFileSystem
    let directory: String
    var released = false

    init(fs: MemoryFileSystem, directory: String) {
        self.fs = fs
        self.directory = directory
    }

    func release() {
        fs.lock.withLock {
            if !released {
                released = true
                fs.lockedDirectories.remove(directory)
            }
        }
    }

    deinit { release() }
}

final class MemoryFileHandle: FileHandle, @unchecked Sendable {
    let fs: MemoryFileSystem
    let path: String
    let file: MemoryFileSystem.File

    init(fs: MemoryFileSystem, path: String, file: MemoryFileSystem.File) {
        self.fs = fs
        self.path = path
        self.file = file
    }

    func size() throws -> UInt64 { fs.lock.withLock { UInt64(file.size) } }

    /// Memory is never full (a `FaultInjectingFileSystem` around it can be).
    func reserve(at offset: UInt64, length: Int) throws -> Bool { true }

    func preallocate(to size: UInt64) throws -> Bool {
        fs.lock.withLock {
            guard fs.preallocationEnabled else { return false }
            let n = Int(size)
            if n > file.size {
                file.ensureCapacity(n)
                (file.storage.pointer + file.size).initializeMemory(as: UInt8.self, repeating: 0, count: n - file.size)
                file.size = n
            }
            return true
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        fs.lock.withLock {
            let end = Int(offset) + bytes.count
            file.ensureCapacity(end)
            if Int(offset) > file.size {
                (file.storage.pointer + file.size).initializeMemory(as: UInt8.self, repeating: 0, count: Int(offset) - file.size)
            }
            if let b = bytes.baseAddress { (file.storage.pointer + Int(offset)).copyMemory(from: b, byteCount: bytes.count) }
            file.size = max(file.size, end)
        }
        if let hook = fs.onWrite { hook(fs) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        fs.lock.withLock {
            let start = Int(offset)
            guard start < file.size else { return 0 }
            let n = min(buffer.count, file.size - start)
            if n > 0, let dst = buffer.baseAddress { dst.copyMemory(from: file.storage.pointer + start, byteCount: n) }
            return n
        }
    }

    func truncate(to size: UInt64) throws {
        fs.lock.withLock {
            let n = Int(size)
            file.ensureCapacity(n)
            if n > file.size {
                (file.storage.pointer + file.size).initializeMemory(as: UInt8.self, repeating: 0, count: n - file.size)
            }
            file.size = n
        }
    }

    func sync() throws {
        fs.lock.withLock { file.durable = file.contents }
    }

    func map(length: Int) throws -> MappedRegion {
        fs.lock.withLock {
            file.ensureCapacity(length)
            let storage = file.storage
            return MappedRegion(base: UnsafeRawPointer(storage.pointer), length: length, release: { _ = storage })
        }
    }

    func close() {}
}
