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

/// A date/time literal as written: a date, an optional time of day and zone, or a special value.
struct DateTimeText {
    enum Special { case infinity, negativeInfinity, epoch }
    var special: Special?
    /// Days since 2000-01-01.
    var days: Int64 = 0
    var timeMicros: Int64 = 0
    /// Seconds east of UTC, when the text names a zone.
    var zoneSeconds: Int64?

    enum Failure: Error {
        /// Not a date/time at all (22007).
        case syntax
        /// A field outside its range, such as month 13 (22008).
        case fieldOutOfRange
    }

    /// Parses PostgreSQL's ISO forms: `[-]Y-M-D[( |T)HH:MM[:SS[.f]]][ ][Z|UTC|GMT|±HH[[:]MM]][ BC|AD]`,
    /// and `infinity`, `-infinity`, `epoch`.
    static func parse(_ text: String) throws(Failure) -> DateTimeText {
        var p = Scanner(bytes: Array(text.utf8))
        p.skipSpaces()
        let start = p.i
        switch p.word() {
        case "infinity", "+infinity": return try p.finish(DateTimeText(special: .infinity))
        case "-infinity": return try p.finish(DateTimeText(special: .negativeInfinity))
        case "epoch": return try p.finish(DateTimeText(special: .epoch))
        case "": break
        default: throw .syntax
        }
        p.i = start
        guard let y = p.number(maxDigits: 9), p.take(UInt8(ascii: "-")), let mo = p.number(maxDigits: 2),
              p.take(UInt8(ascii: "-")), let d = p.number(maxDigits: 2) else { throw .syntax }
        var out = DateTimeText()
        var time: Int64 = 0
        if p.peek == UInt8(ascii: "T") || p.peek == UInt8(ascii: "t") || p.peek == 32 {
            let save = p.i
            p.i += 1
            p.skipSpaces()
            if let h = p.number(maxDigits: 2) {
                guard p.take(UInt8(ascii: ":")), let mi = p.number(maxDigits: 2, minDigits: 2) else { throw .syntax }
                var sec: Int64 = 0, frac: Int64 = 0
                if p.take(UInt8(ascii: ":")) {
                    guard let s = p.number(maxDigits: 2, minDigits: 2) else { throw .syntax }
                    sec = s
                    if p.take(UInt8(ascii: ".")) { frac = try p.fraction() }
                }
                guard mi < 60, sec <= 60, h < 24 || (h == 24 && mi == 0 && sec == 0 && frac == 0) else { throw .fieldOutOfRange }
                time = ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac
            } else {
                p.i = save
            }
        }
        p.skipSpaces()
        out.zoneSeconds = try p.zone()
        p.skipSpaces()
        var year = y
        switch p.word() {
        case "bc":
            guard y > 0 else { throw .fieldOutOfRange }
            year = 1 - y
        case "ad", "": break
        default: throw .syntax
        }
        guard (1...12).contains(mo), d >= 1, d <= Civil.daysInMonth(year, mo), y > 0 else { throw .fieldOutOfRange }
        out.days = PGTime.days(year: year, month: mo, day: d)
        out.timeMicros = time
        return try p.finish(out)
    }

    /// A byte cursor for `parse`.
    struct Scanner {
        let bytes: [UInt8]
        var i = 0

        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func skipSpaces() { while let c = peek, c == 32 || c == 9 || c == 10 || c == 13 { i += 1 } }

        mutating func take(_ c: UInt8) -> Bool {
            guard peek == c else { return false }
            i += 1
            return true
        }

        /// A run of letters (lower-cased), with a leading sign kept.
        mutating func word() -> String {
            let start = i
            if let c = peek, c == UInt8(ascii: "-") || c == UInt8(ascii: "+"),
               i + 1 < bytes.count, Self.isLetter(bytes[i + 1]) { i += 1 }
            while let c = peek, Self.isLetter(c) { i += 1 }
            guard i > start else { return "" }
            let w = String(decoding: bytes[start..<i], as: UTF8.self).lowercased()
            if w == "-" || w == "+" { i = start; return "" }
            return w
        }

        static func isLetter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }

        mutating func number(maxDigits: Int, minDigits: Int = 1) -> Int64? {
            var n: Int64 = 0
            var k = 0
            while let c = peek, c >= 48, c <= 57, k < maxDigits {
                n = n * 10 + Int64(c - 48)
                i += 1
                k += 1
            }
            return k >= minDigits ? n : nil
        }

        /// Fractional seconds after the point, rounded to microseconds.
        mutating func fraction() throws(Failure) -> Int64 {
            var micros: Int64 = 0
            var scale: Int64 = 100_000
            var digits = 0
            var roundUp = false
            while let c = peek, c >= 48, c <= 57 {
                if scale > 0 {
                    micros += Int64(c - 48) * scale
                    scale /= 10
                } else if digits == 6 {
                    roundUp = c >= 53
                }
                digits += 1
                i += 1
            }
            guard digits > 0 else { throw .syntax }
            return micros + (roundUp ? 1 : 0)
        }

        /// `Z`, `UTC`, `GMT`, `±HH`, `±HH:MM`, `±HHMM` (seconds east of UTC), or nil.
        mutating func zone() throws(Failure) -> Int64? {
            guard let c = peek else { return nil }
            if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                i += 1
                let sign: Int64 = c == UInt8(ascii: "-") ? -1 : 1
                guard let h = number(maxDigits: 2) else { throw .syntax }
                var m: Int64 = 0
                if take(UInt8(ascii: ":")) {
                    guard let v = number(maxDigits: 2, minDigits: 2) else { throw .syntax }
                    m = v
                } else if let v = number(maxDigits: 2, minDigits: 2) {
                    m = v
                }
                guard h <= 15, m < 60 else { throw .fieldOutOfRange }
                return sign * (h * 3600 + m * 60)
            }
            let save = i
            switch word() {
            case "z", "utc", "gmt", "zulu": return 0
            default:
                i = save
                return nil
            }
        }

        func finish(_ v: DateTimeText) throws(Failure) -> DateTimeText {
            var s = self
            s.skipSpaces()
            guard s.i == bytes.count else { throw .syntax }
            return v
        }
    }
}
