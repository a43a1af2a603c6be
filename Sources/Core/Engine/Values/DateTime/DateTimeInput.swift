// PostgreSQL's date/time input (datetime.c's DecodeDateTime / DecodeTimeOnly and helpers),
// and the text output of date, timestamp and timestamptz in DateStyle ISO.

/// Session state the date/time functions need: the TimeZone setting, the transaction start
/// time (for 'now', 'today', ... and `age(ts)`), and the DateStyle field order.
public struct DateTimeContext: Sendable {
    public enum DateOrder: Sendable { case mdy, dmy, ymd }
    public var timeZone: TimeZoneRule
    /// Transaction start, UTC µs since 2000-01-01 (what `now()` returns).
    public var now: Int64
    public var dateOrder: DateOrder

    public init(timeZone: TimeZoneRule = .utc, now: Int64 = 0, dateOrder: DateOrder = .mdy) {
        self.timeZone = timeZone
        self.now = now
        self.dateOrder = dateOrder
    }
}

/// The outcome of `DecodeDateTime`.
struct DecodedDateTime {
    var dtype = DTK.date
    var tm = PGTm()
    /// Zone offset in PostgreSQL's sign convention (seconds *west* of UTC), when one was
    /// determined (given in the text, or the session zone's).
    var tz = 0
}

enum DTDecoder {
    // MARK: Helpers

    /// `DecodeTimezone`: `+hh`, `-hh:mm`, `+hhmm`, `+hh:mm:ss` → seconds west (PostgreSQL sign).
    static func decodeTimezone(_ s: [UInt8]) throws(DTErr) -> Int {
        guard let c = s.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") else { throw .badFormat }
        var r = CNum.strtol(s, 1, bits: 32)
        if r.overflow { throw .tzdispOverflow }
        var hr = Int(r.value)
        var cp = r.end
        var min = 0, sec = 0
        if cp < s.count, s[cp] == UInt8(ascii: ":") {
            r = CNum.strtol(s, cp + 1, bits: 32)
            if r.overflow { throw .tzdispOverflow }
            min = Int(r.value)
            cp = r.end
            if cp < s.count, s[cp] == UInt8(ascii: ":") {
                r = CNum.strtol(s, cp + 1, bits: 32)
                if r.overflow { throw .tzdispOverflow }
                sec = Int(r.value)
                cp = r.end
            }
        } else if cp >= s.count && s.count > 3 {
            min = hr % 100
            hr = hr / 100
        }
        if hr < 0 || hr > 15 || min < 0 || min >= 60 || sec < 0 || sec >= 60 { throw .tzdispOverflow }
        var tz = (hr * 60 + min) * 60 + sec
        if c == UInt8(ascii: "-") { tz = -tz }
        if cp < s.count { throw .badFormat }
        return -tz
    }

    /// `ParseFractionalSecond`.
    static func parseFractionalSecond(_ b: [UInt8], _ i: Int) throws(DTErr) -> Int {
        Int((try Interval.parseFraction(b, i) * 1_000_000).rounded(.toNearestOrEven))
    }

    /// `DecodeTime` (for timestamps): fills hour/min/sec/fsec.
    static func decodeTime(_ s: [UInt8], range: Int, tm: inout PGTm) throws(DTErr) -> Int {
        let t = try Interval.decodeTimeCommon(s, range: range)
        if t.hour > Int64(Int32.max) { throw .fieldOverflow }
        tm.hour = Int(t.hour)
        tm.min = t.min
        tm.sec = t.sec
        tm.fsec = t.usec
        return DTM.time
    }

    static func atoi(_ b: ArraySlice<UInt8>) -> Int {
        Int(truncatingIfNeeded: CNum.strtol(Array(b), 0, bits: 64).value)
    }

    /// `DecodeNumberField`: run-together `yyyymmdd`, `hhmmss`, `hhmm`, with a fraction.
    /// Returns DTK.date or DTK.time.
    static func decodeNumberField(_ str0: [UInt8], fmask: Int, tmask: inout Int, tm: inout PGTm, is2digits: inout Bool) throws(DTErr) -> Int {
        var str = str0
        if let dot = str.firstIndex(of: UInt8(ascii: ".")) {
            if dot + 1 >= str.count {
                tm.fsec = 0
            } else {
                let r = CNum.strtod(str, dot)
                if r.erange { throw .badFormat }
                tm.fsec = Int((r.value * 1_000_000).rounded(.toNearestOrEven))
            }
            str = Array(str[..<dot])
        } else if (fmask & DTM.date) != DTM.date {
            let len = str.count
            if len >= 6 {
                tmask = DTM.date
                tm.mday = atoi(str[(len - 2)...])
                tm.mon = atoi(str[(len - 4)..<(len - 2)])
                tm.year = atoi(str[..<(len - 4)])
                if len - 4 == 2 { is2digits = true }
                return DTK.date
            }
        }
        let len = str.count
        if (fmask & DTM.time) != DTM.time {
            if len == 6 {
                tmask = DTM.time
                tm.sec = atoi(str[4...])
                tm.min = atoi(str[2..<4])
                tm.hour = atoi(str[..<2])
                return DTK.time
            } else if len == 4 {
                tmask = DTM.time
                tm.sec = 0
                tm.min = atoi(str[2...])
                tm.hour = atoi(str[..<2])
                return DTK.time
            }
        }
        throw .badFormat
    }

    /// `DecodeNumber`: one numeric field in the context of those seen so far.
    static func decodeNumber(_ str: [UInt8], haveTextMonth: Bool, fmask: Int, tmask: inout Int, tm: inout PGTm,
                             is2digits: inout Bool, order: DateTimeContext.DateOrder) throws(DTErr) {
        tmask = 0
        let flen = str.count
        let r = CNum.strtol(str, 0, bits: 32)
        if r.overflow { throw .fieldOverflow }
        if r.end == 0 { throw .badFormat }
        let val = Int(r.value)
        let cp = r.end
        if cp < flen {
            if str[cp] == UInt8(ascii: ".") {
                if cp > 2 {
                    _ = try decodeNumberField(str, fmask: fmask | DTM.date, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                    return
                }
                tm.fsec = try parseFractionalSecond(str, cp)
            } else {
                throw .badFormat
            }
        }
        if flen == 3 && (fmask & DTM.date) == DTM.m(.year) && val >= 1 && val <= 366 {
            tmask = DTM.m(.doy) | DTM.m(.month) | DTM.m(.day)
            tm.yday = val
            return
        }
        switch fmask & DTM.date {
        case 0:
            if flen >= 3 || order == .ymd {
                tmask = DTM.m(.year)
                tm.year = val
            } else if order == .dmy {
                tmask = DTM.m(.day)
                tm.mday = val
            } else {
                tmask = DTM.m(.month)
                tm.mon = val
            }
        case DTM.m(.year):
            tmask = DTM.m(.month)
            tm.mon = val
        case DTM.m(.month):
            if haveTextMonth {
                if flen >= 3 || order == .ymd {
                    tmask = DTM.m(.year)
                    tm.year = val
                } else {
                    tmask = DTM.m(.day)
                    tm.mday = val
                }
            } else {
                tmask = DTM.m(.day)
                tm.mday = val
            }
        case DTM.m(.year) | DTM.m(.month):
            if haveTextMonth {
                if flen >= 3 && is2digits {
                    tmask = DTM.m(.day)
                    tm.mday = tm.year
                    tm.year = val
                    is2digits = false
                } else {
                    tmask = DTM.m(.day)
                    tm.mday = val
                }
            } else {
                tmask = DTM.m(.day)
                tm.mday = val
            }
        case DTM.m(.day):
            tmask = DTM.m(.month)
            tm.mon = val
        case DTM.m(.month) | DTM.m(.day):
            tmask = DTM.m(.year)
            tm.year = val
        case DTM.date:
            _ = try decodeNumberField(str, fmask: fmask, tmask: &tmask, tm: &tm, is2digits: &is2digits)
            return
        default:
            throw .badFormat
        }
        if tmask == DTM.m(.year) { is2digits = flen <= 2 }
    }

    /// `DecodeDate`: a date field with delimiters (`2020-01-05`, `1/5/2020`, `jan-05-2020`).
    static func decodeDate(_ s: [UInt8], fmask fmask0: Int, tmask: inout Int, is2digits: inout Bool, tm: inout PGTm,
                           order: DateTimeContext.DateOrder) throws(DTErr) {
        var fmask = fmask0
        tmask = 0
        var fields: [[UInt8]?] = []
        var i = 0
        while i < s.count && fields.count < 25 {
            while i < s.count && !DTLexer.isAlnum(s[i]) { i += 1 }
            if i >= s.count { throw .badFormat }
            let start = i
            if DTLexer.isDigit(s[i]) {
                while i < s.count && DTLexer.isDigit(s[i]) { i += 1 }
            } else if DTLexer.isAlpha(s[i]) {
                while i < s.count && DTLexer.isAlpha(s[i]) { i += 1 }
            }
            fields.append(Array(s[start..<i]))
            if i < s.count { i += 1 }
        }
        var haveTextMonth = false
        for k in 0..<fields.count {
            guard let f = fields[k], let c = f.first, DTLexer.isAlpha(c) else { continue }
            let (type, val) = DTTables.decodeSpecial(f.dtString)
            if type == .ignore { continue }
            let dmask = 1 << type.rawValue
            guard type == .month else { throw .badFormat }
            tm.mon = val
            haveTextMonth = true
            if fmask & dmask != 0 { throw .badFormat }
            fmask |= dmask
            tmask |= dmask
            fields[k] = nil
        }
        for k in 0..<fields.count {
            guard let f = fields[k] else { continue }
            if f.isEmpty { throw .badFormat }
            var dmask = 0
            try decodeNumber(f, haveTextMonth: haveTextMonth, fmask: fmask, tmask: &dmask, tm: &tm, is2digits: &is2digits, order: order)
            if fmask & dmask != 0 { throw .badFormat }
            fmask |= dmask
            tmask |= dmask
        }
        if (fmask & ~(DTM.m(.doy) | DTM.m(.tz))) != DTM.date { throw .badFormat }
    }

    /// `ValidateDate`.
    static func validateDate(fmask: Int, isjulian: Bool, is2digits: Bool, bc: Bool, tm: inout PGTm) throws(DTErr) {
        if fmask & DTM.m(.year) != 0 {
            if isjulian {
            } else if bc {
                if tm.year <= 0 { throw .fieldOverflow }
                tm.year = -(tm.year - 1)
            } else if is2digits {
                if tm.year < 0 { throw .fieldOverflow }
                if tm.year < 70 { tm.year += 2000 } else if tm.year < 100 { tm.year += 1900 }
            } else {
                if tm.year <= 0 { throw .fieldOverflow }
            }
        }
        if fmask & DTM.m(.doy) != 0 {
            (tm.year, tm.mon, tm.mday) = PGCal.j2date(PGCal.date2j(tm.year, 1, 1) + tm.yday - 1)
        }
        if fmask & DTM.m(.month) != 0 {
            if tm.mon < 1 || tm.mon > 12 { throw .mdFieldOverflow }
        }
        if fmask & DTM.m(.day) != 0 {
            if tm.mday < 1 || tm.mday > 31 { throw .mdFieldOverflow }
        }
        if (fmask & DTM.date) == DTM.date {
            if tm.mday > PGCal.daysIn(tm.year, tm.mon) { throw .fieldOverflow }
        }
    }

    /// `dt2time` on a double number of microseconds (fractional Julian days).
    static func dt2time(_ jd: Double, tm: inout PGTm) {
        var time = Int64(jd)
        tm.hour = Int(time / PGCal.usecsPerHour)
        time -= Int64(tm.hour) * PGCal.usecsPerHour
        tm.min = Int(time / PGCal.usecsPerMinute)
        time -= Int64(tm.min) * PGCal.usecsPerMinute
        tm.sec = Int(time / PGCal.usecsPerSec)
        tm.fsec = Int(time - Int64(tm.sec) * PGCal.usecsPerSec)
    }

    /// The current transaction time broken down in the session zone (`GetCurrentTimeUsec`).
    static func currentTm(_ ctx: DateTimeContext) -> PGTm {
        PGTm.from(timestamptz: ctx.now, zone: ctx.timeZone) ?? PGTm(year: 2000, mon: 1, mday: 1)
    }

    /// Resolves a word as a time-zone abbreviation (`DecodeTimezoneAbbrev`).
    static func decodeTimezoneAbbrev(_ word: String) -> (DTType, Int, TimeZoneRule?) {
        switch TimeZoneAbbreviations.lookup(word) {
        case .fixed(let o, let d)?: return (d ? .dtz : .tz, o, nil)
        case .dynamic(let z)?: return (.dyntz, 0, z)
        case nil: return (.unknown, 0, nil)
        }
    }

    static func unknownZone(_ name: [UInt8]) -> SQLError {
        SQLError(.invalidParameterValue, "time zone \"\(name.dtString)\" not recognized")
    }

    // MARK: DecodeDateTime

    /// `DecodeDateTime`. Throws DTErr for PostgreSQL's DTERR codes, SQLError for unknown zones.
    static func decodeDateTime(_ fields: [DTField], _ ctx: DateTimeContext, allowTZ: Bool = true) throws(SQLError) -> Result<DecodedDateTime, DTErr> {
        var out = DecodedDateTime()
        var fmask = 0
        var ptype = 0
        var mer = DTTables.hr24
        var haveTextMonth = false
        var isjulian = false
        var is2digits = false
        var bc = false
        var namedTz: TimeZoneRule?
        var abbrevTz: TimeZoneRule?
        var abbrev = ""
        var tm = PGTm()
        tm.isdst = -1
        var tz = 0
        let order = ctx.dateOrder
        var ftype = fields.map { $0.type }

        do {
            var i = 0
            while i < fields.count {
                let field = fields[i].text
                var tmask = 0
                switch ftype[i] {
                case DTK.date:
                    if ptype == DTK.julian {
                        let r = CNum.strtol(field, 0, bits: 32)
                        if r.overflow || r.value < 0 { throw DTErr.fieldOverflow }
                        (tm.year, tm.mon, tm.mday) = PGCal.j2date(Int(r.value))
                        isjulian = true
                        tz = try decodeTimezone(Array(field[r.end...]))
                        tmask = DTM.date | DTM.time | DTM.m(.tz)
                        ptype = 0
                    } else if ptype != 0 || (fmask & (DTM.m(.month) | DTM.m(.day))) == (DTM.m(.month) | DTM.m(.day)) {
                        if !allowTZ { throw DTErr.badFormat }
                        if DTLexer.isDigit(field[0]) || ptype != 0 {
                            if ptype != 0 {
                                if ptype != DTK.time { throw DTErr.badFormat }
                                ptype = 0
                            }
                            if (fmask & DTM.time) == DTM.time { throw DTErr.badFormat }
                            guard let dash = field.firstIndex(of: UInt8(ascii: "-")) else { throw DTErr.badFormat }
                            tz = try decodeTimezone(Array(field[dash...]))
                            _ = try decodeNumberField(Array(field[..<dash]), fmask: fmask, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                            tmask |= DTM.m(.tz)
                        } else {
                            guard let z = TimeZoneRule.lookup(field.dtString) else { throw unknownZone(field) }
                            namedTz = z
                            tmask = DTM.m(.tz)
                        }
                    } else {
                        try decodeDate(field, fmask: fmask, tmask: &tmask, is2digits: &is2digits, tm: &tm, order: order)
                    }
                case DTK.time:
                    if ptype != 0 {
                        if ptype != DTK.time { throw DTErr.badFormat }
                        ptype = 0
                    }
                    tmask = try decodeTime(field, range: Interval.Field.fullRange, tm: &tm)
                    if PGCal.timeOverflows(tm.hour, tm.min, tm.sec, tm.fsec) { throw DTErr.fieldOverflow }
                case DTK.tz:
                    if !allowTZ { throw DTErr.badFormat }
                    tz = try decodeTimezone(field)
                    tmask = DTM.m(.tz)
                case DTK.number:
                    if ptype != 0 {
                        let r = CNum.strtol(field, 0, bits: 32)
                        if r.overflow { throw DTErr.fieldOverflow }
                        let val = Int(r.value)
                        let cp = r.end
                        if cp < field.count && field[cp] == UInt8(ascii: ".") {
                            switch ptype {
                            case DTK.julian, DTK.time, DTK.second: break
                            default: throw DTErr.badFormat
                            }
                        } else if cp < field.count {
                            throw DTErr.badFormat
                        }
                        switch ptype {
                        case DTK.year:
                            tm.year = val
                            tmask = DTM.m(.year)
                        case DTK.month:
                            if fmask & DTM.m(.month) != 0 && fmask & DTM.m(.hour) != 0 {
                                tm.min = val
                                tmask = DTM.m(.minute)
                            } else {
                                tm.mon = val
                                tmask = DTM.m(.month)
                            }
                        case DTK.day:
                            tm.mday = val
                            tmask = DTM.m(.day)
                        case DTK.hour:
                            tm.hour = val
                            tmask = DTM.m(.hour)
                        case DTK.minute:
                            tm.min = val
                            tmask = DTM.m(.minute)
                        case DTK.second:
                            tm.sec = val
                            tmask = DTM.m(.second)
                            if cp < field.count && field[cp] == UInt8(ascii: ".") {
                                tm.fsec = try parseFractionalSecond(field, cp)
                                tmask = DTM.allSecs
                            }
                        case DTK.tz:
                            tmask = DTM.m(.tz)
                            tz = try decodeTimezone(field)
                        case DTK.julian:
                            if val < 0 { throw DTErr.fieldOverflow }
                            tmask = DTM.date
                            (tm.year, tm.mon, tm.mday) = PGCal.j2date(val)
                            isjulian = true
                            if cp < field.count && field[cp] == UInt8(ascii: ".") {
                                var time = try Interval.parseFraction(field, cp)
                                time *= Double(PGCal.usecsPerDay)
                                dt2time(time, tm: &tm)
                                tmask |= DTM.time
                            }
                        case DTK.time:
                            _ = try decodeNumberField(field, fmask: fmask | DTM.date, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                            if tmask != DTM.time { throw DTErr.badFormat }
                        default:
                            throw DTErr.badFormat
                        }
                        ptype = 0
                        out.dtype = DTK.date
                    } else {
                        let flen = field.count
                        let dot = field.firstIndex(of: UInt8(ascii: "."))
                        if dot != nil && (fmask & DTM.date) == 0 {
                            try decodeDate(field, fmask: fmask, tmask: &tmask, is2digits: &is2digits, tm: &tm, order: order)
                        } else if let dot, dot > 2 {
                            _ = try decodeNumberField(field, fmask: fmask, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                        } else if flen >= 6 && ((fmask & DTM.date) == 0 || (fmask & DTM.time) == 0) {
                            _ = try decodeNumberField(field, fmask: fmask, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                        } else {
                            try decodeNumber(field, haveTextMonth: haveTextMonth, fmask: fmask, tmask: &tmask, tm: &tm,
                                             is2digits: &is2digits, order: order)
                        }
                    }
                case DTK.string, DTK.special:
                    let word = field.dtString
                    var (type, val, valtz) = decodeTimezoneAbbrev(word)
                    if type == .unknown { (type, val) = DTTables.decodeSpecial(word) }
                    if type == .ignore {
                        i += 1
                        continue
                    }
                    tmask = 1 << type.rawValue
                    switch type {
                    case .reserv:
                        switch val {
                        case DTK.now:
                            tmask = DTM.date | DTM.time | DTM.m(.tz)
                            out.dtype = DTK.date
                            let cur = currentTm(ctx)
                            tm.year = cur.year; tm.mon = cur.mon; tm.mday = cur.mday
                            tm.hour = cur.hour; tm.min = cur.min; tm.sec = cur.sec; tm.fsec = cur.fsec
                            tm.isdst = cur.isdst
                            tz = -cur.gmtoff
                        case DTK.yesterday, DTK.today, DTK.tomorrow:
                            tmask = DTM.date
                            out.dtype = DTK.date
                            let cur = currentTm(ctx)
                            let delta = val == DTK.yesterday ? -1 : (val == DTK.tomorrow ? 1 : 0)
                            (tm.year, tm.mon, tm.mday) = PGCal.j2date(PGCal.date2j(cur.year, cur.mon, cur.mday) + delta)
                        case DTK.zulu:
                            tmask = DTM.time | DTM.m(.tz)
                            out.dtype = DTK.date
                            tm.hour = 0; tm.min = 0; tm.sec = 0
                            tz = 0
                        default:
                            out.dtype = val
                        }
                    case .month:
                        if fmask & DTM.m(.month) != 0 && !haveTextMonth && fmask & DTM.m(.day) == 0 && tm.mon >= 1 && tm.mon <= 31 {
                            tm.mday = tm.mon
                            tmask = DTM.m(.day)
                        }
                        haveTextMonth = true
                        tm.mon = val
                    case .dtzmod:
                        tmask |= DTM.m(.dtz)
                        tm.isdst = 1
                        if !allowTZ { throw DTErr.badFormat }
                        tz -= val
                    case .dtz:
                        tmask |= DTM.m(.tz)
                        tm.isdst = 1
                        if !allowTZ { throw DTErr.badFormat }
                        tz = -val
                    case .tz:
                        tm.isdst = 0
                        if !allowTZ { throw DTErr.badFormat }
                        tz = -val
                    case .dyntz:
                        tmask |= DTM.m(.tz)
                        if !allowTZ { throw DTErr.badFormat }
                        abbrevTz = valtz
                        abbrev = word
                    case .ampm:
                        mer = val
                    case .adbc:
                        bc = val == DTTables.bc
                    case .dow:
                        tm.wday = val
                    case .units:
                        tmask = 0
                        ptype = val
                    case .isotime:
                        tmask = 0
                        if (fmask & DTM.date) != DTM.date { throw DTErr.badFormat }
                        if i >= fields.count - 1 || (ftype[i + 1] != DTK.number && ftype[i + 1] != DTK.time && ftype[i + 1] != DTK.date) {
                            throw DTErr.badFormat
                        }
                        ptype = val
                    case .unknown:
                        guard let z = TimeZoneRule.lookup(word) else { throw DTErr.badFormat }
                        namedTz = z
                        tmask = DTM.m(.tz)
                    default:
                        throw DTErr.badFormat
                    }
                default:
                    throw DTErr.badFormat
                }
                if tmask & fmask != 0 { throw DTErr.badFormat }
                fmask |= tmask
                i += 1
            }
            _ = ftype.count
            ftype = []

            try validateDate(fmask: fmask, isjulian: isjulian, is2digits: is2digits, bc: bc, tm: &tm)
            if mer != DTTables.hr24 && tm.hour > 12 { throw DTErr.fieldOverflow }
            if mer == DTTables.am && tm.hour == 12 {
                tm.hour = 0
            } else if mer == DTTables.pm && tm.hour != 12 {
                tm.hour += 12
            }
            if out.dtype == DTK.date {
                if (fmask & DTM.date) != DTM.date {
                    // A time alone: PostgreSQL returns 1 here, which every timestamp/date caller
                    // treats as bad format.
                    throw DTErr.badFormat
                }
                if let namedTz {
                    if fmask & DTM.m(.dtzmod) != 0 { throw DTErr.badFormat }
                    let (o, d) = tm.zoneOffset(namedTz)
                    tz = -o
                    tm.isdst = d ? 1 : 0
                }
                if let abbrevTz {
                    if fmask & DTM.m(.dtzmod) != 0 { throw DTErr.badFormat }
                    let (o, d) = TimeZoneAbbreviations.dynamicOffset(abbrev, zone: abbrevTz, local: tm.localMicros)
                    tz = -o
                    tm.isdst = d ? 1 : 0
                }
                if allowTZ && fmask & DTM.m(.tz) == 0 {
                    if fmask & DTM.m(.dtzmod) != 0 { throw DTErr.badFormat }
                    let (o, d) = tm.zoneOffset(ctx.timeZone)
                    tz = -o
                    tm.isdst = d ? 1 : 0
                }
            }
        } catch let e as DTErr {
            return .failure(e)
        } catch let e as SQLError {
            throw e
        } catch {
            return .failure(.badFormat)
        }
        out.tm = tm
        out.tz = tz
        return .success(out)
    }

    // MARK: DecodeTimeOnly

    /// `DecodeTimeOnly` (time input; zones are parsed but only validated).
    static func decodeTimeOnly(_ fields: [DTField], _ ctx: DateTimeContext) throws(SQLError) -> Result<PGTm, DTErr> {
        var fmask = 0
        var ptype = 0
        var isjulian = false
        var is2digits = false
        var bc = false
        var mer = DTTables.hr24
        var namedTz: TimeZoneRule?
        var abbrevTz: TimeZoneRule?
        var tm = PGTm()
        tm.isdst = -1
        var tz = 0
        let order = ctx.dateOrder
        let nf = fields.count
        var ftype = fields.map { $0.type }
        do {
            var i = 0
            while i < nf {
                let field = fields[i].text
                var tmask = 0
                switch ftype[i] {
                case DTK.date:
                    if i == 0 && nf >= 2 && (ftype[nf - 1] == DTK.date || ftype[1] == DTK.time) {
                        try decodeDate(field, fmask: fmask, tmask: &tmask, is2digits: &is2digits, tm: &tm, order: order)
                    } else {
                        if DTLexer.isDigit(field[0]) {
                            if (fmask & DTM.time) == DTM.time { throw DTErr.badFormat }
                            guard let dash = field.firstIndex(of: UInt8(ascii: "-")) else { throw DTErr.badFormat }
                            tz = try decodeTimezone(Array(field[dash...]))
                            ftype[i] = try decodeNumberField(Array(field[..<dash]), fmask: fmask | DTM.date, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                            tmask |= DTM.m(.tz)
                        } else {
                            guard let z = TimeZoneRule.lookup(field.dtString) else { throw unknownZone(field) }
                            namedTz = z
                            ftype[i] = DTK.tz
                            tmask = DTM.m(.tz)
                        }
                    }
                case DTK.time:
                    tmask = try decodeTime(field, range: Interval.Field.fullRange, tm: &tm)
                case DTK.tz:
                    tz = try decodeTimezone(field)
                    tmask = DTM.m(.tz)
                case DTK.number:
                    if ptype != 0 {
                        let r = CNum.strtol(field, 0, bits: 32)
                        if r.overflow { throw DTErr.fieldOverflow }
                        let val = Int(r.value)
                        let cp = r.end
                        if cp < field.count && field[cp] == UInt8(ascii: ".") {
                            switch ptype {
                            case DTK.julian, DTK.time, DTK.second: break
                            default: throw DTErr.badFormat
                            }
                        } else if cp < field.count {
                            throw DTErr.badFormat
                        }
                        switch ptype {
                        case DTK.year:
                            tm.year = val
                            tmask = DTM.m(.year)
                        case DTK.month:
                            if fmask & DTM.m(.month) != 0 && fmask & DTM.m(.hour) != 0 {
                                tm.min = val
                                tmask = DTM.m(.minute)
                            } else {
                                tm.mon = val
                                tmask = DTM.m(.month)
                            }
                        case DTK.day:
                            tm.mday = val
                            tmask = DTM.m(.day)
                        case DTK.hour:
                            tm.hour = val
                            tmask = DTM.m(.hour)
                        case DTK.minute:
                            tm.min = val
                            tmask = DTM.m(.minute)
                        case DTK.second:
                            tm.sec = val
                            tmask = DTM.m(.second)
                            if cp < field.count && field[cp] == UInt8(ascii: ".") {
                                tm.fsec = try parseFractionalSecond(field, cp)
                                tmask = DTM.allSecs
                            }
                        case DTK.tz:
                            tmask = DTM.m(.tz)
                            tz = try decodeTimezone(field)
                        case DTK.julian:
                            if val < 0 { throw DTErr.fieldOverflow }
                            tmask = DTM.date
                            (tm.year, tm.mon, tm.mday) = PGCal.j2date(val)
                            isjulian = true
                            if cp < field.count && field[cp] == UInt8(ascii: ".") {
                                var time = try Interval.parseFraction(field, cp)
                                time *= Double(PGCal.usecsPerDay)
                                dt2time(time, tm: &tm)
                                tmask |= DTM.time
                            }
                        case DTK.time:
                            ftype[i] = try decodeNumberField(field, fmask: fmask | DTM.date, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                            if tmask != DTM.time { throw DTErr.badFormat }
                        default:
                            throw DTErr.badFormat
                        }
                        ptype = 0
                    } else {
                        let flen = field.count
                        if let dot = field.firstIndex(of: UInt8(ascii: ".")) {
                            if i == 0 && nf >= 2 && ftype[nf - 1] == DTK.date {
                                try decodeDate(field, fmask: fmask, tmask: &tmask, is2digits: &is2digits, tm: &tm, order: order)
                            } else if dot > 2 {
                                ftype[i] = try decodeNumberField(field, fmask: fmask | DTM.date, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                            } else {
                                throw DTErr.badFormat
                            }
                        } else if flen > 4 {
                            ftype[i] = try decodeNumberField(field, fmask: fmask | DTM.date, tmask: &tmask, tm: &tm, is2digits: &is2digits)
                        } else {
                            try decodeNumber(field, haveTextMonth: false, fmask: fmask | DTM.date, tmask: &tmask, tm: &tm,
                                             is2digits: &is2digits, order: order)
                        }
                    }
                case DTK.string, DTK.special:
                    let word = field.dtString
                    var (type, val, valtz) = decodeTimezoneAbbrev(word)
                    if type == .unknown { (type, val) = DTTables.decodeSpecial(word) }
                    if type == .ignore {
                        i += 1
                        continue
                    }
                    tmask = 1 << type.rawValue
                    switch type {
                    case .reserv:
                        switch val {
                        case DTK.now:
                            tmask = DTM.time
                            let cur = currentTm(ctx)
                            tm.hour = cur.hour; tm.min = cur.min; tm.sec = cur.sec; tm.fsec = cur.fsec
                        case DTK.zulu:
                            tmask = DTM.time | DTM.m(.tz)
                            tm.hour = 0; tm.min = 0; tm.sec = 0
                            tm.isdst = 0
                        default:
                            throw DTErr.badFormat
                        }
                    case .dtzmod:
                        tmask |= DTM.m(.dtz)
                        tm.isdst = 1
                        tz -= val
                    case .dtz:
                        tmask |= DTM.m(.tz)
                        tm.isdst = 1
                        tz = -val
                        ftype[i] = DTK.tz
                    case .tz:
                        tm.isdst = 0
                        tz = -val
                        ftype[i] = DTK.tz
                    case .dyntz:
                        tmask |= DTM.m(.tz)
                        abbrevTz = valtz
                        ftype[i] = DTK.tz
                    case .ampm:
                        mer = val
                    case .adbc:
                        bc = val == DTTables.bc
                    case .units:
                        tmask = 0
                        ptype = val
                    case .isotime:
                        tmask = 0
                        if i >= nf - 1 || (ftype[i + 1] != DTK.number && ftype[i + 1] != DTK.time && ftype[i + 1] != DTK.date) {
                            throw DTErr.badFormat
                        }
                        ptype = val
                    case .unknown:
                        guard let z = TimeZoneRule.lookup(word) else { throw DTErr.badFormat }
                        namedTz = z
                        tmask = DTM.m(.tz)
                    default:
                        throw DTErr.badFormat
                    }
                default:
                    throw DTErr.badFormat
                }
                if tmask & fmask != 0 { throw DTErr.badFormat }
                fmask |= tmask
                i += 1
            }
            try validateDate(fmask: fmask, isjulian: isjulian, is2digits: is2digits, bc: bc, tm: &tm)
            if mer != DTTables.hr24 && tm.hour > 12 { throw DTErr.fieldOverflow }
            if mer == DTTables.am && tm.hour == 12 {
                tm.hour = 0
            } else if mer == DTTables.pm && tm.hour != 12 {
                tm.hour += 12
            }
            if PGCal.timeOverflows(tm.hour, tm.min, tm.sec, tm.fsec) { throw DTErr.fieldOverflow }
            if (fmask & DTM.time) != DTM.time { throw DTErr.badFormat }
            if let namedTz {
                if fmask & DTM.m(.dtzmod) != 0 { throw DTErr.badFormat }
                if namedTz.constantOffset == nil {
                    if (fmask & DTM.date) != DTM.date { throw DTErr.badFormat }
                }
            }
            if abbrevTz != nil {
                if fmask & DTM.m(.dtzmod) != 0 { throw DTErr.badFormat }
                if (fmask & DTM.date) != 0 && (fmask & DTM.date) != DTM.date { throw DTErr.badFormat }
            }
            if fmask & DTM.m(.tz) == 0 {
                if fmask & DTM.m(.dtzmod) != 0 { throw DTErr.badFormat }
                if (fmask & DTM.date) != 0 && (fmask & DTM.date) != DTM.date { throw DTErr.badFormat }
            }
            _ = tz
        } catch let e as DTErr {
            return .failure(e)
        } catch let e as SQLError {
            throw e
        } catch {
            return .failure(.badFormat)
        }
        return .success(tm)
    }

    /// `DateTimeParseError`.
    static func parseError(_ e: DTErr, _ text: String, _ typeName: String) -> SQLError {
        switch e {
        case .fieldOverflow:
            return SQLError(.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"")
        case .mdFieldOverflow:
            return SQLError(.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"",
                            hint: "Perhaps you need a different \"datestyle\" setting.")
        case .intervalOverflow:
            return SQLError(SQLState("22015"), "interval field value out of range: \"\(text)\"")
        case .tzdispOverflow:
            return SQLError(SQLState("22009"), "time zone displacement out of range: \"\(text)\"")
        case .badFormat:
            return SQLError(.invalidDatetimeFormat, "invalid input syntax for type \(typeName): \"\(text)\"")
        }
    }
}

// MARK: - Public input/output API

/// Text input and output of date, time, timestamp and timestamptz, as PostgreSQL 15 in
/// DateStyle ISO (output) with the context's field order (input).
public enum PGDateTime {
    static func decode(_ text: String, _ typeName: String, bufLen: Int, _ ctx: DateTimeContext) throws(SQLError) -> DecodedDateTime {
        if let fast = fastISO(text, ctx) { return fast }
        let fields: [DTField]
        do {
            fields = try DTLexer.parse(Array(text.utf8), bufLen: bufLen)
        } catch {
            throw DTDecoder.parseError(error, text, typeName)
        }
        switch try DTDecoder.decodeDateTime(fields, ctx) {
        case .success(let d): return d
        case .failure(let e): throw DTDecoder.parseError(e, text, typeName)
        }
    }

    /// A fast path for the common ISO form `YYYY-MM-DD[( |T)HH:MM[:SS[.f{1,6}]]][ ][Z|±HH[[:]MM]]`
    /// (four-digit year, two-digit fields). It returns exactly what `DecodeDateTime` gives for
    /// such input, and nil for anything else (including anything invalid), which then takes the
    /// general path (and its error reporting).
    @inline(__always)
    static func fastISO(_ text: String, _ ctx: DateTimeContext) -> DecodedDateTime? {
        var text = text
        return text.withUTF8 { b -> DecodedDateTime? in
            let n = b.count
            guard n >= 10, n <= 40 else { return nil }
            @inline(__always) func d(_ i: Int) -> Int? {
                let c = b[i] &- 48
                return c <= 9 ? Int(c) : nil
            }
            @inline(__always) func d2(_ i: Int) -> Int? {
                guard i + 1 < n, let a = d(i), let c = d(i + 1) else { return nil }
                return a * 10 + c
            }
            guard let y1 = d(0), let y2 = d(1), let y3 = d(2), let y4 = d(3), b[4] == 45, let mon = d2(5), b[7] == 45,
                  let mday = d2(8) else { return nil }
            let year = y1 * 1000 + y2 * 100 + y3 * 10 + y4
            guard year >= 1, mon >= 1, mon <= 12, mday >= 1, mday <= PGCal.daysIn(year, mon) else { return nil }
            var tm = PGTm(year: year, mon: mon, mday: mday)
            var i = 10
            if i < n, b[i] == 32 || b[i] == 84 || b[i] == 116 {
                guard let h = d2(i + 1), i + 3 < n, b[i + 3] == 58, let mi = d2(i + 4) else { return nil }
                tm.hour = h
                tm.min = mi
                i += 6
                if i < n, b[i] == 58 {
                    guard let sec = d2(i + 1) else { return nil }
                    tm.sec = sec
                    i += 3
                    if i < n, b[i] == 46 {
                        i += 1
                        var f = 0, k = 0
                        while i < n, let v = d(i) {
                            if k == 6 { return nil }
                            f = f * 10 + v
                            k += 1
                            i += 1
                        }
                        guard k > 0 else { return nil }
                        while k < 6 {
                            f *= 10
                            k += 1
                        }
                        tm.fsec = f
                    }
                }
                guard tm.min < 60, tm.sec <= 60, !PGCal.timeOverflows(tm.hour, tm.min, tm.sec, tm.fsec) else { return nil }
            }
            var out = DecodedDateTime()
            if i == 10 && i < n && b[i] == 45 { return nil }  // "-" right after a date continues the date field
            if i < n, b[i] == 32 { i += 1 }
            if i == n {
                let (o, dst) = tm.zoneOffset(ctx.timeZone)
                out.tz = -o
                tm.isdst = dst ? 1 : 0
            } else if b[i] == 90 || b[i] == 122 {
                guard i + 1 == n else { return nil }
                out.tz = 0
                tm.isdst = 0
            } else if b[i] == 43 || b[i] == 45 {
                let neg = b[i] == 45
                guard let h = d2(i + 1) else { return nil }
                var m = 0
                i += 3
                if i < n {
                    if b[i] == 58 { i += 1 }
                    guard let mm = d2(i), i + 2 == n else { return nil }
                    m = mm
                }
                guard h <= 15, m < 60 else { return nil }
                let tz = (h * 60 + m) * 60
                out.tz = neg ? tz : -tz
            } else {
                return nil
            }
            out.tm = tm
            return out
        }
    }

    /// `AdjustTimestampForTypmod` (precision 0-6; -1 or 6 leave the value as is).
    public static func roundTimestamp(_ t: Int64, typmod: Int32) throws(SQLError) -> Int64 {
        if t == Int64.min || t == Int64.max || typmod == -1 || typmod == 6 { return t }
        guard typmod >= 0, typmod <= 6 else {
            throw SQLError(.invalidParameterValue, "timestamp(\(typmod)) precision must be between 0 and 6")
        }
        let scales: [Int64] = [1_000_000, 100_000, 10_000, 1000, 100, 10, 1]
        let offsets: [Int64] = [500_000, 50_000, 5000, 500, 50, 5, 0]
        let p = Int(typmod)
        return t >= 0 ? ((t + offsets[p]) / scales[p]) * scales[p] : -(((-t + offsets[p]) / scales[p]) * scales[p])
    }

    /// `timestamptz_in`: UTC µs since 2000-01-01 (`Int64.min`/`max` for ∓infinity). Zone names
    /// (`Europe/Berlin`), abbreviations (`EST`, `CEST`, dynamic `MSK`), numeric offsets, ISO
    /// `T`/`Z`, month names, BC, Julian `J2451187`, 'epoch', 'now', 'today', 'allballs', ... are
    /// accepted; with no zone in the text the session zone's offset at that local time applies.
    public static func timestamptz(_ text: String, typmod: Int32 = -1, _ ctx: DateTimeContext) throws(SQLError) -> Int64 {
        let d = try decode(text, "timestamp with time zone", bufLen: 153, ctx)
        var r: Int64
        switch d.dtype {
        case DTK.date:
            guard let v = d.tm.toTimestamp(offsetEast: -d.tz) else {
                throw SQLError(.datetimeFieldOverflow, "timestamp out of range: \"\(text)\"")
            }
            r = v
        case DTK.epoch: r = -PGTime.epochUnixMicros
        case DTK.late: r = Int64.max
        case DTK.early: r = Int64.min
        default: throw SQLError(.internalError, "unexpected dtype \(d.dtype) while parsing timestamptz \"\(text)\"")
        }
        r = try roundTimestamp(r, typmod: typmod)
        return r
    }

    /// `timestamp_in`: local µs since 2000-01-01; a zone in the text is checked and ignored.
    public static func timestamp(_ text: String, typmod: Int32 = -1, _ ctx: DateTimeContext) throws(SQLError) -> Int64 {
        let d = try decode(text, "timestamp", bufLen: 153, ctx)
        var r: Int64
        switch d.dtype {
        case DTK.date:
            guard let v = d.tm.toTimestamp() else { throw SQLError(.datetimeFieldOverflow, "timestamp out of range: \"\(text)\"") }
            r = v
        case DTK.epoch: r = -PGTime.epochUnixMicros
        case DTK.late: r = Int64.max
        case DTK.early: r = Int64.min
        default: throw SQLError(.internalError, "unexpected dtype \(d.dtype) while parsing timestamp \"\(text)\"")
        }
        return try roundTimestamp(r, typmod: typmod)
    }

    /// `date_in`: days since 2000-01-01 (`Int32.min`/`max` for ∓infinity).
    public static func date(_ text: String, _ ctx: DateTimeContext) throws(SQLError) -> Int32 {
        let d = try decode(text, "date", bufLen: 129, ctx)
        var tm = d.tm
        switch d.dtype {
        case DTK.date: break
        case DTK.epoch: tm = PGTm(year: 1970, mon: 1, mday: 1)
        case DTK.late: return Int32.max
        case DTK.early: return Int32.min
        default: throw DTDecoder.parseError(.badFormat, text, "date")
        }
        guard PGCal.isValidJulian(tm.year, tm.mon, tm.mday) else {
            throw SQLError(.datetimeFieldOverflow, "date out of range: \"\(text)\"")
        }
        let days = Int64(PGCal.date2j(tm.year, tm.mon, tm.mday) - PGCal.postgresEpochJDate)
        guard PGCal.isValidDate(days) else { throw SQLError(.datetimeFieldOverflow, "date out of range: \"\(text)\"") }
        return Int32(days)
    }

    /// `time_in`: µs since midnight (0 ... 86_400_000_000, '24:00:00' allowed), rounded to the
    /// typmod's precision.
    public static func time(_ text: String, typmod: Int32 = -1, _ ctx: DateTimeContext) throws(SQLError) -> Int64 {
        let fields: [DTField]
        do {
            fields = try DTLexer.parse(Array(text.utf8), bufLen: 129)
        } catch {
            throw DTDecoder.parseError(error, text, "time")
        }
        switch try DTDecoder.decodeTimeOnly(fields, ctx) {
        case .success(let tm):
            let t = Int64(((tm.hour * 60 + tm.min) * 60 + tm.sec)) * 1_000_000 + Int64(tm.fsec)
            return PGTimeOfDay.round(t, typmod: typmod)
        case .failure(let e):
            throw DTDecoder.parseError(e, text, "time")
        }
    }

    // MARK: Output

    /// `EncodeTimezone`: `+hh`, `+hh:mm`, `+hh:mm:ss` for an offset in seconds east.
    public static func encodeZone(_ offsetEast: Int) -> String {
        let tz = -offsetEast
        var sec = abs(tz)
        var min = sec / 60
        sec -= min * 60
        let hour = min / 60
        min -= hour * 60
        var s = tz <= 0 ? "+" : "-"
        s += pad(Int64(hour), 2)
        if sec != 0 {
            s += ":" + pad(Int64(min), 2) + ":" + pad(Int64(sec), 2)
        } else if min != 0 {
            s += ":" + pad(Int64(min), 2)
        }
        return s
    }

    static func encodeDateTime(_ tm: PGTm, zone: Int?) -> String {
        String(unsafeUninitializedCapacity: 64) { buf in
            var p = 0
            @inline(__always) func put(_ c: UInt8) {
                buf[p] = c
                p += 1
            }
            @inline(__always) func two(_ v: Int) {
                put(UInt8(48 + v / 10))
                put(UInt8(48 + v % 10))
            }
            let y = tm.year > 0 ? tm.year : -(tm.year - 1)
            if y < 10000 {
                put(UInt8(48 + y / 1000))
                put(UInt8(48 + y / 100 % 10))
                two(y % 100)
            } else {
                for c in String(y).utf8 { put(c) }
            }
            put(45)
            two(tm.mon)
            put(45)
            two(tm.mday)
            put(32)
            two(tm.hour)
            put(58)
            two(tm.min)
            put(58)
            two(tm.sec)
            if tm.fsec != 0 {
                put(46)
                var f = tm.fsec
                var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
                withUnsafeMutableBytes(of: &digits) { d in
                    for k in stride(from: 5, through: 0, by: -1) {
                        d[k] = UInt8(48 + f % 10)
                        f /= 10
                    }
                    var end = 6
                    while end > 1 && d[end - 1] == 48 { end -= 1 }
                    for k in 0..<end { put(d[k]) }
                }
            }
            if let zone {
                let tz = -zone
                var sec = abs(tz)
                var min = sec / 60
                sec -= min * 60
                let hour = min / 60
                min -= hour * 60
                put(tz <= 0 ? 43 : 45)
                two(hour)
                if sec != 0 {
                    put(58)
                    two(min)
                    put(58)
                    two(sec)
                } else if min != 0 {
                    put(58)
                    two(min)
                }
            }
            if tm.year <= 0 {
                put(32)
                put(66)
                put(67)
            }
            return p
        }
    }

    @inline(__always) static func twoDigits(_ v: Int) -> String {
        v < 10 && v >= 0 ? "0" + String(v) : String(v)
    }

    /// `timestamptz_out` in DateStyle ISO in `zone`: `2026-11-30 05:21:00+01`, `+05:30`,
    /// `+00:53:28` for LMT offsets, ` BC`; `infinity`/`-infinity`.
    public static func formatTimestamptz(_ t: Int64, zone: TimeZoneRule) throws(SQLError) -> String {
        if t == Int64.max { return "infinity" }
        if t == Int64.min { return "-infinity" }
        guard let tm = PGTm.from(timestamptz: t, zone: zone) else { throw SQLError(.datetimeFieldOverflow, "timestamp out of range") }
        return encodeDateTime(tm, zone: tm.gmtoff)
    }

    /// `timestamp_out` in DateStyle ISO.
    public static func formatTimestamp(_ t: Int64) throws(SQLError) -> String {
        if t == Int64.max { return "infinity" }
        if t == Int64.min { return "-infinity" }
        guard let tm = PGTm.from(timestamp: t) else { throw SQLError(.datetimeFieldOverflow, "timestamp out of range") }
        return encodeDateTime(tm, zone: nil)
    }

    /// `date_out` in DateStyle ISO.
    public static func formatDate(_ d: Int32) -> String { PGTime.formatDate(d) }
}
