import Glibc
import Synchronization

// PostgreSQL 15's time-zone machinery: IANA zones from the system tz database
// (/usr/share/zoneinfo, TZif v1/v2/v3, 64-bit section plus the POSIX footer), POSIX TZ strings,
// fixed offsets, and the default set of time-zone abbreviations ("Default" timezone_abbreviations).
//
// The transition table is built exactly as PostgreSQL's copy of the IANA code does (localtime.c):
// the file's transitions, then the footer rule's transitions for the years after them (generated
// from 1770 on, at most 2000 transitions in all); past either end of the table a zone whose
// transitions repeat every 400 years is extrapolated by whole 400-year cycles. Lookups are
// binary searches over that table, and loaded zones are cached by upper-cased name.

/// One local-time type of a zone: its UTC offset (seconds east), DST flag and abbreviation.
public struct TimeZoneType: Sendable, Hashable {
    public var utcOffset: Int
    public var isDST: Bool
    public var abbreviation: String
    var isStd = false
    var isUT = false
}

/// The loaded rules of one zone (immutable, shared between all copies of a `TimeZoneRule`).
final class TZState: Sendable {
    let ats: [Int64]
    let types: [UInt8]
    let ttis: [TimeZoneType]
    let goback: Bool
    let goahead: Bool
    let defaultType: Int

    init(ats: [Int64], types: [UInt8], ttis: [TimeZoneType], goback: Bool, goahead: Bool, defaultType: Int) {
        self.ats = ats
        self.types = types
        self.ttis = ttis
        self.goback = goback
        self.goahead = goahead
        self.defaultType = defaultType
    }
}

/// A time zone as PostgreSQL's `pg_tz`: an IANA zone, a POSIX TZ specification, or a fixed offset.
public struct TimeZoneRule: Sendable, Hashable {
    /// The canonical name (the on-disk spelling for IANA zones, upper case for POSIX specs).
    public let name: String
    let state: TZState

    public static func == (a: TimeZoneRule, b: TimeZoneRule) -> Bool { a.state === b.state }
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(state)) }

    static let yearsPerRepeat: Int64 = 400
    static let avgSecsPerYear: Int64 = 31_556_952
    static let secsPerRepeat: Int64 = 400 * 31_556_952
    /// Seconds from 1970-01-01 to 2000-01-01.
    static let pgEpochUnixSeconds: Int64 = 946_684_800

    // MARK: Lookup by name

    /// PostgreSQL's `pg_tzset`: an IANA zone name (case-insensitive, e.g. `Europe/Berlin`,
    /// `etc/gmt+5`), or a POSIX TZ string (`UTC+3` is three hours *west* of UTC, `<+05>-05`,
    /// `EST5EDT,M3.2.0,M11.1.0`). Unknown names throw 22023 `time zone "x" not recognized`.
    /// This is the lookup that `AT TIME ZONE`, `date_trunc(..., zone)` and timestamp input use
    /// after the abbreviation table; see `ZoneSpec` for the full order.
    public static func named(_ name: String) throws(SQLError) -> TimeZoneRule {
        guard let z = lookup(name) else {
            throw SQLError(.invalidParameterValue, "time zone \"\(name)\" not recognized")
        }
        return z
    }

    /// `pg_tzset`, returning nil for an unknown name.
    public static func lookup(_ name: String) -> TimeZoneRule? {
        if name.utf8.count > 255 { return nil }
        let upper = String(decoding: name.utf8.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
        if let hit = cache.withLock({ $0[upper] }) { return hit }
        var result: TimeZoneRule?
        if upper == "GMT" {
            if let st = TZParser.tzparse(Array(upper.utf8), lastditch: true) { result = TimeZoneRule(name: upper, state: st) }
        } else if let (canon, st) = TZFile.load(name) {
            result = TimeZoneRule(name: canon, state: st)
        } else if upper.utf8.first != UInt8(ascii: ":"), let st = TZParser.tzparse(Array(upper.utf8), lastditch: false) {
            result = TimeZoneRule(name: upper, state: st)
        }
        guard let z = result else { return nil }
        cache.withLock { $0[upper] = z }
        return z
    }

    /// PostgreSQL's `pg_tzset_offset`: a fixed zone `offsetEast` seconds east of UTC whose
    /// abbreviation is the offset itself (`+05`, `-03:30`).
    public static func fixed(offsetEast: Int) -> TimeZoneRule {
        let gmtoffset = -offsetEast
        var abs = gmtoffset < 0 ? -gmtoffset : gmtoffset
        var s = pad(Int64(abs / 3600), 2)
        abs %= 3600
        if abs != 0 {
            s += ":" + pad(Int64(abs / 60), 2)
            abs %= 60
            if abs != 0 { s += ":" + pad(Int64(abs), 2) }
        }
        let spec = gmtoffset > 0 ? "<-\(s)>+\(s)" : "<+\(s)>-\(s)"
        return lookup(spec) ?? utc
    }

    /// `SET TIME ZONE` / the TimeZone setting: `INTERVAL '...'` (hours and minutes only), a plain
    /// number of hours (SQL sign: `-8` is eight hours west, `5.5` is 05:30 east), otherwise a
    /// zone name or POSIX spec as in `named` (where `+05:30` means five and a half hours *west*).
    /// Bad values throw 22023 `invalid value for parameter "TimeZone": "x"` (with PG's detail).
    public static func forSetting(_ value: String) throws(SQLError) -> TimeZoneRule {
        func bad(_ detail: String? = nil) -> SQLError {
            SQLError(.invalidParameterValue, "invalid value for parameter \"TimeZone\": \"\(value)\"", detail: detail)
        }
        let b = Array(value.utf8)
        if b.count >= 8, String(decoding: b[0..<8], as: UTF8.self).lowercased() == "interval" {
            var i = 8
            while i < b.count, dtIsSpace(b[i]) { i += 1 }
            guard i < b.count, b[i] == UInt8(ascii: "'") else { throw bad() }
            i += 1
            guard let q = b[i...].firstIndex(of: UInt8(ascii: "'")), q == b.count - 1 else { throw bad() }
            let iv = try Interval.parse(String(decoding: b[i..<q], as: UTF8.self))
            if iv.months != 0 { throw bad("Cannot specify months in time zone interval.") }
            if iv.days != 0 { throw bad("Cannot specify days in time zone interval.") }
            let off = Int(iv.micros / 1_000_000)
            guard abs(off) < 168 * 3600 else { throw bad("UTC timezone offset is out of range.") }
            return fixed(offsetEast: off)
        }
        if let hours = CNum.strtodWhole(value) {
            let g = -hours * 3600
            guard g.isFinite, abs(g) < Double(168 * 3600) else { throw bad("UTC timezone offset is out of range.") }
            return fixed(offsetEast: -Int(g))
        }
        guard let z = lookup(value) else { throw bad() }
        return z
    }

    public static let utc: TimeZoneRule = lookup("UTC") ?? TimeZoneRule(
        name: "UTC",
        state: TZState(ats: [], types: [], ttis: [TimeZoneType(utcOffset: 0, isDST: false, abbreviation: "UTC")],
                       goback: false, goahead: false, defaultType: 0))

    private static let cache = Mutex<[String: TimeZoneRule]>([:])

    // MARK: Offsets

    /// The local-time type in force at `t` (Unix seconds), as `localsub` picks it.
    @inline(__always)
    func typeAt(unixSeconds t: Int64) -> TimeZoneType {
        let sp = state
        let n = sp.ats.count
        if n > 0, (sp.goback && t < sp.ats[0]) || (sp.goahead && t > sp.ats[n - 1]) {
            var seconds = t < sp.ats[0] ? sp.ats[0] - t : t - sp.ats[n - 1]
            seconds -= 1
            let years = (seconds / Self.secsPerRepeat + 1) * Self.yearsPerRepeat
            seconds = years * Self.avgSecsPerYear
            let newt = t < sp.ats[0] ? t + seconds : t - seconds
            if newt < sp.ats[0] || newt > sp.ats[n - 1] { return sp.ttis[sp.defaultType] }
            return typeAt(unixSeconds: newt)
        }
        if n == 0 || t < sp.ats[0] { return sp.ttis[sp.defaultType] }
        var lo = 1, hi = n
        while lo < hi {
            let mid = (lo + hi) >> 1
            if t < sp.ats[mid] { hi = mid } else { lo = mid + 1 }
        }
        return sp.ttis[Int(sp.types[lo - 1])]
    }

    /// The offset (seconds east of UTC), abbreviation and DST flag in force at a UTC instant
    /// (microseconds since 2000-01-01 UTC, PostgreSQL's timestamptz).
    public func offset(atUTC micros: Int64) -> (seconds: Int, abbreviation: String, isDST: Bool) {
        let t = dtFloorDiv(micros, 1_000_000) + Self.pgEpochUnixSeconds
        let tt = typeAt(unixSeconds: t)
        return (tt.utcOffset, tt.abbreviation, tt.isDST)
    }

    /// The UTC instant of a local wall-clock time (microseconds since 2000-01-01, local), by
    /// PostgreSQL's `DetermineTimeZoneOffset`: a time skipped by a spring-forward transition is
    /// read with the offset before it (so 02:30 on a 02:00→03:00 night becomes 03:30 local), an
    /// ambiguous fall-back time takes the offset after the transition (standard time).
    public func utcMicros(forLocal micros: Int64) -> Int64 {
        micros &- Int64(offsetEast(forLocal: micros).seconds) &* 1_000_000
    }

    /// `DetermineTimeZoneOffset` for a local time given in microseconds since 2000-01-01;
    /// returns the offset east of UTC and the DST flag (0 offset when out of range, as PG).
    public func offsetEast(forLocal micros: Int64) -> (seconds: Int, isDST: Bool) {
        let days = dtFloorDiv(micros, 86_400_000_000)
        let secOfDay = (micros - days * 86_400_000_000) / 1_000_000
        // PostgreSQL punts to UTC outside IS_VALID_JULIAN (4713 BC Nov .. 5874898 Jun).
        let jd = days + Int64(PGCal.postgresEpochJDate)
        if jd < PGCal.date2j(-4713, 11, 1) || jd >= PGCal.date2j(5_874_898, 6, 1) { return (0, false) }
        let mytime = (days + 10_957) * 86_400 + secOfDay
        return offsetEast(forLocalUnixSeconds: mytime)
    }

    /// `DetermineTimeZoneOffsetInternal` on a local time in seconds since 1970-01-01 (local).
    func offsetEast(forLocalUnixSeconds mytime: Int64) -> (seconds: Int, isDST: Bool) {
        let prevtime = mytime - 86_400
        guard let b = nextBoundary(after: prevtime) else { return (0, false) }
        guard let boundary = b.boundary else {
            return (b.beforeOff, b.beforeDST)
        }
        let beforetime = mytime - Int64(b.beforeOff)
        let aftertime = mytime - Int64(b.afterOff)
        if beforetime < boundary && aftertime < boundary { return (b.beforeOff, b.beforeDST) }
        if beforetime > boundary && aftertime >= boundary { return (b.afterOff, b.afterDST) }
        if beforetime > aftertime { return (b.beforeOff, b.beforeDST) }
        return (b.afterOff, b.afterDST)
    }

    /// `pg_next_dst_boundary`: the offsets before and after the first transition after `t`
    /// (boundary nil when there is none). Returns nil on failure ("cannot happen").
    func nextBoundary(after t: Int64) -> (beforeOff: Int, beforeDST: Bool, boundary: Int64?, afterOff: Int, afterDST: Bool)? {
        let sp = state
        let n = sp.ats.count
        func lowestStd() -> TimeZoneType {
            var i = 0
            while sp.ttis[i].isDST {
                i += 1
                if i >= sp.ttis.count { i = 0; break }
            }
            return sp.ttis[i]
        }
        if n == 0 {
            let tt = lowestStd()
            return (tt.utcOffset, tt.isDST, nil, 0, false)
        }
        if (sp.goback && t < sp.ats[0]) || (sp.goahead && t > sp.ats[n - 1]) {
            var seconds = t < sp.ats[0] ? sp.ats[0] - t : t - sp.ats[n - 1]
            seconds -= 1
            let tcycles = seconds / Self.yearsPerRepeat / Self.avgSecsPerYear + 1
            seconds = tcycles * Self.yearsPerRepeat * Self.avgSecsPerYear
            let newt = t < sp.ats[0] ? t + seconds : t - seconds
            if newt < sp.ats[0] || newt > sp.ats[n - 1] { return nil }
            guard var r = nextBoundary(after: newt) else { return nil }
            if let bd = r.boundary { r.boundary = t < sp.ats[0] ? bd - seconds : bd + seconds }
            return r
        }
        if t >= sp.ats[n - 1] {
            let tt = sp.ttis[Int(sp.types[n - 1])]
            return (tt.utcOffset, tt.isDST, nil, 0, false)
        }
        if t < sp.ats[0] {
            let b = lowestStd()
            let a = sp.ttis[Int(sp.types[0])]
            return (b.utcOffset, b.isDST, sp.ats[0], a.utcOffset, a.isDST)
        }
        var lo = 1, hi = n - 1
        while lo < hi {
            let mid = (lo + hi) >> 1
            if t < sp.ats[mid] { hi = mid } else { lo = mid + 1 }
        }
        let b = sp.ttis[Int(sp.types[lo - 1])]
        let a = sp.ttis[Int(sp.types[lo])]
        return (b.utcOffset, b.isDST, sp.ats[lo], a.utcOffset, a.isDST)
    }

    /// `pg_interpret_timezone_abbrev`: the meaning of `abbrev` (upper case) in this zone at or
    /// most recently before `t` (Unix seconds), else its first meaning after; nil if never used.
    func interpretAbbrev(_ abbrev: String, at t: Int64) -> (offset: Int, isDST: Bool)? {
        let sp = state
        guard sp.ttis.contains(where: { $0.abbreviation == abbrev }) else { return nil }
        var lo = 0, hi = sp.ats.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if t < sp.ats[mid] { hi = mid } else { lo = mid + 1 }
        }
        var i = lo - 1
        while i >= 0 {
            let tt = sp.ttis[Int(sp.types[i])]
            if tt.abbreviation == abbrev { return (tt.utcOffset, tt.isDST) }
            i -= 1
        }
        i = lo
        while i < sp.ats.count {
            let tt = sp.ttis[Int(sp.types[i])]
            if tt.abbreviation == abbrev { return (tt.utcOffset, tt.isDST) }
            i += 1
        }
        return nil
    }

    /// `pg_get_timezone_offset`: the single offset of a zone that has only one, else nil.
    public var constantOffset: Int? {
        let o = state.ttis[0].utcOffset
        return state.ttis.allSatisfy({ $0.utcOffset == o }) ? o : nil
    }
}

@inline(__always)
func dtFloorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inline(__always)
func dtIsSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }

// MARK: - TZif files

enum TZFile {
    static let tzdir = "/usr/share/zoneinfo"
    static let maxTimes = 2000

    /// Finds `name` case-insensitively under the tz directory (`pg_open_tzfile`) and loads it.
    static func load(_ name: String) -> (String, TZState)? {
        var n = name
        if n.hasPrefix(":") { n.removeFirst() }
        guard let (path, canon) = resolve(n), let bytes = readFile(path) else { return nil }
        guard let st = parse(bytes) else { return nil }
        return (canon, st)
    }

    static func resolve(_ name: String) -> (String, String)? {
        var full = tzdir
        var canon: [String] = []
        for comp in name.split(separator: "/", omittingEmptySubsequences: false) {
            guard !comp.isEmpty, let real = scanCI(full, String(comp)) else { return nil }
            full += "/" + real
            canon.append(real)
        }
        return (full, canon.joined(separator: "/"))
    }

    static func scanCI(_ dir: String, _ fname: String) -> String? {
        guard let d = opendir(dir) else { return nil }
        defer { closedir(d) }
        let want = fname.lowercased()
        while let e = readdir(d) {
            let nm = withUnsafePointer(to: e.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if nm.hasPrefix(".") { continue }
            if nm.utf8.count == fname.utf8.count, nm.lowercased() == want { return nm }
        }
        return nil
    }

    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
            if n <= 0 { if n < 0 { return nil }; break }
            out.append(contentsOf: buf[0..<n])
            if out.count > 1 << 20 { return nil }
        }
        return out
    }

    static func be32(_ b: [UInt8], _ i: Int) -> Int64 {
        Int64(Int32(bitPattern: UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])))
    }

    static func be64(_ b: [UInt8], _ i: Int) -> Int64 {
        var v: UInt64 = 0
        for k in 0..<8 { v = v << 8 | UInt64(b[i + k]) }
        return Int64(bitPattern: v)
    }

    /// `tzloadbody` on the bytes of a TZif file.
    static func parse(_ all: [UInt8]) -> TZState? {
        var buf = all
        guard buf.count >= 44, buf[0] == 0x54, buf[1] == 0x5A, buf[2] == 0x69, buf[3] == 0x66 else { return nil }
        var ats: [Int64] = []
        var types: [UInt8] = []
        var ttis: [TimeZoneType] = []
        var stored = 4
        while stored <= 8 {
            guard buf.count >= 44 else { return nil }
            let version = buf[4]
            let ttisutcnt = Int(be32(buf, 20)), ttisstdcnt = Int(be32(buf, 24)), leapcnt = Int(be32(buf, 28))
            let timecnt = Int(be32(buf, 32)), typecnt = Int(be32(buf, 36)), charcnt = Int(be32(buf, 40))
            guard leapcnt >= 0, leapcnt < 50, typecnt >= 0, typecnt < 256, timecnt >= 0, timecnt < 2000,
                  charcnt >= 0, charcnt < 256, ttisstdcnt == typecnt || ttisstdcnt == 0,
                  ttisutcnt == typecnt || ttisutcnt == 0 else { return nil }
            let need = 44 + timecnt * stored + timecnt + typecnt * 6 + charcnt + leapcnt * (stored + 4) + ttisstdcnt + ttisutcnt
            guard buf.count >= need else { return nil }
            var p = 44
            ats = []
            var keep: [Bool] = []
            for _ in 0..<timecnt {
                let at = stored == 4 ? be32(buf, p) : be64(buf, p)
                p += stored
                if let last = ats.last, at <= last {
                    if at < last { return nil }
                    ats.removeLast()
                    if let k = keep.lastIndex(of: true) { keep[k] = false }
                }
                ats.append(at)
                keep.append(true)
            }
            types = []
            for i in 0..<timecnt {
                let typ = buf[p]
                p += 1
                if Int(typ) >= typecnt { return nil }
                if keep[i] { types.append(typ) }
            }
            ttis = []
            var raw: [(Int, Bool, Int)] = []
            for _ in 0..<typecnt {
                let off = Int(be32(buf, p))
                let isdst = buf[p + 4]
                let idx = Int(buf[p + 5])
                p += 6
                guard isdst < 2, idx < charcnt else { return nil }
                raw.append((off, isdst == 1, idx))
            }
            let chars = Array(buf[p..<(p + charcnt)])
            p += charcnt
            p += leapcnt * (stored + 4)
            for (off, dst, idx) in raw {
                var e = idx
                while e < chars.count, chars[e] != 0 { e += 1 }
                ttis.append(TimeZoneType(utcOffset: off, isDST: dst, abbreviation: String(decoding: chars[idx..<e], as: UTF8.self)))
            }
            if ttisstdcnt > 0 { for i in 0..<typecnt { ttis[i].isStd = buf[p + i] == 1 }; p += ttisstdcnt }
            if ttisutcnt > 0 { for i in 0..<typecnt { ttis[i].isUT = buf[p + i] == 1 }; p += ttisutcnt }
            if version == 0 { buf = []; break }
            buf = Array(buf[p...])
            stored *= 2
        }
        // The footer: "\n<POSIX TZ>\n".
        if buf.count > 2, buf[0] == 10, buf[buf.count - 1] == 10, ttis.count + 2 <= 256,
           let ts = TZParser.tzparse(Array(buf[1..<(buf.count - 1)]), lastditch: false) {
            while ats.count > 1, types[types.count - 1] == types[types.count - 2] {
                ats.removeLast()
                types.removeLast()
            }
            var i = 0
            while i < ts.ats.count {
                if ats.isEmpty || ats[ats.count - 1] < ts.ats[i] { break }
                i += 1
            }
            let base = ttis.count
            while i < ts.ats.count, ats.count < maxTimes {
                ats.append(ts.ats[i])
                types.append(UInt8(base + Int(ts.types[i])))
                i += 1
            }
            ttis.append(contentsOf: ts.ttis)
        }
        guard !ttis.isEmpty else { return nil }
        return finish(ats: ats, types: types, ttis: ttis)
    }

    static func typesEquiv(_ ttis: [TimeZoneType], _ a: Int, _ b: Int) -> Bool {
        let x = ttis[a], y = ttis[b]
        return x.utcOffset == y.utcOffset && x.isDST == y.isDST && x.isStd == y.isStd && x.isUT == y.isUT
            && x.abbreviation == y.abbreviation
    }

    static func finish(ats: [Int64], types: [UInt8], ttis: [TimeZoneType]) -> TZState {
        var goback = false, goahead = false
        let n = ats.count
        if n > 1 {
            for i in 1..<n where typesEquiv(ttis, Int(types[i]), Int(types[0])) && ats[i] - ats[0] == TimeZoneRule.secsPerRepeat {
                goback = true
                break
            }
            var i = n - 2
            while i >= 0 {
                if typesEquiv(ttis, Int(types[n - 1]), Int(types[i])) && ats[n - 1] - ats[i] == TimeZoneRule.secsPerRepeat {
                    goahead = true
                    break
                }
                i -= 1
            }
        }
        var d = types.contains(0) ? -1 : 0
        if d < 0, n > 0, ttis[Int(types[0])].isDST {
            d = Int(types[0])
            d -= 1
            while d >= 0 {
                if !ttis[d].isDST { break }
                d -= 1
            }
        }
        if d < 0 {
            d = 0
            while ttis[d].isDST {
                d += 1
                if d >= ttis.count { d = 0; break }
            }
        }
        return TZState(ats: ats, types: types, ttis: ttis, goback: goback, goahead: goahead, defaultType: d)
    }
}

// MARK: - POSIX TZ strings

enum TZParser {
    struct Rule {
        enum Kind { case julian, dayOfYear, monthWeekDay }
        var kind = Kind.julian
        var day = 0, week = 0, mon = 0
        var time = 7200
    }

    static let monLengths: [[Int]] = [[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]]

    static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    /// A cursor over a POSIX TZ string (`getnum`, `getsecs`, `getoffset`, `getrule`, ...).
    struct Cursor {
        let s: [UInt8]
        var p = 0
        var cur: UInt8 { p < s.count ? s[p] : 0 }
        var atEnd: Bool { p >= s.count }

        mutating func getnum(_ min: Int, _ max: Int) -> Int? {
            guard isDigit(cur) else { return nil }
            var num = 0
            repeat {
                num = num * 10 + Int(cur - 48)
                if num > max { return nil }
                p += 1
            } while isDigit(cur)
            return num < min ? nil : num
        }

        mutating func getsecs() -> Int? {
            guard let h = getnum(0, 24 * 7 - 1) else { return nil }
            var secs = h * 3600
            if cur == UInt8(ascii: ":") {
                p += 1
                guard let m = getnum(0, 59) else { return nil }
                secs += m * 60
                if cur == UInt8(ascii: ":") {
                    p += 1
                    guard let x = getnum(0, 60) else { return nil }
                    secs += x
                }
            }
            return secs
        }

        mutating func getoffset() -> Int? {
            var neg = false
            if cur == UInt8(ascii: "-") { neg = true; p += 1 } else if cur == UInt8(ascii: "+") { p += 1 }
            guard let v = getsecs() else { return nil }
            return neg ? -v : v
        }

        /// An abbreviation, plain (up to a digit, ',', '-' or '+') or quoted in `<...>`.
        mutating func getname() -> String? {
            if cur == UInt8(ascii: "<") {
                p += 1
                let start = p
                while !atEnd, cur != UInt8(ascii: ">") { p += 1 }
                guard !atEnd else { return nil }
                let r = String(decoding: s[start..<p], as: UTF8.self)
                p += 1
                return r
            }
            let start = p
            while !atEnd, !isDigit(cur), cur != UInt8(ascii: ","), cur != UInt8(ascii: "-"), cur != UInt8(ascii: "+") { p += 1 }
            return String(decoding: s[start..<p], as: UTF8.self)
        }

        mutating func getrule() -> Rule? {
            var r = Rule()
            if cur == UInt8(ascii: "J") {
                p += 1
                guard let d = getnum(1, 365) else { return nil }
                r.kind = .julian
                r.day = d
            } else if cur == UInt8(ascii: "M") {
                p += 1
                guard let m = getnum(1, 12), cur == UInt8(ascii: ".") else { return nil }
                p += 1
                guard let w = getnum(1, 5), cur == UInt8(ascii: ".") else { return nil }
                p += 1
                guard let d = getnum(0, 6) else { return nil }
                r.kind = .monthWeekDay
                r.mon = m
                r.week = w
                r.day = d
            } else if isDigit(cur) {
                guard let d = getnum(0, 365) else { return nil }
                r.kind = .dayOfYear
                r.day = d
            } else {
                return nil
            }
            if cur == UInt8(ascii: "/") {
                p += 1
                guard let t = getoffset() else { return nil }
                r.time = t
            }
            return r
        }
    }

    /// `tzparse`. `s` is the spec (already upper-cased by the caller where PG does so).
    static func tzparse(_ s: [UInt8], lastditch: Bool) -> TZState? {
        var c = Cursor(s: s)
        let stdAbbr: String
        var stdoffset = 0
        if lastditch {
            stdAbbr = String(decoding: s, as: UTF8.self)
            c.p = s.count
        } else {
            guard let n = c.getname() else { return nil }
            stdAbbr = n
            if c.atEnd { return nil }
            guard let o = c.getoffset() else { return nil }
            stdoffset = o
        }
        if c.atEnd {
            return TZState(ats: [], types: [], ttis: [TimeZoneType(utcOffset: -stdoffset, isDST: false, abbreviation: stdAbbr)],
                           goback: false, goahead: false, defaultType: 0)
        }
        guard let dstAbbr = c.getname(), !dstAbbr.isEmpty else { return nil }
        var dstoffset = stdoffset - 3600
        if !c.atEnd, c.cur != UInt8(ascii: ","), c.cur != UInt8(ascii: ";") {
            guard let o = c.getoffset() else { return nil }
            dstoffset = o
        }
        if c.atEnd {
            c = Cursor(s: Array(",M3.2.0,M11.1.0".utf8))
        }
        guard c.cur == UInt8(ascii: ",") || c.cur == UInt8(ascii: ";") else { return nil }
        c.p += 1
        guard let startRule = c.getrule(), c.cur == UInt8(ascii: ",") else { return nil }
        c.p += 1
        guard let endRule = c.getrule(), c.atEnd else { return nil }

        var ttis = [TimeZoneType(utcOffset: -stdoffset, isDST: false, abbreviation: stdAbbr),
                    TimeZoneType(utcOffset: -dstoffset, isDST: true, abbreviation: dstAbbr)]
        var ats: [Int64] = []
        var types: [UInt8] = []
        var janfirst: Int64 = 0
        var yearbeg = 1970
        repeat {
            let yearsecs = Int64((isLeap(yearbeg - 1) ? 366 : 365) * 86400)
            yearbeg -= 1
            janfirst -= yearsecs
        } while 1970 - 200 < yearbeg
        var yearlim = yearbeg + 401
        var year = yearbeg
        while year < yearlim {
            var starttime = transtime(year, startRule, stdoffset)
            var endtime = transtime(year, endRule, dstoffset)
            let yearsecs = (isLeap(year) ? 366 : 365) * 86400
            let reversed = endtime < starttime
            if reversed { swap(&starttime, &endtime) }
            if reversed || (starttime < endtime && endtime - starttime < yearsecs + (stdoffset - dstoffset)) {
                if TZFile.maxTimes - 2 < ats.count { break }
                ats.append(janfirst + Int64(starttime))
                types.append(reversed ? 0 : 1)
                ats.append(janfirst + Int64(endtime))
                types.append(reversed ? 1 : 0)
                yearlim = year + 401
            }
            janfirst += Int64(yearsecs)
            year += 1
        }
        if ats.isEmpty {
            ttis = [ttis[1]]
            return TZState(ats: [], types: [], ttis: ttis, goback: false, goahead: false, defaultType: 0)
        }
        let rep = 400 < year - yearbeg
        return TZState(ats: ats, types: types, ttis: ttis, goback: rep, goahead: rep, defaultType: 0)
    }

    /// Year-relative time (seconds) at which `rule` takes effect in `year`.
    static func transtime(_ year: Int, _ r: Rule, _ offset: Int) -> Int {
        let leap = isLeap(year)
        var value = 0
        switch r.kind {
        case .julian:
            value = (r.day - 1) * 86400
            if leap && r.day >= 60 { value += 86400 }
        case .dayOfYear:
            value = r.day * 86400
        case .monthWeekDay:
            let m1 = (r.mon + 9) % 12 + 1
            let yy0 = r.mon <= 2 ? year - 1 : year
            let yy1 = yy0 / 100
            let yy2 = yy0 % 100
            var dow = ((26 * m1 - 2) / 10 + 1 + yy2 + yy2 / 4 + yy1 / 4 - 2 * yy1) % 7
            if dow < 0 { dow += 7 }
            var d = r.day - dow
            if d < 0 { d += 7 }
            var i = 1
            while i < r.week {
                if d + 7 >= monLengths[leap ? 1 : 0][r.mon - 1] { break }
                d += 7
                i += 1
            }
            value = d * 86400
            for k in 0..<(r.mon - 1) { value += monLengths[leap ? 1 : 0][k] * 86400 }
        }
        return value + r.time + offset
    }
}

// MARK: - Abbreviations

/// What a time-zone word in a date/time string or an `AT TIME ZONE` argument means.
public enum ZoneAbbrev: Sendable {
    /// A fixed-offset abbreviation (`EST`, `CEST`): seconds east of UTC, and whether it is a DST one.
    case fixed(offset: Int, isDST: Bool)
    /// A dynamic abbreviation (`MSK`, `ART`) resolved through its zone at the time in question.
    case dynamic(zone: TimeZoneRule)
}

public enum TimeZoneAbbreviations {
    /// PostgreSQL's default `timezone_abbreviations` set ("Default"): abbreviation (lower case)
    /// → offset seconds east and DST flag, or the zone that defines a dynamic abbreviation.
    static let table: [String: (Int, Bool, String?)] = {
        let raw = """
        EAT 10800;SAST 7200;WAT 3600;ACT -18000;AKDT -28800 D;AKST -32400;ART America/Argentina/Buenos_Aires;\
        ARST America/Argentina/Buenos_Aires;BOT -14400;BRA -10800;BRST -7200 D;BRT -10800;COT -18000;CDT -18000 D;\
        CLST -10800 D;CLT America/Santiago;CST -21600;EDT -14400 D;EGST 0 D;EGT -3600;EST -18000;FNT -7200;\
        FNST -3600 D;GFT -10800;GYT America/Guyana;MDT -21600 D;MST -25200;NDT -9000 D;NFT -12600;NST -12600;\
        PET -18000;PDT -25200 D;PMDT -7200 D;PMST -10800;PST -28800;PYST -10800 D;PYT America/Asuncion;UYST -7200 D;\
        UYT -10800;VET America/Caracas;WGST -7200 D;WGT -10800;DAVT Antarctica/Davis;DDUT 36000;MAWT Antarctica/Mawson;\
        AFT 16200;ALMT 21600;ALMST 25200 D;AMST Asia/Yerevan;AMT -14400;ANAST Asia/Anadyr;ANAT Asia/Anadyr;AZST Asia/Baku;\
        AZT Asia/Baku;BDT 21600;BNT 28800;BORT 28800;BTT 21600;CCT 28800;GEST Asia/Tbilisi;GET Asia/Tbilisi;HKT 28800;\
        ICT 25200;IDT 10800 D;IRKST Asia/Irkutsk;IRKT Asia/Irkutsk;IRT 12600;IST 7200;JAYT 32400;JST 32400;KDT 36000 D;\
        KGST 21600 D;KGT Asia/Bishkek;KRAST Asia/Krasnoyarsk;KRAT Asia/Krasnoyarsk;KST 32400;LKT Asia/Colombo;\
        MAGST Asia/Magadan;MAGT Asia/Magadan;MMT 23400;MYT 28800;NOVST Asia/Novosibirsk;NOVT Asia/Novosibirsk;NPT 20700;\
        OMSST Asia/Omsk;OMST Asia/Omsk;PETST Asia/Kamchatka;PETT Asia/Kamchatka;PHT 28800;PKT 18000;PKST 21600 D;\
        SGT Asia/Singapore;TJT 18000;TMT Asia/Ashgabat;ULAST 32400 D;ULAT Asia/Ulaanbaatar;UZST 21600 D;UZT 18000;\
        VLAST Asia/Vladivostok;VLAT Asia/Vladivostok;XJT 21600;YAKST Asia/Yakutsk;YAKT Asia/Yakutsk;YEKST 21600 D;\
        YEKT Asia/Yekaterinburg;ADT -10800 D;AST -14400;AZOST 0 D;AZOT -3600;FKST Atlantic/Stanley;FKT Atlantic/Stanley;\
        ACSST 37800 D;ACDT 37800 D;ACST 34200;ACWST 31500;AESST 39600 D;AEDT 39600 D;AEST 36000;AWSST 32400 D;AWST 28800;\
        CADT 37800 D;CAST 34200;LHDT Australia/Lord_Howe;LHST 37800;LIGT 36000;NZT 43200;SADT 37800 D;WADT 28800 D;\
        WAST 25200;WDT 32400 D;GMT 0;UCT 0;UT 0;UTC 0;Z 0;ZULU 0;BST 3600 D;BDST 7200 D;CEST 7200 D;CET 3600;\
        CETDST 7200 D;EEST 10800 D;EET 7200;EETDST 10800 D;FET 10800;MEST 7200 D;MESZ 7200 D;MET 3600;METDST 7200 D;\
        MEZ 3600;MSD 14400 D;MSK Europe/Moscow;VOLT Europe/Volgograd;WET 0;WETDST 3600 D;CXT 25200;IOT Indian/Chagos;\
        MUT 14400;MUST 18000 D;MVT 18000;RET 14400;SCT 14400;TFT 18000;CHADT 49500 D;CHAST 45900;CHUT 36000;\
        CKT Pacific/Rarotonga;EASST Pacific/Easter;EAST Pacific/Easter;FJST 46800 D;FJT 43200;GALT -21600;GAMT -32400;\
        GILT 43200;HST -36000;KOST Pacific/Kosrae;LINT Pacific/Kiritimati;MART -34200;MHT 43200;MPT 36000;NUT Pacific/Niue;\
        NZDT 46800 D;NZST 43200;PGT 36000;PONT 39600;PWT 32400;TAHT -36000;TKT Pacific/Fakaofo;TOT 46800;TRUT 36000;\
        TVT 43200;VUT 39600;WAKT 43200;WFT 43200;YAPT 36000
        """
        var t: [String: (Int, Bool, String?)] = [:]
        for entry in raw.split(separator: ";") {
            let f = entry.split(separator: " ")
            let key = f[0].lowercased()
            if let v = Int(f[1]) {
                t[key] = (v, f.count > 2, nil)
            } else {
                t[key] = (0, false, String(f[1]))
            }
        }
        return t
    }()

    /// `DecodeTimezoneAbbrev`: the abbreviation's meaning, or nil when the word (lower case;
    /// compared on its first 10 characters, as PostgreSQL does) is not one.
    public static func lookup(_ lower: String) -> ZoneAbbrev? {
        var key = lower
        if key.utf8.count > 10 {
            // PostgreSQL compares the first TOKMAXLEN (10) characters, and no abbreviation is longer.
            return nil
        }
        key = lower
        guard let (off, dst, zone) = table[key] else { return nil }
        if let zone {
            guard let z = TimeZoneRule.lookup(zone) else { return nil }
            return .dynamic(zone: z)
        }
        return .fixed(offset: off, isDST: dst)
    }

    /// `DetermineTimeZoneAbbrevOffset`: a dynamic abbreviation's offset (seconds east) for a
    /// local time (µs since 2000-01-01).
    static func dynamicOffset(_ abbrev: String, zone: TimeZoneRule, local: Int64) -> (offset: Int, isDST: Bool) {
        let (zoneOff, zoneDST) = zone.offsetEast(forLocal: local)
        // The probe instant: the UTC time the zone itself assigns (epoch when out of range).
        let t: Int64
        let days = dtFloorDiv(local, 86_400_000_000)
        let jd = days + Int64(PGCal.postgresEpochJDate)
        if jd < PGCal.date2j(-4713, 11, 1) || jd >= PGCal.date2j(5_874_898, 6, 1) {
            t = 0
        } else {
            t = dtFloorDiv(local, 1_000_000) + TimeZoneRule.pgEpochUnixSeconds - Int64(zoneOff)
        }
        if let r = zone.interpretAbbrev(abbrev.uppercased(), at: t) { return r }
        return (zoneOff, zoneDST)
    }

    /// `DetermineTimeZoneAbbrevOffsetTS`: a dynamic abbreviation's offset at a UTC instant.
    static func dynamicOffset(_ abbrev: String, zone: TimeZoneRule, utc: Int64) -> (offset: Int, isDST: Bool) {
        let t = dtFloorDiv(utc, 1_000_000) + TimeZoneRule.pgEpochUnixSeconds
        if let r = zone.interpretAbbrev(abbrev.uppercased(), at: t) { return r }
        let o = zone.offset(atUTC: utc)
        let local = utc &+ Int64(o.seconds) &* 1_000_000
        let r = zone.offsetEast(forLocal: local)
        return (r.seconds, r.isDST)
    }
}

/// A zone argument of `AT TIME ZONE`, `date_trunc(unit, timestamptz, zone)` and
/// `make_timestamptz(..., zone)`, resolved in PostgreSQL's order: the abbreviation table first
/// (`EST`, `CEST`, `MSK`), then a zone name or POSIX spec (`pg_tzset`).
public enum ZoneSpec: Sendable {
    case fixed(offset: Int, isDST: Bool)
    case dynamic(abbrev: String, zone: TimeZoneRule)
    case rule(TimeZoneRule)

    /// Resolves `text`; unknown → 22023 `time zone "text" not recognized`.
    public static func resolve(_ text: String) throws(SQLError) -> ZoneSpec {
        let lower = text.lowercased()
        switch TimeZoneAbbreviations.lookup(lower) {
        case .fixed(let o, let d)?: return .fixed(offset: o, isDST: d)
        case .dynamic(let z)?: return .dynamic(abbrev: text, zone: z)
        case nil: return .rule(try TimeZoneRule.named(text))
        }
    }

    /// The zone to truncate in (`timestamptz_trunc_zone`): fixed abbreviations become fixed zones.
    public var rule: TimeZoneRule {
        switch self {
        case .fixed(let o, _): return TimeZoneRule.fixed(offsetEast: o)
        case .dynamic(_, let z): return z
        case .rule(let z): return z
        }
    }
}
