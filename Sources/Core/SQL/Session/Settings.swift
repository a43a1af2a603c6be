import DriftCore
import DriftStorage

/// One run-time parameter (PostgreSQL's GUC): its canonical name, what values it takes and
/// its default.
struct SettingDefinition: Sendable {
    enum Kind: Sendable {
        case bool
        /// Milliseconds, written with an optional unit (`5s`, `100ms`, `1min`), 0 ... max.
        case millis(max: Int)
        case integer(ClosedRange<Int>)
        /// One of these values (compared case-insensitively, stored as listed).
        case choice([String])
        case text
        /// A time zone: an IANA name, a POSIX spec, an offset in hours or an interval.
        case timeZone
        /// Shown, never set (55P02).
        case readOnly
    }

    let name: String
    let kind: Kind
    let defaultValue: String
    /// Sent to clients as ParameterStatus when it changes (PostgreSQL's GUC_REPORT).
    let reported: Bool

    init(_ name: String, _ kind: Kind, _ defaultValue: String, reported: Bool = false) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.reported = reported
    }

    static let all: [SettingDefinition] = [
        .init("server_version", .readOnly, "15.0", reported: true),
        .init("server_version_num", .readOnly, "150000"),
        .init("server_encoding", .readOnly, "UTF8", reported: true),
        // SQL_ASCII: what libpq asks for under the C locale (`client_encoding=auto`); bytes
        // pass unconverted either way, as PostgreSQL passes them for SQL_ASCII.
        .init("client_encoding", .choice(["UTF8", "SQL_ASCII"]), "UTF8", reported: true),
        .init("DateStyle", .choice(["ISO, MDY"]), "ISO, MDY", reported: true),
        .init("TimeZone", .timeZone, "UTC", reported: true),
        .init("IntervalStyle", .choice(["postgres"]), "postgres", reported: true),
        .init("integer_datetimes", .readOnly, "on", reported: true),
        .init("standard_conforming_strings", .choice(["on"]), "on", reported: true),
        .init("application_name", .text, "", reported: true),
        .init("is_superuser", .readOnly, "on", reported: true),
        /// SET SESSION AUTHORIZATION (checked by `Session.setSessionAuthorization`); RESET ALL
        /// leaves it.
        .init("session_authorization", .text, "driftdb", reported: true),
        /// SET ROLE: `none` acts as the session user (checked by `Session.setRoleSetting`).
        .init("role", .text, "none"),
        .init("default_transaction_read_only", .bool, "off", reported: true),
        .init("in_hot_standby", .readOnly, "off", reported: true),
        .init("transaction_read_only", .readOnly, "off"),
        .init("extra_float_digits", .integer(-15...3), "1"),
        .init("search_path", .text, "\"$user\", public"),
        .init("password_encryption", .choice(["scram-sha-256", "md5"]), "scram-sha-256"),
        .init("default_transaction_isolation", .choice(["read uncommitted", "read committed", "repeatable read", "serializable"]),
              "read committed"),
        .init("default_transaction_deferrable", .bool, "off"),
        .init("lock_timeout", .millis(max: Limits.timeoutMillisMax), "0"),
        .init("statement_timeout", .millis(max: Limits.timeoutMillisMax), "0"),
        .init("idle_in_transaction_session_timeout", .millis(max: Limits.timeoutMillisMax), "0"),
        .init("client_min_messages", .choice(["debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error"]),
              "notice"),
        .init("bytea_output", .choice(["hex"]), "hex"),
        .init("max_identifier_length", .readOnly, "63"),
        .init("drift.as_of", .text, ""),
        /// The simple-query plan cache (see `PlanCache`).
        .init("drift.plan_cache", .bool, "on"),
    ]

    static let byName: [String: SettingDefinition] = {
        var m: [String: SettingDefinition] = [:]
        for d in all { m[d.name.lowercased()] = d }
        return m
    }()

    /// Checks a value and returns its canonical form (what SHOW prints), or throws 22023.
    func canonical(_ value: String) throws -> String {
        func invalid(_ hint: String? = nil) -> SQLError {
            SQLError(.invalidParameterValue, "invalid value for parameter \"\(name)\": \"\(value)\"", hint: hint)
        }
        switch kind {
        case .bool:
            guard let b = Coercion.parseBool(value) else { throw SQLError(.invalidParameterValue, "parameter \"\(name)\" requires a Boolean value") }
            return b ? "on" : "off"
        case .millis(let max):
            let ms = try Self.parseMillis(value, name: name)
            guard ms >= 0, ms <= max else {
                throw SQLError(.invalidParameterValue, "\(ms) ms is outside the valid range for parameter \"\(name)\" (0 .. \(max))")
            }
            return Self.formatMillis(ms)
        case .integer(let range):
            guard let v = Int(value.trimming()) else { throw invalid() }
            guard range.contains(v) else {
                throw SQLError(.invalidParameterValue,
                               "\(v) is outside the valid range for parameter \"\(name)\" (\(range.lowerBound) .. \(range.upperBound))")
            }
            return String(v)
        case .choice(let options):
            let v = value.trimming()
            guard let match = options.first(where: { $0.lowercased() == v.lowercased() }) ?? Self.alias(name, v) else {
                if options.count == 1 {
                    throw SQLError(.featureNotSupported, "\(name) \"\(value)\" is not supported: only \"\(options[0])\" is")
                }
                throw invalid("Available values: \(options.joined(separator: ", ")).")
            }
            return match
        case .text:
            return value
        case .timeZone:
            return try TimeZoneRule.forSetting(value.trimming()).name
        case .readOnly:
            throw SQLError(SQLState("55P02"), "parameter \"\(name)\" cannot be changed")
        }
    }

    /// Spellings PostgreSQL accepts for the one value this build supports.
    static func alias(_ name: String, _ v: String) -> String? {
        switch (name, v.lowercased()) {
        case ("client_encoding", "utf-8"), ("client_encoding", "unicode"): return "UTF8"
        case ("DateStyle", "iso"), ("DateStyle", "iso,mdy"): return "ISO, MDY"
        case ("TimeZone", "gmt"), ("TimeZone", "etc/utc"), ("TimeZone", "z"), ("TimeZone", "zulu"),
             ("TimeZone", "utc0"), ("TimeZone", "etc/gmt"), ("TimeZone", "+00"), ("TimeZone", "0"): return "UTC"
        default: return nil
        }
    }

    /// A time in milliseconds as PostgreSQL reads it: a number with an optional unit.
    static func parseMillis(_ text: String, name: String) throws -> Int {
        let t = text.trimming()
        var end = t.startIndex
        while end < t.endIndex, t[end].isNumber || t[end] == "." || (end == t.startIndex && (t[end] == "-" || t[end] == "+")) {
            end = t.index(after: end)
        }
        let unit = t[end...].trimming().lowercased()
        guard let number = Double(t[..<end]) else {
            throw SQLError(.invalidParameterValue, "invalid value for parameter \"\(name)\": \"\(text)\"")
        }
        let scale: Double
        switch unit {
        case "", "ms": scale = 1
        case "us": scale = 0.001
        case "s": scale = 1000
        case "min": scale = 60_000
        case "h": scale = 3_600_000
        case "d": scale = 86_400_000
        default:
            throw SQLError(.invalidParameterValue, "invalid value for parameter \"\(name)\": \"\(text)\"",
                           hint: "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".")
        }
        let ms = (number * scale).rounded()
        guard ms.isFinite, ms >= Double(Int32.min), ms <= Double(Int32.max) else {
            throw SQLError(.invalidParameterValue, "invalid value for parameter \"\(name)\": \"\(text)\"",
                           hint: "Value exceeds integer range.")
        }
        return Int(ms)
    }

    /// PostgreSQL's display of a millisecond setting: the largest unit that divides it.
    static func formatMillis(_ ms: Int) -> String {
        guard ms != 0 else { return "0" }
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)] where ms % size == 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }
}

/// A session's settings with PostgreSQL's transactional rules: a SET inside a transaction
/// block is undone if the block rolls back (or back past its savepoint), and SET LOCAL
/// lasts until the block ends either way.
struct SessionSettings {
    /// Current values by lower-cased name.
    private(set) var values: [String: String] {
        didSet { generation &+= 1 }
    }
    /// Changes with every change of a value (what the session derives from them is kept
    /// until it changes).
    private(set) var generation = 0
    /// Names whose value the client set or reset, for ParameterStatus.
    private(set) var changed: Set<String> = []

    struct Saved {
        /// The value before the block (or savepoint) first changed it; nil when it was unset.
        var prior: String?
        /// The value of the newest plain SET in the block, if any.
        var sessionValue: String?
        var lastWasLocal: Bool
    }
    /// One frame for the transaction block, one more per savepoint.
    private var frames: [[String: Saved]] = []

    init() {
        var v: [String: String] = [:]
        for d in SettingDefinition.all { v[d.name.lowercased()] = d.defaultValue }
        values = v
    }

    subscript(_ name: String) -> String? { values[name.lowercased()] }

    var inBlock: Bool { !frames.isEmpty }

    /// How many levels (block, savepoints) are open.
    var depth: Int { frames.count }

    /// Sets (value) or resets (nil) a parameter; returns a warning when SET LOCAL has no effect.
    mutating func set(_ name: String, _ value: String?, local: Bool) throws -> String? {
        let key = name.lowercased()
        let definition = SettingDefinition.byName[key]
        guard definition != nil || key.contains(".") else {
            throw SQLError(.undefinedObject, "unrecognized configuration parameter \"\(name)\"")
        }
        let newValue: String
        if let value {
            newValue = try definition?.canonical(value) ?? value
        } else {
            if case .readOnly? = definition?.kind { throw SQLError(SQLState("55P02"), "parameter \"\(name)\" cannot be changed") }
            newValue = definition?.defaultValue ?? ""
        }
        if local && frames.isEmpty { return "WARNING: SET LOCAL can only be used in transaction blocks" }
        if !frames.isEmpty {
            let top = frames.count - 1
            var saved = frames[top][key] ?? Saved(prior: values[key], sessionValue: nil, lastWasLocal: false)
            if local {
                saved.lastWasLocal = true
            } else {
                saved.sessionValue = newValue
                saved.lastWasLocal = false
            }
            frames[top][key] = saved
        }
        values[key] = newValue
        changed.insert(key)
        return nil
    }

    /// RESET ALL: every settable parameter back to its default.
    mutating func resetAll() throws {
        for d in SettingDefinition.all where d.name != "session_authorization" {
            if case .readOnly = d.kind { continue }
            _ = try set(d.name, nil, local: false)
        }
        for key in values.keys where SettingDefinition.byName[key] == nil { _ = try set(key, nil, local: false) }
    }

    mutating func beginBlock() { frames = [[:]] }

    mutating func savepoint() { frames.append([:]) }

    /// ROLLBACK TO: undoes changes since the savepoint, which stays defined.
    mutating func rollback(toSavepointDepth depth: Int) {
        while frames.count > depth { restore(frames.removeLast()) }
        frames.append([:])
    }

    /// RELEASE: the savepoint's changes join the enclosing level.
    mutating func release(toSavepointDepth depth: Int) {
        while frames.count > depth && frames.count > 1 { mergeTop() }
    }

    mutating func commitBlock() {
        while frames.count > 1 { mergeTop() }
        for (key, saved) in frames.first ?? [:] where saved.lastWasLocal {
            values[key] = saved.sessionValue ?? saved.prior ?? SettingDefinition.byName[key]?.defaultValue
            changed.insert(key)
        }
        frames = []
    }

    mutating func rollbackBlock() {
        while let f = frames.popLast() { restore(f) }
    }

    private mutating func restore(_ frame: [String: Saved]) {
        for (key, saved) in frame {
            values[key] = saved.prior
            changed.insert(key)
        }
    }

    private mutating func mergeTop() {
        guard frames.count > 1, let child = frames.popLast() else { return }
        let top = frames.count - 1
        for (key, c) in child {
            if var p = frames[top][key] {
                if let v = c.sessionValue { p.sessionValue = v }
                p.lastWasLocal = c.lastWasLocal
                frames[top][key] = p
            } else {
                frames[top][key] = c
            }
        }
    }

    /// Sets a read-only parameter the server decides (the session's role).
    mutating func setReadOnly(_ name: String, _ value: String, report: Bool = false) {
        values[name.lowercased()] = value
        if report { changed.insert(name.lowercased()) }
    }

    /// The names changed since the last call (for ParameterStatus), reported ones only.
    mutating func takeChangedReported() -> [(String, String)] {
        defer { changed = [] }
        return changed.compactMap { key in
            guard let d = SettingDefinition.byName[key], d.reported else { return nil }
            return (d.name, values[key] ?? "")
        }.sorted { $0.0 < $1.0 }
    }

    /// Every parameter for SHOW ALL: canonical name and value.
    var all: [(String, String)] {
        values.map { (SettingDefinition.byName[$0.key]?.name ?? $0.key, $0.value) }.sorted { $0.0.lowercased() < $1.0.lowercased() }
    }
}

extension Session {
    /// Applies a parameter a client sent at connection start (as a session-level SET).
    public func setStartupParameter(_ name: String, _ value: String) throws {
        if name.lowercased() == "role" {
            _ = try setRoleSetting(value, local: false)
            return
        }
        if name.lowercased() == "session_authorization" {
            _ = try setSessionAuthorization(value, local: false)
            return
        }
        _ = try settings.set(name, value, local: false)
    }

    /// The parameters PostgreSQL reports to a client at connection start (GUC_REPORT), with
    /// their current values.
    public var reportedParameters: [(String, String)] {
        SettingDefinition.all.filter(\.reported).map { ($0.name, settings[$0.name] ?? $0.defaultValue) }
    }

    /// Reported parameters changed since the last call (a SET, RESET, or a rolled-back block
    /// undoing one), for the ParameterStatus messages that follow a statement.
    public func takeChangedParameters() -> [(String, String)] {
        if settings.changed.contains("role") || settings.changed.contains("session_authorization") { noteActingRole() }
        return settings.takeChangedReported()
    }

    /// `idle_in_transaction_session_timeout` in milliseconds (0: none).
    public var idleInTransactionTimeoutMillis: Int { derivedSettings.idleInTransactionTimeoutMillis }

    /// Settings read for every statement, parsed once per change of the settings.
    struct DerivedSettings {
        var generation = -1
        var statementTimeoutMillis = 0
        var idleInTransactionTimeoutMillis = 0
        /// nil: lock_timeout does not parse (the caller reports it).
        var lockTimeoutMillis: Int? = 0
        /// The TimeZone setting as a zone (asked for every statement and every timestamp
        /// printed; resolving it goes through the process-wide zone cache and its lock).
        var timeZone: TimeZoneRule = .utc
        /// search_path and TimeZone, as a cached plan records what it was bound under.
        var planSettings = ""
        /// search_path as set; the resolved path below was resolved from `searchPathSetting`.
        var searchPathNow = "public"
        var searchPathSetting = ""
        var searchPathUser = ""
        var searchPathSchemas: Set<String> = []
        var searchPath: [String] = []
        /// `drift.plan_cache` is on; `drift.as_of` is empty.
        var planCache = true
        var asOfUnset = true
        /// SET ROLE's role; `none`: the session user.
        var role = "none"
        /// The session user (`session_authorization`).
        var sessionUser = "driftdb"
    }

    /// Read in place (a getter would copy the struct, retaining each of its strings and
    /// arrays, for every statement).
    var derivedSettings: DerivedSettings {
        _read {
            refreshDerivedSettings()
            yield derived
        }
    }

    @inline(__always)
    func refreshDerivedSettings() {
        if derived.generation != settings.generation {
            var d = DerivedSettings()
            d.generation = settings.generation
            d.statementTimeoutMillis = (try? SettingDefinition.parseMillis(settings["statement_timeout"] ?? "0", name: "")) ?? 0
            d.idleInTransactionTimeoutMillis = (try? SettingDefinition.parseMillis(settings["idle_in_transaction_session_timeout"] ?? "0", name: "")) ?? 0
            d.lockTimeoutMillis = try? SettingDefinition.parseMillis(settings["lock_timeout"] ?? "0", name: "lock_timeout")
            d.timeZone = (try? TimeZoneRule.forSetting(settings["timezone"] ?? "UTC")) ?? .utc
            // The role too: a plan is bound after its privilege checks, for one role.
            d.planSettings = (settings["search_path"] ?? "") + "\u{1}" + (settings["TimeZone"] ?? "") + "\u{1}" + (settings["role"] ?? "")
                + "\u{1}" + (settings["session_authorization"] ?? "")
            d.planCache = settings["drift.plan_cache"] == "on"
            d.searchPathNow = settings["search_path"] ?? "public"
            // Kept: still valid if the path, user and schemas match when next asked.
            d.searchPathSetting = derived.searchPathSetting
            d.searchPathUser = derived.searchPathUser
            d.searchPathSchemas = derived.searchPathSchemas
            d.searchPath = derived.searchPath
            d.asOfUnset = (settings["drift.as_of"] ?? "").isEmpty
            d.role = settings["role"] ?? "none"
            d.sessionUser = settings["session_authorization"] ?? "driftdb"
            derived = d
        }
    }

    /// The user the session logged in as, also the session user and what
    /// `session_authorization` shows. `is_superuser` follows the role (a user that is no
    /// role, trusted without the auth plugin, acts with every right).
    public func setRole(_ role: String) {
        let def = engine.latestCatalog.role(named: role)
        authenticatedUser = role
        authenticatedWasRole = def != nil
        authenticatedIsSuperuser = def?.superuser ?? true
        settings.setReadOnly("session_authorization", role)
        settings.setReadOnly("is_superuser", def?.superuser ?? true ? "on" : "off")
        // ALTER ROLE ... SET: the role's defaults (a value no longer valid is skipped, as
        // PostgreSQL warns and goes on); the client's startup options come after them.
        for entry in def?.config ?? [] {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            _ = try? setStartupParameter(String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
        }
    }
}
