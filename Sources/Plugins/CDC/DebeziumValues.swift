import DriftCore

/// Column values as Debezium's PostgreSQL connector writes them in JSON with its default
/// settings, except `decimal.handling.mode=string` (numeric as its exact text):
///
/// | type | JSON |
/// |---|---|
/// | bool, int2/4/8 | `true`, `1` |
/// | float4, float8 | a number (`NaN`, `Infinity`, `-Infinity` as strings, as Jackson writes them) |
/// | numeric, numeric(p,s) | its text, `"1234.50"` (`"NAN"`, `"POSITIVE_INFINITY"`, `"NEGATIVE_INFINITY"`) |
/// | text, varchar, char, uuid, enum | a string |
/// | bytea | base64, padded |
/// | json, jsonb | the document as a string |
/// | date | days since 1970-01-01 |
/// | time(0..3) / time | milliseconds / microseconds past midnight |
/// | timestamp(0..3) / timestamp | epoch milliseconds / microseconds, no zone shift |
/// | timestamptz(p) | ISO 8601 in UTC, `"2026-11-29T18:05:30.000000Z"`, the fraction p digits (default 6) |
/// | interval | microseconds, months counted as 30.4375 days (Debezium's `MicroDuration`) |
/// | arrays | JSON arrays of the element encodings |
enum DebeziumValues {
    /// Unix epoch minus PostgreSQL's epoch (2000-01-01), in days and in microseconds.
    static let epochDays: Int64 = 10_957
    static let epochMicros: Int64 = 946_684_800_000_000
    /// Debezium's values for timestamp ±infinity (`PostgresValueConverter`).
    static let timestampPositiveInfinity: Int64 = 9_223_372_036_825_200_000
    static let timestampNegativeInfinity: Int64 = -9_223_372_036_832_400_000

    /// Writes `value` of a column of type `type`.
    static func write(_ value: Value, _ type: SQLType, to w: inout JSONWriter) {
        switch value {
        case .null: w.null()
        case .bool(let b): w.bool(b)
        case .int(let i): w.int(i)
        case .double(let d): writeFloat(d, single: type.base == .float4, to: &w)
        case .numeric(let n):
            if n.isNaN { w.string("NAN") } else if n.isInfinite { w.string(n.sign < 0 ? "NEGATIVE_INFINITY" : "POSITIVE_INFINITY") } else { w.string(n.description) }
        case .text(let s): w.string(s)
        case .json(let s): w.string(s)
        case .bytes(let b): w.string(Base64.encode(b))  // padded, as Jackson writes a byte array
        case .date(let d): w.int(Int64(d) + epochDays)
        case .time(let us): w.int(precision(type) <= 3 ? us / 1000 : us)
        case .timestamp(let us):
            if us == Int64.max { w.int(timestampPositiveInfinity) } else if us == Int64.min { w.int(timestampNegativeInfinity) } else {
                let epoch = us + epochMicros
                w.int(precision(type) <= 3 ? floorDiv(epoch, 1000) : epoch)
            }
        case .timestamptz(let us): w.string(isoTimestamp(us, digits: min(precision(type), 6)))
        case .interval(let iv): w.int(intervalMicros(iv))
        case .array(let items):
            let element: SQLType
            if case .array(let e) = type.base { element = e } else { element = .unknown }
            w.beginArray()
            for item in items { write(item, element, to: &w) }
            w.endArray()
        }
    }

    /// The fractional-second digits of time/timestamp types: the typmod, else 6.
    static func precision(_ type: SQLType) -> Int {
        if case .modified(_, let typmod) = type, typmod >= 0 { return Int(typmod) }
        return 6
    }

    static func writeFloat(_ d: Double, single: Bool, to w: inout JSONWriter) {
        if d.isNaN { w.string("NaN"); return }
        if d.isInfinite { w.string(d < 0 ? "-Infinity" : "Infinity"); return }
        // The shortest text that reads back as the same float4 or float8.
        w.number(single ? Float(d).description : d.description)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Debezium's `MicroDuration.durationMicros` for PostgreSQL's interval as the JDBC
    /// driver splits it (years and months, days, hours, minutes and seconds, each carrying
    /// the sign), in the same double arithmetic, truncated.
    static func intervalMicros(_ iv: Interval) -> Int64 {
        let months = Double(iv.months)
        let hours = iv.micros / 3_600_000_000
        let minutes = (iv.micros % 3_600_000_000) / 60_000_000
        let seconds = Double(iv.micros % 60_000_000) / 1e6
        let days = months * (365.25 / 12) + Double(iv.days)
        let total = ((days * 24 + Double(hours)) * 60 + Double(minutes)) * 60 + seconds
        let micros = total * 1e6
        if micros >= 9.223372036854775807e18 { return Int64.max }
        if micros <= -9.223372036854775808e18 { return Int64.min }
        return Int64(micros)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f…]Z` in UTC for microseconds since 2000-01-01 UTC, as
    /// Debezium's `ZonedTimestamp` writes it: the fraction padded to `digits`, years past
    /// 9999 with a `+`, years before 1 astronomical (1 BC is 0000, 2 BC is -0001).
    static func isoTimestamp(_ us: Int64, digits: Int) -> String {
        if us == Int64.max { return "infinity" }
        if us == Int64.min { return "-infinity" }
        let epoch = us + epochMicros
        let day = floorDiv(epoch, 86_400_000_000)
        var rest = epoch - day * 86_400_000_000
        // Julian day 2440588 is 1970-01-01; PostgreSQL's calendar numbers 1 BC as year 0.
        let (y, m, d) = PGCal.j2date(Int(day) + 2_440_588)
        let hour = rest / 3_600_000_000
        rest %= 3_600_000_000
        let minute = rest / 60_000_000
        rest %= 60_000_000
        let second = rest / 1_000_000
        let fraction = rest % 1_000_000
        var out = year(Int64(y)) + "-" + pad(Int64(m), 2) + "-" + pad(Int64(d), 2) + "T" + pad(hour, 2) + ":" + pad(minute, 2) + ":" + pad(second, 2)
        if digits > 0 {
            var f = fraction
            for _ in digits..<6 { f /= 10 }
            out += "." + pad(f, digits)
        }
        return out + "Z"
    }

    static func year(_ y: Int64) -> String {
        if y > 9999 { return "+" + String(y) }
        if y < 0 { return "-" + pad(-y, 4) }
        return pad(y, 4)
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
