#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// A joinable OS thread for long-running loops (the log writer, the snapshotter).
public final class OSThread: @unchecked Sendable {
    private var handle = pthread_t()

    public init(name: String = "", _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(ThreadBody(body))
        let rc = pthread_create(&handle, nil, { arg in
            let b = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
            b.body()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    public func join() { pthread_join(handle, nil) }
}
