import DriftCore
import DriftStorage
import Logging
import ServiceLifecycle

/// A plugin: built by the host from its section of `plugins.yaml` and run as a `Service`
/// in the host's one `ServiceGroup` (start-up order, graceful shutdown and failure handling
/// are the group's). Plugins are compiled in and registered by `kind`; one kind may run
/// several times (two listeners, two sinks), each with its own section.
public protocol DriftPlugin: Service {
    associatedtype Settings: Sendable
    /// The name `plugins.yaml` gives the plugin (`kind: pgwire`).
    static var kind: String { get }
    /// Reads the plugin's settings. Called before the database opens, so a bad setting stops
    /// start-up (exit code 2) before anything else happens; unknown keys are refused.
    static func settings(from section: inout ConfigSection) throws -> Settings
    init(settings: Settings, context: PluginContext) throws
    /// Called once every configured plugin is built (so extension points are registered) and
    /// before any runs: listeners bind here, so start-up fails before the service group runs.
    func prepare() throws
    /// What the plugin serves, for the start-up log line (`127.0.0.1:5433`).
    var endpoints: [String] { get }
}

extension DriftPlugin {
    public func prepare() throws {}
    public var endpoints: [String] { [] }
}

/// What the host gives every plugin.
public struct PluginContext: Sendable {
    public let engine: Engine
    /// The one database name clients may ask for (`database:` in `plugins.yaml`).
    public let database: String
    public let logger: Logger
    /// The extension points plugins meet through.
    public let extensions: PluginExtensions
    /// How long a graceful shutdown lets running statements finish.
    public let drainTimeout: Duration

    public init(engine: Engine, database: String, logger: Logger, extensions: PluginExtensions, drainTimeout: Duration) {
        self.engine = engine
        self.database = database
        self.logger = logger
        self.extensions = extensions
        self.drainTimeout = drainTimeout
    }
}

/// The points where plugins meet without importing each other: a plugin that provides one
/// registers it while it is built; a plugin that uses one looks it up when it needs it (the
/// host builds every plugin before any runs).
public final class PluginExtensions: @unchecked Sendable {
    private let lock = Lock()
    private var authenticatorValue: (any Authenticator)?

    public init() {}

    /// Installs the authenticator that frontends ask about every connection. One only: a
    /// second is a configuration error.
    public func register(authenticator: any Authenticator) throws {
        try lock.withLock {
            if authenticatorValue != nil {
                throw ConfigError(file: "plugins.yaml", line: nil, key: "plugins", message: "two plugins provide authentication")
            }
            authenticatorValue = authenticator
        }
    }

    /// The registered authenticator; nil means `trust` (frontends then listen on loopback only).
    public var authenticator: (any Authenticator)? { lock.withLock { authenticatorValue } }
}
