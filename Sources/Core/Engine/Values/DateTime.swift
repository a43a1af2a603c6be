import DriftStorage

/// Calendar arithmetic on the proleptic Gregorian calendar (days since 1970-01-01).
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

func pad(_ v: Int64, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

func formatDate(_ days: Int64) -> String {
    let (y, m, d) = Civil.date(days: days)
    if y <= 0 { return "\(pad(1 - y, 4))-\(pad(m, 2))-\(pad(d, 2)) BC" }
    return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, with `+00` for timestamptz (sessions run in UTC).
func formatTimestamp(_ micros: Int64, withZone: Bool) -> String {
    if micros == Int64.max { return "infinity" }
    if micros == Int64.min { return "-infinity" }
    var days = micros / 86_400_000_000
    var rem = micros % 86_400_000_000
    if rem < 0 {
        rem += 86_400_000_000
        days -= 1
    }
    let (y, m, d) = Civil.date(days: days)
    let secs = rem / 1_000_000
    let frac = rem % 1_000_000
    var s = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
    if frac != 0 {
        var f = pad(frac, 6)
        while f.hasSuffix("0") { f.removeLast() }
        s += "." + f
    }
    if withZone { s += "+00" }
    return s
}

/// Parses the ISO-8601 forms PostgreSQL accepts for timestamptz input:
/// `YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z|±HH[:MM]]`. A value without a zone is UTC.
/// Returns microseconds since the Unix epoch.
public func parseTimestamp(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    var i = 0
    func skipSpaces() { while i < b.count && b[i] == 32 { i += 1 } }
    func number(_ minDigits: Int, _ maxDigits: Int) -> Int64? {
        var n: Int64 = 0
        var k = 0
        while i < b.count, k < maxDigits, b[i] >= 48, b[i] <= 57 {
            n = n * 10 + Int64(b[i] - 48)
            i += 1
            k += 1
        }
        return k >= minDigits ? n : nil
    }
    func expect(_ c: UInt8) -> Bool {
        guard i < b.count, b[i] == c else { return false }
        i += 1
        return true
    }
    skipSpaces()
    let lowered = text.lowercased().trimming()
    if lowered == "infinity" || lowered == "+infinity" { return Int64.max }
    if lowered == "-infinity" { return Int64.min }
    guard let y = number(4, 6), expect(45), let mo = number(1, 2), expect(45), let d = number(1, 2),
          (1...12).contains(mo), d >= 1, d <= Civil.daysInMonth(y, mo) else { return nil }
    var micros = Civil.days(year: y, month: mo, day: d) * 86_400_000_000
    if i < b.count && (b[i] == 84 || b[i] == 116 || b[i] == 32) {
        i += 1
        skipSpaces()
        if i < b.count, b[i] >= 48, b[i] <= 57 {
            guard let h = number(1, 2), expect(58), let mi = number(2, 2), h <= 24, mi < 60 else { return nil }
            var sec: Int64 = 0
            var frac: Int64 = 0
            if expect(58) {
                guard let s = number(2, 2), s <= 60 else { return nil }
                sec = s
                if expect(46) {
                    var scale: Int64 = 100_000
                    var any = false
                    while i < b.count, b[i] >= 48, b[i] <= 57 {
                        frac += Int64(b[i] - 48) * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    guard any else { return nil }
                }
            }
            micros += ((h * 60 + mi) * 60 + sec) * 1_000_000 + frac
        }
    }
    skipSpaces()
    if i < b.count {
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            let sign: Int64 = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = number(1, 2) else { return nil }
            var om: Int64 = 0
            if expect(58) {
                guard let m = number(2, 2) else { return nil }
                om = m
            } else if let m = number(2, 2) {
                om = m
            }
            micros -= sign * (oh * 60 + om) * 60_000_000
        }
    }
    skipSpaces()
    return i == b.count ? micros : nil
}
