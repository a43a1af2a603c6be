import DriftCore
import DriftSQL

/// The startup message's parameters, applied to a new session as PostgreSQL applies them:
/// each one a session-level SET (an unknown name or bad value refuses the connection), and
/// `options` read as `-c name=value` (or `--name=value`) switches.
enum SessionParameters {
    /// Names the startup handles itself.
    static let handled: Set<String> = ["user", "database", "replication", "options"]

    static func apply(_ parameters: [(String, String)], to session: Session) throws {
        for (name, value) in parameters {
            if name == "options" {
                for (k, v) in try options(value) { try session.setStartupParameter(k, v) }
            } else if !handled.contains(name) {
                try session.setStartupParameter(name, value)
            }
        }
    }

    /// `-c a=b --x=y`: words split at unescaped spaces (a backslash escapes the next character).
    static func options(_ text: String) throws -> [(String, String)] {
        var words: [String] = []
        var current = ""
        var escaped = false
        for ch in text {
            if escaped {
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == " " || ch == "\t" {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { words.append(current) }
        var out: [(String, String)] = []
        var i = 0
        while i < words.count {
            var setting: String
            if words[i] == "-c", i + 1 < words.count {
                setting = words[i + 1]
                i += 2
            } else if words[i].hasPrefix("-c") {
                setting = String(words[i].dropFirst(2))
                i += 1
            } else if words[i].hasPrefix("--") {
                setting = String(words[i].dropFirst(2))
                i += 1
            } else {
                throw SQLError(.featureNotSupported, "invalid command-line argument for server process: \(words[i])")
            }
            guard let eq = setting.firstIndex(of: "=") else {
                throw SQLError(.syntaxError, "-c \(setting) requires a value")
            }
            out.append((String(setting[..<eq].map { $0 == "-" ? "_" : $0 }), String(setting[setting.index(after: eq)...])))
        }
        return out
    }
}
