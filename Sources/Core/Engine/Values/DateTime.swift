import DriftStorage

/// Calendar arithmetic on the proleptic Gregorian calendar (days since 1970-01-01; year 0 is 1 BC).
public enum Civil {
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func date(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// PostgreSQL's representation of dates and timestamps, which values use as they are: a date
/// is days since 2000-01-01 (Int32; `Int32.min`/`Int32.max` are -infinity/infinity), a
/// timestamp microseconds since 2000-01-01 00:00 (Int64; `Int64.min`/`Int64.max` likewise),
/// with PostgreSQL's range limits. The log's commit times stay Unix microseconds.
public enum PGTime {
    public static let microsPerDay: Int64 = 86_400_000_000
    /// 2000-01-01 in Unix days and microseconds.
    public static let epochUnixDays: Int64 = 10_957
    public static let epochUnixMicros: Int64 = 946_684_800_000_000
    /// 4714-11-24 BC (Julian day 0), in days since 2000-01-01: the first valid date.
    public static let dateMin: Int64 = -2_451_545
    /// 5874898-01-01: the first date past the range.
    public static let dateEnd: Int64 = 2_145_031_949
    /// 4714-11-24 BC 00:00, the first valid timestamp.
    public static let timestampMin: Int64 = -211_813_488_000_000_000
    /// 294277-01-01 00:00, the first timestamp past the range.
    public static let timestampEnd: Int64 = 9_223_371_331_200_000_000

    public static let dateInfinity = Int32.max
    public static let dateNegativeInfinity = Int32.min
    public static let infinity = Int64.max
    public static let negativeInfinity = Int64.min

    /// A commit time (Unix µs; `Int64.max` for "still current") as a timestamptz value.
    public static func fromUnix(_ unixMicros: Int64) -> Int64 {
        if unixMicros == Int64.max || unixMicros == Int64.min { return unixMicros }
        return unixMicros - epochUnixMicros
    }

    /// A timestamptz value as Unix µs for commit-time comparisons (infinities saturate).
    public static func unix(_ micros: Int64) -> Int64 {
        if micros == Int64.max || micros == Int64.min { return micros }
        let (v, overflow) = micros.addingReportingOverflow(epochUnixMicros)
        return overflow ? (micros > 0 ? Int64.max : Int64.min) : v
    }

    /// Days since 2000-01-01 of a civil date.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        Civil.days(year: year, month: month, day: day) - epochUnixDays
    }

    /// `days * µs per day + time`, or nil when that leaves PostgreSQL's timestamp range.
    static func timestamp(days: Int64, timeMicros: Int64) -> Int64? {
        let (a, o1) = days.multipliedReportingOverflow(by: microsPerDay)
        let (b, o2) = a.addingReportingOverflow(timeMicros)
        guard !o1, !o2, b >= timestampMin, b < timestampEnd else { return nil }
        return b
    }

    public static func isValidDate(_ days: Int64) -> Bool { days >= dateMin && days < dateEnd }

    // MARK: Output

    static func yearText(_ y: Int64) -> (String, bc: Bool) {
        y <= 0 ? (pad(1 - y, 4), true) : (pad(y, 4), false)
    }

    public static func formatDate(_ days: Int32) -> String {
        if days == dateInfinity { return "infinity" }
        if days == dateNegativeInfinity { return "-infinity" }
        let (y, m, d) = Civil.date(days: Int64(days) + epochUnixDays)
        let (year, bc) = yearText(y)
        return "\(year)-\(pad(m, 2))-\(pad(d, 2))" + (bc ? " BC" : "")
    }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff][+00][ BC]`; timestamptz prints in UTC, the session zone.
    public static func formatTimestamp(_ micros: Int64, withZone: Bool) -> String {
        if micros == infinity { return "infinity" }
        if micros == negativeInfinity { return "-infinity" }
        var days = micros / microsPerDay
        var rem = micros % microsPerDay
        if rem < 0 {
            rem += microsPerDay
            days -= 1
        }
        let (y, m, d) = Civil.date(days: days + epochUnixDays)
        let secs = rem / 1_000_000
        let frac = rem % 1_000_000
        let (year, bc) = yearText(y)
        var s = "\(year)-\(pad(m, 2))-\(pad(d, 2)) \(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
        if frac != 0 {
            var f = pad(frac, 6)
            while f.hasSuffix("0") { f.removeLast() }
            s += "." + f
        }
        if withZone { s += "+00" }
        if bc { s += " BC" }
        return s
    }
}

func pad(_ v: Int64, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
