#if canImport(Glibc)
import Glibc
#endif

/// A configuration error, naming file, line and key: start-up stops with exit code 2.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var key: String
    public var message: String

    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(key): \(message)"
    }
}

/// One value of `plugins.yaml` as the host read it. Plugins see this parser-neutral tree,
/// never the YAML library.
public indirect enum ConfigValue: Sendable {
    case scalar(String, line: Int)
    case mapping([ConfigEntry], line: Int)
    case sequence([ConfigValue], line: Int)

    public var line: Int {
        switch self {
        case .scalar(_, let l), .mapping(_, let l), .sequence(_, let l): return l
        }
    }
}

public struct ConfigEntry: Sendable {
    public var key: String
    public var line: Int
    public var value: ConfigValue
    public init(key: String, line: Int, value: ConfigValue) {
        self.key = key
        self.line = line
        self.value = value
    }
}

/// A plugin's section of `plugins.yaml`, read key by key: each reader checks the type and
/// range and names file, line and key when they are wrong; `finish()` refuses every key no
/// reader asked for (a misspelt setting must not be silently ignored).
public struct ConfigSection: Sendable {
    public let file: String
    /// The section's place in the file, for messages: `plugins[1]`.
    public let path: String
    public let line: Int
    let entries: [ConfigEntry]
    private var read: Set<String> = []

    public init(file: String, path: String, line: Int, entries: [ConfigEntry]) {
        self.file = file
        self.path = path
        self.line = line
        self.entries = entries
    }

    /// An error about `key` (at its line when the section has it).
    public func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: entries.first { $0.key == key }.map { $0.value.line } ?? line,
                    key: "\(path).\(key)", message: message)
    }

    /// The raw value of `key`, marking it read.
    public mutating func value(_ key: String) -> ConfigValue? {
        read.insert(key)
        return entries.first { $0.key == key }?.value
    }

    public mutating func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, _) = v else { throw error(key, "expected a string") }
        return s
    }

    public mutating func int(_ key: String, min: Int, max: Int) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, _) = v, let i = Int(s), i >= min, i <= max else {
            throw error(key, "expected an integer from \(min) to \(max)")
        }
        return i
    }

    public mutating func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, _) = v, let b = ["true": true, "false": false][s] else {
            throw error(key, "expected true or false")
        }
        return b
    }

    /// A `host:port` listen address: an IPv4 literal, a bracketed IPv6 literal or
    /// `localhost`, and a port from 1 to 65535.
    public mutating func listenAddress(_ key: String) throws -> ListenAddress? {
        guard let s = try string(key) else { return nil }
        guard let a = ListenAddress(parsing: s) else {
            throw error(key, "expected host:port (an IPv4 address, [IPv6] or localhost, and a port from 1 to 65535), got \"\(s)\"")
        }
        return a
    }

    /// Refuses keys that no reader asked for.
    public func finish() throws {
        for e in entries where !read.contains(e.key) {
            throw ConfigError(file: file, line: e.line, key: "\(path).\(e.key)", message: "unknown setting")
        }
    }
}

/// Where a listener binds.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// A numeric IPv4 or IPv6 address.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(parsing s: String) {
        let host: Substring, portText: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]"), s[s.index(after: close)...].hasPrefix(":") else { return nil }
            host = s[s.index(after: s.startIndex)..<close]
            portText = s[s.index(close, offsetBy: 2)...]
        } else {
            guard let colon = s.lastIndex(of: ":"), !s[..<colon].contains(":") else { return nil }
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
        }
        guard let port = Int(portText), (1...65535).contains(port), !host.isEmpty else { return nil }
        let name = host == "localhost" ? "127.0.0.1" : String(host)
        guard Self.isNumeric(name) else { return nil }
        self.host = name
        self.port = port
    }

    static func isNumeric(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// 127.0.0.0/8 or ::1: reachable from this machine only.
    public var isLoopback: Bool {
        host == "::1" || host.hasPrefix("127.")
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
