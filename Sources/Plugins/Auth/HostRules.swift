import DriftCore
import DriftPluginAPI

/// One rule of the plugin's `rules:` list, read like a line of pg_hba.conf: the first rule
/// whose connection type, database, user and address match a connection decides its method.
public struct HostRule: Sendable, Equatable {
    public enum Connection: String, Sendable { case local, host, hostssl, hostnossl }
    public enum Method: String, Sendable {
        case trust, reject, password, md5
        case scram = "scram-sha-256"
    }

    public var connection: Connection
    /// nil: all.
    public var databases: [String]?
    /// nil: all.
    public var users: [String]?
    /// For host rules: the address range (nil: any).
    public var address: AddressRange?
    public var method: Method

    public func matches(_ r: AuthRequest) -> Bool {
        switch connection {
        case .local: guard r.remoteAddress == nil else { return false }
        case .host: guard r.remoteAddress != nil else { return false }
        case .hostssl: guard r.remoteAddress != nil, r.tls else { return false }
        case .hostnossl: guard r.remoteAddress != nil, !r.tls else { return false }
        }
        if let d = databases, !d.contains(r.database) { return false }
        if let u = users, !u.contains(r.user) { return false }
        if let a = address {
            guard let remote = r.remoteAddress, a.contains(remote) else { return false }
        }
        return true
    }
}

/// An IPv4 or IPv6 range in CIDR notation (`127.0.0.1/32`, `10.0.0.0/8`, `::1/128`); a bare
/// address is the one address.
public struct AddressRange: Sendable, Equatable {
    var bytes: [UInt8]
    var prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let b = AddressRange.parse(String(parts[0])) else { return nil }
        let bits = b.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), p >= 0, p <= bits else { return nil }
            prefix = p
        } else {
            prefix = bits
        }
        bytes = b
    }

    public func contains(_ address: String) -> Bool {
        guard var a = AddressRange.parse(address) else { return false }
        // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d).
        if a.count == 16 && bytes.count == 4 && a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 255 && a[11] == 255 {
            a = Array(a[12...])
        }
        guard a.count == bytes.count else { return false }
        var left = prefix
        for i in bytes.indices where left > 0 {
            let n = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - n))
            if a[i] & mask != bytes[i] & mask { return false }
            left -= n
        }
        return true
    }

    /// The address's bytes: 4 for IPv4, 16 for IPv6.
    static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") { return parse6(text) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    static func parse6(_ text: String) -> [UInt8]? {
        var b = Array(text.utf8)
        if let z = b.firstIndex(of: UInt8(ascii: "%")) { b = Array(b[..<z]) }
        func groups(_ s: ArraySlice<UInt8>) -> [UInt8]? {
            guard !s.isEmpty else { return [] }
            var out: [UInt8] = []
            let parts = s.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                let text = String(decoding: p, as: UTF8.self)
                if i == parts.count - 1, p.contains(UInt8(ascii: ".")) {
                    guard let v4 = parse(text) else { return nil }
                    out += v4
                    continue
                }
                guard !p.isEmpty, p.count <= 4, let v = UInt16(text, radix: 16) else { return nil }
                out += [UInt8(v >> 8), UInt8(v & 0xFF)]
            }
            return out
        }
        // At most one "::" stands for the zero groups between head and tail.
        var gap: Int?
        var i = 0
        while i + 1 < b.count {
            if b[i] == UInt8(ascii: ":") && b[i + 1] == UInt8(ascii: ":") {
                guard gap == nil else { return nil }
                gap = i
                i += 2
                continue
            }
            i += 1
        }
        guard let g = gap else {
            guard let all = groups(b[...]), all.count == 16 else { return nil }
            return all
        }
        guard let head = groups(b[..<g]), let tail = groups(b[(g + 2)...]), head.count + tail.count <= 14 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}
