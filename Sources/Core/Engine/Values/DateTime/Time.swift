// PostgreSQL's `time` (without time zone): Int64 microseconds since midnight, 0 ... 24:00:00.

public enum PGTimeOfDay {
    public static let end: Int64 = 86_400_000_000

    /// `time_in` (see `PGDateTime.time`): '04:05', '04:05:06.789', '040506', '4:05 PM',
    /// '24:00:00', 'allballs', '04:05:06 PST' (zone ignored), with typmod rounding.
    public static func parse(_ text: String, typmod: Int32 = -1, _ ctx: DateTimeContext = DateTimeContext()) throws(SQLError) -> Int64 {
        try PGDateTime.time(text, typmod: typmod, ctx)
    }

    /// `AdjustTimeForTypmod`: rounds to `typmod` (0-6) fractional digits (may give 24:00:00).
    public static func round(_ t: Int64, typmod: Int32) -> Int64 {
        guard typmod >= 0, typmod <= 6 else { return t }
        let scales: [Int64] = [1_000_000, 100_000, 10_000, 1000, 100, 10, 1]
        let offsets: [Int64] = [500_000, 50_000, 5000, 500, 50, 5, 0]
        let p = Int(typmod)
        return t >= 0 ? ((t + offsets[p]) / scales[p]) * scales[p] : -(((-t + offsets[p]) / scales[p]) * scales[p])
    }

    /// `time2tm`.
    static func tm(_ t: Int64) -> PGTm {
        var tm = PGTm()
        var time = t
        tm.hour = Int(time / PGCal.usecsPerHour)
        time -= Int64(tm.hour) * PGCal.usecsPerHour
        tm.min = Int(time / PGCal.usecsPerMinute)
        time -= Int64(tm.min) * PGCal.usecsPerMinute
        tm.sec = Int(time / PGCal.usecsPerSec)
        tm.fsec = Int(time - Int64(tm.sec) * PGCal.usecsPerSec)
        return tm
    }

    /// `time_out`: `HH:MM:SS[.ffffff]` (trailing zeros of the fraction trimmed).
    public static func format(_ t: Int64) -> String {
        let x = tm(t)
        return PGDateTime.twoDigits(x.hour) + ":" + PGDateTime.twoDigits(x.min) + ":"
            + Interval.appendSeconds(x.sec, x.fsec, precision: 6, fillZeros: true)
    }

    /// `make_time(hour, min, sec)`: 22008 `time field value out of range: h:mm:ss`.
    public static func make(hour: Int32, min: Int32, sec: Double) throws(SQLError) -> Int64 {
        if floatTimeOverflows(Int(hour), Int(min), sec) {
            throw SQLError(.datetimeFieldOverflow, "time field value out of range: \(hour):\(pad(Int64(min), 2)):\(PGFloat.formatG(sec, width: 2))")
        }
        return (Int64(hour) * 60 + Int64(min)) * 60 * 1_000_000 + Int64((sec * 1_000_000).rounded(.toNearestOrEven))
    }

    /// `float_time_overflows`.
    static func floatTimeOverflows(_ hour: Int, _ min: Int, _ sec0: Double) -> Bool {
        if hour < 0 || hour > 24 || min < 0 || min >= 60 { return true }
        if sec0.isNaN { return true }
        let sec = (sec0 * 1_000_000).rounded(.toNearestOrEven)
        if sec < 0 || sec > 60_000_000 { return true }
        if (Double((hour * 60 + min) * 60) * 1_000_000 + sec) > 86_400_000_000 { return true }
        return false
    }

    /// time + interval (wraps around midnight, months and days ignored): `time_pl_interval`.
    public static func add(_ t: Int64, _ span: Interval) -> Int64 {
        var r = (t &+ span.micros) % end
        if r < 0 { r += end }
        return r
    }

    /// time - interval: `time_mi_interval`.
    public static func subtract(_ t: Int64, _ span: Interval) -> Int64 {
        var r = (t &- span.micros) % end
        if r < 0 { r += end }
        return r
    }

    /// time - time → interval (microseconds only): `time_mi_time`.
    public static func difference(_ a: Int64, _ b: Int64) -> Interval { Interval(micros: a - b) }

    /// `extract(field FROM time)` as numeric text (`date_part` as Double via `Double(...)`):
    /// microseconds, milliseconds, second, minute, hour, epoch.
    public static func extract(_ field: String, _ t: Int64, numeric: Bool = true) throws(SQLError) -> String {
        let low = field.lowercased()
        var (type, val) = DTTables.decodeUnits(low)
        if type == .unknown { (type, val) = DTTables.decodeSpecial(low) }
        let x = tm(t)
        if type == .units {
            switch val {
            case DTK.microsec: return String(x.sec * 1_000_000 + x.fsec)
            case DTK.millisec:
                return numeric ? PGNumeric.divPow10(Int64(x.sec * 1_000_000 + x.fsec), 3) : PGFloat.format(Double(x.sec) * 1000 + Double(x.fsec) / 1000)
            case DTK.second:
                return numeric ? PGNumeric.divPow10(Int64(x.sec * 1_000_000 + x.fsec), 6) : PGFloat.format(Double(x.sec) + Double(x.fsec) / 1_000_000)
            case DTK.minute: return String(x.min)
            case DTK.hour: return String(x.hour)
            default:
                throw SQLError(.featureNotSupported, "unit \"\(low)\" not supported for type time without time zone")
            }
        } else if type == .reserv && val == DTK.epoch {
            return numeric ? PGNumeric.divPow10(t, 6) : PGFloat.format(Double(t) / 1_000_000)
        }
        throw SQLError(.invalidParameterValue, "unit \"\(low)\" not recognized for type time without time zone")
    }
}
