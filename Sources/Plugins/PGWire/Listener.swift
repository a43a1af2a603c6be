#if canImport(Glibc)
import Glibc
#endif
import CDriftSystem
import DriftStorage
import Logging
import NIOCore

/// A listening socket (TCP or Unix-domain) whose connections are accepted on a thread of its
/// own and handed on as file descriptors.
///
/// The server does not accept through NIO's `ServerBootstrap`: that places every accepted
/// connection on an event loop of a shared group, and a session's statements block (row
/// locks, a commit's fsync), so they would have to run on another thread, with two thread
/// hand-offs per message. Here each accepted connection gets an event loop of its own (see
/// `PGServer.adopt`), the session runs on it, and a query costs one wake-up, as a backend
/// process costs PostgreSQL.
final class Listener: @unchecked Sendable {
    let address: SocketAddress
    private let fd: Int32
    private var thread: OSThread?
    /// The socket file a Unix-domain listener removes when it closes.
    private let unixPath: String?

    /// Binds and listens (SO_REUSEADDR for TCP, so a restart right after a crash binds the
    /// same port; a stale Unix socket file is replaced).
    init(address: SocketAddress, backlog: Int32 = 256) throws {
        self.address = address
        let family: Int32
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        case .unixDomainSocket: family = AF_UNIX
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw PGWireError("socket(): \(String(cString: strerror(errno)))") }
        var path: String?
        if case .unixDomainSocket = address, let p = address.pathname {
            path = p
            unlink(p)
        } else {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = address.withSockAddr { bind(fd, $0, socklen_t($1)) }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw PGWireError("bind/listen on \(address): \(String(cString: strerror(e)))")
        }
        self.fd = fd
        unixPath = path
    }

    /// Accepts until `close`; each connection's descriptor goes to `adopt`, which owns it.
    func start(name: String, logger: Logger, adopt: @escaping @Sendable (Int32) -> Void) throws {
        let fd = self.fd
        thread = try OSThread(name: name) {
            var backoffMicros: UInt32 = 1_000
            while true {
                let c = drift_accept(fd)
                if c >= 0 {
                    backoffMicros = 1_000
                    adopt(c)
                    continue
                }
                switch errno {
                case EINTR, ECONNABORTED, EPROTO, EAGAIN:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory: the waiting connection stays queued until
                    // one closes; retrying at once would spin.
                    logger.warning("pgwire: cannot accept a connection", metadata: ["error": "\(String(cString: strerror(errno)))"])
                    usleep(backoffMicros)
                    backoffMicros = min(backoffMicros * 2, 100_000)
                default:
                    // EINVAL after `close` shut the socket down (or any other failure of the
                    // listening socket itself): the listener ends.
                    return
                }
            }
        }
    }

    /// Stops accepting: the accept thread ends and the socket (and a Unix socket's file) goes.
    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        thread?.join()
        thread = nil
        Glibc.close(fd)
        if let unixPath { unlink(unixPath) }
    }
}
