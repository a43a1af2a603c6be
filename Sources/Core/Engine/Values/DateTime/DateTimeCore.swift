import Glibc

// Shared machinery for PostgreSQL's date/time code: Julian-day calendar arithmetic
// (date2j/j2date exactly as PostgreSQL computes them), C-library number parsing with C's
// semantics (strtol/strtod), the keyword tables of datetime.c, the ParseDateTime lexer, and
// the broken-down time conversions (timestamp2tm/tm2timestamp).

/// PostgreSQL's Julian-day calendar helpers.
public enum PGCal {
    public static let postgresEpochJDate = 2_451_545
    public static let unixEpochJDate = 2_440_588
    public static let usecsPerDay: Int64 = 86_400_000_000
    public static let usecsPerHour: Int64 = 3_600_000_000
    public static let usecsPerMinute: Int64 = 60_000_000
    public static let usecsPerSec: Int64 = 1_000_000
    /// Timestamp range: [4713-11-24 BC, 294277-01-01).
    public static let minTimestamp: Int64 = -211_813_488_000_000_000
    public static let endTimestamp: Int64 = 9_223_371_331_200_000_000
    /// Date range in days since 2000-01-01: [-2451545, 2145031949).
    public static let minDate: Int64 = -2_451_545
    public static let endDate: Int64 = 2_145_031_949

    static let dayTab: [[Int]] = [[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0],
                                  [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0]]
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let monthFullNames = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]
    static let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    @inline(__always) public static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    @inline(__always) static func daysIn(_ y: Int, _ m: Int) -> Int { dayTab[isLeap(y) ? 1 : 0][m - 1] }

    /// `date2j`: Julian day number of a proleptic Gregorian date (year 0 = 1 BC), computed in
    /// C `int` arithmetic (wrapping) exactly as PostgreSQL does.
    @inline(__always)
    public static func date2j(_ year: Int, _ month: Int, _ day: Int) -> Int {
        var y = Int32(truncatingIfNeeded: year), m = Int32(truncatingIfNeeded: month)
        if m > 2 {
            m &+= 1
            y &+= 4800
        } else {
            m &+= 13
            y &+= 4799
        }
        let century = y / 100
        var julian = y &* 365 &- 32167
        julian &+= y / 4 &- century &+ century / 4
        julian &+= 7834 &* m / 256 &+ Int32(truncatingIfNeeded: day)
        return Int(julian)
    }

    /// `j2date` (PostgreSQL's unsigned-arithmetic version).
    @inline(__always)
    public static func j2date(_ jd: Int) -> (year: Int, month: Int, day: Int) {
        var julian = UInt32(truncatingIfNeeded: jd)
        julian &+= 32044
        var quad = julian / 146_097
        let extra = (julian &- quad &* 146_097) &* 4 &+ 3
        julian &+= 60 &+ quad &* 3 &+ extra / 146_097
        quad = julian / 1461
        julian &-= quad &* 1461
        var y = Int(julian &* 4 / 1461)
        julian = (y != 0 ? (julian &+ 305) % 365 : (julian &+ 306) % 366) &+ 123
        y += Int(quad) * 4
        let q2 = julian &* 2141 / 65536
        let day = Int(julian) - Int(7834 &* q2 / 256)
        let month = (Int(q2) + 10) % 12 + 1
        return (y - 4800, month, day)
    }

    /// `j2day`: 0 = Sunday ... 6 = Saturday.
    @inline(__always)
    public static func j2day(_ jd: Int) -> Int {
        var d = (Int32(truncatingIfNeeded: jd) &+ 1) % 7
        if d < 0 { d += 7 }
        return Int(d)
    }

    /// `IS_VALID_JULIAN`.
    @inline(__always)
    static func isValidJulian(_ y: Int, _ m: Int, _ d: Int) -> Bool {
        (y > -4713 || (y == -4713 && m >= 11)) && (y < 5_874_898 || (y == 5_874_898 && m < 6))
    }

    @inline(__always) static func isValidTimestamp(_ t: Int64) -> Bool { t >= minTimestamp && t < endTimestamp }

    @inline(__always) static func isValidDate(_ d: Int64) -> Bool { d >= minDate && d < endDate }

    /// `time_overflows`.
    static func timeOverflows(_ hour: Int, _ min: Int, _ sec: Int, _ fsec: Int) -> Bool {
        if hour < 0 || hour > 24 || min < 0 || min >= 60 || sec < 0 || sec > 60 || fsec < 0 || fsec > 1_000_000 { return true }
        return (((hour * 60 + min) * 60 + sec) * 1_000_000 + fsec) > 86_400_000_000
    }

    @inline(__always) static func i32(_ v: Int) -> Int32 { Int32(truncatingIfNeeded: v) }

    /// `date2isoweek` (C int arithmetic).
    static func isoWeek(_ year: Int, _ mon: Int, _ mday: Int) -> Int {
        let dayn = i32(date2j(year, mon, mday))
        var day4 = i32(date2j(year, 1, 4))
        var day0 = i32(j2day(Int(day4 &- 1)))
        if dayn < day4 &- day0 {
            day4 = i32(date2j(Int(i32(year) &- 1), 1, 4))
            day0 = i32(j2day(Int(day4 &- 1)))
        }
        var result = (dayn &- (day4 &- day0)) / 7 &+ 1
        if result >= 52 {
            day4 = i32(date2j(Int(i32(year) &+ 1), 1, 4))
            day0 = i32(j2day(Int(day4 &- 1)))
            if dayn >= day4 &- day0 { result = (dayn &- (day4 &- day0)) / 7 &+ 1 }
        }
        return Int(result)
    }

    /// `date2isoyear` (year-zero-exists convention).
    static func isoYear(_ year: Int, _ mon: Int, _ mday: Int) -> Int {
        var y = i32(year)
        let dayn = i32(date2j(year, mon, mday))
        var day4 = i32(date2j(year, 1, 4))
        var day0 = i32(j2day(Int(day4 &- 1)))
        if dayn < day4 &- day0 {
            day4 = i32(date2j(Int(y &- 1), 1, 4))
            day0 = i32(j2day(Int(day4 &- 1)))
            y &-= 1
        }
        let result = (dayn &- (day4 &- day0)) / 7 &+ 1
        if result >= 52 {
            day4 = i32(date2j(Int(y &+ 1), 1, 4))
            day0 = i32(j2day(Int(day4 &- 1)))
            if dayn >= day4 &- day0 { y &+= 1 }
        }
        return Int(y)
    }

    /// `isoweek2j`: Julian day of the Monday of ISO week `week` of ISO year `year`.
    static func isoweek2j(_ year: Int, _ week: Int) -> Int {
        let day4 = i32(date2j(year, 1, 4))
        let day0 = i32(j2day(Int(day4 &- 1)))
        return Int((i32(week) &- 1) &* 7 &+ (day4 &- day0))
    }

    /// `date2isoyearday`.
    static func isoYearDay(_ year: Int, _ mon: Int, _ mday: Int) -> Int {
        Int(i32(date2j(year, mon, mday)) &- i32(isoweek2j(isoYear(year, mon, mday), 1)) &+ 1)
    }
}

/// A broken-down time (`struct pg_tm` plus `fsec`): year 0 is 1 BC, month 1-12.
public struct PGTm: Sendable, Equatable {
    public var year = 0, mon = 1, mday = 1, hour = 0, min = 0, sec = 0
    /// Microseconds within the second.
    public var fsec = 0
    public var wday = 0, yday = 0
    /// -1 when no zone applies.
    public var isdst = -1
    /// Seconds east of UTC.
    public var gmtoff = 0
    public var zone: String?

    public init() {}
    public init(year: Int, mon: Int, mday: Int, hour: Int = 0, min: Int = 0, sec: Int = 0, fsec: Int = 0) {
        self.year = year
        self.mon = mon
        self.mday = mday
        self.hour = hour
        self.min = min
        self.sec = sec
        self.fsec = fsec
    }
}

extension PGTm {
    /// `timestamp2tm` without a zone: breaks a timestamp (µs since 2000-01-01) into fields.
    /// nil when the Julian day is out of range.
    @inline(__always)
    static func from(timestamp dt: Int64) -> PGTm? {
        var date = dt / PGCal.usecsPerDay
        var time = dt - date * PGCal.usecsPerDay
        if time < 0 {
            time += PGCal.usecsPerDay
            date -= 1
        }
        date += Int64(PGCal.postgresEpochJDate)
        if date < 0 || date > Int64(Int32.max) { return nil }
        let (y, m, d) = PGCal.j2date(Int(date))
        var tm = PGTm(year: y, mon: m, mday: d)
        let t = Int(time)
        tm.hour = t / 3_600_000_000
        var r = t - tm.hour * 3_600_000_000
        tm.min = r / 60_000_000
        r -= tm.min * 60_000_000
        tm.sec = r / 1_000_000
        tm.fsec = r - tm.sec * 1_000_000
        return tm
    }

    /// `timestamp2tm` with a zone: a timestamptz (UTC µs since 2000-01-01) as local time in `zone`.
    /// `isdst`, `gmtoff` and `zone` are set.
    static func from(timestamptz dt: Int64, zone: TimeZoneRule) -> PGTm? {
        guard PGTm.from(timestamp: dt) != nil else { return nil }
        let q = dtFloorDiv(dt, 1_000_000)
        let fsec = Int(dt - q * 1_000_000)
        let tt = zone.typeAt(unixSeconds: q + TimeZoneRule.pgEpochUnixSeconds)
        let local = q + Int64(tt.utcOffset)
        let days = dtFloorDiv(local, 86_400)
        let sod = Int(local - days * 86_400)
        let jd = days + Int64(PGCal.postgresEpochJDate)
        if jd < 0 || jd > Int64(Int32.max) { return nil }
        let (y, m, d) = PGCal.j2date(Int(jd))
        var tm = PGTm(year: y, mon: m, mday: d, hour: sod / 3600, min: sod / 60 % 60, sec: sod % 60, fsec: fsec)
        tm.isdst = tt.isDST ? 1 : 0
        tm.gmtoff = tt.utcOffset
        tm.zone = tt.abbreviation
        return tm
    }

    /// `tm2timestamp` without a zone; nil when out of range.
    func toTimestamp() -> Int64? {
        guard PGCal.isValidJulian(year, mon, mday) else { return nil }
        let date = Int64(PGCal.date2j(year, mon, mday) - PGCal.postgresEpochJDate)
        let time = Int64(((hour * 60 + min) * 60 + sec)) * 1_000_000 + Int64(fsec)
        let (a, o1) = date.multipliedReportingOverflow(by: PGCal.usecsPerDay)
        let (r, o2) = a.addingReportingOverflow(time)
        if o1 || o2 { return nil }
        if (r < 0 && date > 0) || (r > 0 && date < -1) { return nil }
        guard PGCal.isValidTimestamp(r) else { return nil }
        return r
    }

    /// `tm2timestamp` with a zone offset (seconds east): the UTC instant.
    func toTimestamp(offsetEast: Int) -> Int64? {
        guard PGCal.isValidJulian(year, mon, mday) else { return nil }
        let date = Int64(PGCal.date2j(year, mon, mday) - PGCal.postgresEpochJDate)
        let time = Int64(((hour * 60 + min) * 60 + sec)) * 1_000_000 + Int64(fsec)
        let (a, o1) = date.multipliedReportingOverflow(by: PGCal.usecsPerDay)
        let (r0, o2) = a.addingReportingOverflow(time)
        if o1 || o2 { return nil }
        if (r0 < 0 && date > 0) || (r0 > 0 && date < -1) { return nil }
        let r = r0 &- Int64(offsetEast) &* 1_000_000
        guard PGCal.isValidTimestamp(r) else { return nil }
        return r
    }

    /// Local time (µs since 2000-01-01, no range check beyond Julian validity) for zone lookups.
    var localMicros: Int64 {
        let date = Int64(PGCal.date2j(year, mon, mday) - PGCal.postgresEpochJDate)
        return date &* PGCal.usecsPerDay &+ Int64(((hour * 60 + min) * 60 + sec)) &* 1_000_000
    }

    /// `DetermineTimeZoneOffset`: the offset (seconds east) of this local time in `zone`.
    func zoneOffset(_ zone: TimeZoneRule) -> (offset: Int, isDST: Bool) {
        guard PGCal.isValidJulian(year, mon, mday) else { return (0, false) }
        let days = Int64(PGCal.date2j(year, mon, mday) - PGCal.unixEpochJDate)
        let mytime = days * 86_400 + Int64((hour * 60 + min) * 60 + sec)
        let r = zone.offsetEast(forLocalUnixSeconds: mytime)
        return (r.seconds, r.isDST)
    }
}

// MARK: - C number parsing

/// C library number parsing with C semantics (leading white space, sign, end pointer, ERANGE).
enum CNum {
    /// `strtol`-style parse of a base-10 integer starting at `i`: returns value, end index
    /// (== i when no digits), and whether it overflowed `bits` bits.
    static func strtol(_ b: [UInt8], _ i: Int, bits: Int = 64) -> (value: Int64, end: Int, overflow: Bool) {
        var p = i
        while p < b.count, dtIsSpace(b[p]) { p += 1 }
        var neg = false
        if p < b.count, b[p] == UInt8(ascii: "-") || b[p] == UInt8(ascii: "+") {
            neg = b[p] == UInt8(ascii: "-")
            p += 1
        }
        let digitsStart = p
        var mag: UInt64 = 0
        var over = false
        while p < b.count, b[p] >= 48, b[p] <= 57 {
            let (m1, o1) = mag.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(b[p] - 48))
            if o1 || o2 { over = true }
            mag = m2
            p += 1
        }
        if p == digitsStart { return (0, i, false) }
        let limit: UInt64 = bits == 64 ? UInt64(Int64.max) : UInt64(Int32.max)
        if over || mag > limit + (neg ? 1 : 0) {
            let v: Int64 = bits == 64 ? (neg ? Int64.min : Int64.max) : (neg ? Int64(Int32.min) : Int64(Int32.max))
            return (v, p, true)
        }
        let v = neg ? (mag == limit + 1 ? (bits == 64 ? Int64.min : Int64(Int32.min)) : -Int64(mag)) : Int64(mag)
        return (v, p, false)
    }

    /// `strtod` from index `i`: value, end index (== i when nothing parsed), ERANGE flag.
    static func strtod(_ b: [UInt8], _ i: Int) -> (value: Double, end: Int, erange: Bool) {
        var tmp = Array(b[i...])
        tmp.append(0)
        return tmp.withUnsafeBufferPointer { buf in
            // (tmp holds at least the terminator, so it has a base address)
            guard let base = buf.baseAddress else { return (0, i, false) }
            return base.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
                var end: UnsafeMutablePointer<CChar>?
                errno = 0
                let v = Glibc.strtod(p, &end)
                let used = end.map { $0 - UnsafeMutablePointer(mutating: p) } ?? 0
                return (v, i + used, errno == ERANGE)
            }
        }
    }

    /// `strtod` that must consume the whole (non-empty) string; nil otherwise.
    static func strtodWhole(_ s: String) -> Double? {
        let b = Array(s.utf8)
        guard !b.isEmpty else { return nil }
        let r = strtod(b, 0)
        return r.end == b.count && r.end > 0 ? r.value : nil
    }
}

// MARK: - Keyword tables (datetime.c)

enum DTType: Int {
    case reserv = 0, month = 1, year = 2, day = 3, julian = 4, tz = 5, dtz = 6, dyntz = 7, ignore = 8, ampm = 9,
         hour = 10, minute = 11, second = 12, millisecond = 13, microsecond = 14, doy = 15, dow = 16, units = 17,
         adbc = 18, ago = 19, isotime = 23, week = 24, decade = 25, century = 26, millennium = 27, dtzmod = 28,
         unknown = 31
}

/// DTK_* token values.
enum DTK {
    static let number = 0, string = 1, date = 2, time = 3, tz = 4, special = 6
    static let early = 9, late = 10, epoch = 11, now = 12, yesterday = 13, today = 14, tomorrow = 15, zulu = 16
    static let delta = 17, second = 18, minute = 19, hour = 20, day = 21, week = 22, month = 23, quarter = 24,
               year = 25, decade = 26, century = 27, millennium = 28, millisec = 29, microsec = 30, julian = 31
    static let dow = 32, doy = 33, tzHour = 34, tzMinute = 35, isoyear = 36, isodow = 37
}

/// DTK_M bit masks.
enum DTM {
    @inline(__always) static func m(_ t: DTType) -> Int { 1 << t.rawValue }
    static let allSecs = m(.second) | m(.millisecond) | m(.microsecond)
    static let date = m(.year) | m(.month) | m(.day)
    static let time = m(.hour) | m(.minute) | allSecs
}

enum DTTables {
    static let am = 0, pm = 1, hr24 = 2
    static let ad = 0, bc = 1

    /// datetktbl: date/time keywords.
    static let dateTokens: [String: (DTType, Int)] = [
        "-infinity": (.reserv, DTK.early), "ad": (.adbc, ad), "allballs": (.reserv, DTK.zulu), "am": (.ampm, am),
        "apr": (.month, 4), "april": (.month, 4), "at": (.ignore, 0), "aug": (.month, 8), "august": (.month, 8),
        "bc": (.adbc, bc), "d": (.units, DTK.day), "dec": (.month, 12), "december": (.month, 12),
        "dow": (.units, DTK.dow), "doy": (.units, DTK.doy), "dst": (.dtzmod, 3600), "epoch": (.reserv, DTK.epoch),
        "feb": (.month, 2), "february": (.month, 2), "fri": (.dow, 5), "friday": (.dow, 5), "h": (.units, DTK.hour),
        "infinity": (.reserv, DTK.late), "isodow": (.units, DTK.isodow), "isoyear": (.units, DTK.isoyear),
        "j": (.units, DTK.julian), "jan": (.month, 1), "january": (.month, 1), "jd": (.units, DTK.julian),
        "jul": (.month, 7), "julian": (.units, DTK.julian), "july": (.month, 7), "jun": (.month, 6),
        "june": (.month, 6), "m": (.units, DTK.month), "mar": (.month, 3), "march": (.month, 3), "may": (.month, 5),
        "mm": (.units, DTK.minute), "mon": (.dow, 1), "monday": (.dow, 1), "nov": (.month, 11),
        "november": (.month, 11), "now": (.reserv, DTK.now), "oct": (.month, 10), "october": (.month, 10),
        "on": (.ignore, 0), "pm": (.ampm, pm), "s": (.units, DTK.second), "sat": (.dow, 6), "saturday": (.dow, 6),
        "sep": (.month, 9), "sept": (.month, 9), "september": (.month, 9), "sun": (.dow, 0), "sunday": (.dow, 0),
        "t": (.isotime, DTK.time), "thu": (.dow, 4), "thur": (.dow, 4), "thurs": (.dow, 4), "thursday": (.dow, 4),
        "today": (.reserv, DTK.today), "tomorrow": (.reserv, DTK.tomorrow), "tue": (.dow, 2), "tues": (.dow, 2),
        "tuesday": (.dow, 2), "wed": (.dow, 3), "wednesday": (.dow, 3), "weds": (.dow, 3), "y": (.units, DTK.year),
        "yesterday": (.reserv, DTK.yesterday),
    ]

    /// deltatktbl: interval units (also EXTRACT/date_trunc fields).
    static let deltaTokens: [String: (DTType, Int)] = [
        "ago": (.ago, 0), "c": (.units, DTK.century), "cent": (.units, DTK.century),
        "centuries": (.units, DTK.century), "century": (.units, DTK.century), "d": (.units, DTK.day),
        "day": (.units, DTK.day), "days": (.units, DTK.day), "dec": (.units, DTK.decade),
        "decade": (.units, DTK.decade), "decades": (.units, DTK.decade), "decs": (.units, DTK.decade),
        "h": (.units, DTK.hour), "hour": (.units, DTK.hour), "hours": (.units, DTK.hour), "hr": (.units, DTK.hour),
        "hrs": (.units, DTK.hour), "m": (.units, DTK.minute), "microsecon": (.units, DTK.microsec),
        "mil": (.units, DTK.millennium), "millennia": (.units, DTK.millennium),
        "millennium": (.units, DTK.millennium), "millisecon": (.units, DTK.millisec),
        "mils": (.units, DTK.millennium), "min": (.units, DTK.minute), "mins": (.units, DTK.minute),
        "minute": (.units, DTK.minute), "minutes": (.units, DTK.minute), "mon": (.units, DTK.month),
        "mons": (.units, DTK.month), "month": (.units, DTK.month), "months": (.units, DTK.month),
        "ms": (.units, DTK.millisec), "msec": (.units, DTK.millisec), "msecond": (.units, DTK.millisec),
        "mseconds": (.units, DTK.millisec), "msecs": (.units, DTK.millisec), "qtr": (.units, DTK.quarter),
        "quarter": (.units, DTK.quarter), "s": (.units, DTK.second), "sec": (.units, DTK.second),
        "second": (.units, DTK.second), "seconds": (.units, DTK.second), "secs": (.units, DTK.second),
        "timezone": (.units, DTK.tz), "timezone_h": (.units, DTK.tzHour), "timezone_m": (.units, DTK.tzMinute),
        "us": (.units, DTK.microsec), "usec": (.units, DTK.microsec), "usecond": (.units, DTK.microsec),
        "useconds": (.units, DTK.microsec), "usecs": (.units, DTK.microsec), "w": (.units, DTK.week),
        "week": (.units, DTK.week), "weeks": (.units, DTK.week), "y": (.units, DTK.year),
        "year": (.units, DTK.year), "years": (.units, DTK.year), "yr": (.units, DTK.year),
        "yrs": (.units, DTK.year),
    ]

    /// A lookup comparing at most TOKMAXLEN (10) characters, as `datebsearch` does.
    @inline(__always)
    static func find(_ table: [String: (DTType, Int)], _ key: String) -> (DTType, Int)? {
        if let v = table[key] { return v }
        if key.utf8.count > 10 {
            let p = String(decoding: key.utf8.prefix(10), as: UTF8.self)
            if let v = table[p] { return v }
        }
        return nil
    }

    /// `DecodeSpecial`.
    static func decodeSpecial(_ key: String) -> (DTType, Int) { find(dateTokens, key) ?? (.unknown, 0) }

    /// `DecodeUnits`.
    static func decodeUnits(_ key: String) -> (DTType, Int) { find(deltaTokens, key) ?? (.unknown, 0) }
}

// MARK: - ParseDateTime

/// DTERR_* codes.
enum DTErr: Error {
    case badFormat, fieldOverflow, mdFieldOverflow, intervalOverflow, tzdispOverflow
}

struct DTField {
    var text: [UInt8]
    var type: Int
}

enum DTLexer {
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }
    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }
    @inline(__always) static func isPunct(_ c: UInt8) -> Bool {
        (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)
    }

    /// `ParseDateTime`: splits `s` into typed fields. `bufLen` is the size of PostgreSQL's work
    /// buffer for the type (inputs needing more are rejected as bad format), `maxFields` 25.
    static func parse(_ s: [UInt8], bufLen: Int, maxFields: Int = 25) throws(DTErr) -> [DTField] {
        var fields: [DTField] = []
        var used = 0
        var i = 0
        let n = s.count
        @inline(__always) func at(_ k: Int) -> UInt8 { k < n ? s[k] : 0 }
        while i < n {
            let c = s[i]
            if c == 0 { break }
            if dtIsSpace(c) {
                i += 1
                continue
            }
            if fields.count >= maxFields { throw .badFormat }
            var f: [UInt8] = []
            var ftype = DTK.number
            @inline(__always) func append(_ ch: UInt8) throws(DTErr) {
                if used + f.count + 1 >= bufLen { throw .badFormat }
                f.append(ch)
            }
            if isDigit(c) {
                try append(c); i += 1
                while isDigit(at(i)) { try append(at(i)); i += 1 }
                if at(i) == UInt8(ascii: ":") {
                    ftype = DTK.time
                    try append(at(i)); i += 1
                    while isDigit(at(i)) || at(i) == UInt8(ascii: ":") || at(i) == UInt8(ascii: ".") { try append(at(i)); i += 1 }
                } else if at(i) == UInt8(ascii: "-") || at(i) == UInt8(ascii: "/") || at(i) == UInt8(ascii: ".") {
                    let delim = at(i)
                    try append(at(i)); i += 1
                    if isDigit(at(i)) {
                        ftype = delim == UInt8(ascii: ".") ? DTK.number : DTK.date
                        while isDigit(at(i)) { try append(at(i)); i += 1 }
                        if at(i) == delim {
                            ftype = DTK.date
                            try append(at(i)); i += 1
                            while isDigit(at(i)) || at(i) == delim { try append(at(i)); i += 1 }
                        }
                    } else {
                        ftype = DTK.date
                        while isAlnum(at(i)) || at(i) == delim { try append(lower(at(i))); i += 1 }
                    }
                } else {
                    ftype = DTK.number
                }
            } else if c == UInt8(ascii: ".") {
                try append(c); i += 1
                while isDigit(at(i)) { try append(at(i)); i += 1 }
                ftype = DTK.number
            } else if isAlpha(c) {
                ftype = DTK.string
                try append(lower(c)); i += 1
                while isAlpha(at(i)) { try append(lower(at(i))); i += 1 }
                var isDate = false
                let nc = at(i)
                if nc == UInt8(ascii: "-") || nc == UInt8(ascii: "/") || nc == UInt8(ascii: ".") {
                    isDate = true
                } else if nc == UInt8(ascii: "+") || isDigit(nc) {
                    if DTTables.find(DTTables.dateTokens, String(decoding: f, as: UTF8.self)) == nil { isDate = true }
                }
                if isDate {
                    ftype = DTK.date
                    repeat {
                        try append(lower(at(i))); i += 1
                    } while at(i) == UInt8(ascii: "+") || at(i) == UInt8(ascii: "-") || at(i) == UInt8(ascii: "/")
                        || at(i) == UInt8(ascii: "_") || at(i) == UInt8(ascii: ".") || at(i) == UInt8(ascii: ":")
                        || isAlnum(at(i))
                }
            } else if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                try append(c); i += 1
                while dtIsSpace(at(i)) && i < n { i += 1 }
                if isDigit(at(i)) {
                    ftype = DTK.tz
                    try append(at(i)); i += 1
                    while isDigit(at(i)) || at(i) == UInt8(ascii: ":") || at(i) == UInt8(ascii: ".") || at(i) == UInt8(ascii: "-") {
                        try append(at(i)); i += 1
                    }
                } else if isAlpha(at(i)) {
                    ftype = DTK.special
                    try append(lower(at(i))); i += 1
                    while isAlpha(at(i)) { try append(lower(at(i))); i += 1 }
                } else {
                    throw .badFormat
                }
            } else if isPunct(c) {
                i += 1
                continue
            } else {
                throw .badFormat
            }
            used += f.count + 1
            fields.append(DTField(text: f, type: ftype))
        }
        return fields
    }
}

extension Array where Element == UInt8 {
    @inline(__always) var dtString: String { String(decoding: self, as: UTF8.self) }
}
