import Crypto
import CryptoExtras
import DriftStorage

/// A role (user or group) as CREATE/ALTER ROLE define it. Roles are catalog events like
/// tables, so who existed with which attributes as of any seq stays readable. The password
/// is kept only as a verifier (`SCRAM-SHA-256$...` or `md5...`), never in clear.
public struct RoleDef: Sendable, Hashable {
    public var id: UInt32
    public var name: String
    public var superuser = false
    public var inherit = true
    public var createRole = false
    public var createDB = false
    public var login = false
    public var replication = false
    public var bypassRLS = false
    /// -1: no limit.
    public var connectionLimit: Int64 = -1
    /// Microseconds since 2000-01-01 UTC after which the password no longer works.
    public var validUntil: Int64?
    public var password: String?
    /// ALTER ROLE ... SET: session defaults, `name=value`, applied when a session starts as it.
    public var config: [String] = []
    /// GRANT role TO this role: the roles it is a member of.
    public var memberOf: [RoleMembership] = []

    /// Role OIDs: this base plus the role's catalog id.
    public static let oidBase: UInt32 = 200_000

    public var oid: UInt32 { Self.oidBase &+ id }

    public init(id: UInt32, name: String) {
        self.id = id
        self.name = name
    }

    func encode(into w: inout ByteWriter) {
        w.varint(UInt64(id))
        w.string(name)
        var flags: UInt8 = 0
        for (i, b) in [superuser, inherit, createRole, createDB, login, replication, bypassRLS, validUntil != nil].enumerated() where b {
            flags |= 1 << UInt8(i)
        }
        w.u8(flags)
        w.zigzag(connectionLimit)
        if let v = validUntil { w.zigzag(v) }
        w.u8(password == nil ? 0 : 1)
        if let p = password { w.string(p) }
        w.varint(UInt64(config.count))
        for c in config { w.string(c) }
        w.varint(UInt64(memberOf.count))
        for m in memberOf {
            w.varint(UInt64(m.role))
            w.varint(UInt64(m.grantor))
            w.u8(m.admin ? 1 : 0)
        }
    }

    static func decode(_ r: inout ByteReader) throws -> RoleDef {
        var role = RoleDef(id: UInt32(truncatingIfNeeded: try r.varint()), name: try r.string())
        let flags = try r.u8()
        role.superuser = flags & 1 != 0
        role.inherit = flags & 2 != 0
        role.createRole = flags & 4 != 0
        role.createDB = flags & 8 != 0
        role.login = flags & 16 != 0
        role.replication = flags & 32 != 0
        role.bypassRLS = flags & 64 != 0
        role.connectionLimit = try r.zigzag()
        if flags & 128 != 0 { role.validUntil = try r.zigzag() }
        if try r.u8() == 1 { role.password = try r.string() }
        // Settings and memberships came after the first release of role events: a role
        // event written before them ends here (the role is always the last thing in its event).
        if !r.isAtEnd {
            let n = try r.count(max: 10_000)
            for _ in 0..<n { role.config.append(try r.string()) }
            let m = try r.count(max: 100_000)
            for _ in 0..<m {
                let id = UInt32(truncatingIfNeeded: try r.varint())
                role.memberOf.append(RoleMembership(role: id, grantor: UInt32(truncatingIfNeeded: try r.varint()), admin: try r.u8() == 1))
            }
        }
        return role
    }
}

extension Catalog {
    public func role(named name: String) -> RoleDef? { roles.values.first { $0.name == name } }
}

/// Password verifiers as PostgreSQL stores them: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
/// (RFC 5802/7677, base64 parts) or `md5` + md5(password + user) in hex.
public enum PasswordVerifier {
    public static let scramIterations = 4096

    /// A verifier for `password`: the text itself when it already is one (clients such as
    /// psql's `\password` send verifiers), else hashed as `encryption` says
    /// (`scram-sha-256` or `md5`).
    public static func make(password: String, user: String, encryption: String = "scram-sha-256") -> String {
        if isVerifier(password) { return password }
        if encryption == "md5" { return md5(password: password, user: user) }
        var salt = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: 0...255, using: &rng) }
        return scram(password: password, salt: salt, iterations: scramIterations)
    }

    public static func isVerifier(_ text: String) -> Bool {
        if text.hasPrefix("SCRAM-SHA-256$") { return SCRAMVerifier(text) != nil }
        return text.utf8.count == 35 && text.hasPrefix("md5") && text.utf8.dropFirst(3).allSatisfy { isHex($0) }
    }

    static func isHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 102) }

    public static func md5(password: String, user: String) -> String {
        "md5" + hex(Array(Insecure.MD5.hash(data: Array((password + user).utf8))))
    }

    public static func scram(password: String, salt: [UInt8], iterations: Int) -> String {
        let salted = saltedPassword(password, salt: salt, iterations: iterations)
        let clientKey = hmac(salted, "Client Key")
        let stored = Array(SHA256.hash(data: clientKey))
        let server = hmac(salted, "Server Key")
        return "SCRAM-SHA-256$\(iterations):\(Base64.encode(salt))$\(Base64.encode(stored)):\(Base64.encode(server))"
    }

    /// PBKDF2-HMAC-SHA-256 of the password (SASLprep is the identity for the ASCII passwords
    /// clients send; PostgreSQL also uses the raw bytes when SASLprep fails).
    public static func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = try? KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32,
                                                     unsafeUncheckedRounds: iterations)
        return key.map { k in k.withUnsafeBytes { Array($0) } } ?? []
    }

    public static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] { hmac(key, Array(message.utf8)) }

    public static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
    public static func sha384(_ bytes: [UInt8]) -> [UInt8] { Array(SHA384.hash(data: bytes)) }
    public static func sha512(_ bytes: [UInt8]) -> [UInt8] { Array(SHA512.hash(data: bytes)) }

    public static func md5Hex(_ bytes: [UInt8]) -> String { hex(Array(Insecure.MD5.hash(data: bytes))) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The parts of a SCRAM-SHA-256 verifier.
public struct SCRAMVerifier: Sendable, Equatable {
    public var iterations: Int
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]

    public init(iterations: Int, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "SCRAM-SHA-256" else { return nil }
        let head = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        let keys = parts[2].split(separator: ":", omittingEmptySubsequences: false)
        guard head.count == 2, keys.count == 2, let n = Int(head[0]), n > 0,
              let salt = Base64.decode(String(head[1])), let stored = Base64.decode(String(keys[0])),
              let server = Base64.decode(String(keys[1])), stored.count == 32, server.count == 32 else { return nil }
        iterations = n
        self.salt = salt
        storedKey = stored
        serverKey = server
    }
}

/// Standard base64 (RFC 4648) with padding.
public enum Base64 {
    public static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `lineBreaks`: a newline after every 76 characters, as PostgreSQL's encode() writes.
    public static func encode(_ bytes: [UInt8], lineBreaks: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var v = UInt32(bytes[i]) << 16
            if n > 1 { v |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { v |= UInt32(bytes[i + 2]) }
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(n > 1 ? alphabet[Int(v >> 6 & 63)] : 61)
            out.append(n > 2 ? alphabet[Int(v & 63)] : 61)
            i += 3
            if lineBreaks && i < bytes.count && out.count % 77 == 76 { out.append(10) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil for anything that is not canonical padded base64.
    public static func decode(_ text: String) -> [UInt8]? {
        let b = Array(text.utf8)
        guard b.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(b.count / 4 * 3)
        func value(_ c: UInt8) -> UInt32? {
            switch c {
            case 65...90: return UInt32(c - 65)
            case 97...122: return UInt32(c - 71)
            case 48...57: return UInt32(c + 4)
            case 43: return 62
            case 47: return 63
            default: return nil
            }
        }
        var i = 0
        while i < b.count {
            let pad = (b[i + 2] == 61 ? 1 : 0) + (b[i + 3] == 61 ? 1 : 0)
            guard pad == 0 || i + 4 == b.count, !(b[i + 2] == 61 && b[i + 3] != 61),
                  let a = value(b[i]), let c = value(b[i + 1]) else { return nil }
            let d = pad >= 2 ? 0 : value(b[i + 2])
            let e = pad >= 1 ? 0 : value(b[i + 3])
            guard let d, let e else { return nil }
            let v = a << 18 | c << 12 | d << 6 | e
            out.append(UInt8(v >> 16 & 255))
            if pad < 2 { out.append(UInt8(v >> 8 & 255)) }
            if pad < 1 { out.append(UInt8(v & 255)) }
            i += 4
        }
        return out
    }
}
