#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Operating errors of the storage layer. Each names the file, and where it applies the byte offset.
public enum StorageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// The device is full; `written` bytes of the request reached the file.
    case noSpace(path: String, written: Int)
    /// `fsync`/`fdatasync` failed. The engine enters its failed state and never retries.
    case syncFailed(path: String, errno: Int32)
    /// A complete record whose checksum or structure is wrong.
    case corrupt(file: String, offset: UInt64, reason: String)
    /// A file written by a format this build does not read.
    case unsupportedFormat(file: String, version: UInt32, supported: UInt32)
    /// Another process (or another open in this process) owns the data directory.
    case inUse(directory: String, pid: Int32?)
    /// The engine refuses writes after a failed sync until it is restarted.
    case failed(reason: String)
    /// The engine is closed.
    case closed

    public var description: String {
        switch self {
        case let .io(op, path, e):
            return "\(op) \(path): \(String(cString: strerror(e)))"
        case let .noSpace(path, written):
            return "could not write \(path): no space left on device (\(written) bytes of the request written and cut back)"
        case let .syncFailed(path, e):
            return "could not fsync \(path): \(String(cString: strerror(e))); the engine refuses writes until it is restarted"
        case let .corrupt(file, offset, reason):
            return "corruption in \(file) at offset \(offset): \(reason)"
        case let .unsupportedFormat(file, version, supported):
            return "\(file) has format version \(version); this build reads version \(supported) only"
        case let .inUse(dir, pid):
            if let pid { return "data directory \(dir) is in use by pid \(pid)" }
            return "data directory \(dir) is in use by another process"
        case let .failed(reason):
            return "the engine is in a failed state and refuses writes until restarted: \(reason)"
        case .closed:
            return "the engine is closed"
        }
    }
}
