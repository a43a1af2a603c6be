/// An in-memory file system that models what survives a crash: a file's bytes
/// survive only up to its last `sync()`, and a directory entry only once its
/// directory was synced (Pebble's crashable MemFS). `crashed()` returns the
/// file system a restarted process would see.
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

    public init() {}

    /// The file system as a process restarted after a crash (or power loss) now would see it.
    public func crashed() -> MemoryFileSystem {
        lock.withLock {
            let fs = MemoryFileSystem()
            fs.directories = directories
            for (dir, entries) in durableEntries {
                var copies: [String: File] = [:]
                for (name, file) in entries {
                    let copy = File(contents: file.durable)
                    fs.files[Path.join(dir, name)] = copy
                    copies[name] = copy
                }
                fs.durableEntries[dir] = copies
            }
            return fs
        }
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
