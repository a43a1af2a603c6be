#if canImport(Glibc)
import Glibc
#endif
import DriftCore
import DriftPluginAPI
import Logging
import ServiceLifecycle

/// Roles and passwords for clients: provides Core's authenticator (host rules, SCRAM-SHA-256,
/// MD5, password, trust, reject), and creates the configured superuser on the first start.
/// With it configured, pgwire may listen beyond loopback.
public final class AuthPlugin: DriftPlugin, @unchecked Sendable {
    public static let kind = "auth"

    public struct Settings: Sendable {
        /// Created (SUPERUSER LOGIN) when missing; nil: none.
        public var superuser: String?
        /// The environment variable holding its password.
        public var passwordVariable: String
        public var rules: [HostRule]
    }

    /// The rules when the config gives none: SCRAM everywhere.
    static let defaultRules: [HostRule] = [
        HostRule(connection: .local, databases: nil, users: nil, address: nil, method: .scram),
        HostRule(connection: .host, databases: nil, users: nil, address: nil, method: .scram),
    ]

    public static func settings(from section: inout ConfigSection) throws -> Settings {
        let superuser = try section.string("superuser") ?? environment("DRIFTDB_SUPERUSER")
        if let s = superuser, s.isEmpty || s.hasPrefix("pg_") || s == "public" || s == "none" {
            throw section.error("superuser", "\"\(s)\" cannot name a role")
        }
        let variable = try section.string("password_env") ?? "DRIFTDB_PASSWORD"
        var rules: [HostRule] = []
        if let value = section.value("rules") {
            guard case .sequence(let items, _) = value else { throw section.error("rules", "expected a list of rules") }
            for item in items { rules.append(try rule(item, section)) }
            if rules.isEmpty { throw section.error("rules", "at least one rule is needed (none would refuse every connection)") }
        } else {
            rules = defaultRules
        }
        try section.finish()
        return Settings(superuser: superuser, passwordVariable: variable, rules: rules)
    }

    static func environment(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }

    /// One `{connection, database, user, address, method}` rule.
    static func rule(_ item: ConfigValue, _ section: ConfigSection) throws -> HostRule {
        func error(_ key: String, _ message: String) -> ConfigError {
            ConfigError(file: section.file, line: item.line, key: "\(section.path).rules.\(key)", message: message)
        }
        guard case .mapping(let entries, _) = item else { throw error("", "a rule is connection, database, user, address and method") }
        var fields: [String: String] = [:]
        for e in entries {
            guard ["connection", "database", "user", "address", "method"].contains(e.key) else {
                throw error(e.key, "unknown key (connection, database, user, address, method)")
            }
            guard case .scalar(let v, _) = e.value else { throw error(e.key, "expected a value") }
            fields[e.key] = v
        }
        guard let c = fields["connection"], let connection = HostRule.Connection(rawValue: c) else {
            throw error("connection", "expected local, host, hostssl or hostnossl")
        }
        guard let m = fields["method"], let method = HostRule.Method(rawValue: m) else {
            throw error("method", "expected scram-sha-256, md5, password, trust or reject")
        }
        func list(_ key: String) -> [String]? {
            guard let v = fields[key], v != "all" else { return nil }
            return v.split(separator: ",").map { String($0) }
        }
        var address: AddressRange?
        if let a = fields["address"] {
            guard connection != .local else { throw error("address", "a local rule has no address") }
            if a != "all" {
                guard let r = AddressRange(a) else { throw error("address", "expected an address range such as 10.0.0.0/8 or ::1/128") }
                address = r
            }
        }
        if method == .trust && connection != .local {
            guard let r = address, r.isLoopback else {
                throw error("method", "trust is allowed only for local connections and loopback addresses (127.0.0.0/8, ::1)")
            }
        }
        return HostRule(connection: connection, databases: list("database"), users: list("user"), address: address, method: method)
    }

    let settings: Settings
    let context: PluginContext

    let audit: AuditLog

    public init(settings: Settings, context: PluginContext) throws {
        self.settings = settings
        self.context = context
        audit = AuditLog(engine: context.engine, logger: context.logger)
        try Self.bootstrap(settings, context)
        try context.extensions.register(authenticator: RoleAuthenticator(engine: context.engine, rules: settings.rules, audit: audit))
    }

    /// Creates the configured superuser if it does not exist (with the password from the
    /// environment, if set: without one it can log in only where a rule trusts it). The first
    /// becomes the bootstrap superuser (id 0, OID 10): the owner of everything made without
    /// a role, as PostgreSQL's initdb user owns the system.
    static func bootstrap(_ settings: Settings, _ context: PluginContext) throws {
        let catalog = context.engine.latestCatalog
        let newRole = settings.superuser.flatMap { catalog.role(named: $0) == nil ? $0 : nil }
        guard newRole != nil || Audit.table(in: catalog) == nil else { return }
        let t = context.engine.begin()
        var password: String?
        do {
            // drift_audit comes with the plugin.
            try Audit.ensureTable(in: t)
            if let name = newRole {
                var role = RoleDef(id: catalog.roles[Catalog.bootstrapRoleId] == nil ? Catalog.bootstrapRoleId : t.allocateTableId(), name: name)
                (role.superuser, role.createRole, role.createDB, role.login, role.replication, role.bypassRLS) = (true, true, true, true, true, true)
                password = environment(settings.passwordVariable)
                role.password = password.map { PasswordVerifier.make(password: $0, user: name) }
                let created = role
                _ = try t.applyDDL { _ in .createRole(created) }
                try Audit.record(in: t, role: nil, address: nil, event: "create_role", detail: name + " superuser (bootstrap)")
            }
            _ = try t.commit()
        } catch {
            t.rollback()
            throw error
        }
        if let name = newRole {
            context.logger.notice("auth: created superuser \(name)\(password == nil ? " without a password (\(settings.passwordVariable) was not set)" : "")")
        }
    }

    public var endpoints: [String] { ["auth: \(settings.rules.count) rule(s)"] }

    public func run() async throws {
        try? await gracefulShutdown()
        audit.drain()
    }
}

extension AddressRange {
    /// Within 127.0.0.0/8 or ::1.
    var isLoopback: Bool {
        if bytes.count == 4 { return prefix >= 8 && bytes[0] == 127 }
        return prefix == 128 && bytes == [UInt8](repeating: 0, count: 15) + [1]
    }
}
