import DriftCore

/// PostgreSQL's text output of a value of a column type (what psql shows and the wire
/// protocol's text format sends).
public enum SQLText {
    public static func format(_ v: Value, _ type: SQLType, zone: TimeZoneRule = .utc) -> String? {
        switch (v, type) {
        case (.null, _): return nil
        case (.timestamptz(let t), _): return (try? PGDateTime.formatTimestamptz(t, zone: zone)) ?? v.pgText
        case (.double(let d), .float4): return formatFloat4(d)
        case (.array(let xs), .array(.float4)): return Value.array(xs).arrayText(xs, float4: true)
        case (.array(let xs), .vector): return xs.map { $0.pgText ?? "0" }.joined(separator: " ")
        case (.array(let xs), .record(let fields)):
            // record_out: (a,b), a field quoted when empty or holding a delimiter, quote,
            // backslash or space; NULL as nothing.
            var out = "("
            for (i, x) in xs.enumerated() {
                if i > 0 { out += "," }
                guard let t = format(x, i < fields.count ? fields[i].type : .text, zone: zone) else { continue }
                let quote = t.isEmpty || t.contains { "(),\"\\ \t\n".contains($0) }
                if !quote { out += t; continue }
                out += "\""
                for c in t { out += c == "\"" ? "\"\"" : c == "\\" ? "\\\\" : String(c) }
                out += "\""
            }
            return out + ")"
        default: return v.pgText
        }
    }
}
