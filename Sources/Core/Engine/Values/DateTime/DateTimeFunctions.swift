// PostgreSQL 15's date/time functions and operators on the project's representations:
// dates are Int32 days since 2000-01-01, timestamps/timestamptz Int64 µs since 2000-01-01
// (timestamptz in UTC), times Int64 µs since midnight, intervals `Interval`. Functions that
// depend on the session zone take a `TimeZoneRule` (or a `DateTimeContext`). `extract` returns
// PostgreSQL's numeric result as a decimal string; `datePart` returns the double.

import Glibc

// MARK: - Numeric/float text helpers

public enum PGNumeric {
    /// `int64_div_fast_to_numeric(v, scale)`: v / 10^scale with exactly `scale` decimals.
    public static func divPow10(_ v: Int64, _ scale: Int) -> String {
        if scale <= 0 { return String(v) }
        let neg = v < 0
        let mag = v.magnitude
        var digits = String(mag)
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -scale)
        return (neg ? "-" : "") + digits[..<cut] + "." + digits[cut...]
    }

    /// The numeric result of `julian + µs/86400e6` as `extract(julian ...)` computes it
    /// (`numeric_div` with its `select_div_scale` rounding, then `numeric_add`).
    static func julian(_ jd: Int, dayMicros x: Int64) -> String {
        // Weight and first base-10000 digit of the dividend, divisor 86400000000 = 864|0000|0000.
        var weight1 = 0, first1: Int64 = 0
        if x != 0 {
            var v = x
            var w = 0
            while v >= 10000 {
                v /= 10000
                w += 1
            }
            weight1 = w
            first1 = v
        }
        var qweight = weight1 - 2
        if first1 <= 864 { qweight -= 1 }
        let rscale = max(0, min(1000, 16 - qweight * 4))
        var p: Int128 = 1
        for _ in 0..<rscale { p *= 10 }
        let d = Int128(86_400_000_000)
        let q = (Int128(x) * p * 2 + d) / (2 * d)
        var frac = String(q)
        if frac.count < rscale { frac = String(repeating: "0", count: rscale - frac.count) + frac }
        return rscale > 0 ? "\(jd).\(frac)" : String(jd)
    }
}

public enum PGFloat {
    /// `float8out` (extra_float_digits ≥ 1): shortest round-trip digits, fixed notation for
    /// decimal exponents -4 ..< 15, else `d.ddde+XX`; `Infinity`, `-Infinity`, `NaN`.
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
        if v == 0 { return v.sign == .minus ? "-0" : "0" }
        let (digits, exp) = shortestDigits(abs(v))
        let sign = v < 0 ? "-" : ""
        let olength = digits.count
        if exp >= -4 && exp < 15 {
            if exp < 0 {
                return sign + "0." + String(repeating: "0", count: -exp - 1) + digits
            }
            if olength <= exp + 1 {
                return sign + digits + String(repeating: "0", count: exp + 1 - olength)
            }
            let cut = digits.index(digits.startIndex, offsetBy: exp + 1)
            return sign + digits[..<cut] + "." + digits[cut...]
        }
        var s = sign + digits.prefix(1)
        if olength > 1 { s += "." + digits.dropFirst() }
        let ae = abs(exp)
        s += "e" + (exp < 0 ? "-" : "+") + (ae < 10 ? "0" : "") + String(ae)
        return s
    }

    /// The shortest round-trip decimal digits (no trailing zeros) and the decimal exponent of
    /// the first digit, taken from Swift's own shortest formatting.
    static func shortestDigits(_ v: Double) -> (String, Int) {
        let s = v.description
        var mant = Substring(s)
        var e = 0
        if let ei = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mant = s[..<ei]
            e = Int(String(s[s.index(after: ei)...].filter { $0 != "+" })) ?? 0
        }
        var intPart = mant
        var fracPart: Substring = ""
        if let dot = mant.firstIndex(of: ".") {
            intPart = mant[..<dot]
            fracPart = mant[mant.index(after: dot)...]
        }
        var all = String(intPart) + String(fracPart)
        var exp = intPart.count - 1 + e
        while all.hasPrefix("0") && all.count > 1 {
            all.removeFirst()
            exp -= 1
        }
        while all.hasSuffix("0") && all.count > 1 { all.removeLast() }
        return (all, exp)
    }

    /// C's `%g` with a minimum field width (zero-padded as `%02g` does), for error messages.
    static func formatG(_ v: Double, width: Int) -> String {
        var buf = [CChar](repeating: 0, count: 64)
        let fmt = "%0\(width)g"
        _ = withVaList([v]) { vsnprintf(&buf, 64, fmt, $0) }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

// MARK: - Functions

public enum PGDateFunctions {
    static func tsOutOfRange() -> SQLError { SQLError(.datetimeFieldOverflow, "timestamp out of range") }

    static func tm(_ t: Int64) throws(SQLError) -> PGTm {
        guard let tm = PGTm.from(timestamp: t) else { throw tsOutOfRange() }
        return tm
    }

    static func tm(_ t: Int64, _ zone: TimeZoneRule) throws(SQLError) -> PGTm {
        guard let tm = PGTm.from(timestamptz: t, zone: zone) else { throw tsOutOfRange() }
        return tm
    }

    @inline(__always) static func isFinite(_ t: Int64) -> Bool { t != Int64.min && t != Int64.max }

    /// Lower-cased, truncated to 63 bytes (`downcase_truncate_identifier`).
    static func lowUnits(_ s: String) -> String {
        let b = Array(s.utf8.prefix(63)).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        return String(decoding: b, as: UTF8.self)
    }

    // MARK: isfinite

    /// `isfinite(date)`.
    public static func isFinite(date d: Int32) -> Bool { d != Int32.min && d != Int32.max }
    /// `isfinite(timestamp)` / `isfinite(timestamptz)`.
    public static func isFinite(timestamp t: Int64) -> Bool { isFinite(t) }
    /// `isfinite(interval)`: always true in PostgreSQL 15.
    public static func isFinite(interval: Interval) -> Bool { true }

    // MARK: Casts

    /// `date::timestamp`.
    public static func dateToTimestamp(_ d: Int32) throws(SQLError) -> Int64 {
        if d == Int32.min { return Int64.min }
        if d == Int32.max { return Int64.max }
        if Int64(d) >= Int64(109_203_528 - PGCal.postgresEpochJDate) {
            throw SQLError(.datetimeFieldOverflow, "date out of range for timestamp")
        }
        return Int64(d) * PGCal.usecsPerDay
    }

    /// `date::timestamptz` (midnight in `zone`).
    public static func dateToTimestamptz(_ d: Int32, zone: TimeZoneRule) throws(SQLError) -> Int64 {
        if d == Int32.min { return Int64.min }
        if d == Int32.max { return Int64.max }
        if Int64(d) >= Int64(109_203_528 - PGCal.postgresEpochJDate) {
            throw SQLError(.datetimeFieldOverflow, "date out of range for timestamp")
        }
        let (y, m, dd) = PGCal.j2date(Int(d) + PGCal.postgresEpochJDate)
        let (off, _) = PGTm(year: y, mon: m, mday: dd).zoneOffset(zone)
        let r = Int64(d) * PGCal.usecsPerDay - Int64(off) * 1_000_000
        guard PGCal.isValidTimestamp(r) else { throw SQLError(.datetimeFieldOverflow, "date out of range for timestamp") }
        return r
    }

    /// `timestamp::date`.
    public static func timestampToDate(_ t: Int64) throws(SQLError) -> Int32 {
        if t == Int64.min { return Int32.min }
        if t == Int64.max { return Int32.max }
        let tm = try tm(t)
        return Int32(PGCal.date2j(tm.year, tm.mon, tm.mday) - PGCal.postgresEpochJDate)
    }

    /// `timestamptz::date` (the date in `zone`).
    public static func timestamptzToDate(_ t: Int64, zone: TimeZoneRule) throws(SQLError) -> Int32 {
        if t == Int64.min { return Int32.min }
        if t == Int64.max { return Int32.max }
        let tm = try tm(t, zone)
        return Int32(PGCal.date2j(tm.year, tm.mon, tm.mday) - PGCal.postgresEpochJDate)
    }

    /// `timestamp::timestamptz` (`timestamp2timestamptz`): the local time read in `zone`.
    public static func timestampToTimestamptz(_ t: Int64, zone: TimeZoneRule) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        let x = try tm(t)
        let (off, _) = x.zoneOffset(zone)
        let r = t &- Int64(off) &* 1_000_000
        guard PGCal.isValidTimestamp(r) else { throw tsOutOfRange() }
        return r
    }

    /// `timestamptz::timestamp`: the local time in `zone`.
    public static func timestamptzToTimestamp(_ t: Int64, zone: TimeZoneRule) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        let x = try tm(t, zone)
        var y = x
        y.isdst = -1
        guard let r = y.toTimestamp() else { throw tsOutOfRange() }
        return r
    }

    /// `timestamp::time` / `timestamptz::time` (pass the local timestamp for the latter).
    public static func timestampToTime(_ t: Int64) -> Int64? {
        if !isFinite(t) { return nil }
        var r = t % PGCal.usecsPerDay
        if r < 0 { r += PGCal.usecsPerDay }
        return r
    }

    // MARK: Construction

    /// `make_date(year, month, day)`; negative years are BC.
    public static func makeDate(year: Int32, month: Int32, day: Int32) throws(SQLError) -> Int32 {
        var tm = PGTm(year: Int(year), mon: Int(month), mday: Int(day))
        var bc = false
        if tm.year < 0 {
            bc = true
            tm.year = -tm.year
        }
        do {
            try DTDecoder.validateDate(fmask: DTM.date, isjulian: false, is2digits: false, bc: bc, tm: &tm)
        } catch {
            throw SQLError(.datetimeFieldOverflow, "date field value out of range: \(tm.year)-\(pad(Int64(tm.mon), 2))-\(pad(Int64(tm.mday), 2))")
        }
        guard PGCal.isValidJulian(tm.year, tm.mon, tm.mday) else {
            throw SQLError(.datetimeFieldOverflow, "date out of range: \(tm.year)-\(pad(Int64(tm.mon), 2))-\(pad(Int64(tm.mday), 2))")
        }
        let d = Int64(PGCal.date2j(tm.year, tm.mon, tm.mday) - PGCal.postgresEpochJDate)
        guard PGCal.isValidDate(d) else {
            throw SQLError(.datetimeFieldOverflow, "date out of range: \(tm.year)-\(pad(Int64(tm.mon), 2))-\(pad(Int64(tm.mday), 2))")
        }
        return Int32(d)
    }

    /// `make_time(hour, min, sec)`.
    public static func makeTime(hour: Int32, min: Int32, sec: Double) throws(SQLError) -> Int64 {
        try PGTimeOfDay.make(hour: hour, min: min, sec: sec)
    }

    /// `make_timestamp(year, month, day, hour, min, sec)`.
    public static func makeTimestamp(year: Int32, month: Int32, day: Int32, hour: Int32, min: Int32, sec: Double) throws(SQLError) -> Int64 {
        var tm = PGTm(year: Int(year), mon: Int(month), mday: Int(day))
        var bc = false
        if tm.year < 0 {
            bc = true
            tm.year = -tm.year
        }
        let ds = "\(year)-\(pad(Int64(month), 2))-\(pad(Int64(day), 2))"
        do {
            try DTDecoder.validateDate(fmask: DTM.date, isjulian: false, is2digits: false, bc: bc, tm: &tm)
        } catch {
            throw SQLError(.datetimeFieldOverflow, "date field value out of range: \(ds)")
        }
        guard PGCal.isValidJulian(tm.year, tm.mon, tm.mday) else { throw SQLError(.datetimeFieldOverflow, "date out of range: \(ds)") }
        let date = Int64(PGCal.date2j(tm.year, tm.mon, tm.mday) - PGCal.postgresEpochJDate)
        let ts = "\(ds) \(hour):\(pad(Int64(min), 2)):\(PGFloat.formatG(sec, width: 2))"
        if PGTimeOfDay.floatTimeOverflows(Int(hour), Int(min), sec) {
            throw SQLError(.datetimeFieldOverflow, "time field value out of range: \(hour):\(pad(Int64(min), 2)):\(PGFloat.formatG(sec, width: 2))")
        }
        let time = (Int64(hour) * 60 + Int64(min)) * 60 * 1_000_000 + Int64((sec * 1_000_000).rounded(.toNearestOrEven))
        let (a, o1) = date.multipliedReportingOverflow(by: PGCal.usecsPerDay)
        let (r, o2) = a.addingReportingOverflow(time)
        if o1 || o2 { throw SQLError(.datetimeFieldOverflow, "timestamp out of range: \(ts)") }
        if (r < 0 && date > 0) || (r > 0 && date < -1) { throw SQLError(.datetimeFieldOverflow, "timestamp out of range: \(ts)") }
        guard PGCal.isValidTimestamp(r) else { throw SQLError(.datetimeFieldOverflow, "timestamp out of range: \(ts)") }
        return r
    }

    /// `make_timestamptz(year, month, day, hour, min, sec)` in the session zone.
    public static func makeTimestamptz(year: Int32, month: Int32, day: Int32, hour: Int32, min: Int32, sec: Double,
                                       zone: TimeZoneRule) throws(SQLError) -> Int64 {
        let t = try makeTimestamp(year: year, month: month, day: day, hour: hour, min: min, sec: sec)
        return try timestampToTimestamptz(t, zone: zone)
    }

    /// `make_timestamptz(..., timezone text)`: the zone is read as `parse_sane_timezone` does
    /// (numeric `+05:30` with SQL sign, then abbreviations, then zone names).
    public static func makeTimestamptz(year: Int32, month: Int32, day: Int32, hour: Int32, min: Int32, sec: Double,
                                       zoneText: String) throws(SQLError) -> Int64 {
        let t = try makeTimestamp(year: year, month: month, day: day, hour: hour, min: min, sec: sec)
        let x = try tm(t)
        let off = try saneZoneOffset(x, zoneText)
        let r = t &- Int64(off) &* 1_000_000
        guard PGCal.isValidTimestamp(r) else { throw tsOutOfRange() }
        return r
    }

    /// `parse_sane_timezone`: the offset (seconds east) of `zone` at local time `tm`.
    static func saneZoneOffset(_ tm: PGTm, _ zone: String) throws(SQLError) -> Int {
        let b = Array(zone.utf8)
        if let c = b.first, DTLexer.isDigit(c) {
            throw SQLError(.invalidParameterValue, "invalid input syntax for type numeric time zone: \"\(zone)\"",
                           hint: "Numeric time zones must have \"-\" or \"+\" as first character.")
        }
        do {
            return -(try DTDecoder.decodeTimezone(b))
        } catch .tzdispOverflow {
            throw SQLError(.invalidParameterValue, "numeric time zone \"\(zone)\" out of range")
        } catch .badFormat {
        } catch {
            throw SQLError(.invalidParameterValue, "time zone \"\(zone)\" not recognized")
        }
        switch TimeZoneAbbreviations.lookup(lowUnits(zone)) {
        case .fixed(let o, _)?: return o
        case .dynamic(let z)?: return TimeZoneAbbreviations.dynamicOffset(zone, zone: z, local: tm.localMicros).offset
        case nil:
            guard let z = TimeZoneRule.lookup(zone) else {
                throw SQLError(.invalidParameterValue, "time zone \"\(zone)\" not recognized")
            }
            return tm.zoneOffset(z).offset
        }
    }

    /// `make_interval(years, months, weeks, days, hours, mins, secs)`.
    public static func makeInterval(years: Int32 = 0, months: Int32 = 0, weeks: Int32 = 0, days: Int32 = 0,
                                    hours: Int32 = 0, mins: Int32 = 0, secs: Double = 0) throws(SQLError) -> Interval {
        try Interval.make(years: years, months: months, weeks: weeks, days: days, hours: hours, mins: mins, secs: secs)
    }

    /// `to_timestamp(double precision)`: Unix seconds → timestamptz.
    public static func toTimestamp(_ seconds: Double) throws(SQLError) -> Int64 {
        if seconds.isNaN { throw SQLError(.datetimeFieldOverflow, "timestamp cannot be NaN") }
        if seconds.isInfinite { return seconds < 0 ? Int64.min : Int64.max }
        let lo = 86400.0 * Double(0 - PGCal.unixEpochJDate)
        let hi = 86400.0 * Double(109_203_528 - PGCal.unixEpochJDate)
        if seconds < lo || seconds >= hi {
            throw SQLError(.datetimeFieldOverflow, "timestamp out of range: \"\(PGFloat.formatG(seconds, width: 0))\"")
        }
        let s = ((seconds - Double((PGCal.postgresEpochJDate - PGCal.unixEpochJDate) * 86400)) * 1_000_000).rounded(.toNearestOrEven)
        let r = Int64(s)
        guard PGCal.isValidTimestamp(r) else {
            throw SQLError(.datetimeFieldOverflow, "timestamp out of range: \"\(PGFloat.formatG(seconds, width: 0))\"")
        }
        return r
    }

    // MARK: Arithmetic

    /// `timestamp + interval` (months first, clamping the day to the month's end, then days,
    /// then the time part).
    public static func add(timestamp: Int64, _ span: Interval) throws(SQLError) -> Int64 {
        if !isFinite(timestamp) { return timestamp }
        var t = timestamp
        if span.months != 0 {
            var x = try tm(t)
            try addMonths(&x, span.months)
            guard let v = x.toTimestamp() else { throw tsOutOfRange() }
            t = v
        }
        if span.days != 0 {
            var x = try tm(t)
            let (j, o) = Int32(PGCal.date2j(x.year, x.mon, x.mday)).addingReportingOverflow(span.days)
            if o || j < 0 { throw tsOutOfRange() }
            (x.year, x.mon, x.mday) = PGCal.j2date(Int(j))
            guard let v = x.toTimestamp() else { throw tsOutOfRange() }
            t = v
        }
        let (r, o) = t.addingReportingOverflow(span.micros)
        if o || !PGCal.isValidTimestamp(r) { throw tsOutOfRange() }
        return r
    }

    static func addMonths(_ x: inout PGTm, _ months: Int32) throws(SQLError) {
        let (m, o) = Int32(x.mon).addingReportingOverflow(months)
        if o { throw tsOutOfRange() }
        x.mon = Int(m)
        if x.mon > 12 {
            x.year += (x.mon - 1) / 12
            x.mon = (x.mon - 1) % 12 + 1
        } else if x.mon < 1 {
            x.year += x.mon / 12 - 1
            x.mon = x.mon % 12 + 12
        }
        let dim = PGCal.daysIn(x.year, x.mon)
        if x.mday > dim { x.mday = dim }
    }

    /// `timestamp - interval`.
    public static func subtract(timestamp: Int64, _ span: Interval) throws(SQLError) -> Int64 {
        try add(timestamp: timestamp, Interval(months: 0 &- span.months, days: 0 &- span.days, micros: 0 &- span.micros))
    }

    /// `timestamptz + interval`: months and days are added to the local time in `zone` (so a
    /// day across a DST change keeps the wall-clock time), then the time part.
    public static func add(timestamptz: Int64, _ span: Interval, zone: TimeZoneRule) throws(SQLError) -> Int64 {
        if !isFinite(timestamptz) { return timestamptz }
        var t = timestamptz
        if span.months != 0 {
            var x = try tm(t, zone)
            try addMonths(&x, span.months)
            let (off, _) = x.zoneOffset(zone)
            guard let v = x.toTimestamp(offsetEast: off) else { throw tsOutOfRange() }
            t = v
        }
        if span.days != 0 {
            var x = try tm(t, zone)
            let (j, o) = Int32(PGCal.date2j(x.year, x.mon, x.mday)).addingReportingOverflow(span.days)
            if o || j < -1 { throw tsOutOfRange() }
            (x.year, x.mon, x.mday) = PGCal.j2date(Int(j))
            let (off, _) = x.zoneOffset(zone)
            guard let v = x.toTimestamp(offsetEast: off) else { throw tsOutOfRange() }
            t = v
        }
        let (r, o) = t.addingReportingOverflow(span.micros)
        if o || !PGCal.isValidTimestamp(r) { throw tsOutOfRange() }
        return r
    }

    /// `timestamptz - interval`.
    public static func subtract(timestamptz: Int64, _ span: Interval, zone: TimeZoneRule) throws(SQLError) -> Int64 {
        try add(timestamptz: timestamptz, Interval(months: 0 &- span.months, days: 0 &- span.days, micros: 0 &- span.micros), zone: zone)
    }

    /// `timestamp - timestamp` and `timestamptz - timestamptz`: the difference as days and
    /// time (`justify_hours` of the microseconds).
    public static func difference(_ a: Int64, _ b: Int64) throws(SQLError) -> Interval {
        if !isFinite(a) || !isFinite(b) {
            throw SQLError(.datetimeFieldOverflow, "cannot subtract infinite timestamps")
        }
        return try Interval(micros: a &- b).justifiedHours()
    }

    /// `date + interval` → timestamp.
    public static func add(date: Int32, _ span: Interval) throws(SQLError) -> Int64 {
        try add(timestamp: try dateToTimestamp(date), span)
    }

    /// `date - interval` → timestamp.
    public static func subtract(date: Int32, _ span: Interval) throws(SQLError) -> Int64 {
        try subtract(timestamp: try dateToTimestamp(date), span)
    }

    /// `date + integer` (also `integer + date`).
    public static func add(date: Int32, days: Int32) throws(SQLError) -> Int32 {
        if !isFinite(date: date) { return date }
        let (r, o) = date.addingReportingOverflow(days)
        if o || !PGCal.isValidDate(Int64(r)) { throw SQLError(.datetimeFieldOverflow, "date out of range") }
        return r
    }

    /// `date - integer`.
    public static func subtract(date: Int32, days: Int32) throws(SQLError) -> Int32 {
        if !isFinite(date: date) { return date }
        let (r, o) = date.subtractingReportingOverflow(days)
        if o || !PGCal.isValidDate(Int64(r)) { throw SQLError(.datetimeFieldOverflow, "date out of range") }
        return r
    }

    /// `date - date` → integer days.
    public static func difference(date a: Int32, _ b: Int32) throws(SQLError) -> Int32 {
        if !isFinite(date: a) || !isFinite(date: b) {
            throw SQLError(.datetimeFieldOverflow, "cannot subtract infinite dates")
        }
        return a &- b
    }

    /// `date + time` → timestamp.
    public static func add(date: Int32, time: Int64) throws(SQLError) -> Int64 {
        let t = try dateToTimestamp(date)
        if !isFinite(t) { return t }
        let (r, o) = t.addingReportingOverflow(time)
        if o || !PGCal.isValidTimestamp(r) { throw tsOutOfRange() }
        return r
    }

    // MARK: age

    /// `age(timestamp, timestamp)`: the symbolic difference in years, months, days and time
    /// (fields borrowed from the next larger one with the real month lengths).
    public static func age(_ dt1: Int64, _ dt2: Int64) throws(SQLError) -> Interval {
        guard let t1 = PGTm.from(timestamp: dt1), let t2 = PGTm.from(timestamp: dt2) else { throw tsOutOfRange() }
        return try ageFields(dt1, dt2, t1, t2)
    }

    /// `age(timestamptz, timestamptz)`: as above on the local times in `zone`.
    public static func age(timestamptz dt1: Int64, _ dt2: Int64, zone: TimeZoneRule) throws(SQLError) -> Interval {
        guard let t1 = PGTm.from(timestamptz: dt1, zone: zone), let t2 = PGTm.from(timestamptz: dt2, zone: zone) else {
            throw tsOutOfRange()
        }
        return try ageFields(dt1, dt2, t1, t2)
    }

    /// `age(timestamp)`: `age(current_date::timestamp, ts)`, current date in the session zone.
    public static func age(_ ts: Int64, _ ctx: DateTimeContext) throws(SQLError) -> Interval {
        let today = try timestamptzToDate(ctx.now, zone: ctx.timeZone)
        return try age(try dateToTimestamp(today), ts)
    }

    /// `age(timestamptz)`: `age(current_date::timestamptz, ts)`.
    public static func age(timestamptz ts: Int64, _ ctx: DateTimeContext) throws(SQLError) -> Interval {
        let today = try timestamptzToDate(ctx.now, zone: ctx.timeZone)
        return try age(timestamptz: try dateToTimestamptz(today, zone: ctx.timeZone), ts, zone: ctx.timeZone)
    }

    static func ageFields(_ dt1: Int64, _ dt2: Int64, _ tm1: PGTm, _ tm2: PGTm) throws(SQLError) -> Interval {
        var usec = tm1.fsec - tm2.fsec
        var sec = tm1.sec - tm2.sec
        var min = tm1.min - tm2.min
        var hour = tm1.hour - tm2.hour
        var mday = tm1.mday - tm2.mday
        var mon = tm1.mon - tm2.mon
        var year = tm1.year - tm2.year
        let flip = dt1 < dt2
        if flip {
            usec = -usec; sec = -sec; min = -min; hour = -hour; mday = -mday; mon = -mon; year = -year
        }
        while usec < 0 { usec += 1_000_000; sec -= 1 }
        while sec < 0 { sec += 60; min -= 1 }
        while min < 0 { min += 60; hour -= 1 }
        while hour < 0 { hour += 24; mday -= 1 }
        while mday < 0 {
            if flip {
                mday += PGCal.daysIn(tm1.year, tm1.mon)
            } else {
                mday += PGCal.daysIn(tm2.year, tm2.mon)
            }
            mon -= 1
        }
        while mon < 0 { mon += 12; year -= 1 }
        if flip {
            usec = -usec; sec = -sec; min = -min; hour = -hour; mday = -mday; mon = -mon; year = -year
        }
        guard let r = Interval.from(year: Int64(year), mon: Int64(mon), mday: Int64(mday), hour: Int64(hour),
                                    min: Int64(min), sec: Int64(sec), usec: Int64(usec)) else { throw Interval.outOfRange() }
        return r
    }

    // MARK: date_trunc

    static func unitsError(_ low: String, _ type: String, recognized: Bool, detail: String? = nil) -> SQLError {
        recognized
            ? SQLError(.featureNotSupported, "unit \"\(low)\" not supported for type \(type)", detail: detail)
            : SQLError(.invalidParameterValue, "unit \"\(low)\" not recognized for type \(type)")
    }

    /// Truncates the broken-down fields for `date_trunc`; returns whether the zone offset must
    /// be recomputed (units of a day or more).
    static func truncFields(_ x: inout PGTm, _ val: Int, _ low: String, _ type: String) throws(SQLError) -> Bool {
        var redo = false
        switch val {
        case DTK.week:
            let woy = PGCal.isoWeek(x.year, x.mon, x.mday)
            if woy >= 52 && x.mon == 1 { x.year -= 1 }
            if woy <= 1 && x.mon == 12 { x.year += 1 }
            (x.year, x.mon, x.mday) = PGCal.j2date(PGCal.isoweek2j(x.year, woy))
            x.hour = 0; x.min = 0; x.sec = 0; x.fsec = 0
            return true
        case DTK.millennium, DTK.century, DTK.decade, DTK.year, DTK.quarter, DTK.month, DTK.day:
            if val == DTK.millennium {
                x.year = x.year > 0 ? ((x.year + 999) / 1000) * 1000 - 999 : -((999 - (x.year - 1)) / 1000) * 1000 + 1
            }
            if val == DTK.millennium || val == DTK.century {
                x.year = x.year > 0 ? ((x.year + 99) / 100) * 100 - 99 : -((99 - (x.year - 1)) / 100) * 100 + 1
            }
            if val == DTK.decade {
                x.year = x.year > 0 ? (x.year / 10) * 10 : -((8 - (x.year - 1)) / 10) * 10
            }
            if val != DTK.quarter && val != DTK.month && val != DTK.day { x.mon = 1 }
            if val != DTK.month && val != DTK.day { x.mon = 3 * ((x.mon - 1) / 3) + 1 }
            if val != DTK.day { x.mday = 1 }
            x.hour = 0; x.min = 0; x.sec = 0; x.fsec = 0
            redo = true
        case DTK.hour:
            x.min = 0; x.sec = 0; x.fsec = 0
        case DTK.minute:
            x.sec = 0; x.fsec = 0
        case DTK.second:
            x.fsec = 0
        case DTK.millisec:
            x.fsec = (x.fsec / 1000) * 1000
        case DTK.microsec:
            break
        default:
            throw unitsError(low, type, recognized: true)
        }
        return redo
    }

    /// `date_trunc(field, timestamp)`.
    public static func dateTrunc(_ field: String, timestamp t: Int64) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        let low = lowUnits(field)
        let (type, val) = DTTables.decodeUnits(low)
        guard type == .units else { throw unitsError(low, "timestamp without time zone", recognized: false) }
        var x = try tm(t)
        _ = try truncFields(&x, val, low, "timestamp without time zone")
        guard let r = x.toTimestamp() else { throw tsOutOfRange() }
        return r
    }

    /// `date_trunc(field, timestamptz [, zone])`: truncation in `zone` (the session zone for
    /// the two-argument form); day-or-larger units land on local midnight.
    public static func dateTrunc(_ field: String, timestamptz t: Int64, zone: TimeZoneRule) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        let low = lowUnits(field)
        let (type, val) = DTTables.decodeUnits(low)
        guard type == .units else { throw unitsError(low, "timestamp with time zone", recognized: false) }
        var x = try tm(t, zone)
        var off = x.gmtoff
        if try truncFields(&x, val, low, "timestamp with time zone") {
            off = x.zoneOffset(zone).offset
        }
        guard let r = x.toTimestamp(offsetEast: off) else { throw tsOutOfRange() }
        return r
    }

    /// `date_trunc(field, timestamptz, zone text)` (zone resolved as `AT TIME ZONE` does).
    public static func dateTrunc(_ field: String, timestamptz t: Int64, zoneText: String) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        return try dateTrunc(field, timestamptz: t, zone: try ZoneSpec.resolve(zoneText).rule)
    }

    /// `date_trunc(field, interval)` (week is refused: months have fractional weeks).
    public static func dateTrunc(_ field: String, interval: Interval) throws(SQLError) -> Interval {
        let low = lowUnits(field)
        let (type, val) = DTTables.decodeUnits(low)
        guard type == .units else { throw unitsError(low, "interval", recognized: false) }
        let f = interval.fields
        var year = Int64(f.year), mon = Int64(f.mon), mday = Int64(f.mday), hour = f.hour
        var min = Int64(f.min), sec = Int64(f.sec), usec = Int64(f.usec)
        switch val {
        case DTK.millennium, DTK.century, DTK.decade, DTK.year, DTK.quarter, DTK.month, DTK.day, DTK.hour, DTK.minute, DTK.second:
            if val == DTK.millennium { year = (year / 1000) * 1000 }
            if val == DTK.millennium || val == DTK.century { year = (year / 100) * 100 }
            if val == DTK.millennium || val == DTK.century || val == DTK.decade { year = (year / 10) * 10 }
            if [DTK.millennium, DTK.century, DTK.decade, DTK.year].contains(val) { mon = 0 }
            if val != DTK.month && val != DTK.day && val != DTK.hour && val != DTK.minute && val != DTK.second { mon = 3 * (mon / 3) }
            if val != DTK.day && val != DTK.hour && val != DTK.minute && val != DTK.second { mday = 0 }
            if val != DTK.hour && val != DTK.minute && val != DTK.second { hour = 0 }
            if val != DTK.minute && val != DTK.second { min = 0 }
            if val != DTK.second { sec = 0 }
            usec = 0
        case DTK.millisec:
            usec = (usec / 1000) * 1000
        case DTK.microsec:
            break
        default:
            throw unitsError(low, "interval", recognized: true,
                             detail: val == DTK.week ? "Months usually have fractional weeks." : nil)
        }
        guard let r = Interval.from(year: year, mon: mon, mday: mday, hour: hour, min: min, sec: sec, usec: usec) else {
            throw Interval.outOfRange()
        }
        return r
    }

    // MARK: date_bin

    /// `date_bin(stride, source, origin)` for timestamp and timestamptz (same arithmetic).
    public static func dateBin(_ stride: Interval, _ t: Int64, origin: Int64) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        if !isFinite(origin) { throw SQLError(.datetimeFieldOverflow, "origin out of range") }
        if stride.months != 0 {
            throw SQLError(.featureNotSupported, "timestamps cannot be binned into intervals containing months or years")
        }
        let (a, o1) = Int64(stride.days).multipliedReportingOverflow(by: PGCal.usecsPerDay)
        let (su, o2) = a.addingReportingOverflow(stride.micros)
        if o1 || o2 { throw Interval.outOfRange() }
        if su <= 0 { throw SQLError(.datetimeFieldOverflow, "stride must be greater than zero") }
        let (diff, o3) = t.subtractingReportingOverflow(origin)
        if o3 { throw Interval.outOfRange() }
        let modulo = diff % su
        var r = origin + (diff - modulo)
        if modulo < 0 {
            let (v, o) = r.subtractingReportingOverflow(su)
            if o || !PGCal.isValidTimestamp(v) { throw tsOutOfRange() }
            r = v
        }
        return r
    }

    // MARK: AT TIME ZONE

    /// `timestamptz AT TIME ZONE zone` → timestamp (the wall-clock time there).
    public static func atTimeZone(timestamptz t: Int64, _ zone: String) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        let r: Int64
        switch try ZoneSpec.resolve(zone) {
        case .fixed(let o, _):
            r = t &+ Int64(o) &* 1_000_000
        case .dynamic(let abbrev, let z):
            let (o, _) = TimeZoneAbbreviations.dynamicOffset(abbrev, zone: z, utc: t)
            r = t &+ Int64(o) &* 1_000_000
        case .rule(let z):
            var x = try tm(t, z)
            x.isdst = -1
            guard let v = x.toTimestamp() else { throw tsOutOfRange() }
            r = v
        }
        guard PGCal.isValidTimestamp(r) else { throw tsOutOfRange() }
        return r
    }

    /// `timestamp AT TIME ZONE zone` → timestamptz (the local time read in that zone).
    public static func atTimeZone(timestamp t: Int64, _ zone: String) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        let r: Int64
        switch try ZoneSpec.resolve(zone) {
        case .fixed(let o, _):
            r = t &- Int64(o) &* 1_000_000
        case .dynamic(let abbrev, let z):
            let x = try tm(t)
            let (o, _) = TimeZoneAbbreviations.dynamicOffset(abbrev, zone: z, local: x.localMicros)
            r = t &- Int64(o) &* 1_000_000
        case .rule(let z):
            let x = try tm(t)
            let (o, _) = x.zoneOffset(z)
            guard let v = x.toTimestamp(offsetEast: o) else { throw tsOutOfRange() }
            r = v
        }
        guard PGCal.isValidTimestamp(r) else { throw tsOutOfRange() }
        return r
    }

    static func intervalZone(_ zone: Interval) throws(SQLError) -> Int64 {
        if zone.months != 0 || zone.days != 0 {
            throw SQLError(.invalidParameterValue, "interval time zone \"\(zone.description)\" must not include months or days")
        }
        return zone.micros / 1_000_000
    }

    /// `timestamptz AT TIME ZONE interval` → timestamp.
    public static func atTimeZone(timestamptz t: Int64, interval zone: Interval) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        let r = t &+ (try intervalZone(zone)) &* 1_000_000
        guard PGCal.isValidTimestamp(r) else { throw tsOutOfRange() }
        return r
    }

    /// `timestamp AT TIME ZONE interval` → timestamptz.
    public static func atTimeZone(timestamp t: Int64, interval zone: Interval) throws(SQLError) -> Int64 {
        if !isFinite(t) { return t }
        let r = t &- (try intervalZone(zone)) &* 1_000_000
        guard PGCal.isValidTimestamp(r) else { throw tsOutOfRange() }
        return r
    }

    // MARK: extract / date_part

    enum PartValue {
        case int(Int64)
        case scaled(Int64, Int)  // v / 10^scale
        case text(String)
        case double(Double)
        case null
    }

    static func render(_ v: PartValue, numeric: Bool) -> String? {
        switch v {
        case .int(let i): return numeric ? String(i) : PGFloat.format(Double(i))
        case .scaled(let i, let s): return numeric ? PGNumeric.divPow10(i, s) : nil
        case .text(let s): return s
        case .double(let d): return PGFloat.format(d)
        case .null: return nil
        }
    }

    /// Field extraction shared by timestamp and timestamptz (`timestamp_part_common`).
    static func timestampPart(_ field: String, _ t: Int64, zone: TimeZoneRule?, numeric: Bool) throws(SQLError) -> PartValue {
        let low = lowUnits(field)
        let typeName = zone == nil ? "timestamp without time zone" : "timestamp with time zone"
        var (type, val) = DTTables.decodeUnits(low)
        if type == .unknown { (type, val) = DTTables.decodeSpecial(low) }
        if !isFinite(t) {
            guard type == .units || type == .reserv else { throw unitsError(low, typeName, recognized: false) }
            switch val {
            case DTK.microsec, DTK.millisec, DTK.second, DTK.minute, DTK.hour, DTK.day, DTK.month, DTK.quarter,
                 DTK.week, DTK.dow, DTK.isodow, DTK.doy, DTK.tz, DTK.tzMinute, DTK.tzHour:
                return .null
            case DTK.year, DTK.decade, DTK.century, DTK.millennium, DTK.julian, DTK.isoyear, DTK.epoch:
                let neg = t == Int64.min
                return numeric ? .text(neg ? "-Infinity" : "Infinity") : .double(neg ? -.infinity : .infinity)
            default:
                throw unitsError(low, typeName, recognized: true)
            }
        }
        if type == .units {
            let x = zone.map { PGTm.from(timestamptz: t, zone: $0) } ?? PGTm.from(timestamp: t)
            guard let x else { throw tsOutOfRange() }
            switch val {
            case DTK.tz, DTK.tzMinute, DTK.tzHour:
                guard zone != nil else { throw unitsError(low, typeName, recognized: true) }
                let g = x.gmtoff
                if val == DTK.tz { return .int(Int64(g)) }
                if val == DTK.tzMinute { return .int(Int64((g / 60) % 60)) }
                return .int(Int64(g / 3600))
            case DTK.microsec: return .int(Int64(x.sec * 1_000_000 + x.fsec))
            case DTK.millisec:
                return numeric ? .scaled(Int64(x.sec * 1_000_000 + x.fsec), 3) : .double(Double(x.sec) * 1000 + Double(x.fsec) / 1000)
            case DTK.second:
                return numeric ? .scaled(Int64(x.sec * 1_000_000 + x.fsec), 6) : .double(Double(x.sec) + Double(x.fsec) / 1_000_000)
            case DTK.minute: return .int(Int64(x.min))
            case DTK.hour: return .int(Int64(x.hour))
            case DTK.day: return .int(Int64(x.mday))
            case DTK.month: return .int(Int64(x.mon))
            case DTK.quarter: return .int(Int64((x.mon - 1) / 3 + 1))
            case DTK.week: return .int(Int64(PGCal.isoWeek(x.year, x.mon, x.mday)))
            case DTK.year: return .int(Int64(x.year > 0 ? x.year : x.year - 1))
            case DTK.decade:
                // timestamp_part tests year >= 0, timestamptz_part year > 0 (same result at 0).
                return .int(Int64(x.year >= 0 ? x.year / 10 : -((8 - (x.year - 1)) / 10)))
            case DTK.century: return .int(Int64(x.year > 0 ? (x.year + 99) / 100 : -((99 - (x.year - 1)) / 100)))
            case DTK.millennium: return .int(Int64(x.year > 0 ? (x.year + 999) / 1000 : -((999 - (x.year - 1)) / 1000)))
            case DTK.julian:
                let jd = PGCal.date2j(x.year, x.mon, x.mday)
                let us = Int64(((x.hour * 60 + x.min) * 60 + x.sec)) * 1_000_000 + Int64(x.fsec)
                if numeric { return .text(PGNumeric.julian(jd, dayMicros: us)) }
                return .double(Double(jd) + (Double((x.hour * 60 + x.min) * 60) + Double(x.sec) + Double(x.fsec) / 1_000_000) / 86400)
            case DTK.isoyear:
                var r = PGCal.isoYear(x.year, x.mon, x.mday)
                if r <= 0 { r -= 1 }
                return .int(Int64(r))
            case DTK.dow, DTK.isodow:
                var r = PGCal.j2day(PGCal.date2j(x.year, x.mon, x.mday))
                if val == DTK.isodow && r == 0 { r = 7 }
                return .int(Int64(r))
            case DTK.doy: return .int(Int64(PGCal.date2j(x.year, x.mon, x.mday) - PGCal.date2j(x.year, 1, 1) + 1))
            default:
                throw unitsError(low, typeName, recognized: true)
            }
        } else if type == .reserv {
            guard val == DTK.epoch else { throw unitsError(low, typeName, recognized: true) }
            let epoch = -PGTime.epochUnixMicros
            if t < Int64.max + epoch {
                return numeric ? .scaled(t - epoch, 6) : .double(Double(t - epoch) / 1_000_000)
            }
            let big = Int128(t) - Int128(epoch)
            if numeric {
                let s = String(big)
                return .text(String(s.dropLast(6)) + "." + String(s.suffix(6)))
            }
            return .double((Double(t) - Double(epoch)) / 1_000_000)
        }
        throw unitsError(low, typeName, recognized: false)
    }

    /// `extract(field FROM timestamp)` as numeric text; nil for SQL NULL (oscillating fields
    /// of infinite timestamps). `-Infinity`/`Infinity` for monotonic fields of infinities.
    public static func extract(_ field: String, timestamp t: Int64) throws(SQLError) -> String? {
        render(try timestampPart(field, t, zone: nil, numeric: true), numeric: true)
    }

    /// `extract(field FROM timestamptz)` in `zone` (timezone, timezone_hour, timezone_minute too).
    public static func extract(_ field: String, timestamptz t: Int64, zone: TimeZoneRule) throws(SQLError) -> String? {
        render(try timestampPart(field, t, zone: zone, numeric: true), numeric: true)
    }

    /// `date_part(field, timestamp)` → double precision (nil for NULL).
    public static func datePart(_ field: String, timestamp t: Int64) throws(SQLError) -> Double? {
        doubleOf(try timestampPart(field, t, zone: nil, numeric: false))
    }

    /// `date_part(field, timestamptz)` in `zone`.
    public static func datePart(_ field: String, timestamptz t: Int64, zone: TimeZoneRule) throws(SQLError) -> Double? {
        doubleOf(try timestampPart(field, t, zone: zone, numeric: false))
    }

    static func doubleOf(_ v: PartValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .scaled(let i, let s):
            var p = 1.0
            for _ in 0..<s { p *= 10 }
            return Double(i) / p
        case .text(let s): return Double(s)
        case .null: return nil
        }
    }

    /// `extract(field FROM date)` as numeric text (`extract_date`); nil for NULL.
    public static func extract(_ field: String, date d: Int32) throws(SQLError) -> String? {
        let low = lowUnits(field)
        var (type, val) = DTTables.decodeUnits(low)
        if type == .unknown { (type, val) = DTTables.decodeSpecial(low) }
        if !isFinite(date: d) && (type == .units || type == .reserv) {
            switch val {
            case DTK.day, DTK.month, DTK.quarter, DTK.week, DTK.dow, DTK.isodow, DTK.doy: return nil
            case DTK.year, DTK.decade, DTK.century, DTK.millennium, DTK.julian, DTK.isoyear, DTK.epoch:
                return d == Int32.min ? "-Infinity" : "Infinity"
            default: throw unitsError(low, "date", recognized: true)
            }
        }
        if type == .units {
            let (year, mon, mday) = PGCal.j2date(Int(d) + PGCal.postgresEpochJDate)
            let r: Int
            switch val {
            case DTK.day: r = mday
            case DTK.month: r = mon
            case DTK.quarter: r = (mon - 1) / 3 + 1
            case DTK.week: r = PGCal.isoWeek(year, mon, mday)
            case DTK.year: r = year > 0 ? year : year - 1
            case DTK.decade: r = year >= 0 ? year / 10 : -((8 - (year - 1)) / 10)
            case DTK.century: r = year > 0 ? (year + 99) / 100 : -((99 - (year - 1)) / 100)
            case DTK.millennium: r = year > 0 ? (year + 999) / 1000 : -((999 - (year - 1)) / 1000)
            case DTK.julian: r = Int(d) + PGCal.postgresEpochJDate
            case DTK.isoyear:
                var v = PGCal.isoYear(year, mon, mday)
                if v <= 0 { v -= 1 }
                r = v
            case DTK.dow, DTK.isodow:
                var v = PGCal.j2day(Int(d) + PGCal.postgresEpochJDate)
                if val == DTK.isodow && v == 0 { v = 7 }
                r = v
            case DTK.doy: r = PGCal.date2j(year, mon, mday) - PGCal.date2j(year, 1, 1) + 1
            default: throw unitsError(low, "date", recognized: true)
            }
            return String(r)
        } else if type == .reserv {
            guard val == DTK.epoch else { throw unitsError(low, "date", recognized: true) }
            return String((Int64(d) + Int64(PGCal.postgresEpochJDate - PGCal.unixEpochJDate)) * 86400)
        }
        throw unitsError(low, "date", recognized: false)
    }

    /// `date_part(field, date)`: PostgreSQL casts the date to timestamp first.
    public static func datePart(_ field: String, date d: Int32) throws(SQLError) -> Double? {
        try datePart(field, timestamp: try dateToTimestamp(d))
    }

    /// `extract(field FROM time)` as numeric text.
    public static func extract(_ field: String, time t: Int64) throws(SQLError) -> String {
        try PGTimeOfDay.extract(field, t, numeric: true)
    }

    /// `date_part(field, time)`.
    public static func datePart(_ field: String, time t: Int64) throws(SQLError) -> Double {
        Double(try PGTimeOfDay.extract(field, t, numeric: false)) ?? 0
    }

    static func intervalPart(_ field: String, _ iv: Interval, numeric: Bool) throws(SQLError) -> PartValue {
        let low = lowUnits(field)
        var (type, val) = DTTables.decodeUnits(low)
        if type == .unknown { (type, val) = DTTables.decodeSpecial(low) }
        if type == .units {
            let f = iv.fields
            switch val {
            case DTK.microsec: return .int(Int64(f.sec) * 1_000_000 + Int64(f.usec))
            case DTK.millisec:
                return numeric ? .scaled(Int64(f.sec) * 1_000_000 + Int64(f.usec), 3) : .double(Double(f.sec) * 1000 + Double(f.usec) / 1000)
            case DTK.second:
                return numeric ? .scaled(Int64(f.sec) * 1_000_000 + Int64(f.usec), 6) : .double(Double(f.sec) + Double(f.usec) / 1_000_000)
            case DTK.minute: return .int(Int64(f.min))
            case DTK.hour: return .int(f.hour)
            case DTK.day: return .int(Int64(f.mday))
            case DTK.month: return .int(Int64(f.mon))
            case DTK.quarter: return .int(Int64(f.mon / 3 + 1))
            case DTK.year: return .int(Int64(f.year))
            case DTK.decade: return .int(Int64(f.year / 10))
            case DTK.century: return .int(Int64(f.year / 100))
            case DTK.millennium: return .int(Int64(f.year / 1000))
            default: throw unitsError(low, "interval", recognized: true)
            }
        } else if type == .reserv && val == DTK.epoch {
            if numeric {
                let m = Int64(iv.months)
                let secsFromDayMonth = (Int64(4 * 365.25) * (m / 12) + Int64(4 * 30) * (m % 12) + 4 * Int64(iv.days)) * (86400 / 4)
                let total = Int128(secsFromDayMonth) * 1_000_000 + Int128(iv.micros)
                if let v = Int64(exactly: total),
                   secsFromDayMonth.multipliedReportingOverflow(by: 1_000_000).overflow == false,
                   (secsFromDayMonth * 1_000_000).addingReportingOverflow(iv.micros).overflow == false {
                    return .scaled(v, 6)
                }
                let neg = total < 0
                var s = String(total.magnitude)
                if s.count <= 6 { s = String(repeating: "0", count: 7 - s.count) + s }
                return .text((neg ? "-" : "") + String(s.dropLast(6)) + "." + String(s.suffix(6)))
            }
            var r = Double(iv.micros) / 1_000_000
            r += (365.25 * 86400) * Double(iv.months / 12)
            r += (30.0 * 86400) * Double(iv.months % 12)
            r += 86400.0 * Double(iv.days)
            return .double(r)
        }
        throw unitsError(low, "interval", recognized: false)
    }

    /// `extract(field FROM interval)` as numeric text.
    public static func extract(_ field: String, interval iv: Interval) throws(SQLError) -> String {
        render(try intervalPart(field, iv, numeric: true), numeric: true) ?? ""
    }

    /// `date_part(field, interval)`.
    public static func datePart(_ field: String, interval iv: Interval) throws(SQLError) -> Double {
        doubleOf(try intervalPart(field, iv, numeric: false)) ?? 0
    }
}
