import Glibc

// to_char for numbers (formatting.c's NUM_* machinery), C locale.

struct NUMDesc {
    var pre = 0, post = 0, lsign = 0, flag = 0, preLsignNum = 0, multi = 0, zeroStart = 0, zeroEnd = 0
    static let DECIMAL = 1 << 1, LDECIMAL = 1 << 2, ZERO = 1 << 3, BLANK = 1 << 4, FILLMODE = 1 << 5, LSIGN = 1 << 6,
               BRACKET = 1 << 7, MINUS = 1 << 8, PLUS = 1 << 9, ROMAN = 1 << 10, MULTI = 1 << 11, PLUS_POST = 1 << 12,
               MINUS_POST = 1 << 13, EEEE = 1 << 14
    static let lsignPre = -1, lsignPost = 1, lsignNone = 0

    func has(_ f: Int) -> Bool { flag & f != 0 }

    static func syntax(_ m: String, detail: String? = nil) -> SQLError { SQLError(.syntaxError, m, detail: detail) }

    /// `NUMDesc_prepare`.
    mutating func prepare(_ n: FmtNode) throws(SQLError) {
        guard n.type == .action, let key = n.key else { return }
        if has(Self.EEEE) && key.id != NUMK.E { throw Self.syntax("\"EEEE\" must be the last pattern used") }
        switch key.id {
        case NUMK.NINE:
            if has(Self.BRACKET) { throw Self.syntax("\"9\" must be ahead of \"PR\"") }
            if has(Self.MULTI) {
                multi += 1
                break
            }
            if has(Self.DECIMAL) { post += 1 } else { pre += 1 }
        case NUMK.ZERO:
            if has(Self.BRACKET) { throw Self.syntax("\"0\" must be ahead of \"PR\"") }
            if !has(Self.ZERO) && !has(Self.DECIMAL) {
                flag |= Self.ZERO
                zeroStart = pre + 1
            }
            if !has(Self.DECIMAL) { pre += 1 } else { post += 1 }
            zeroEnd = pre + post
        case NUMK.B:
            if pre == 0 && post == 0 && !has(Self.ZERO) { flag |= Self.BLANK }
        case NUMK.D, NUMK.DEC:
            if key.id == NUMK.D { flag |= Self.LDECIMAL }
            if has(Self.DECIMAL) { throw Self.syntax("multiple decimal points") }
            if has(Self.MULTI) { throw Self.syntax("cannot use \"V\" and decimal point together") }
            flag |= Self.DECIMAL
        case NUMK.FM:
            flag |= Self.FILLMODE
        case NUMK.S:
            if has(Self.LSIGN) { throw Self.syntax("cannot use \"S\" twice") }
            if has(Self.PLUS) || has(Self.MINUS) || has(Self.BRACKET) {
                throw Self.syntax("cannot use \"S\" and \"PL\"/\"MI\"/\"SG\"/\"PR\" together")
            }
            if !has(Self.DECIMAL) {
                lsign = Self.lsignPre
                preLsignNum = pre
                flag |= Self.LSIGN
            } else if lsign == Self.lsignNone {
                lsign = Self.lsignPost
                flag |= Self.LSIGN
            }
        case NUMK.MI:
            if has(Self.LSIGN) { throw Self.syntax("cannot use \"S\" and \"MI\" together") }
            flag |= Self.MINUS
            if has(Self.DECIMAL) { flag |= Self.MINUS_POST }
        case NUMK.PL:
            if has(Self.LSIGN) { throw Self.syntax("cannot use \"S\" and \"PL\" together") }
            flag |= Self.PLUS
            if has(Self.DECIMAL) { flag |= Self.PLUS_POST }
        case NUMK.SG:
            if has(Self.LSIGN) { throw Self.syntax("cannot use \"S\" and \"SG\" together") }
            flag |= Self.MINUS | Self.PLUS
        case NUMK.PR:
            if has(Self.LSIGN) || has(Self.PLUS) || has(Self.MINUS) {
                throw Self.syntax("cannot use \"PR\" and \"S\"/\"PL\"/\"MI\"/\"SG\" together")
            }
            flag |= Self.BRACKET
        case NUMK.RN, NUMK.rn:
            flag |= Self.ROMAN
        case NUMK.V:
            if has(Self.DECIMAL) { throw Self.syntax("cannot use \"V\" and decimal point together") }
            flag |= Self.MULTI
        case NUMK.E:
            if has(Self.EEEE) { throw Self.syntax("cannot use \"EEEE\" twice") }
            if has(Self.BLANK) || has(Self.FILLMODE) || has(Self.LSIGN) || has(Self.BRACKET) || has(Self.MINUS)
                || has(Self.PLUS) || has(Self.ROMAN) || has(Self.MULTI) {
                throw Self.syntax("\"EEEE\" is incompatible with other formats",
                                  detail: "\"EEEE\" may only be used together with digit and decimal point patterns.")
            }
            flag |= Self.EEEE
        default:
            break
        }
    }
}

/// A decimal number as text (sign, digits, scale) for numeric to_char.
struct DecimalText {
    var negative = false
    /// All digits, most significant first, with `scale` of them after the point.
    var digits: [UInt8] = []
    var scale = 0

    init?(_ s: String) {
        var b = Array(s.utf8)
        while let f = b.first, dtIsSpace(f) { b.removeFirst() }
        while let l = b.last, dtIsSpace(l) { b.removeLast() }
        if b.first == UInt8(ascii: "-") {
            negative = true
            b.removeFirst()
        } else if b.first == UInt8(ascii: "+") {
            b.removeFirst()
        }
        var seenDot = false
        var exp = 0
        var i = 0
        while i < b.count {
            let c = b[i]
            if c >= 48 && c <= 57 {
                digits.append(c - 48)
                if seenDot { scale += 1 }
            } else if c == UInt8(ascii: ".") && !seenDot {
                seenDot = true
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                guard let e = Int(String(decoding: b[(i + 1)...], as: UTF8.self)) else { return nil }
                exp = e
                break
            } else {
                return nil
            }
            i += 1
        }
        if digits.isEmpty { return nil }
        shift(exp)
    }

    /// Multiplies by 10^k.
    mutating func shift(_ k: Int) {
        scale -= k
        if scale < 0 {
            digits += [UInt8](repeating: 0, count: -scale)
            scale = 0
        }
    }

    var isZero: Bool { digits.allSatisfy { $0 == 0 } }

    /// Rounds half away from zero to `s` decimals (`numeric_round`), keeping exactly `s` of them.
    mutating func round(to s: Int) {
        if scale > s {
            let drop = scale - s
            let keep = digits.count - drop
            var kept = keep > 0 ? Array(digits[0..<keep]) : []
            let first = keep >= 0 && keep < digits.count ? digits[keep] : 0
            if keep < 0 { kept = [] }
            if first >= 5 && keep >= 0 {
                var k = kept.count - 1
                var carry = true
                while carry && k >= 0 {
                    if kept[k] == 9 {
                        kept[k] = 0
                        k -= 1
                    } else {
                        kept[k] += 1
                        carry = false
                    }
                }
                if carry { kept.insert(1, at: 0) }
            }
            digits = kept
            scale = s
            if digits.isEmpty { digits = [0] }
        } else if scale < s {
            digits += [UInt8](repeating: 0, count: s - scale)
            scale = s
        }
    }

    /// `numeric_out` of the value: no leading zeros (at least "0"), `scale` decimals.
    var text: String {
        var intPart = Array(digits[0..<max(0, digits.count - scale)])
        while intPart.count > 1 && intPart[0] == 0 { intPart.removeFirst() }
        if intPart.isEmpty { intPart = [0] }
        var s = (negative && !isZero ? "-" : "") + String(decoding: intPart.map { $0 + 48 }, as: UTF8.self)
        if scale > 0 {
            var frac = Array(digits.suffix(scale))
            if frac.count < scale { frac = [UInt8](repeating: 0, count: scale - frac.count) + frac }
            s += "." + String(decoding: frac.map { $0 + 48 }, as: UTF8.self)
        }
        return s
    }

    /// `numeric_out_sci(value, rscale)`: `d.ddde+NN` (no sign for positive values).
    func sci(_ rscale0: Int) -> String {
        let rscale = max(0, rscale0)
        guard let firstNZ = digits.firstIndex(where: { $0 != 0 }) else {
            return (rscale > 0 ? "0." + String(repeating: "0", count: rscale) : "0") + "e+00"
        }
        // exponent of the first significant digit
        let exponent = (digits.count - scale) - firstNZ - 1
        var sig = DecimalText(digits: Array(digits[firstNZ...]), scale: digits.count - firstNZ - 1, negative: negative)
        sig.round(to: rscale)
        let e = abs(exponent)
        return sig.text + "e" + (exponent < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
    }

    init(digits: [UInt8], scale: Int, negative: Bool) {
        self.digits = digits
        self.scale = scale
        self.negative = negative
    }
}

extension PGFormat {
    /// `psprintf` of one double with PostgreSQL's snprintf (NaN and infinities spelled out).
    static func cFormat(_ fmt: String, _ prec: Int32, _ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Infinity" : (fmt.hasPrefix("%+") ? "+Infinity" : "Infinity") }
        return cFormatRaw(fmt, prec, v)
    }

    static func cFormat(_ fmt: String, _ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Infinity" : "Infinity" }
        return cFormatRaw(fmt, v)
    }

    static func cFormatRaw(_ fmt: String, _ args: any CVarArg...) -> String {
        var buf = [CChar](repeating: 0, count: 512)
        _ = withVaList(args) { vsnprintf(&buf, 512, fmt, $0) }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `int_to_roman`.
    static func intToRoman(_ number: Int) -> String {
        if number > 3999 || number < 1 { return String(repeating: "#", count: 15) }
        let rm1 = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
        let rm10 = ["X", "XX", "XXX", "XL", "L", "LX", "LXX", "LXXX", "XC"]
        let rm100 = ["C", "CC", "CCC", "CD", "D", "DC", "DCC", "DCCC", "CM"]
        var out = ""
        let s = Array(String(number).utf8)
        var len = s.count
        for c in s {
            var num = Int(c) - 49
            defer { len -= 1 }
            if num < 0 { continue }
            if len > 3 {
                while num != -1 {
                    out += "M"
                    num -= 1
                }
            } else if len == 3 {
                out += rm100[num]
            } else if len == 2 {
                out += rm10[num]
            } else if len == 1 {
                out += rm1[num]
            }
        }
        return out
    }

    static func prepareNum(_ fmt: String) throws(SQLError) -> ([FmtNode], NUMDesc) {
        let nodes = parse(fmt, dch: false)
        var num = NUMDesc()
        for n in nodes { try num.prepare(n) }
        return (nodes, num)
    }

    static func hashes(_ num: NUMDesc) -> String {
        var s = [UInt8](repeating: UInt8(ascii: "#"), count: num.pre + num.post + 1)
        s[num.pre] = UInt8(ascii: ".")
        return String(decoding: s, as: UTF8.self)
    }

    static func eeeeHashes(_ num: NUMDesc) -> String {
        var s = [UInt8](repeating: UInt8(ascii: "#"), count: num.pre + num.post + 6)
        s[0] = UInt8(ascii: " ")
        s[num.pre + 1] = UInt8(ascii: ".")
        return String(decoding: s, as: UTF8.self)
    }

    /// `to_char(numeric, text)`; the numeric is given as its decimal text (`NaN`, `Infinity`
    /// and `-Infinity` allowed).
    public static func toChar(numeric value: String, _ fmt: String) throws(SQLError) -> String {
        if fmt.isEmpty { return "" }
        var (nodes, num) = try prepareNum(fmt)
        let special = ["NaN", "Infinity", "-Infinity"].contains(value)
        var numstr: String
        var sign = 0
        var outPreSpaces = 0
        if num.has(NUMDesc.ROMAN) {
            if value == "NaN" { throw SQLError(.featureNotSupported, "cannot convert NaN to integer") }
            if special { throw SQLError(.featureNotSupported, "cannot convert infinity to integer") }
            guard var d = DecimalText(value) else { throw SQLError(.invalidTextRepresentation, "invalid input syntax for type numeric: \"\(value)\"") }
            d.round(to: 0)
            guard let v = Int64(d.text), v >= Int64(Int32.min), v <= Int64(Int32.max) else {
                throw SQLError(.numericValueOutOfRange, "integer out of range")
            }
            numstr = intToRoman(Int(v))
        } else if num.has(NUMDesc.EEEE) {
            if special {
                numstr = eeeeHashes(num)
            } else {
                guard let d = DecimalText(value) else { throw SQLError(.invalidTextRepresentation, "invalid input syntax for type numeric: \"\(value)\"") }
                let orgnum = d.sci(num.post)
                numstr = orgnum.hasPrefix("-") ? orgnum : " " + orgnum
            }
        } else {
            var orgnum: String
            if special {
                orgnum = value
            } else {
                guard var d = DecimalText(value) else { throw SQLError(.invalidTextRepresentation, "invalid input syntax for type numeric: \"\(value)\"") }
                if num.has(NUMDesc.MULTI) {
                    d.shift(num.multi)
                    num.pre += num.multi
                }
                d.round(to: num.post)
                orgnum = d.text
            }
            if special && num.has(NUMDesc.MULTI) { num.pre += num.multi }
            if orgnum.hasPrefix("-") {
                sign = Int(UInt8(ascii: "-"))
                numstr = String(orgnum.dropFirst())
            } else {
                sign = Int(UInt8(ascii: "+"))
                numstr = orgnum
            }
            let preLen = numstr.firstIndex(of: ".").map { numstr.distance(from: numstr.startIndex, to: $0) } ?? numstr.count
            if preLen < num.pre {
                outPreSpaces = num.pre - preLen
            } else if preLen > num.pre {
                numstr = hashes(num)
            }
        }
        return try numProcessor(nodes, &num, numstr, outPreSpaces, sign)
    }

    /// `to_char(double precision, text)`.
    public static func toChar(double value: Double, _ fmt: String) throws(SQLError) -> String {
        if fmt.isEmpty { return "" }
        var (nodes, num) = try prepareNum(fmt)
        var numstr: String
        var sign = 0
        var outPreSpaces = 0
        if num.has(NUMDesc.ROMAN) {
            let r = value.rounded(.toNearestOrEven)
            let iv: Int = (r.isNaN || r >= 2147483648.0 || r < -2147483648.0) ? Int(Int32.min) : Int(r)
            numstr = intToRoman(iv)
        } else if num.has(NUMDesc.EEEE) {
            if value.isNaN || value.isInfinite {
                numstr = eeeeHashes(num)
            } else {
                var s = cFormat("%+.*e", Int32(num.post), value)
                if s.hasPrefix("+") { s = " " + s.dropFirst() }
                numstr = s
            }
        } else {
            var val = value
            if num.has(NUMDesc.MULTI) {
                val = value * pow(10.0, Double(num.multi))
                num.pre += num.multi
            }
            var orgnum = cFormat("%.0f", fabs(val))
            let preLen0 = orgnum.utf8.count
            if preLen0 >= 15 {
                num.post = 0
            } else if preLen0 + num.post > 15 {
                num.post = 15 - preLen0
            }
            orgnum = cFormat("%.*f", Int32(num.post), val)
            if orgnum.hasPrefix("-") {
                sign = Int(UInt8(ascii: "-"))
                numstr = String(orgnum.dropFirst())
            } else {
                sign = Int(UInt8(ascii: "+"))
                numstr = orgnum
            }
            let preLen = numstr.firstIndex(of: ".").map { numstr.distance(from: numstr.startIndex, to: $0) } ?? numstr.count
            if preLen < num.pre {
                outPreSpaces = num.pre - preLen
            } else if preLen > num.pre {
                numstr = hashes(num)
            }
        }
        return try numProcessor(nodes, &num, numstr, outPreSpaces, sign)
    }

    /// `to_char(integer, text)` (`int4` when `isInt4`, else `bigint`).
    public static func toChar(integer value: Int64, _ fmt: String, isInt4: Bool = false) throws(SQLError) -> String {
        if fmt.isEmpty { return "" }
        var (nodes, num) = try prepareNum(fmt)
        var numstr: String
        var sign = 0
        var outPreSpaces = 0
        if num.has(NUMDesc.ROMAN) {
            guard value >= Int64(Int32.min), value <= Int64(Int32.max) else {
                throw SQLError(.numericValueOutOfRange, "integer out of range")
            }
            numstr = intToRoman(Int(value))
        } else if num.has(NUMDesc.EEEE) {
            if isInt4 {
                var s = cFormat("%+.*e", Int32(num.post), Double(value))
                if s.hasPrefix("+") { s = " " + s.dropFirst() }
                numstr = s
            } else {
                guard let d = DecimalText(String(value)) else {
                    throw SQLError.bug("integer text \(value) is not a valid decimal")
                }
                let o = d.sci(num.post)
                numstr = o.hasPrefix("-") ? o : " " + o
            }
        } else {
            var v = value
            if num.has(NUMDesc.MULTI) {
                if isInt4 {
                    let m = pow(10.0, Double(num.multi))
                    let mi = m >= 2147483648.0 ? Int32.min : Int32(m)
                    v = Int64(Int32(truncatingIfNeeded: v) &* mi)
                } else {
                    let m = pow(10.0, Double(num.multi))
                    guard m < 9223372036854775808.0 else { throw SQLError(.numericValueOutOfRange, "bigint out of range") }
                    let (r, o) = v.multipliedReportingOverflow(by: Int64(m))
                    if o { throw SQLError(.numericValueOutOfRange, "bigint out of range") }
                    v = r
                }
                num.pre += num.multi
            }
            var orgnum = String(v)
            if orgnum.hasPrefix("-") {
                sign = Int(UInt8(ascii: "-"))
                orgnum.removeFirst()
            } else {
                sign = Int(UInt8(ascii: "+"))
            }
            let preLen = orgnum.utf8.count
            numstr = num.post > 0 ? orgnum + "." + String(repeating: "0", count: num.post) : orgnum
            if preLen < num.pre {
                outPreSpaces = num.pre - preLen
            } else if preLen > num.pre {
                numstr = hashes(num)
            }
        }
        return try numProcessor(nodes, &num, numstr, outPreSpaces, sign)
    }

    /// `NUM_processor` (to_char direction).
    static func numProcessor(_ nodes: [FmtNode], _ num: inout NUMDesc, _ numberText: String, _ toCharOutPreSpaces: Int, _ signIn: Int) throws(SQLError) -> String {
        let number = Array(numberText.utf8)
        var out: [UInt8] = []
        @inline(__always) func numAt(_ i: Int) -> UInt8 { i < number.count ? number[i] : 0 }
        if num.zeroStart != 0 { num.zeroStart -= 1 }
        if num.has(NUMDesc.EEEE) { return numberText }
        var sign = signIn
        var outPreSpaces = 0
        if num.has(NUMDesc.ROMAN) {
            num.lsign = 0
            num.preLsignNum = 0
            num.post = 0
            num.pre = 0
            sign = 0
            num.flag = (num.has(NUMDesc.FILLMODE) ? NUMDesc.FILLMODE : 0) | NUMDesc.ROMAN
        } else {
            outPreSpaces = 0
        }
        let plusC = Int(UInt8(ascii: "+")), minusC = Int(UInt8(ascii: "-"))
        var signWrote: Bool
        if num.has(NUMDesc.PLUS) || num.has(NUMDesc.MINUS) {
            signWrote = !(num.has(NUMDesc.PLUS) && !num.has(NUMDesc.MINUS))
        } else {
            if sign != minusC {
                if num.has(NUMDesc.BRACKET) && num.has(NUMDesc.FILLMODE) { num.flag &= ~NUMDesc.BRACKET }
                if num.has(NUMDesc.MINUS) { num.flag &= ~NUMDesc.MINUS }
            } else if sign != plusC && num.has(NUMDesc.PLUS) {
                num.flag &= ~NUMDesc.PLUS
            }
            signWrote = sign == plusC && num.has(NUMDesc.FILLMODE) && !num.has(NUMDesc.LSIGN)
            if num.lsign == NUMDesc.lsignPre && num.pre == num.preLsignNum { num.lsign = NUMDesc.lsignPost }
        }
        var numCount = num.post + num.pre - 1
        outPreSpaces = num.has(NUMDesc.ROMAN) ? 0 : toCharOutPreSpaces
        var lastRelevant: Int?
        if num.has(NUMDesc.FILLMODE) && num.has(NUMDesc.DECIMAL) {
            if let dot = number.firstIndex(of: UInt8(ascii: ".")) {
                var r = dot
                var k = dot + 1
                while k < number.count {
                    if number[k] != UInt8(ascii: "0") { r = k }
                    k += 1
                }
                lastRelevant = r
            }
            if let lr = lastRelevant, num.zeroEnd > outPreSpaces {
                let lastZeroPos = min(number.count - 1, num.zeroEnd - outPreSpaces)
                if lr < lastZeroPos { lastRelevant = lastZeroPos }
            }
        }
        if !signWrote && outPreSpaces == 0 { numCount += 1 }
        var numIn = false
        var numCurr = 0
        var numberP = 0
        let fill = num.has(NUMDesc.FILLMODE)
        let zero = num.has(NUMDesc.ZERO)

        func predecSpace() -> Bool { !zero && numberP == 0 && numAt(0) == UInt8(ascii: "0") && num.post != 0 }
        func lastRelIsDot() -> Bool { lastRelevant.map { numAt($0) == UInt8(ascii: ".") } ?? false }

        func numpart(_ id: Int) {
            if num.has(NUMDesc.ROMAN) { return }
            numIn = false
            if !signWrote && (numCurr >= outPreSpaces || (zero && num.zeroStart == numCurr)) && (!predecSpace() || lastRelIsDot()) {
                if num.has(NUMDesc.LSIGN) {
                    if num.lsign == NUMDesc.lsignPre {
                        out.append(sign == minusC ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                        signWrote = true
                    }
                } else if num.has(NUMDesc.BRACKET) {
                    out.append(sign == plusC ? UInt8(ascii: " ") : UInt8(ascii: "<"))
                    signWrote = true
                } else if sign == plusC {
                    if !fill { out.append(UInt8(ascii: " ")) }
                    signWrote = true
                } else if sign == minusC {
                    out.append(UInt8(ascii: "-"))
                    signWrote = true
                }
            }
            if id == NUMK.NINE || id == NUMK.ZERO || id == NUMK.D || id == NUMK.DEC {
                if numCurr < outPreSpaces && (num.zeroStart > numCurr || !zero) {
                    if !fill { out.append(UInt8(ascii: " ")) }
                } else if zero && numCurr < outPreSpaces && num.zeroStart <= numCurr {
                    out.append(UInt8(ascii: "0"))
                    numIn = true
                } else {
                    if numAt(numberP) == UInt8(ascii: ".") {
                        if !lastRelIsDot() {
                            out.append(UInt8(ascii: "."))
                        } else if fill && lastRelIsDot() {
                            out.append(UInt8(ascii: "."))
                        }
                    } else {
                        if let lr = lastRelevant, numberP > lr, id != NUMK.ZERO {
                        } else if predecSpace() {
                            if !fill {
                                out.append(UInt8(ascii: " "))
                            } else if lastRelIsDot() {
                                out.append(UInt8(ascii: "0"))
                            }
                        } else {
                            out.append(numAt(numberP))
                            numIn = true
                        }
                    }
                    if numberP < number.count { numberP += 1 }
                }
                var end = numCount + (outPreSpaces != 0 ? 1 : 0) + (num.has(NUMDesc.DECIMAL) ? 1 : 0)
                if let lr = lastRelevant, lr == numberP { end = numCurr }
                if numCurr + 1 == end {
                    if signWrote && num.has(NUMDesc.BRACKET) {
                        out.append(sign == plusC ? UInt8(ascii: " ") : UInt8(ascii: ">"))
                    } else if num.has(NUMDesc.LSIGN) && num.lsign == NUMDesc.lsignPost {
                        out.append(sign == minusC ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                    }
                }
            }
            numCurr += 1
        }

        for n in nodes {
            guard n.type == .action, let key = n.key else {
                out += n.character
                continue
            }
            switch key.id {
            case NUMK.NINE, NUMK.ZERO, NUMK.DEC, NUMK.D:
                numpart(key.id)
            case NUMK.COMMA, NUMK.G:
                if !numIn {
                    if fill { continue }
                    out.append(UInt8(ascii: " "))
                } else {
                    out.append(UInt8(ascii: ","))
                }
            case NUMK.L:
                out.append(UInt8(ascii: " "))
            case NUMK.RN, NUMK.rn:
                var r = Array(numberText.utf8)
                if key.id == NUMK.rn { r = r.map { DTLexer.lower($0) } }
                if !fill && r.count < 15 { r = [UInt8](repeating: 32, count: 15 - r.count) + r }
                out += r
            case NUMK.TH, NUMK.th:
                if num.has(NUMDesc.ROMAN) || numAt(0) == UInt8(ascii: "#") || sign == minusC || num.has(NUMDesc.DECIMAL) { continue }
                out += Array((try th(numberText, upper: key.id == NUMK.TH)).utf8)
            case NUMK.MI:
                if sign == minusC { out.append(UInt8(ascii: "-")) } else if fill { continue } else { out.append(UInt8(ascii: " ")) }
            case NUMK.PL:
                if sign == plusC { out.append(UInt8(ascii: "+")) } else if fill { continue } else { out.append(UInt8(ascii: " ")) }
            case NUMK.SG:
                out.append(UInt8(truncatingIfNeeded: sign))
            default:
                continue
            }
        }
        if let z = out.firstIndex(of: 0) { out = Array(out[..<z]) }
        return String(decoding: out, as: UTF8.self)
    }
}
