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
        default: return v.pgText
        }
    }
}
