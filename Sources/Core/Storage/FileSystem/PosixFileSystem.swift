#if canImport(Glibc)
import CDriftSystem
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real file system.
public final class PosixFileSystem: FileSystem {
    public init() {}

    public func createDirectory(_ path: String) throws {
        if path.isEmpty || fileExists(path) { return }
        let parent = Path.parent(path)
        if parent != path && parent != "." && parent != "/" { try createDirectory(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw StorageError.io(operation: "mkdir", path: path, errno: errno)
        }
    }

    public func fileExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw StorageError.io(operation: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func open(_ path: String, create: Bool) throws -> any FileHandle {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    public func remove(_ path: String) throws {
        if unlink(path) != 0 { throw StorageError.io(operation: "unlink", path: path, errno: errno) }
    }

    public func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw StorageError.io(operation: "rename", path: from, errno: errno) }
    }

    public func syncDirectory(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw StorageError.syncFailed(path: path, errno: errno) }
    }

    public func lockDirectory(_ directory: String) throws -> any DirectoryLock {
        let path = Path.join(directory, "LOCK")
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            defer { Glibc.close(fd) }
            if e == EWOULDBLOCK {
                var buf = [UInt8](repeating: 0, count: 32)
                let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 32, 0) }
                let text = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
                let pid = Int32(text.trimming())
                throw StorageError.inUse(directory: directory, pid: pid)
            }
            throw StorageError.io(operation: "flock", path: path, errno: e)
        }
        let pidText = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pidText.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return PosixDirectoryLock(fd: fd)
    }
}

final class PosixDirectoryLock: DirectoryLock, @unchecked Sendable {
    private var fd: Int32
    private let lock = Lock()

    init(fd: Int32) { self.fd = fd }

    func release() {
        lock.withLock {
            if fd >= 0 {
                Glibc.close(fd)  // closing the descriptor drops the flock
                fd = -1
            }
        }
    }

    deinit { release() }
}

final class PosixFile: FileHandle, @unchecked Sendable {
    let fd: Int32
    let path: String
    private let closeLock = Lock()
    private var isClosed = false

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close() }

    func size() throws -> UInt64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StorageError.io(operation: "fstat", path: path, errno: errno) }
        return UInt64(st.st_size)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ENOSPC || errno == EDQUOT { throw StorageError.noSpace(path: path, written: done) }
                throw StorageError.io(operation: "write", path: path, errno: errno)
            }
            done += n
        }
    }

    func reserve(at offset: UInt64, length: Int) throws -> Bool {
        #if canImport(Glibc)
        return try fallocate { drift_reserve_blocks(fd, Int64(offset), Int64(length)) }
        #else
        return false
        #endif
    }

    func preallocate(to size: UInt64) throws -> Bool {
        #if canImport(Glibc)
        let current = try self.size()
        guard size > current else { return true }
        return try fallocate { drift_preallocate(fd, Int64(current), Int64(size - current)) }
        #else
        return false
        #endif
    }

    /// Runs an fallocate call (0 or an errno): true once done, false where the file system
    /// cannot allocate ahead; a full device throws `.noSpace` (nothing written).
    private func fallocate(_ call: () -> Int32) throws -> Bool {
        while true {
            switch call() {
            case 0: return true
            case EINTR: continue
            case ENOSPC, EDQUOT: throw StorageError.noSpace(path: path, written: 0)
            case EOPNOTSUPP, ENOSYS, EINVAL: return false
            case let e: throw StorageError.io(operation: "fallocate", path: path, errno: e)
            }
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.io(operation: "read", path: path, errno: errno)
            }
            return n
        }
    }

    func truncate(to size: UInt64) throws {
        if ftruncate(fd, off_t(size)) != 0 { throw StorageError.io(operation: "ftruncate", path: path, errno: errno) }
    }

    func sync() throws {
        #if canImport(Glibc)
        let rc = fdatasync(fd)
        #else
        let rc = fsync(fd)
        #endif
        if rc != 0 { throw StorageError.syncFailed(path: path, errno: errno) }
    }

    func map(length: Int) throws -> MappedRegion {
        if length == 0 {
            return MappedRegion(base: UnsafeRawPointer(bitPattern: 1)!, length: 0, release: {})
        }
        guard let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw StorageError.io(operation: "mmap", path: path, errno: errno)
        }
        let address = UInt(bitPattern: p)
        return MappedRegion(base: UnsafeRawPointer(p), length: length, release: {
            munmap(UnsafeMutableRawPointer(bitPattern: address), length)
        })
    }

    func close() {
        closeLock.withLock {
            if !isClosed {
                isClosed = true
                Glibc.close(fd)
            }
        }
    }
}
