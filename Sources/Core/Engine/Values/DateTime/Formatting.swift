import Glibc
import Synchronization

// PostgreSQL 15's formatting functions (formatting.c): to_char for timestamp, timestamptz and
// interval with the date/time template patterns, to_timestamp(text, text) and to_date, and
// to_char for numbers (numeric given as its decimal text, double precision, integers) with the
// number template patterns. The C locale is assumed (lc_time/lc_numeric 'C'), as the project's
// server runs with: TM-prefixed names are English, D is '.', G is ',', L is ' '.

// MARK: - Format nodes

enum FmtNodeType { case action, char, separator, space }

struct FmtKey {
    let name: String
    let len: Int
    let id: Int
    let isDigit: Bool
    /// 0 none, 1 Gregorian, 2 ISO week.
    let mode: Int
}

struct FmtNode {
    var type: FmtNodeType
    var character: [UInt8] = []
    var suffix: Int = 0
    var key: FmtKey?

    /// The keyword's name, for error messages (action nodes always have a keyword).
    var keyName: String { key?.name ?? "" }
}

/// DCH_* keyword ids (the order of PostgreSQL's DCH_poz enum).
enum DCH {
    static let A_D = 0, A_M = 1, AD = 2, AM = 3, B_C = 4, BC = 5, CC = 6, DAY = 7, DDD = 8, DD = 9, DY = 10, Day = 11,
               Dy = 12, D = 13, FF1 = 14, FF2 = 15, FF3 = 16, FF4 = 17, FF5 = 18, FF6 = 19, FX = 20, HH24 = 21, HH12 = 22,
               HH = 23, IDDD = 24, ID = 25, IW = 26, IYYY = 27, IYY = 28, IY = 29, I = 30, J = 31, MI = 32, MM = 33,
               MONTH = 34, MON = 35, MS = 36, Month = 37, Mon = 38, OF = 39, P_M = 40, PM = 41, Q = 42, RM = 43,
               SSSSS = 44, SSSS = 45, SS = 46, TZH = 47, TZM = 48, TZ = 49, US = 50, WW = 51, W = 52, Y_YYY = 53,
               YYYY = 54, YYY = 55, YY = 56, Y = 57, a_d = 58, a_m = 59, ad = 60, am = 61, b_c = 62, bc = 63, cc = 64,
               day = 65, ddd = 66, dd = 67, dy = 68, d = 69, ff1 = 70, ff2 = 71, ff3 = 72, ff4 = 73, ff5 = 74, ff6 = 75,
               fx = 76, hh24 = 77, hh12 = 78, hh = 79, iddd = 80, id = 81, iw = 82, iyyy = 83, iyy = 84, iy = 85, i = 86,
               j = 87, mi = 88, mm = 89, month = 90, mon = 91, ms = 92, of = 93, p_m = 94, pm = 95, q = 96, rm = 97,
               sssss = 98, ssss = 99, ss = 100, tzh = 101, tzm = 102, tz = 103, us = 104, ww = 105, w = 106,
               y_yyy = 107, yyyy = 108, yyy = 109, yy = 110, y = 111

    static let S_FM = 0x01, S_TH = 0x02, S_th = 0x04, S_SP = 0x08, S_TM = 0x10

    /// DCH_keywords, in PostgreSQL's order (name, id, is_digit, date mode).
    static let keywords: [FmtKey] = {
        let raw: [(String, Int, Bool, Int)] = [
            ("A.D.", A_D, false, 0), ("A.M.", A_M, false, 0), ("AD", AD, false, 0), ("AM", AM, false, 0),
            ("B.C.", B_C, false, 0), ("BC", BC, false, 0), ("CC", CC, true, 0), ("DAY", DAY, false, 0),
            ("DDD", DDD, true, 1), ("DD", DD, true, 1), ("DY", DY, false, 0), ("Day", Day, false, 0),
            ("Dy", Dy, false, 0), ("D", D, true, 1), ("FF1", FF1, true, 0), ("FF2", FF2, true, 0),
            ("FF3", FF3, true, 0), ("FF4", FF4, true, 0), ("FF5", FF5, true, 0), ("FF6", FF6, true, 0),
            ("FX", FX, false, 0), ("HH24", HH24, true, 0), ("HH12", HH12, true, 0), ("HH", HH, true, 0),
            ("IDDD", IDDD, true, 2), ("ID", ID, true, 2), ("IW", IW, true, 2), ("IYYY", IYYY, true, 2),
            ("IYY", IYY, true, 2), ("IY", IY, true, 2), ("I", I, true, 2), ("J", J, true, 0), ("MI", MI, true, 0),
            ("MM", MM, true, 1), ("MONTH", MONTH, false, 1), ("MON", MON, false, 1), ("MS", MS, true, 0),
            ("Month", Month, false, 1), ("Mon", Mon, false, 1), ("OF", OF, false, 0), ("P.M.", P_M, false, 0),
            ("PM", PM, false, 0), ("Q", Q, true, 0), ("RM", RM, false, 1), ("SSSSS", SSSS, true, 0),
            ("SSSS", SSSS, true, 0), ("SS", SS, true, 0), ("TZH", TZH, false, 0), ("TZM", TZM, true, 0),
            ("TZ", TZ, false, 0), ("US", US, true, 0), ("WW", WW, true, 1), ("W", W, true, 1),
            ("Y,YYY", Y_YYY, true, 1), ("YYYY", YYYY, true, 1), ("YYY", YYY, true, 1), ("YY", YY, true, 1),
            ("Y", Y, true, 1), ("a.d.", a_d, false, 0), ("a.m.", a_m, false, 0), ("ad", ad, false, 0),
            ("am", am, false, 0), ("b.c.", b_c, false, 0), ("bc", bc, false, 0), ("cc", CC, true, 0),
            ("day", day, false, 0), ("ddd", DDD, true, 1), ("dd", DD, true, 1), ("dy", dy, false, 0),
            ("d", D, true, 1), ("ff1", FF1, true, 0), ("ff2", FF2, true, 0), ("ff3", FF3, true, 0),
            ("ff4", FF4, true, 0), ("ff5", FF5, true, 0), ("ff6", FF6, true, 0), ("fx", FX, false, 0),
            ("hh24", HH24, true, 0), ("hh12", HH12, true, 0), ("hh", HH, true, 0), ("iddd", IDDD, true, 2),
            ("id", ID, true, 2), ("iw", IW, true, 2), ("iyyy", IYYY, true, 2), ("iyy", IYY, true, 2),
            ("iy", IY, true, 2), ("i", I, true, 2), ("j", J, true, 0), ("mi", MI, true, 0), ("mm", MM, true, 1),
            ("month", month, false, 1), ("mon", mon, false, 1), ("ms", MS, true, 0), ("of", OF, false, 0),
            ("p.m.", p_m, false, 0), ("pm", pm, false, 0), ("q", Q, true, 0), ("rm", rm, false, 1),
            ("sssss", SSSS, true, 0), ("ssss", SSSS, true, 0), ("ss", SS, true, 0), ("tzh", TZH, false, 0),
            ("tzm", TZM, true, 0), ("tz", tz, false, 0), ("us", US, true, 0), ("ww", WW, true, 1),
            ("w", W, true, 1), ("y,yyy", Y_YYY, true, 1), ("yyyy", YYYY, true, 1), ("yyy", YYY, true, 1),
            ("yy", YY, true, 1), ("y", Y, true, 1),
        ]
        return raw.map { FmtKey(name: $0.0, len: $0.0.utf8.count, id: $0.1, isDigit: $0.2, mode: $0.3) }
    }()

    static let byFirst: [UInt8: [FmtKey]] = Dictionary(grouping: keywords, by: { $0.name.utf8.first ?? 0 })
}

/// NUM_* keyword ids.
enum NUMK {
    static let COMMA = 0, DEC = 1, ZERO = 2, NINE = 3, B = 4, C = 5, D = 6, E = 7, FM = 8, G = 9, L = 10, MI = 11,
               PL = 12, PR = 13, RN = 14, SG = 15, SP = 16, S = 17, TH = 18, V = 19, rn = 20, th = 21

    static let keywords: [FmtKey] = {
        let raw: [(String, Int)] = [
            (",", COMMA), (".", DEC), ("0", ZERO), ("9", NINE), ("B", B), ("C", C), ("D", D), ("EEEE", E),
            ("FM", FM), ("G", G), ("L", L), ("MI", MI), ("PL", PL), ("PR", PR), ("RN", RN), ("SG", SG), ("SP", SP),
            ("S", S), ("TH", TH), ("V", V), ("b", B), ("c", C), ("d", D), ("eeee", E), ("fm", FM), ("g", G),
            ("l", L), ("mi", MI), ("pl", PL), ("pr", PR), ("rn", rn), ("sg", SG), ("sp", SP), ("s", S), ("th", th),
            ("v", V),
        ]
        return raw.map { FmtKey(name: $0.0, len: $0.0.utf8.count, id: $0.1, isDigit: false, mode: 0) }
    }()

    static let byFirst: [UInt8: [FmtKey]] = Dictionary(grouping: keywords, by: { $0.name.utf8.first ?? 0 })
}

@inline(__always) func dtUTF8Len(_ c: UInt8) -> Int {
    c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4
}

public enum PGFormat {
    static func keywordAt(_ s: [UInt8], _ i: Int, _ table: [UInt8: [FmtKey]]) -> FmtKey? {
        let c = s[i]
        guard c > 32, c < 126, let cands = table[c] else { return nil }
        for k in cands {
            let kb = k.name.utf8
            if i + kb.count <= s.count, s[i..<(i + kb.count)].elementsEqual(kb) { return k }
        }
        return nil
    }

    static func isSeparatorChar(_ c: UInt8) -> Bool {
        c > 0x20 && c < 0x7F && !(c >= 65 && c <= 90) && !(c >= 97 && c <= 122) && !(c >= 48 && c <= 57)
    }

    /// Parsed formats, as PostgreSQL's DCH/NUM caches (bounded; cleared when full).
    static let formatCache = Mutex<[String: [FmtNode]]>([:])

    /// `parse_format`, cached.
    static func parse(_ fmt: String, dch: Bool) -> [FmtNode] {
        let key = (dch ? "D" : "N") + fmt
        if let hit = formatCache.withLock({ $0[key] }) { return hit }
        let nodes = parseUncached(fmt, dch: dch)
        if fmt.utf8.count <= 256 {
            formatCache.withLock {
                if $0.count >= 256 { $0.removeAll(keepingCapacity: true) }
                $0[key] = nodes
            }
        }
        return nodes
    }

    /// `parse_format`. `dch` selects the date/time keywords (with FM/TM prefixes and TH/th/SP
    /// suffixes), otherwise the number keywords.
    static func parseUncached(_ fmt: String, dch: Bool) -> [FmtNode] {
        let s = Array(fmt.utf8)
        var nodes: [FmtNode] = []
        var i = 0
        while i < s.count {
            var suffix = 0
            if dch, i + 1 < s.count {
                let two = (s[i], s[i + 1])
                if two == (70, 77) || two == (102, 109) { suffix |= DCH.S_FM; i += 2 }
                else if two == (84, 77) || two == (116, 109) { suffix |= DCH.S_TM; i += 2 }
            }
            if i < s.count, let k = keywordAt(s, i, dch ? DCH.byFirst : NUMK.byFirst) {
                var n = FmtNode(type: .action, suffix: suffix, key: k)
                i += k.len
                if dch, i + 1 < s.count {
                    let two = (s[i], s[i + 1])
                    if two == (84, 72) { n.suffix |= DCH.S_TH; i += 2 }
                    else if two == (116, 104) { n.suffix |= DCH.S_th; i += 2 }
                    else if two == (83, 80) { n.suffix |= DCH.S_SP; i += 2 }
                }
                nodes.append(n)
            } else if i < s.count {
                if s[i] == UInt8(ascii: "\"") {
                    i += 1
                    while i < s.count {
                        if s[i] == UInt8(ascii: "\"") {
                            i += 1
                            break
                        }
                        if s[i] == UInt8(ascii: "\\"), i + 1 < s.count { i += 1 }
                        let l = min(dtUTF8Len(s[i]), s.count - i)
                        nodes.append(FmtNode(type: .char, character: Array(s[i..<(i + l)])))
                        i += l
                    }
                } else {
                    if s[i] == UInt8(ascii: "\\"), i + 1 < s.count, s[i + 1] == UInt8(ascii: "\"") { i += 1 }
                    let l = min(dtUTF8Len(s[i]), s.count - i)
                    let t: FmtNodeType = dch && isSeparatorChar(s[i]) ? .separator : (dtIsSpace(s[i]) ? .space : .char)
                    nodes.append(FmtNode(type: t, character: Array(s[i..<(i + l)])))
                    i += l
                }
            }
        }
        return nodes
    }

    /// printf("%0*d", width, v).
    @inline(__always)
    static func zpad(_ v: Int, _ width: Int) -> String {
        let neg = v < 0
        let digits = String(v.magnitude)
        let w = width - (neg ? 1 : 0)
        let body = digits.count < w ? String(repeating: "0", count: w - digits.count) + digits : digits
        return (neg ? "-" : "") + body
    }

    /// printf("%-*s", 9, s) style right padding.
    static func rpad(_ s: String, _ width: Int) -> String {
        s.count < width ? s + String(repeating: " ", count: width - s.count) : s
    }

    /// `get_th`.
    static func th(_ num: String, upper: Bool) throws(SQLError) -> String {
        let b = Array(num.utf8)
        guard let lastc = b.last, lastc >= 48, lastc <= 57 else {
            throw SQLError(.invalidTextRepresentation, "\"\(num)\" is not a number")
        }
        var last = lastc
        if b.count > 1 && b[b.count - 2] == UInt8(ascii: "1") { last = 0 }
        switch last {
        case UInt8(ascii: "1"): return upper ? "ST" : "st"
        case UInt8(ascii: "2"): return upper ? "ND" : "nd"
        case UInt8(ascii: "3"): return upper ? "RD" : "rd"
        default: return upper ? "TH" : "th"
        }
    }

    // MARK: - to_char (date/time)

    struct TmToChar {
        var sec = 0, min = 0
        var hour: Int64 = 0
        var mday = 1, mon = 1, year = 0, wday = 0, yday = 0
        var gmtoff = 0
        var fsec = 0
        var tzn: String?
    }

    static func dchToChar(_ nodes: [FmtNode], interval: Bool, _ tm: TmToChar) throws(SQLError) -> String {
        var out = ""
        func invalidForInterval() throws(SQLError) {
            if interval {
                throw SQLError(.invalidDatetimeFormat, "invalid format specification for an interval value",
                               hint: "Intervals are not tied to specific calendar dates.")
            }
        }
        func adjustYear(_ y: Int) -> Int { interval ? y : (y <= 0 ? -(y - 1) : y) }
        for n in nodes {
            guard n.type == .action, let key = n.key else {
                out += String(decoding: n.character, as: UTF8.self)
                continue
            }
            let fm = n.suffix & DCH.S_FM != 0
            let thth = n.suffix & (DCH.S_TH | DCH.S_th) != 0
            let thUpper = n.suffix & DCH.S_TH != 0
            let tmSuffix = n.suffix & DCH.S_TM != 0
            func numth(_ s: String) throws(SQLError) -> String { thth ? s + (try th(s, upper: thUpper)) : s }
            let pm = (tm.hour % 24) >= 12
            switch key.id {
            case DCH.A_M, DCH.P_M: out += pm ? "P.M." : "A.M."
            case DCH.AM, DCH.PM: out += pm ? "PM" : "AM"
            case DCH.a_m, DCH.p_m: out += pm ? "p.m." : "a.m."
            case DCH.am, DCH.pm: out += pm ? "pm" : "am"
            case DCH.HH, DCH.HH12:
                let v = tm.hour % 12 == 0 ? 12 : tm.hour % 12
                out += try numth(zpad(Int(v), fm ? 0 : (tm.hour >= 0 ? 2 : 3)))
            case DCH.HH24:
                out += try numth(zpad(Int(tm.hour), fm ? 0 : (tm.hour >= 0 ? 2 : 3)))
            case DCH.MI:
                out += try numth(zpad(tm.min, fm ? 0 : (tm.min >= 0 ? 2 : 3)))
            case DCH.SS:
                out += try numth(zpad(tm.sec, fm ? 0 : (tm.sec >= 0 ? 2 : 3)))
            case DCH.FF1: out += try numth(zpad(tm.fsec / 100_000, 1))
            case DCH.FF2: out += try numth(zpad(tm.fsec / 10000, 2))
            case DCH.FF3, DCH.MS: out += try numth(zpad(tm.fsec / 1000, 3))
            case DCH.FF4: out += try numth(zpad(tm.fsec / 100, 4))
            case DCH.FF5: out += try numth(zpad(tm.fsec / 10, 5))
            case DCH.FF6, DCH.US: out += try numth(zpad(tm.fsec, 6))
            case DCH.SSSS:
                out += try numth(String(tm.hour * 3600 + Int64(tm.min * 60 + tm.sec)))
            case DCH.tz:
                try invalidForInterval()
                if let z = tm.tzn { out += z.lowercased() }
            case DCH.TZ:
                try invalidForInterval()
                if let z = tm.tzn { out += z }
            case DCH.TZH:
                try invalidForInterval()
                out += (tm.gmtoff >= 0 ? "+" : "-") + zpad(abs(tm.gmtoff) / 3600, 2)
            case DCH.TZM:
                try invalidForInterval()
                out += zpad((abs(tm.gmtoff) % 3600) / 60, 2)
            case DCH.OF:
                try invalidForInterval()
                out += (tm.gmtoff >= 0 ? "+" : "-") + zpad(abs(tm.gmtoff) / 3600, fm ? 0 : 2)
                if abs(tm.gmtoff) % 3600 != 0 { out += ":" + zpad((abs(tm.gmtoff) % 3600) / 60, 2) }
            case DCH.A_D, DCH.B_C:
                try invalidForInterval()
                out += tm.year <= 0 ? "B.C." : "A.D."
            case DCH.AD, DCH.BC:
                try invalidForInterval()
                out += tm.year <= 0 ? "BC" : "AD"
            case DCH.a_d, DCH.b_c:
                try invalidForInterval()
                out += tm.year <= 0 ? "b.c." : "a.d."
            case DCH.ad, DCH.bc:
                try invalidForInterval()
                out += tm.year <= 0 ? "bc" : "ad"
            case DCH.MONTH, DCH.Month, DCH.month:
                try invalidForInterval()
                if tm.mon == 0 { break }
                let name = PGCal.monthFullNames[tm.mon - 1]
                let cased = key.id == DCH.MONTH ? name.uppercased() : key.id == DCH.month ? name.lowercased() : name
                out += tmSuffix ? cased : (fm ? cased : rpad(cased, 9))
            case DCH.MON, DCH.Mon, DCH.mon:
                try invalidForInterval()
                if tm.mon == 0 { break }
                let name = PGCal.monthNames[tm.mon - 1]
                out += key.id == DCH.MON ? name.uppercased() : key.id == DCH.mon ? name.lowercased() : name
            case DCH.MM:
                out += try numth(zpad(tm.mon, fm ? 0 : (tm.mon >= 0 ? 2 : 3)))
            case DCH.DAY, DCH.Day, DCH.day:
                try invalidForInterval()
                let name = PGCal.dayNames[tm.wday]
                let cased = key.id == DCH.DAY ? name.uppercased() : key.id == DCH.day ? name.lowercased() : name
                out += tmSuffix ? cased : (fm ? cased : rpad(cased, 9))
            case DCH.DY, DCH.Dy, DCH.dy:
                try invalidForInterval()
                let name = String(PGCal.dayNames[tm.wday].prefix(3))
                out += key.id == DCH.DY ? name.uppercased() : key.id == DCH.dy ? name.lowercased() : name
            case DCH.DDD, DCH.IDDD:
                let v = key.id == DCH.DDD ? tm.yday : PGCal.isoYearDay(tm.year, tm.mon, tm.mday)
                out += try numth(zpad(v, fm ? 0 : 3))
            case DCH.DD:
                out += try numth(zpad(tm.mday, fm ? 0 : 2))
            case DCH.D:
                try invalidForInterval()
                out += try numth(String(tm.wday + 1))
            case DCH.ID:
                try invalidForInterval()
                out += try numth(String(tm.wday == 0 ? 7 : tm.wday))
            case DCH.WW:
                out += try numth(zpad(Int((Int32(truncatingIfNeeded: tm.yday) &- 1) / 7 &+ 1), fm ? 0 : 2))
            case DCH.IW:
                out += try numth(zpad(PGCal.isoWeek(tm.year, tm.mon, tm.mday), fm ? 0 : 2))
            case DCH.Q:
                if tm.mon == 0 { break }
                out += try numth(String((tm.mon - 1) / 3 + 1))
            case DCH.CC:
                let i = interval ? tm.year / 100 : (tm.year > 0 ? (tm.year - 1) / 100 + 1 : tm.year / 100 - 1)
                if i <= 99 && i >= -99 {
                    out += try numth(zpad(i, fm ? 0 : (i >= 0 ? 2 : 3)))
                } else {
                    out += try numth(String(i))
                }
            case DCH.Y_YYY:
                let y = adjustYear(tm.year)
                let i = y / 1000
                out += try numth(String(i) + "," + zpad(y - i * 1000, 3))
            case DCH.YYYY, DCH.IYYY, DCH.YYY, DCH.IYY, DCH.YY, DCH.IY, DCH.Y, DCH.I:
                let iso = [DCH.IYYY, DCH.IYY, DCH.IY, DCH.I].contains(key.id)
                let ay = adjustYear(tm.year)
                let v = iso ? adjustYear(PGCal.isoYear(tm.year, tm.mon, tm.mday)) : ay
                switch key.id {
                case DCH.YYYY, DCH.IYYY: out += try numth(zpad(v, fm ? 0 : (ay >= 0 ? 4 : 5)))
                case DCH.YYY, DCH.IYY: out += try numth(zpad(v % 1000, fm ? 0 : (ay >= 0 ? 3 : 4)))
                case DCH.YY, DCH.IY: out += try numth(zpad(v % 100, fm ? 0 : (ay >= 0 ? 2 : 3)))
                default: out += try numth(zpad(v % 10, 1))
                }
            case DCH.RM, DCH.rm:
                if tm.mon == 0 && tm.year == 0 { break }
                let upper = ["XII", "XI", "X", "IX", "VIII", "VII", "VI", "V", "IV", "III", "II", "I"]
                var mon: Int
                if tm.mon == 0 {
                    mon = tm.year >= 0 ? 0 : 11
                } else if tm.mon < 0 {
                    mon = -1 * (tm.mon + 1)
                } else {
                    mon = 12 - tm.mon
                }
                let r = key.id == DCH.RM ? upper[mon] : upper[mon].lowercased()
                out += fm ? r : rpad(r, 4)
            case DCH.W:
                out += try numth(String((tm.mday - 1) / 7 + 1))
            case DCH.J:
                out += try numth(String(PGCal.date2j(tm.year, tm.mon, tm.mday)))
            default:
                break
            }
        }
        return out
    }

    static func tmToChar(_ x: PGTm, zoned: Bool) -> TmToChar {
        var t = TmToChar()
        t.sec = x.sec
        t.min = x.min
        t.hour = Int64(x.hour)
        t.mday = x.mday
        t.mon = x.mon
        t.year = x.year
        let thisdate = PGCal.date2j(x.year, x.mon, x.mday)
        t.wday = (thisdate + 1) % 7
        t.yday = thisdate - PGCal.date2j(x.year, 1, 1) + 1
        t.fsec = x.fsec
        if zoned {
            t.gmtoff = x.gmtoff
            t.tzn = x.zone
        }
        return t
    }

    /// `to_char(timestamp, text)`; nil (SQL NULL) for an empty format or an infinite timestamp.
    public static func toChar(timestamp t: Int64, _ fmt: String) throws(SQLError) -> String? {
        if fmt.isEmpty || t == Int64.min || t == Int64.max { return nil }
        guard let x = PGTm.from(timestamp: t) else { throw SQLError(.datetimeFieldOverflow, "timestamp out of range") }
        return try dchToChar(parse(fmt, dch: true), interval: false, tmToChar(x, zoned: false))
    }

    /// `to_char(timestamptz, text)` in `zone` (TZ prints the zone abbreviation, OF the offset).
    public static func toChar(timestamptz t: Int64, _ fmt: String, zone: TimeZoneRule) throws(SQLError) -> String? {
        if fmt.isEmpty || t == Int64.min || t == Int64.max { return nil }
        guard let x = PGTm.from(timestamptz: t, zone: zone) else { throw SQLError(.datetimeFieldOverflow, "timestamp out of range") }
        return try dchToChar(parse(fmt, dch: true), interval: false, tmToChar(x, zoned: true))
    }

    /// `to_char(interval, text)`.
    public static func toChar(interval iv: Interval, _ fmt: String) throws(SQLError) -> String? {
        if fmt.isEmpty { return nil }
        let f = iv.fields
        var t = TmToChar()
        t.fsec = f.usec
        t.sec = f.sec
        t.min = f.min
        t.hour = f.hour
        t.mday = f.mday
        t.mon = f.mon
        t.year = f.year
        t.yday = Int((Int32(truncatingIfNeeded: t.year) &* 12 &+ Int32(truncatingIfNeeded: t.mon)) &* 30 &+ Int32(truncatingIfNeeded: t.mday))
        return try dchToChar(parse(fmt, dch: true), interval: true, t)
    }

    // MARK: - to_timestamp / to_date

    struct TmFromChar {
        var mode = 0
        var hh = 0, pm = 0, mi = 0, ss = 0, ssss = 0, d = 0, dd = 0, ddd = 0, mm = 0, ms = 0, year = 0, bc = 0
        var ww = 0, w = 0, cc = 0, j = 0, us = 0, yysz = 0, clock = 0, tzsign = 0, tzh = 0, tzm = 0, ff = 0
    }

    static func isNextSeparator(_ nodes: [FmtNode], _ idx: Int) -> Bool {
        let n = nodes[idx]
        if n.type == .action && n.suffix & (DCH.S_TH | DCH.S_th) != 0 { return true }
        if idx + 1 >= nodes.count { return true }
        let nx = nodes[idx + 1]
        if nx.type == .action { return !(nx.key?.isDigit ?? false) }
        if nx.character.count == 1 && nx.character[0] >= 48 && nx.character[0] <= 57 { return false }
        return true
    }

    static func fmtErr(_ msg: String, detail: String? = nil, hint: String? = nil) -> SQLError {
        SQLError(.invalidDatetimeFormat, msg, detail: detail, hint: hint)
    }

    /// `DCH_from_char` + `do_to_timestamp`: the broken-down time, fractional seconds, the
    /// fractional precision of FFn, and the zone offset text given by TZH/TZM.
    static func doToTimestamp(_ text: String, _ fmt: String) throws(SQLError) -> (PGTm, Int, Int, String?) {
        let s = Array(text.utf8)
        var p = 0
        var out = TmFromChar()
        let nodes = fmt.isEmpty ? [] : parse(fmt, dch: true)
        var fxMode = false
        var extraSkip = 0
        @inline(__always) func at(_ k: Int) -> UInt8 { k < s.count ? s[k] : 0 }

        func setInt(_ dest: inout Int, _ value: Int, _ node: FmtNode) throws(SQLError) {
            if dest != 0 && dest != value {
                throw fmtErr("conflicting values for \"\(node.keyName)\" field in formatting string",
                             detail: "This value contradicts a previous setting for the same field type.")
            }
            dest = value
        }

        /// `from_char_parse_int_len`; returns (value, characters consumed).
        func parseIntLen(_ len: Int, _ idx: Int) throws(SQLError) -> (Int, Int) {
            let node = nodes[idx]
            let initP = p
            while p < s.count && dtIsSpace(s[p]) { p += 1 }
            let copyEnd = min(s.count, p + len)
            let copy = Array(s[p..<copyEnd])
            let used = s.count - p
            var result: Int64
            var overflow = false
            if node.suffix & DCH.S_FM != 0 || isNextSeparator(nodes, idx) {
                let r = CNum.strtol(s, initP, bits: 64)
                result = r.value
                overflow = r.overflow
                p = r.end
            } else {
                if used < len {
                    throw fmtErr("source string too short for \"\(node.keyName)\" formatting field",
                                 detail: "Field requires \(len) characters, but only \(used) remain.",
                                 hint: "If your source string is not fixed-width, try using the \"FM\" modifier.")
                }
                let r = CNum.strtol(copy, 0, bits: 64)
                result = r.value
                overflow = r.overflow
                let u = r.end
                if u > 0 && u < len {
                    throw fmtErr("invalid value \"\(copy.dtString)\" for \"\(node.keyName)\"",
                                 detail: "Field requires \(len) characters, but only \(u) could be parsed.",
                                 hint: "If your source string is not fixed-width, try using the \"FM\" modifier.")
                }
                p += u
            }
            if p == initP {
                throw fmtErr("invalid value \"\(copy.dtString)\" for \"\(node.keyName)\"", detail: "Value must be an integer.")
            }
            if overflow || result < Int64(Int32.min) || result > Int64(Int32.max) {
                throw SQLError(.datetimeFieldOverflow, "value for \"\(node.keyName)\" in source string is out of range",
                               detail: "Value must be in the range -2147483648 to 2147483647.")
            }
            return (Int(result), p - initP)
        }

        func parseInt(_ dest: inout Int, _ idx: Int, len: Int? = nil) throws(SQLError) -> Int {
            guard let fieldLen = len ?? nodes[idx].key?.len else {
                throw SQLError.bug("formatting field without a keyword")
            }
            let (v, n) = try parseIntLen(fieldLen, idx)
            try setInt(&dest, v, nodes[idx])
            return n
        }

        func seqSearch(_ array: [String], _ idx: Int) throws(SQLError) -> Int {
            if p < s.count {
                let fc = DTLexer.lower(s[p])
                for (k, a) in array.enumerated() {
                    let ab = Array(a.utf8)
                    if DTLexer.lower(ab[0]) != fc { continue }
                    var ok = true
                    for q in 1..<ab.count {
                        if p + q >= s.count || DTLexer.lower(ab[q]) != DTLexer.lower(s[p + q]) {
                            ok = false
                            break
                        }
                    }
                    if ok {
                        p += ab.count
                        return k
                    }
                }
            }
            var e = p
            while e < s.count, ![32, 9, 10, 13, 12].contains(s[e]) { e += 1 }
            throw fmtErr("invalid value \"\(Array(s[p..<e]).dtString)\" for \"\(nodes[idx].keyName)\"",
                         detail: "The given value did not match any of the allowed values for this field.")
        }

        func skipTH(_ node: FmtNode) {
            if node.suffix & (DCH.S_TH | DCH.S_th) != 0 {
                if p < s.count { p += dtUTF8Len(s[p]) }
                if p < s.count { p += dtUTF8Len(s[p]) }
            }
        }

        var idx = 0
        while idx < nodes.count && p < s.count {
            let n = nodes[idx]
            if !fxMode && !(n.type == .action && n.key?.id == DCH.FX) && (n.type == .action || idx == 0) {
                while p < s.count && dtIsSpace(s[p]) {
                    p += 1
                    extraSkip += 1
                }
            }
            if n.type == .space || n.type == .separator {
                if !fxMode {
                    extraSkip -= 1
                    if p < s.count, dtIsSpace(s[p]) || isSeparatorChar(s[p]) {
                        p += 1
                        extraSkip += 1
                    }
                } else if p < s.count {
                    p += dtUTF8Len(s[p])
                }
                idx += 1
                continue
            } else if n.type != .action {
                if !fxMode {
                    if extraSkip > 0 { extraSkip -= 1 } else if p < s.count { p += dtUTF8Len(s[p]) }
                } else if p < s.count {
                    p += dtUTF8Len(s[p])
                }
                idx += 1
                continue
            }
            guard let key = n.key else { throw SQLError.bug("formatting action node without a keyword") }
            if key.mode != 0 {
                if out.mode == 0 {
                    out.mode = key.mode
                } else if out.mode != key.mode {
                    throw fmtErr("invalid combination of date conventions",
                                 hint: "Do not mix Gregorian and ISO week date conventions in a formatting template.")
                }
            }
            switch key.id {
            case DCH.FX:
                fxMode = true
            case DCH.A_M, DCH.P_M, DCH.a_m, DCH.p_m:
                let v = try seqSearch(["a.m.", "p.m.", "A.M.", "P.M."], idx)
                try setInt(&out.pm, v % 2, n)
                out.clock = 1
            case DCH.AM, DCH.PM, DCH.am, DCH.pm:
                let v = try seqSearch(["am", "pm", "AM", "PM"], idx)
                try setInt(&out.pm, v % 2, n)
                out.clock = 1
            case DCH.HH, DCH.HH12:
                _ = try parseInt(&out.hh, idx, len: 2)
                out.clock = 1
                skipTH(n)
            case DCH.HH24:
                _ = try parseInt(&out.hh, idx, len: 2)
                skipTH(n)
            case DCH.MI:
                _ = try parseInt(&out.mi, idx)
                skipTH(n)
            case DCH.SS:
                _ = try parseInt(&out.ss, idx)
                skipTH(n)
            case DCH.MS:
                let len = try parseInt(&out.ms, idx, len: 3)
                out.ms *= len == 1 ? 100 : len == 2 ? 10 : 1
                skipTH(n)
            case DCH.FF1, DCH.FF2, DCH.FF3, DCH.FF4, DCH.FF5, DCH.FF6, DCH.US:
                if key.id != DCH.US { out.ff = key.id - DCH.FF1 + 1 }
                let len = try parseInt(&out.us, idx, len: key.id == DCH.US ? 6 : out.ff)
                out.us *= len == 1 ? 100_000 : len == 2 ? 10000 : len == 3 ? 1000 : len == 4 ? 100 : len == 5 ? 10 : 1
                skipTH(n)
            case DCH.SSSS:
                _ = try parseInt(&out.ssss, idx)
                skipTH(n)
            case DCH.tz, DCH.TZ, DCH.OF:
                throw SQLError(.featureNotSupported, "formatting field \"\(key.name)\" is only supported in to_char")
            case DCH.TZH:
                if at(p) == UInt8(ascii: "+") || at(p) == UInt8(ascii: "-") || at(p) == UInt8(ascii: " ") {
                    out.tzsign = at(p) == UInt8(ascii: "-") ? -1 : 1
                    p += 1
                } else {
                    out.tzsign = extraSkip > 0 && p > 0 && s[p - 1] == UInt8(ascii: "-") ? -1 : 1
                }
                _ = try parseInt(&out.tzh, idx, len: 2)
            case DCH.TZM:
                if out.tzsign == 0 { out.tzsign = 1 }
                _ = try parseInt(&out.tzm, idx, len: 2)
            case DCH.A_D, DCH.B_C, DCH.a_d, DCH.b_c:
                let v = try seqSearch(["a.d.", "b.c.", "A.D.", "B.C."], idx)
                try setInt(&out.bc, v % 2, n)
            case DCH.AD, DCH.BC, DCH.ad, DCH.bc:
                let v = try seqSearch(["ad", "bc", "AD", "BC"], idx)
                try setInt(&out.bc, v % 2, n)
            case DCH.MONTH, DCH.Month, DCH.month:
                let v = try seqSearch(PGCal.monthFullNames, idx)
                try setInt(&out.mm, v + 1, n)
            case DCH.MON, DCH.Mon, DCH.mon:
                let v = try seqSearch(PGCal.monthNames, idx)
                try setInt(&out.mm, v + 1, n)
            case DCH.MM:
                _ = try parseInt(&out.mm, idx)
                skipTH(n)
            case DCH.DAY, DCH.Day, DCH.day:
                let v = try seqSearch(PGCal.dayNames, idx)
                try setInt(&out.d, v, n)
                out.d += 1
            case DCH.DY, DCH.Dy, DCH.dy:
                let v = try seqSearch(["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], idx)
                try setInt(&out.d, v, n)
                out.d += 1
            case DCH.DDD:
                _ = try parseInt(&out.ddd, idx)
                skipTH(n)
            case DCH.IDDD:
                _ = try parseInt(&out.ddd, idx, len: 3)
                skipTH(n)
            case DCH.DD:
                _ = try parseInt(&out.dd, idx)
                skipTH(n)
            case DCH.D:
                _ = try parseInt(&out.d, idx)
                skipTH(n)
            case DCH.ID:
                _ = try parseInt(&out.d, idx, len: 1)
                out.d += 1
                if out.d > 7 { out.d = 1 }
                skipTH(n)
            case DCH.WW, DCH.IW:
                _ = try parseInt(&out.ww, idx)
                skipTH(n)
            case DCH.Q:
                _ = try parseIntLen(key.len, idx)
                skipTH(n)
            case DCH.CC:
                _ = try parseInt(&out.cc, idx)
                skipTH(n)
            case DCH.Y_YYY:
                // sscanf(s, "%d,%03d%n", &millennia, &years, &nch)
                var q = p
                let r1 = CNum.strtol(s, q, bits: 32)
                guard r1.end > q, r1.end < s.count, s[r1.end] == UInt8(ascii: ",") else {
                    throw fmtErr("invalid input string for \"Y,YYY\"")
                }
                q = r1.end + 1
                while q < s.count && dtIsSpace(s[q]) { q += 1 }
                let lim = min(s.count, q + 3)
                let r2 = CNum.strtol(Array(s[q..<lim]), 0, bits: 32)
                guard r2.end > 0 else { throw fmtErr("invalid input string for \"Y,YYY\"") }
                let years = Int(r2.value) + Int(r1.value) * 1000
                try setInt(&out.year, years, n)
                out.yysz = 4
                p = q + r2.end
                skipTH(n)
            case DCH.YYYY, DCH.IYYY:
                _ = try parseInt(&out.year, idx)
                out.yysz = 4
                skipTH(n)
            case DCH.YYY, DCH.IYY, DCH.YY, DCH.IY, DCH.Y, DCH.I:
                let len = try parseInt(&out.year, idx)
                if len < 4 { out.year = adjustPartialYear(out.year) }
                out.yysz = key.id == DCH.YYY || key.id == DCH.IYY ? 3 : key.id == DCH.YY || key.id == DCH.IY ? 2 : 1
                skipTH(n)
            case DCH.RM, DCH.rm:
                let v = try seqSearch(["xii", "xi", "x", "ix", "viii", "vii", "vi", "v", "iv", "iii", "ii", "i"], idx)
                try setInt(&out.mm, 12 - v, n)
            case DCH.W:
                _ = try parseInt(&out.w, idx)
                skipTH(n)
            case DCH.J:
                _ = try parseInt(&out.j, idx)
                skipTH(n)
            default:
                break
            }
            if !fxMode {
                extraSkip = 0
                while p < s.count && dtIsSpace(s[p]) {
                    p += 1
                    extraSkip += 1
                }
            }
            idx += 1
        }

        // do_to_timestamp's conversion of the fields.
        var tm = PGTm(year: 0, mon: 1, mday: 1)
        var fsec = 0
        var fmask = 0
        if out.ssss != 0 {
            var x = out.ssss
            tm.hour = x / 3600
            x %= 3600
            tm.min = x / 60
            x %= 60
            tm.sec = x
        }
        if out.ss != 0 { tm.sec = out.ss }
        if out.mi != 0 { tm.min = out.mi }
        if out.hh != 0 { tm.hour = out.hh }
        if out.clock == 1 {
            if tm.hour < 1 || tm.hour > 12 {
                throw fmtErr("hour \"\(tm.hour)\" is invalid for the 12-hour clock",
                             hint: "Use the 24-hour clock, or give an hour between 1 and 12.")
            }
            if out.pm != 0 && tm.hour < 12 { tm.hour += 12 } else if out.pm == 0 && tm.hour == 12 { tm.hour = 0 }
        }
        if out.year != 0 {
            if out.cc != 0 && out.yysz <= 2 {
                if out.bc != 0 { out.cc = -out.cc }
                tm.year = out.year % 100
                if tm.year != 0 {
                    if out.cc >= 0 { tm.year += (out.cc - 1) * 100 } else { tm.year = (out.cc + 1) * 100 - tm.year + 1 }
                } else {
                    tm.year = out.cc * 100 + (out.cc >= 0 ? 0 : 1)
                }
            } else {
                tm.year = out.year
                if out.bc != 0 { tm.year = -tm.year }
                if tm.year < 0 { tm.year += 1 }
            }
            fmask |= DTM.m(.year)
        } else if out.cc != 0 {
            if out.bc != 0 { out.cc = -out.cc }
            tm.year = out.cc >= 0 ? (out.cc - 1) * 100 + 1 : out.cc * 100 + 1
            fmask |= DTM.m(.year)
        }
        if out.j != 0 {
            (tm.year, tm.mon, tm.mday) = PGCal.j2date(out.j)
            fmask |= DTM.date
        }
        if out.ww != 0 {
            if out.mode == 2 {
                if out.d != 0 {
                    var jday = PGCal.isoweek2j(tm.year, out.ww)
                    jday += out.d > 1 ? out.d - 2 : 6
                    (tm.year, tm.mon, tm.mday) = PGCal.j2date(jday)
                } else {
                    (tm.year, tm.mon, tm.mday) = PGCal.j2date(PGCal.isoweek2j(tm.year, out.ww))
                }
                fmask |= DTM.date
            } else {
                out.ddd = (out.ww - 1) * 7 + 1
            }
        }
        if out.w != 0 { out.dd = (out.w - 1) * 7 + 1 }
        if out.dd != 0 {
            tm.mday = out.dd
            fmask |= DTM.m(.day)
        }
        if out.mm != 0 {
            tm.mon = out.mm
            fmask |= DTM.m(.month)
        }
        if out.ddd != 0 && (tm.mon <= 1 || tm.mday <= 1) {
            if tm.year == 0 && out.bc == 0 {
                throw fmtErr("cannot calculate day of year without year information")
            }
            if out.mode == 2 {
                let j0 = PGCal.isoweek2j(tm.year, 1) - 1
                (tm.year, tm.mon, tm.mday) = PGCal.j2date(j0 + out.ddd)
                fmask |= DTM.date
            } else {
                let ysum = PGCal.isLeap(tm.year) ? [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366]
                    : [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]
                var i = 1
                while i <= 12 {
                    if out.ddd <= ysum[i] { break }
                    i += 1
                }
                if tm.mon <= 1 { tm.mon = i }
                if tm.mday <= 1 { tm.mday = out.ddd - ysum[min(i, 13) - 1] }
                fmask |= DTM.m(.month) | DTM.m(.day)
            }
        }
        if out.ms != 0 { fsec += out.ms * 1000 }
        if out.us != 0 { fsec += out.us }
        if fmask != 0 {
            do {
                try DTDecoder.validateDate(fmask: fmask, isjulian: true, is2digits: false, bc: false, tm: &tm)
            } catch {
                throw SQLError(.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"")
            }
        }
        if tm.hour < 0 || tm.hour >= 24 || tm.min < 0 || tm.min >= 60 || tm.sec < 0 || tm.sec >= 60 || fsec < 0 || fsec >= 1_000_000 {
            throw SQLError(.datetimeFieldOverflow, "date/time field value out of range: \"\(text)\"")
        }
        var zoneText: String?
        if out.tzsign != 0 {
            if out.tzh < 0 || out.tzh > 15 || out.tzm < 0 || out.tzm >= 60 {
                throw SQLError(SQLState("22009"), "time zone displacement out of range: \"\(text)\"")
            }
            zoneText = (out.tzsign > 0 ? "+" : "-") + zpad(out.tzh, 2) + ":" + zpad(out.tzm, 2)
        }
        return (tm, fsec, out.ff, zoneText)
    }

    static func adjustPartialYear(_ year: Int) -> Int {
        if year < 70 { return year + 2000 }
        if year < 100 { return year + 1900 }
        if year < 520 { return year + 2000 }
        if year < 1000 { return year + 1000 }
        return year
    }

    /// `to_timestamp(text, format)` → timestamptz (UTC µs); fields without a TZH/TZM zone are
    /// read in `zone`.
    public static func toTimestamp(_ text: String, _ fmt: String, zone: TimeZoneRule) throws(SQLError) -> Int64 {
        var (tm, fsec, fprec, zoneText) = try doToTimestamp(text, fmt)
        let off: Int
        if let zoneText {
            do {
                off = -(try DTDecoder.decodeTimezone(Array(zoneText.utf8)))
            } catch {
                throw DTDecoder.parseError(error, text, "timestamptz")
            }
        } else {
            off = tm.zoneOffset(zone).offset
        }
        tm.fsec = fsec
        guard var r = tm.toTimestamp(offsetEast: off) else { throw SQLError(.datetimeFieldOverflow, "timestamp out of range") }
        if fprec != 0 { r = try PGDateTime.roundTimestamp(r, typmod: Int32(fprec)) }
        return r
    }

    /// `to_date(text, format)` → days since 2000-01-01.
    public static func toDate(_ text: String, _ fmt: String) throws(SQLError) -> Int32 {
        let (tm, _, _, _) = try doToTimestamp(text, fmt)
        guard PGCal.isValidJulian(tm.year, tm.mon, tm.mday) else {
            throw SQLError(.datetimeFieldOverflow, "date out of range: \"\(text)\"")
        }
        let d = Int64(PGCal.date2j(tm.year, tm.mon, tm.mday) - PGCal.postgresEpochJDate)
        guard PGCal.isValidDate(d) else { throw SQLError(.datetimeFieldOverflow, "date out of range: \"\(text)\"") }
        return Int32(d)
    }
}
