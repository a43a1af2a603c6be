// PostgreSQL 15's interval type: months, days and microseconds kept apart, input in every
// form interval_in accepts, output in IntervalStyle "postgres", typmods, comparison on the
// 30-day-month/24-hour-day linear span, arithmetic and the justify functions.

/// A PostgreSQL interval. Equality, ordering and hashing follow `interval_cmp`: the value is
/// compared as `micros + (months * 30 + days) * 24h`, so `'1 mon' == '30 days'` and
/// `'1 day' == '24 hours'` (use `isIdentical(to:)` to compare the three fields).
public struct Interval: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var months: Int32
    public var days: Int32
    public var micros: Int64

    public init(months: Int32 = 0, days: Int32 = 0, micros: Int64 = 0) {
        self.months = months
        self.days = days
        self.micros = micros
    }

    public static let zero = Interval()

    // MARK: Comparison

    /// `interval_cmp_value`: the 128-bit linear span in microseconds.
    @inline(__always)
    public var span: Int128 {
        let d = Int64(months) * 30 + Int64(days)
        return Int128(micros) + Int128(d) * Int128(PGCal.usecsPerDay)
    }

    public static func == (a: Interval, b: Interval) -> Bool { a.span == b.span }
    public static func < (a: Interval, b: Interval) -> Bool { a.span < b.span }
    public func hash(into h: inout Hasher) { h.combine(span) }
    /// `interval_hash`'s input: the low 64 bits of the span (as PostgreSQL hashes with hashint8).
    public var hashSpan64: Int64 { Int64(truncatingIfNeeded: span) }

    public func isIdentical(to o: Interval) -> Bool { months == o.months && days == o.days && micros == o.micros }

    static func outOfRange() -> SQLError { SQLError(.datetimeFieldOverflow, "interval out of range") }

    // MARK: Arithmetic

    /// `interval_pl`.
    public func adding(_ o: Interval) throws(SQLError) -> Interval {
        let (m, o1) = months.addingReportingOverflow(o.months)
        let (d, o2) = days.addingReportingOverflow(o.days)
        let (t, o3) = micros.addingReportingOverflow(o.micros)
        if o1 || o2 || o3 { throw Self.outOfRange() }
        return Interval(months: m, days: d, micros: t)
    }

    /// `interval_mi`.
    public func subtracting(_ o: Interval) throws(SQLError) -> Interval {
        let (m, o1) = months.subtractingReportingOverflow(o.months)
        let (d, o2) = days.subtractingReportingOverflow(o.days)
        let (t, o3) = micros.subtractingReportingOverflow(o.micros)
        if o1 || o2 || o3 { throw Self.outOfRange() }
        return Interval(months: m, days: d, micros: t)
    }

    /// `interval_um`.
    public func negated() throws(SQLError) -> Interval {
        if months == .min || days == .min || micros == .min { throw Self.outOfRange() }
        return Interval(months: -months, days: -days, micros: -micros)
    }

    public static func + (a: Interval, b: Interval) throws(SQLError) -> Interval { try a.adding(b) }
    public static func - (a: Interval, b: Interval) throws(SQLError) -> Interval { try a.subtracting(b) }
    public static prefix func - (a: Interval) throws(SQLError) -> Interval { try a.negated() }
    public static func * (a: Interval, f: Double) throws(SQLError) -> Interval { try a.multiplied(by: f) }
    public static func * (f: Double, a: Interval) throws(SQLError) -> Interval { try a.multiplied(by: f) }
    public static func / (a: Interval, f: Double) throws(SQLError) -> Interval { try a.divided(by: f) }

    @inline(__always) static func fitsInt32(_ d: Double) -> Bool { d >= -2147483648.0 && d < 2147483648.0 }
    @inline(__always) static func fitsInt64(_ d: Double) -> Bool { d >= -9223372036854775808.0 && d < 9223372036854775808.0 }
    @inline(__always) static func tsround(_ j: Double) -> Double { (j * 1_000_000.0).rounded(.toNearestOrEven) / 1_000_000.0 }

    /// `interval_mul`: fractional months cascade into days (30 per month) and fractional days
    /// into seconds; nothing cascades up.
    public func multiplied(by factor: Double) throws(SQLError) -> Interval {
        try scaled { Double($0) * factor } time: { Double($0) * factor }
    }

    /// `interval_div` (22012 division by zero).
    public func divided(by factor: Double) throws(SQLError) -> Interval {
        if factor == 0 { throw SQLError(.divisionByZero, "division by zero") }
        return try scaled { Double($0) / factor } time: { Double($0) / factor }
    }

    private func scaled(_ f: (Int64) -> Double, time g: (Int64) -> Double) throws(SQLError) -> Interval {
        var rd = f(Int64(months))
        guard !rd.isNaN, Self.fitsInt32(rd) else { throw Self.outOfRange() }
        let rmonth = Int32(rd)
        rd = f(Int64(days))
        guard !rd.isNaN, Self.fitsInt32(rd) else { throw Self.outOfRange() }
        var rday = Int32(rd)
        var monthRemainderDays = (f(Int64(months)) - Double(rmonth)) * 30
        monthRemainderDays = Self.tsround(monthRemainderDays)
        var secRemainder = (f(Int64(days)) - Double(rday) + monthRemainderDays - Double(Int32(truncatingIfNeeded: Int64(monthRemainderDays)))) * 86400
        secRemainder = Self.tsround(secRemainder)
        if abs(secRemainder) >= 86400 {
            let extra = Int32(truncatingIfNeeded: Int64(secRemainder / 86400))
            let (s, o) = rday.addingReportingOverflow(extra)
            if o { throw Self.outOfRange() }
            rday = s
            secRemainder -= Double(extra) * 86400
        }
        let (s2, o2) = rday.addingReportingOverflow(Int32(truncatingIfNeeded: Int64(monthRemainderDays)))
        if o2 { throw Self.outOfRange() }
        rday = s2
        rd = (g(micros) + secRemainder * 1_000_000).rounded(.toNearestOrEven)
        guard !rd.isNaN, Self.fitsInt64(rd) else { throw Self.outOfRange() }
        return Interval(months: rmonth, days: rday, micros: Int64(rd))
    }

    /// `justify_hours`: whole days out of the time part, signs of day and time made equal.
    public func justifiedHours() throws(SQLError) -> Interval {
        var r = self
        let wholeday = r.micros / PGCal.usecsPerDay
        r.micros -= wholeday * PGCal.usecsPerDay
        let (d, o) = Int64(r.days).addingReportingOverflow(wholeday)
        if o || d > Int64(Int32.max) || d < Int64(Int32.min) { throw Self.outOfRange() }
        r.days = Int32(d)
        if r.days > 0 && r.micros < 0 {
            r.micros += PGCal.usecsPerDay
            r.days -= 1
        } else if r.days < 0 && r.micros > 0 {
            r.micros -= PGCal.usecsPerDay
            r.days += 1
        }
        return r
    }

    /// `justify_days`: whole 30-day months out of the day part.
    public func justifiedDays() throws(SQLError) -> Interval {
        var r = self
        let wholemonth = r.days / 30
        r.days -= wholemonth * 30
        let (m, o) = r.months.addingReportingOverflow(wholemonth)
        if o { throw Self.outOfRange() }
        r.months = m
        if r.months > 0 && r.days < 0 {
            r.days += 30
            r.months -= 1
        } else if r.months < 0 && r.days > 0 {
            r.days -= 30
            r.months += 1
        }
        return r
    }

    /// `justify_interval`: both, with all three signs made equal.
    public func justified() throws(SQLError) -> Interval {
        var r = self
        if (r.days > 0 && r.micros > 0) || (r.days < 0 && r.micros < 0) {
            let wholemonth = r.days / 30
            r.days -= wholemonth * 30
            let (m, o) = r.months.addingReportingOverflow(wholemonth)
            if o { throw Self.outOfRange() }
            r.months = m
        }
        let wholeday = r.micros / PGCal.usecsPerDay
        r.micros -= wholeday * PGCal.usecsPerDay
        let dd = Int64(r.days) + wholeday
        let wholemonth = dd / 30
        let dayRest = dd - wholemonth * 30
        let (m2, o2) = Int64(r.months).addingReportingOverflow(wholemonth)
        if o2 || m2 > Int64(Int32.max) || m2 < Int64(Int32.min) { throw Self.outOfRange() }
        r.months = Int32(m2)
        r.days = Int32(dayRest)
        if r.months > 0 && (r.days < 0 || (r.days == 0 && r.micros < 0)) {
            r.days += 30
            r.months -= 1
        } else if r.months < 0 && (r.days > 0 || (r.days == 0 && r.micros > 0)) {
            r.days -= 30
            r.months += 1
        }
        if r.days > 0 && r.micros < 0 {
            r.micros += PGCal.usecsPerDay
            r.days -= 1
        } else if r.days < 0 && r.micros > 0 {
            r.micros -= PGCal.usecsPerDay
            r.days += 1
        }
        return r
    }

    // MARK: Fields

    /// `interval2itm`: years, months, days, hours, minutes, seconds, microseconds (each with
    /// the sign of its source field, truncated toward zero).
    public var fields: (year: Int, mon: Int, mday: Int, hour: Int64, min: Int, sec: Int, usec: Int) {
        var t = micros
        let hour = t / PGCal.usecsPerHour
        t -= hour * PGCal.usecsPerHour
        let min = t / PGCal.usecsPerMinute
        t -= min * PGCal.usecsPerMinute
        let sec = t / PGCal.usecsPerSec
        t -= sec * PGCal.usecsPerSec
        return (Int(months / 12), Int(months % 12), Int(days), hour, Int(min), Int(sec), Int(t))
    }

    /// `itm2interval`.
    static func from(year: Int64, mon: Int64, mday: Int64, hour: Int64, min: Int64, sec: Int64, usec: Int64) -> Interval? {
        let total = year * 12 + mon
        guard total <= Int64(Int32.max), total >= Int64(Int32.min), mday <= Int64(Int32.max), mday >= Int64(Int32.min) else { return nil }
        let (a, o1) = hour.multipliedReportingOverflow(by: PGCal.usecsPerHour)
        if o1 { return nil }
        let (b, o2) = a.addingReportingOverflow(min * PGCal.usecsPerMinute)
        if o2 { return nil }
        let (c, o3) = b.addingReportingOverflow(sec * PGCal.usecsPerSec)
        if o3 { return nil }
        let (d, o4) = c.addingReportingOverflow(usec)
        if o4 { return nil }
        return Interval(months: Int32(total), days: Int32(mday), micros: d)
    }

    // MARK: Output

    /// `interval_out` in IntervalStyle postgres: `1 year 2 mons 3 days 04:05:06.5`,
    /// `-1 days +02:00:00`, `00:00:00`.
    public var description: String {
        let f = fields
        var out: [UInt8] = []
        out.reserveCapacity(64)
        var isZero = true
        var isBefore = false
        @inline(__always) func digits(_ v: UInt64) {
            var buf: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &buf) { b in
                var x = v
                var k = 20
                repeat {
                    k -= 1
                    b[k] = UInt8(48 + x % 10)
                    x /= 10
                } while x != 0
                out.append(contentsOf: b[k..<20])
            }
        }
        func add(_ value: Int, _ unit: StaticString) {
            if value == 0 { return }
            if !isZero { out.append(32) }
            if isBefore && value > 0 { out.append(43) }
            if value < 0 { out.append(45) }
            digits(UInt64(value.magnitude))
            out.append(32)
            unit.withUTF8Buffer { out.append(contentsOf: $0) }
            if value != 1 { out.append(115) }
            isBefore = value < 0
            isZero = false
        }
        add(f.year, "year")
        add(f.mon, "mon")
        add(f.mday, "day")
        if isZero || f.hour != 0 || f.min != 0 || f.sec != 0 || f.usec != 0 {
            let minus = f.hour < 0 || f.min < 0 || f.sec < 0 || f.usec < 0
            if !isZero { out.append(32) }
            if minus { out.append(45) } else if isBefore { out.append(43) }
            let h = f.hour.magnitude
            if h < 10 { out.append(48) }
            digits(h)
            out.append(58)
            let m = abs(f.min), sec = abs(f.sec)
            out.append(UInt8(48 + m / 10))
            out.append(UInt8(48 + m % 10))
            out.append(58)
            out.append(UInt8(48 + sec / 10))
            out.append(UInt8(48 + sec % 10))
            if f.usec != 0 {
                out.append(46)
                var u = abs(f.usec)
                var d = [UInt8](repeating: 48, count: 6)
                for k in stride(from: 5, through: 0, by: -1) {
                    d[k] = UInt8(48 + u % 10)
                    u /= 10
                }
                var end = 6
                while end > 1 && d[end - 1] == 48 { end -= 1 }
                out.append(contentsOf: d[0..<end])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `AppendSeconds`: `ss[.ffffff]` with trailing zeros of the fraction trimmed (signs dropped).
    static func appendSeconds(_ sec: Int, _ fsec: Int, precision: Int, fillZeros: Bool) -> String {
        var s = fillZeros ? pad(Int64(abs(sec)), 2) : String(abs(sec))
        if fsec != 0 {
            var v = abs(fsec)
            var digits = [UInt8](repeating: 48, count: precision)
            var k = precision - 1
            while k >= 0 {
                digits[k] = UInt8(48 + v % 10)
                v /= 10
                k -= 1
            }
            if v != 0 { return s + "." + String(abs(fsec)) }
            var end = precision
            while end > 0 && digits[end - 1] == 48 { end -= 1 }
            s += "." + String(decoding: digits[0..<end], as: UTF8.self)
        }
        return s
    }

    // MARK: Typmod

    /// INTERVAL_MASK bits (`1 << field`, with PostgreSQL's field numbers YEAR=2, MONTH=1,
    /// DAY=3, HOUR=10, MINUTE=11, SECOND=12); `fullRange` (0x7FFF) means no field restriction.
    public enum Field {
        public static let month: Int = 1 << 1
        public static let year: Int = 1 << 2
        public static let day: Int = 1 << 3
        public static let hour: Int = 1 << 10
        public static let minute: Int = 1 << 11
        public static let second: Int = 1 << 12
        public static let fullRange = 0x7FFF
        public static let fullPrecision = 0xFFFF
        static let valid: Set<Int> = [year, month, day, hour, minute, second, year | month, day | hour,
                                      day | hour | minute, day | hour | minute | second, hour | minute,
                                      hour | minute | second, minute | second, fullRange]
    }

    /// `intervaltypmodin`: the typmod for the modifiers libpg_query gives (`interval(2)` →
    /// `[32767, 2]`; `INTERVAL YEAR` → `[4]`; `DAY TO SECOND(3)` → `[4104 | 4096..., 3]`).
    /// Precision above 6 is reduced to 6 (PostgreSQL warns); -1 means unrestricted.
    public static func typmod(modifiers tl: [Int32]) throws(SQLError) -> Int32 {
        if !tl.isEmpty, !Field.valid.contains(Int(tl[0])) {
            throw SQLError(.invalidParameterValue, "invalid INTERVAL type modifier")
        }
        if tl.count == 1 {
            return Int(tl[0]) != Field.fullRange ? Int32((Int(tl[0]) & 0x7FFF) << 16 | Field.fullPrecision) : -1
        } else if tl.count == 2 {
            if tl[1] < 0 {
                throw SQLError(.invalidParameterValue, "INTERVAL(\(tl[1])) precision must not be negative")
            }
            let p = min(Int(tl[1]), 6)
            return Int32((Int(tl[0]) & 0x7FFF) << 16 | p)
        }
        throw SQLError(.invalidParameterValue, "invalid INTERVAL type modifier")
    }

    /// The range (field mask) of a typmod, `Field.fullRange` for -1.
    public static func range(ofTypmod typmod: Int32) -> Int { typmod < 0 ? Field.fullRange : (Int(typmod) >> 16) & 0x7FFF }

    /// `intervaltypmodout`: ` year to month(2)` etc. ("" for -1).
    public static func typmodText(_ typmod: Int32) -> String {
        if typmod < 0 { return "" }
        let fields = range(ofTypmod: typmod), precision = Int(typmod) & 0xFFFF
        let names: [Int: String] = [Field.year: " year", Field.month: " month", Field.day: " day", Field.hour: " hour",
                                    Field.minute: " minute", Field.second: " second", Field.year | Field.month: " year to month",
                                    Field.day | Field.hour: " day to hour", Field.day | Field.hour | Field.minute: " day to minute",
                                    Field.day | Field.hour | Field.minute | Field.second: " day to second",
                                    Field.hour | Field.minute: " hour to minute",
                                    Field.hour | Field.minute | Field.second: " hour to second",
                                    Field.minute | Field.second: " minute to second", Field.fullRange: ""]
        let f = names[fields] ?? ""
        return precision != Field.fullPrecision ? "\(f)(\(precision))" : f
    }

    /// `AdjustIntervalForTypmod` for a typmod (-1: unchanged).
    public func applying(typmod: Int32) throws(SQLError) -> Interval {
        if typmod < 0 { return self }
        let p = Int(typmod) & 0xFFFF
        return try applying(fields: Self.range(ofTypmod: typmod), precision: p == Field.fullPrecision ? nil : p)
    }

    /// `AdjustIntervalForTypmod`: zero the fields right of the last allowed one (`fields` is a
    /// `Field` mask, nil for all) and round the seconds to `precision` fractional digits.
    public func applying(fields: Int?, precision: Int?) throws(SQLError) -> Interval {
        var r = self
        let range = fields ?? Field.fullRange
        switch range {
        case Field.fullRange, Field.second, Field.day | Field.hour | Field.minute | Field.second,
             Field.hour | Field.minute | Field.second, Field.minute | Field.second:
            break
        case Field.year:
            r.months = (r.months / 12) * 12
            r.days = 0
            r.micros = 0
        case Field.month, Field.year | Field.month:
            r.days = 0
            r.micros = 0
        case Field.day:
            r.micros = 0
        case Field.hour, Field.day | Field.hour:
            r.micros = (r.micros / PGCal.usecsPerHour) * PGCal.usecsPerHour
        case Field.minute, Field.day | Field.hour | Field.minute, Field.hour | Field.minute:
            r.micros = (r.micros / PGCal.usecsPerMinute) * PGCal.usecsPerMinute
        default:
            throw SQLError(.internalError, "unrecognized interval typmod: \(range)")
        }
        if let precision, precision != Field.fullPrecision {
            guard precision >= 0, precision <= 6 else {
                throw SQLError(.invalidParameterValue, "interval(\(precision)) precision must be between 0 and 6")
            }
            let scales: [Int64] = [1_000_000, 100_000, 10_000, 1000, 100, 10, 1]
            let offsets: [Int64] = [500_000, 50_000, 5000, 500, 50, 5, 0]
            if r.micros >= 0 {
                r.micros = ((r.micros &+ offsets[precision]) / scales[precision]) &* scales[precision]
            } else {
                r.micros = 0 &- (((0 &- r.micros) &+ offsets[precision]) / scales[precision]) &* scales[precision]
            }
        }
        return r
    }

    // MARK: Input

    /// `interval_in`: PostgreSQL's interval input (postgres verbose/compact forms, SQL-standard
    /// `Y-M` and `D H:M:S`, ISO 8601 with designators and the alternative format), then the
    /// typmod. Errors: 22007 invalid input syntax for type interval, 22015 interval field value
    /// out of range, 22008 interval out of range.
    public static func parse(_ text: String, typmod: Int32 = -1) throws(SQLError) -> Interval {
        let range = range(ofTypmod: typmod)
        let bytes = Array(text.utf8)
        var result: IntervalIn
        do {
            do {
                let fields = try DTLexer.parse(bytes, bufLen: 256)
                result = try decodeInterval(fields, range: range)
            } catch .badFormat {
                result = try decodeISO8601Interval(bytes)
            }
        } catch {
            switch error {
            case .fieldOverflow, .intervalOverflow:
                throw SQLError(SQLState("22015"), "interval field value out of range: \"\(text)\"")
            default:
                throw SQLError(.invalidDatetimeFormat, "invalid input syntax for type interval: \"\(text)\"")
            }
        }
        let total = Int64(result.year) * 12 + Int64(result.mon)
        guard total <= Int64(Int32.max), total >= Int64(Int32.min) else { throw outOfRange() }
        let iv = Interval(months: Int32(total), days: result.mday, micros: result.usec)
        return try iv.applying(typmod: typmod)
    }

    /// `pg_itm_in`.
    struct IntervalIn {
        var usec: Int64 = 0
        var mday: Int32 = 0
        var mon: Int32 = 0
        var year: Int32 = 0

        mutating func adjustFractMicroseconds(_ frac0: Double, _ scale: Int64) -> Bool {
            if frac0 == 0 { return true }
            var frac = frac0 * Double(scale)
            var us = Int64(frac)
            frac -= Double(us)
            if frac > 0.5 { us += 1 } else if frac < -0.5 { us -= 1 }
            let (v, o) = usec.addingReportingOverflow(us)
            usec = v
            return !o
        }

        mutating func adjustFractDays(_ frac0: Double, _ scale: Int) -> Bool {
            if frac0 == 0 { return true }
            var frac = frac0 * Double(scale)
            let extra = Int32(truncatingIfNeeded: Int64(frac))
            let (v, o) = mday.addingReportingOverflow(extra)
            if o { return false }
            mday = v
            frac -= Double(extra)
            return adjustFractMicroseconds(frac, PGCal.usecsPerDay)
        }

        mutating func adjustFractYears(_ frac: Double, _ scale: Int) -> Bool {
            let extra = Int32(truncatingIfNeeded: Int64((frac * Double(scale) * 12).rounded(.toNearestOrEven)))
            let (v, o) = mon.addingReportingOverflow(extra)
            mon = v
            return !o
        }

        mutating func adjustMicroseconds(_ val: Int64, _ fval: Double, _ scale: Int64) -> Bool {
            let (p, o1) = val.multipliedReportingOverflow(by: scale)
            if o1 { return false }
            let (s, o2) = usec.addingReportingOverflow(p)
            if o2 { return false }
            usec = s
            return adjustFractMicroseconds(fval, scale)
        }

        mutating func adjustDays(_ val: Int64, _ scale: Int32) -> Bool {
            guard val >= Int64(Int32.min), val <= Int64(Int32.max) else { return false }
            let (d, o1) = Int32(val).multipliedReportingOverflow(by: scale)
            if o1 { return false }
            let (s, o2) = mday.addingReportingOverflow(d)
            if o2 { return false }
            mday = s
            return true
        }

        mutating func adjustMonths(_ val: Int64) -> Bool {
            guard val >= Int64(Int32.min), val <= Int64(Int32.max) else { return false }
            let (s, o) = mon.addingReportingOverflow(Int32(val))
            if o { return false }
            mon = s
            return true
        }

        mutating func adjustYears(_ val: Int64, _ scale: Int32) -> Bool {
            guard val >= Int64(Int32.min), val <= Int64(Int32.max) else { return false }
            let (y, o1) = Int32(val).multipliedReportingOverflow(by: scale)
            if o1 { return false }
            let (s, o2) = year.addingReportingOverflow(y)
            if o2 { return false }
            year = s
            return true
        }
    }

    /// `ParseFraction`: `b[i]` is '.'; the rest must be a valid number to the end.
    static func parseFraction(_ b: [UInt8], _ i: Int) throws(DTErr) -> Double {
        if i + 1 >= b.count { return 0 }
        let r = CNum.strtod(b, i)
        if r.end != b.count || r.erange || r.end == i { throw .badFormat }
        return r.value
    }

    /// `DecodeTimeCommon`: `h:m[:s][.f]` into hour (int64), min, sec, usec.
    static func decodeTimeCommon(_ b: [UInt8], range: Int) throws(DTErr) -> (hour: Int64, min: Int, sec: Int, usec: Int) {
        var r = CNum.strtol(b, 0)
        if r.overflow { throw .fieldOverflow }
        var hour = r.value
        var cp = r.end
        guard cp < b.count, b[cp] == UInt8(ascii: ":") else { throw .badFormat }
        r = CNum.strtol(b, cp + 1, bits: 32)
        if r.overflow { throw .fieldOverflow }
        var min = Int(r.value)
        cp = r.end
        var sec = 0
        var fsec = 0
        if cp >= b.count {
            if range == Field.minute | Field.second {
                guard hour <= Int64(Int32.max), hour >= Int64(Int32.min) else { throw .fieldOverflow }
                sec = min
                min = Int(hour)
                hour = 0
            }
        } else if b[cp] == UInt8(ascii: ".") {
            fsec = Int((try parseFraction(b, cp) * 1_000_000).rounded(.toNearestOrEven))
            guard hour <= Int64(Int32.max), hour >= Int64(Int32.min) else { throw .fieldOverflow }
            sec = min
            min = Int(hour)
            hour = 0
        } else if b[cp] == UInt8(ascii: ":") {
            r = CNum.strtol(b, cp + 1, bits: 32)
            if r.overflow { throw .fieldOverflow }
            sec = Int(r.value)
            cp = r.end
            if cp < b.count {
                if b[cp] == UInt8(ascii: ".") {
                    fsec = Int((try parseFraction(b, cp) * 1_000_000).rounded(.toNearestOrEven))
                } else {
                    throw .badFormat
                }
            }
        } else {
            throw .badFormat
        }
        if hour < 0 || min < 0 || min > 59 || sec < 0 || sec > 60 || fsec < 0 || fsec > 1_000_000 { throw .fieldOverflow }
        return (hour, min, sec, fsec)
    }

    static func decodeTimeForInterval(_ b: [UInt8], range: Int, into itm: inout IntervalIn) throws(DTErr) {
        let t = try decodeTimeCommon(b, range: range)
        var us = Int64(t.usec)
        func ma(_ v: Int64, _ m: Int64) throws(DTErr) {
            let (p, o1) = v.multipliedReportingOverflow(by: m)
            let (s, o2) = us.addingReportingOverflow(p)
            if o1 || o2 { throw .fieldOverflow }
            us = s
        }
        try ma(t.hour, PGCal.usecsPerHour)
        try ma(Int64(t.min), PGCal.usecsPerMinute)
        try ma(Int64(t.sec), PGCal.usecsPerSec)
        itm.usec = us
    }

    /// `DecodeInterval` (IntervalStyle postgres: no SQL-standard sign propagation).
    static func decodeInterval(_ fields: [DTField], range: Int) throws(DTErr) -> IntervalIn {
        var itm = IntervalIn()
        var fmask = 0
        var type = -1  // IGNORE_DTF
        var isBefore = false
        let ignore = -1
        var i = fields.count - 1
        while i >= 0 {
            let field = fields[i].text
            var tmask = 0
            var handled = false
            switch fields[i].type {
            case DTK.time:
                try decodeTimeForInterval(field, range: range, into: &itm)
                tmask = DTM.time
                type = DTK.day
                handled = true
            case DTK.tz:
                let rest = Array(field[1...])
                if rest.contains(UInt8(ascii: ":")) {
                    var tmp = itm
                    var ok = true
                    do { try decodeTimeForInterval(rest, range: range, into: &tmp) } catch { ok = false }
                    if ok {
                        itm = tmp
                        if field[0] == UInt8(ascii: "-") {
                            if itm.usec == Int64.min { throw .fieldOverflow }
                            itm.usec = -itm.usec
                        }
                        tmask = DTM.time
                        type = DTK.day
                        handled = true
                    }
                }
            default:
                break
            }
            if !handled {
                switch fields[i].type {
                case DTK.tz, DTK.date, DTK.number:
                    if type == ignore {
                        switch range {
                        case Field.year: type = DTK.year
                        case Field.month, Field.year | Field.month: type = DTK.month
                        case Field.day: type = DTK.day
                        case Field.hour, Field.day | Field.hour: type = DTK.hour
                        case Field.minute, Field.hour | Field.minute, Field.day | Field.hour | Field.minute: type = DTK.minute
                        default: type = DTK.second
                        }
                    }
                    let r = CNum.strtol(field, 0)
                    if r.overflow { throw .fieldOverflow }
                    var val = r.value
                    var cp = r.end
                    var fval = 0.0
                    if cp < field.count && field[cp] == UInt8(ascii: "-") {
                        let r2 = CNum.strtol(field, cp + 1, bits: 32)
                        if r2.overflow || r2.value < 0 || r2.value >= 12 { throw .fieldOverflow }
                        cp = r2.end
                        if cp < field.count { throw .badFormat }
                        type = DTK.month
                        var val2 = r2.value
                        if field[0] == UInt8(ascii: "-") { val2 = -val2 }
                        let (p, o1) = val.multipliedReportingOverflow(by: 12)
                        if o1 { throw .fieldOverflow }
                        let (s, o2) = p.addingReportingOverflow(val2)
                        if o2 { throw .fieldOverflow }
                        val = s
                    } else if cp < field.count && field[cp] == UInt8(ascii: ".") {
                        fval = try parseFraction(field, cp)
                        if field[0] == UInt8(ascii: "-") { fval = -fval }
                    } else if cp < field.count {
                        throw .badFormat
                    }
                    switch type {
                    case DTK.microsec:
                        guard itm.adjustMicroseconds(val, fval, 1) else { throw .fieldOverflow }
                        tmask = DTM.m(.microsecond)
                    case DTK.millisec:
                        guard itm.adjustMicroseconds(val, fval, 1000) else { throw .fieldOverflow }
                        tmask = DTM.m(.millisecond)
                    case DTK.second:
                        guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerSec) else { throw .fieldOverflow }
                        tmask = fval == 0 ? DTM.m(.second) : DTM.allSecs
                    case DTK.minute:
                        guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerMinute) else { throw .fieldOverflow }
                        tmask = DTM.m(.minute)
                    case DTK.hour:
                        guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerHour) else { throw .fieldOverflow }
                        tmask = DTM.m(.hour)
                        type = DTK.day
                    case DTK.day:
                        guard itm.adjustDays(val, 1), itm.adjustFractMicroseconds(fval, PGCal.usecsPerDay) else { throw .fieldOverflow }
                        tmask = DTM.m(.day)
                    case DTK.week:
                        guard itm.adjustDays(val, 7), itm.adjustFractDays(fval, 7) else { throw .fieldOverflow }
                        tmask = DTM.m(.week)
                    case DTK.month:
                        guard itm.adjustMonths(val), itm.adjustFractDays(fval, 30) else { throw .fieldOverflow }
                        tmask = DTM.m(.month)
                    case DTK.year:
                        guard itm.adjustYears(val, 1), itm.adjustFractYears(fval, 1) else { throw .fieldOverflow }
                        tmask = DTM.m(.year)
                    case DTK.decade:
                        guard itm.adjustYears(val, 10), itm.adjustFractYears(fval, 10) else { throw .fieldOverflow }
                        tmask = DTM.m(.decade)
                    case DTK.century:
                        guard itm.adjustYears(val, 100), itm.adjustFractYears(fval, 100) else { throw .fieldOverflow }
                        tmask = DTM.m(.century)
                    case DTK.millennium:
                        guard itm.adjustYears(val, 1000), itm.adjustFractYears(fval, 1000) else { throw .fieldOverflow }
                        tmask = DTM.m(.millennium)
                    default:
                        throw .badFormat
                    }
                case DTK.string, DTK.special:
                    let (t, uval) = DTTables.decodeUnits(field.dtString)
                    if t == .ignore {
                        i -= 1
                        continue
                    }
                    switch t {
                    case .units: type = uval
                    case .ago:
                        isBefore = true
                        type = uval
                    default: throw .badFormat
                    }
                default:
                    throw .badFormat
                }
            }
            if tmask & fmask != 0 { throw .badFormat }
            fmask |= tmask
            i -= 1
        }
        if fmask == 0 { throw .badFormat }
        if isBefore {
            if itm.usec == Int64.min || itm.mday == Int32.min || itm.mon == Int32.min || itm.year == Int32.min { throw .fieldOverflow }
            itm.usec = -itm.usec
            itm.mday = -itm.mday
            itm.mon = -itm.mon
            itm.year = -itm.year
        }
        return itm
    }

    /// `ParseISO8601Number`.
    static func parseISO8601Number(_ b: [UInt8], _ i: Int) throws(DTErr) -> (ipart: Int64, fpart: Double, end: Int) {
        guard i < b.count, DTLexer.isDigit(b[i]) || b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: ".") else { throw .badFormat }
        let r = CNum.strtod(b, i)
        if r.end == i || r.erange { throw .badFormat }
        let val = r.value
        if val.isNaN || val < -1.0e15 || val > 1.0e15 { throw .fieldOverflow }
        let ip = val >= 0 ? Int64(val.rounded(.down)) : -Int64((-val).rounded(.down))
        return (ip, val - Double(ip), r.end)
    }

    /// `DecodeISO8601Interval`: `P1Y2M3DT4H5M6S`, `P0001-02-03T04:05:06`, `P00010203T040506`.
    static func decodeISO8601Interval(_ b: [UInt8]) throws(DTErr) -> IntervalIn {
        var itm = IntervalIn()
        guard b.count >= 2, b[0] == UInt8(ascii: "P") else { throw .badFormat }
        var p = 1
        var datepart = true
        var havefield = false
        @inline(__always) func at(_ k: Int) -> UInt8 { k < b.count ? b[k] : 0 }
        func intWidth(_ start: Int) -> Int {
            var k = start
            if at(k) == UInt8(ascii: "-") { k += 1 }
            var n = 0
            while DTLexer.isDigit(at(k)) { k += 1; n += 1 }
            return n
        }
        while p < b.count {
            if b[p] == UInt8(ascii: "T") {
                datepart = false
                havefield = false
                p += 1
                continue
            }
            let fieldstart = p
            var (val, fval, end) = try parseISO8601Number(b, p)
            p = end
            let unit = at(p)
            p += 1
            if datepart {
                switch unit {
                case UInt8(ascii: "Y"):
                    guard itm.adjustYears(val, 1), itm.adjustFractYears(fval, 1) else { throw .fieldOverflow }
                case UInt8(ascii: "M"):
                    guard itm.adjustMonths(val), itm.adjustFractDays(fval, 30) else { throw .fieldOverflow }
                case UInt8(ascii: "W"):
                    guard itm.adjustDays(val, 7), itm.adjustFractDays(fval, 7) else { throw .fieldOverflow }
                case UInt8(ascii: "D"):
                    guard itm.adjustDays(val, 1), itm.adjustFractMicroseconds(fval, PGCal.usecsPerDay) else { throw .fieldOverflow }
                case UInt8(ascii: "T"), 0, UInt8(ascii: "-"):
                    if unit != UInt8(ascii: "-") && intWidth(fieldstart) == 8 && !havefield {
                        guard itm.adjustYears(val / 10000, 1), itm.adjustMonths((val / 100) % 100),
                              itm.adjustDays(val % 100, 1), itm.adjustFractMicroseconds(fval, PGCal.usecsPerDay) else { throw .fieldOverflow }
                        if unit == 0 { return itm }
                        datepart = false
                        havefield = false
                        continue
                    }
                    if havefield { throw .badFormat }
                    guard itm.adjustYears(val, 1), itm.adjustFractYears(fval, 1) else { throw .fieldOverflow }
                    if unit == 0 { return itm }
                    if unit == UInt8(ascii: "T") {
                        datepart = false
                        havefield = false
                        continue
                    }
                    (val, fval, end) = try parseISO8601Number(b, p)
                    p = end
                    guard itm.adjustMonths(val), itm.adjustFractDays(fval, 30) else { throw .fieldOverflow }
                    if p >= b.count { return itm }
                    if b[p] == UInt8(ascii: "T") {
                        datepart = false
                        havefield = false
                        continue
                    }
                    if b[p] != UInt8(ascii: "-") { throw .badFormat }
                    p += 1
                    (val, fval, end) = try parseISO8601Number(b, p)
                    p = end
                    guard itm.adjustDays(val, 1), itm.adjustFractMicroseconds(fval, PGCal.usecsPerDay) else { throw .fieldOverflow }
                    if p >= b.count { return itm }
                    if b[p] == UInt8(ascii: "T") {
                        datepart = false
                        havefield = false
                        continue
                    }
                    throw .badFormat
                default:
                    throw .badFormat
                }
            } else {
                switch unit {
                case UInt8(ascii: "H"):
                    guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerHour) else { throw .fieldOverflow }
                case UInt8(ascii: "M"):
                    guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerMinute) else { throw .fieldOverflow }
                case UInt8(ascii: "S"):
                    guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerSec) else { throw .fieldOverflow }
                case 0, UInt8(ascii: ":"):
                    if unit == 0 && intWidth(fieldstart) == 6 && !havefield {
                        guard itm.adjustMicroseconds(val / 10000, 0, PGCal.usecsPerHour),
                              itm.adjustMicroseconds((val / 100) % 100, 0, PGCal.usecsPerMinute),
                              itm.adjustMicroseconds(val % 100, 0, PGCal.usecsPerSec),
                              itm.adjustFractMicroseconds(fval, 1) else { throw .fieldOverflow }
                        return itm
                    }
                    if havefield { throw .badFormat }
                    guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerHour) else { throw .fieldOverflow }
                    if unit == 0 { return itm }
                    (val, fval, end) = try parseISO8601Number(b, p)
                    p = end
                    guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerMinute) else { throw .fieldOverflow }
                    if p >= b.count { return itm }
                    if b[p] != UInt8(ascii: ":") { throw .badFormat }
                    p += 1
                    (val, fval, end) = try parseISO8601Number(b, p)
                    p = end
                    guard itm.adjustMicroseconds(val, fval, PGCal.usecsPerSec) else { throw .fieldOverflow }
                    if p >= b.count { return itm }
                    throw .badFormat
                default:
                    throw .badFormat
                }
            }
            havefield = true
        }
        return itm
    }

    /// `make_interval(years, months, weeks, days, hours, mins, secs)`.
    public static func make(years: Int32 = 0, months: Int32 = 0, weeks: Int32 = 0, days: Int32 = 0, hours: Int32 = 0,
                            mins: Int32 = 0, secs: Double = 0) throws(SQLError) -> Interval {
        if secs.isInfinite || secs.isNaN { throw outOfRange() }
        // PostgreSQL does this arithmetic in C int/int64 without overflow checks (wrapping).
        let m = years &* 12 &+ months
        let d = weeks &* 7 &+ days
        let s = (secs * 1_000_000).rounded(.toNearestOrEven)
        // (C's out-of-range double→int64 conversion yields INT64_MIN on x86-64.)
        let t = Int64(hours) &* 3_600_000_000 &+ Int64(mins) &* 60_000_000 &+ (fitsInt64(s) ? Int64(s) : Int64.min)
        return Interval(months: m, days: d, micros: t)
    }
}
