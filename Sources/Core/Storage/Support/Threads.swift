#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CDriftSystem

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// A joinable OS thread for long-running loops (the log writer, the snapshotter).
public final class OSThread: @unchecked Sendable {
    private var handle = pthread_t()

    /// Starts the thread; fails (rather than trapping) when the system has no thread to give.
    public init(name: String = "", _ body: @escaping @Sendable () -> Void) throws {
        // Named as `ps -L` and perf show it (otherwise it keeps the name of its creator).
        let named: @Sendable () -> Void = {
            if !name.isEmpty { nameCurrentThread(name) }
            body()
        }
        let box = Unmanaged.passRetained(ThreadBody(named))
        let rc = pthread_create(&handle, nil, { arg in
            guard let arg else { return nil }
            let b = Unmanaged<ThreadBody>.fromOpaque(arg).takeRetainedValue()
            b.body()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw StorageError.io(operation: "pthread_create", path: name, errno: rc)
        }
    }

    public func join() { pthread_join(handle, nil) }

    /// Lets the thread's resources go when it ends, with nobody joining it (a thread per
    /// connection, which ends when the connection does). `join` must not follow.
    public func detach() { pthread_detach(handle) }
}

/// Names the calling thread as `ps -L` and `top -H` show it (Linux keeps 15 bytes).
public func nameCurrentThread(_ name: String) {
    drift_name_thread(name)
}
