/// The single seam for file I/O (SQLite's VFS, Pebble's vfs.FS): the engine takes one
/// as a parameter, so tests run it over an in-memory, crashable or fault-injecting
/// implementation.
public protocol FileSystem: AnyObject, Sendable {
    /// Creates the directory and its parents if missing.
    func createDirectory(_ path: String) throws
    func fileExists(_ path: String) -> Bool
    /// Names (not paths) of the entries in a directory, unsorted.
    func listDirectory(_ path: String) throws -> [String]
    /// Opens a file for reading and writing; creates it when `create` is true.
    func open(_ path: String, create: Bool) throws -> any FileHandle
    func remove(_ path: String) throws
    /// Atomically replaces `to` with `from`.
    func rename(_ from: String, to: String) throws
    /// Makes entries created, renamed or removed in a directory durable.
    func syncDirectory(_ path: String) throws
    /// Takes the data directory's exclusive owner lock (the file `LOCK` in `directory`).
    func lockDirectory(_ directory: String) throws -> any DirectoryLock
}

public protocol FileHandle: AnyObject, Sendable {
    var path: String { get }
    func size() throws -> UInt64
    /// Writes all of `bytes` at `offset`, or throws. A full device throws `.noSpace`
    /// with the number of bytes that did reach the file.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws
    /// Reserves the device's blocks for `length` bytes at `offset` without changing the
    /// file's size, so that a write there cannot find the device full. A full device throws
    /// `.noSpace` (nothing written); false: this file system cannot reserve.
    func reserve(at offset: UInt64, length: Int) throws -> Bool
    /// Grows the file to `size` bytes (never shrinks it) with blocks allocated on the device
    /// that read as zeros, so that writes below `size` neither change the file's size (their
    /// `fdatasync` has no new size to write) nor find the device full. A full device throws
    /// `.noSpace` (nothing changed); false: this file system cannot preallocate.
    func preallocate(to size: UInt64) throws -> Bool
    /// Reads up to `buffer.count` bytes at `offset`; returns the count read (short at end of file).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int
    func truncate(to size: UInt64) throws
    /// `fdatasync`: data and the metadata needed to read it.
    func sync() throws
    /// A read-only view of the first `length` bytes. The length may exceed the current
    /// size for a file that is being appended to; only bytes already written may be read.
    func map(length: Int) throws -> MappedRegion
    func close()
}

public protocol DirectoryLock: AnyObject, Sendable {
    func release()
}

/// Read-only bytes of a file, kept valid for as long as this object lives.
public final class MappedRegion: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let length: Int
    private let release: @Sendable () -> Void

    public init(base: UnsafeRawPointer, length: Int, release: @escaping @Sendable () -> Void) {
        self.base = base
        self.length = length
        self.release = release
    }

    deinit { release() }

    @inlinable
    public func bytes(at offset: Int, count: Int) -> UnsafeRawBufferPointer {
        precondition(offset >= 0 && count >= 0 && offset + count <= length,
                     "mapped read [\(offset), \(offset + count)) outside [0, \(length))")
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }
}

extension FileHandle {
    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Reads the whole file.
    public func readAll() throws -> [UInt8] {
        let n = Int(try size())
        var out = [UInt8](repeating: 0, count: n)
        var done = 0
        try out.withUnsafeMutableBytes { buf in
            while done < n {
                let got = try read(into: UnsafeMutableRawBufferPointer(rebasing: buf[done...]), at: UInt64(done))
                if got == 0 { break }
                done += got
            }
        }
        if done < n { out.removeSubrange(done...) }
        return out
    }
}

/// Path helpers (the engine only ever joins names onto its data directory).
public enum Path {
    public static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    public static func parent(_ p: String) -> String {
        guard let i = p.lastIndex(of: "/") else { return "." }
        return i == p.startIndex ? "/" : String(p[..<i])
    }

    public static func name(_ p: String) -> String {
        guard let i = p.lastIndex(of: "/") else { return p }
        return String(p[p.index(after: i)...])
    }
}
