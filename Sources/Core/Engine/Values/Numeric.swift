#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// PostgreSQL 15's `numeric`: arbitrary-precision decimal with NaN and ±Infinity.
//
// The value is held the way PostgreSQL holds it: base-10000 digits (each 0...9999), the
// weight of the first digit (value = Σ digit[i] · 10000^(weight - i)), a sign, and the
// display scale (dscale: decimal digits shown after the point). Digits are always
// stripped of leading and trailing zero digits; zero has no digits, weight 0 and a
// positive sign. Up to 12 digits (48 decimal digits) live inline in the struct, so
// arithmetic on everyday values allocates nothing on the heap; longer values keep
// their digits in a ContiguousArray.
//
// The arithmetic is an independent implementation of the algorithms PostgreSQL uses
// (src/backend/utils/adt/numeric.c), including their choices of result scale and the
// exact sequence of truncated multiplications and approximate divisions inside
// exp/ln/power, so results agree with PostgreSQL digit for digit.
//
// Range: PostgreSQL stores weights in int16 and display scales up to 16383. The
// throwing operations check those limits as PostgreSQL does ("value overflows numeric
// format"). The non-throwing operations (+, -, *, rounded, truncated, floor, ceiling)
// return the exact value even beyond them (weights far outside, beyond ±2^20, are
// clamped rather than trapping); call `validated()` (or use `adding`, `subtracting`,
// `multiplied(by:)`) where PostgreSQL would raise the overflow error.

/// PostgreSQL's numeric: arbitrary-precision decimal with NaN and ±Infinity.
public struct Numeric: Sendable {
    @usableFromInline enum Kind: UInt8, Sendable {
        case pos = 0, neg = 1, nan = 2, pinf = 3, ninf = 4
    }

    @usableFromInline typealias InlineDigits = (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16,
                                                UInt16, UInt16, UInt16, UInt16, UInt16, UInt16)
    @usableFromInline static let inlineCapacity = 12
    @usableFromInline static let zeroInline: InlineDigits = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    @usableFromInline var kind: Kind
    /// Number of base-10000 digits (stripped: first and last are nonzero).
    @usableFromInline var ndigits: Int32
    /// Weight of the first digit in base 10000.
    @usableFromInline var weight: Int32
    /// Display scale. Never negative in a value handed out; internal intermediates may be.
    @usableFromInline var dscale: Int32
    @usableFromInline var inl: InlineDigits
    @usableFromInline var ext: ContiguousArray<UInt16>?

    @usableFromInline init(kind: Kind, ndigits: Int32, weight: Int32, dscale: Int32,
                           inl: InlineDigits, ext: ContiguousArray<UInt16>?) {
        self.kind = kind
        self.ndigits = ndigits
        self.weight = weight
        self.dscale = dscale
        self.inl = inl
        self.ext = ext
    }

    @inline(__always) init(special: Kind) {
        self.init(kind: special, ndigits: 0, weight: 0, dscale: 0, inl: Numeric.zeroInline, ext: nil)
    }

    public static let nan = Numeric(special: .nan)
    public static let infinity = Numeric(special: .pinf)
    public static let negativeInfinity = Numeric(special: .ninf)
    public static let zero = Numeric(special: .pos)
}

// MARK: - Constants (as numeric.c)

@usableFromInline enum NumericConst {
    static let nbase = 10000
    static let halfNbase = 5000
    static let decDigits = 4
    static let mulGuardDigits = 2
    static let divGuardDigits = 4
    static let maxPrecision = 1000
    static let minScale = -1000
    static let maxScale = 1000
    static let maxDisplayScale = 1000
    static let minDisplayScale = 0
    static let maxResultScale = 2000
    static let minSigDigits = 16
    static let dscaleMax = 0x3FFF
    static let weightMax = 32767
    static let weightMin = -32768
    /// Internal guard: weights beyond ±weightLimit (far outside PostgreSQL's int16 range) are
    /// clamped, so unchecked arithmetic on absurd values cannot trap or allocate without
    /// bound; such values always fail `validated()`.
    static let weightLimit = 1 << 20
    @inline(__always) static func roundPower(_ di: Int) -> Int {
        switch di {
        case 1: return 1000
        case 2: return 100
        case 3: return 10
        default: return 0
        }
    }
}

// MARK: - Errors

extension Numeric {
    static var overflowError: SQLError { SQLError(.numericValueOutOfRange, "value overflows numeric format") }
    static var divisionByZeroError: SQLError { SQLError(.divisionByZero, "division by zero") }
    static let invalidArgumentForPower = SQLState("2201F")
    static let invalidArgumentForLog = SQLState("2201E")
    static let invalidBinaryRepresentation = SQLState("22P03")
    static let protocolViolation = SQLState("08P01")
    static func syntaxError(_ text: String) -> SQLError {
        SQLError(.invalidTextRepresentation, "invalid input syntax for type numeric: \"\(text)\"")
    }
}

// MARK: - Construction from digits, digit access

extension Numeric {
    /// Builds a finite value from base-10000 digits, stripping leading/trailing zero digits.
    @inline(__always)
    static func make(negative: Bool, weight: Int, dscale: Int,
                     digits: UnsafePointer<UInt16>, count: Int) -> Numeric {
        var s = 0
        var n = count
        var w = weight
        while n > 0 && digits[s] == 0 { s &+= 1; n &-= 1; w &-= 1 }
        while n > 0 && digits[s &+ n &- 1] == 0 { n &-= 1 }
        var r = Numeric(kind: .pos, ndigits: 0, weight: 0, dscale: Int32(clamping: dscale),
                        inl: Numeric.zeroInline, ext: nil)
        if n == 0 { return r }
        if w > NumericConst.weightLimit { w = NumericConst.weightLimit + 1 }
        if w < -NumericConst.weightLimit { w = -NumericConst.weightLimit - 1 }
        r.kind = negative ? .neg : .pos
        r.weight = Int32(w)
        r.ndigits = Int32(n)
        if n <= Numeric.inlineCapacity {
            withUnsafeMutablePointer(to: &r.inl) { tp in
                tp.withMemoryRebound(to: UInt16.self, capacity: Numeric.inlineCapacity) { dst in
                    dst.update(from: digits + s, count: n)
                }
            }
        } else {
            r.ext = ContiguousArray(UnsafeBufferPointer(start: digits + s, count: n))
        }
        return r
    }

    static func zeroValue(dscale: Int) -> Numeric {
        var z = Numeric.zero
        z.dscale = Int32(clamping: dscale)
        return z
    }

    /// Calls body with a pointer to the digits (valid even when there are none).
    @inline(__always)
    func withDigits<R>(_ body: (UnsafePointer<UInt16>, Int) throws -> R) rethrows -> R {
        if let e = ext {
            return try e.withUnsafeBufferPointer { b in
                if let p = b.baseAddress { return try body(p, b.count) }
                // Only an empty array may lack storage: present it as no digits.
                var none: UInt16 = 0
                return try withUnsafePointer(to: &none) { try body($0, 0) }
            }
        }
        var t = inl
        let n = Int(ndigits)
        return try withUnsafePointer(to: &t) { tp in
            try tp.withMemoryRebound(to: UInt16.self, capacity: Numeric.inlineCapacity) { try body($0, n) }
        }
    }

    @inline(__always)
    func digit(_ i: Int) -> Int {
        if let e = ext { return Int(e[i]) }
        return withUnsafeBytes(of: inl) { Int($0.load(fromByteOffset: i &* 2, as: UInt16.self)) }
    }

    var digitArray: [UInt16] { withDigits { Array(UnsafeBufferPointer(start: $0, count: $1)) } }

    @inline(__always) public var isFinite: Bool { kind.rawValue <= 1 }
    @inline(__always) var isNeg: Bool { kind == .neg }

    /// The same digits with the weight moved by `by` base-10000 places (multiplication by 10000^by).
    func shifted(by: Int) -> Numeric {
        if ndigits == 0 { return self }
        var r = self
        r.weight = Int32(Int(weight) + by)
        return r
    }

    func withDscale(_ s: Int) -> Numeric {
        var r = self
        r.dscale = Int32(clamping: s)
        return r
    }

    static func fromInt64(_ v: Int64) -> Numeric {
        if v == 0 { return .zero }
        var u = v.magnitude
        var buf: (UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0)
        return withUnsafeMutablePointer(to: &buf) { bp in
            bp.withMemoryRebound(to: UInt16.self, capacity: 5) { p in
                var i = 5
                while u != 0 {
                    i -= 1
                    let q = u / 10000
                    p[i] = UInt16(truncatingIfNeeded: u &- q &* 10000)
                    u = q
                }
                return make(negative: v < 0, weight: 4 - i, dscale: 0, digits: p + i, count: 5 - i)
            }
        }
    }

    static func fromInt128(_ v: Int128) -> Numeric {
        if v == 0 { return .zero }
        var u = v.magnitude
        return NumericKernel.withScratch(of: UInt16.self, capacity: 10) { digits in
            var i = 10
            while u != 0 {
                i -= 1
                let q = u / 10000
                digits[i] = UInt16(truncatingIfNeeded: u - q * 10000)
                u = q
            }
            return make(negative: v < 0, weight: 9 - i, dscale: 0, digits: digits + i, count: 10 - i)
        }
    }

    static func fromDigits(negative: Bool, weight: Int, dscale: Int, _ d: [UInt16]) -> Numeric {
        if d.isEmpty { return zeroValue(dscale: dscale) }
        return d.withUnsafeBufferPointer { b in
            guard let p = b.baseAddress else { return zeroValue(dscale: dscale) }
            return make(negative: negative, weight: weight, dscale: dscale, digits: p, count: b.count)
        }
    }

    static let one = Numeric.fromInt64(1)
    static let minusOne = Numeric.fromInt64(-1)
    static let two = Numeric.fromInt64(2)
    static let ten = Numeric.fromInt64(10)
    /// 0.9 with dscale 1 and 1.1 with dscale 1 (estimate_ln_dweight / ln_var bounds).
    static let zeroPointNine = fromDigits(negative: false, weight: -1, dscale: 1, [9000])
    static let onePointOne = fromDigits(negative: false, weight: 0, dscale: 1, [1, 1000])
}

// MARK: - C math helpers

/// C's (int) conversion of a double as x86-64 does it (out of range gives INT_MIN).
@inline(__always) fileprivate func cInt(_ d: Double) -> Int {
    let t = d.rounded(.towardZero)
    if t >= -2147483648.0 && t <= 2147483647.0 { return Int(t) }
    return Int(Int32.min)
}

@inline(__always) fileprivate func cLog10(_ x: Double) -> Double { log10(x) }
@inline(__always) fileprivate func cLog(_ x: Double) -> Double { log(x) }

// MARK: - Digit kernels (operate on magnitudes held in raw buffers)

@usableFromInline enum NumericKernel {
    /// withUnsafeTemporaryAllocation that hands `body` the buffer's base address. A buffer of
    /// capacity >= 1 always has one; the heap branch (also taken for capacity 0) only keeps
    /// the code free of a force unwrap. `body` has a single call site so that it is inlined,
    /// and its errors are typed (`Never` for the kernels) so that no throwing path is added.
    @inline(__always)
    static func withScratch<T, R, E: Error>(of type: T.Type, capacity: Int,
                                            _ body: (UnsafeMutablePointer<T>) throws(E) -> R) throws(E) -> R {
        try withUnsafeTemporaryAllocation(of: type, capacity: capacity) { buf throws(E) -> R in
            let p: UnsafeMutablePointer<T>
            var heap: UnsafeMutablePointer<T>?
            if let base = buf.baseAddress {
                p = base
            } else {
                let h = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(capacity, 1))
                heap = h
                p = h
            }
            defer { heap?.deallocate() }
            return try body(p)
        }
    }

    /// cmp_abs_common
    @inline(__always)
    static func cmpAbs(_ a: UnsafePointer<UInt16>, _ an: Int, _ aw0: Int,
                       _ b: UnsafePointer<UInt16>, _ bn: Int, _ bw0: Int) -> Int {
        var i1 = 0, i2 = 0
        var aw = aw0, bw = bw0
        while aw > bw && i1 < an {
            if a[i1] != 0 { return 1 }
            i1 += 1; aw -= 1
        }
        while bw > aw && i2 < bn {
            if b[i2] != 0 { return -1 }
            i2 += 1; bw -= 1
        }
        if aw == bw {
            while i1 < an && i2 < bn {
                let x = a[i1], y = b[i2]
                if x != y { return x > y ? 1 : -1 }
                i1 += 1; i2 += 1
            }
        }
        while i1 < an {
            if a[i1] != 0 { return 1 }
            i1 += 1
        }
        while i2 < bn {
            if b[i2] != 0 { return -1 }
            i2 += 1
        }
        return 0
    }

    /// round_var on a digit buffer. p[start-1] must exist and be 0 (room for a carry).
    @inline(__always)
    static func round(_ p: UnsafeMutablePointer<UInt16>, _ start: inout Int, _ n: inout Int,
                      _ w: inout Int, _ rscale: Int) {
        var di = (w + 1) * NumericConst.decDigits + rscale
        if di < 0 {
            n = 0
            w = 0
            return
        }
        var nd = (di + NumericConst.decDigits - 1) / NumericConst.decDigits
        di %= NumericConst.decDigits
        if nd < n || (nd == n && di > 0) {
            n = nd
            let d = p + start
            var carry = 0
            if di == 0 {
                carry = Int(d[nd]) >= NumericConst.halfNbase ? 1 : 0
            } else {
                var pow10 = NumericConst.roundPower(di)
                nd -= 1
                let extra = Int(d[nd]) % pow10
                d[nd] = UInt16(Int(d[nd]) - extra)
                if extra >= pow10 / 2 {
                    pow10 += Int(d[nd])
                    if pow10 >= NumericConst.nbase {
                        pow10 -= NumericConst.nbase
                        carry = 1
                    }
                    d[nd] = UInt16(pow10)
                }
            }
            while carry != 0 {
                nd -= 1
                carry += Int(d[nd])
                if carry >= NumericConst.nbase {
                    d[nd] = UInt16(carry - NumericConst.nbase)
                    carry = 1
                } else {
                    d[nd] = UInt16(carry)
                    carry = 0
                }
            }
            if nd < 0 {
                start -= 1
                n += 1
                w += 1
            }
        }
    }

    /// trunc_var on a digit buffer.
    @inline(__always)
    static func trunc(_ p: UnsafeMutablePointer<UInt16>, _ start: Int, _ n: inout Int,
                      _ w: inout Int, _ rscale: Int) {
        var di = (w + 1) * NumericConst.decDigits + rscale
        if di <= 0 {
            n = 0
            w = 0
            return
        }
        var nd = (di + NumericConst.decDigits - 1) / NumericConst.decDigits
        if nd <= n {
            n = nd
            di %= NumericConst.decDigits
            if di > 0 {
                let pow10 = NumericConst.roundPower(di)
                nd -= 1
                let v = Int(p[start + nd])
                p[start + nd] = UInt16(v - v % pow10)
            }
        }
    }
}

// MARK: - Variable-level arithmetic (numeric.c's *_var functions)

extension Numeric {
    /// cmp_var: signed comparison of finite values.
    static func cmpVar(_ a: Numeric, _ b: Numeric) -> Int {
        let an = Int(a.ndigits), bn = Int(b.ndigits)
        if an == 0 {
            if bn == 0 { return 0 }
            return b.kind == .neg ? 1 : -1
        }
        if bn == 0 { return a.kind == .pos ? 1 : -1 }
        if a.kind == .pos {
            if b.kind == .neg { return 1 }
            return cmpAbs(a, b)
        }
        if b.kind == .pos { return -1 }
        return cmpAbs(b, a)
    }

    @inline(__always)
    static func cmpAbs(_ a: Numeric, _ b: Numeric) -> Int {
        a.withDigits { ap, an in
            b.withDigits { bp, bn in
                NumericKernel.cmpAbs(ap, an, Int(a.weight), bp, bn, Int(b.weight))
            }
        }
    }

    /// add_abs: |a| + |b| with the given sign; dscale = max of the two.
    static func addAbs(_ a: Numeric, _ b: Numeric, negative: Bool) -> Numeric {
        let an = Int(a.ndigits), bn = Int(b.ndigits)
        let aw = Int(a.weight), bw = Int(b.weight)
        let resWeight = max(aw, bw) + 1
        let resDscale = max(Int(a.dscale), Int(b.dscale))
        let resRscale = max(an - aw - 1, bn - bw - 1)
        var resN = resRscale + resWeight + 1
        if resN <= 0 { resN = 1 }
        return a.withDigits { ap, _ in
            b.withDigits { bp, _ in
                NumericKernel.withScratch(of: UInt16.self, capacity: resN) { out in
                    var i1 = resRscale + aw + 1
                    var i2 = resRscale + bw + 1
                    var carry = 0
                    var i = resN - 1
                    while i >= 0 {
                        i1 -= 1
                        i2 -= 1
                        if i1 >= 0 && i1 < an { carry += Int(ap[i1]) }
                        if i2 >= 0 && i2 < bn { carry += Int(bp[i2]) }
                        if carry >= NumericConst.nbase {
                            out[i] = UInt16(carry - NumericConst.nbase)
                            carry = 1
                        } else {
                            out[i] = UInt16(carry)
                            carry = 0
                        }
                        i -= 1
                    }
                    return make(negative: negative, weight: resWeight, dscale: resDscale, digits: out, count: resN)
                }
            }
        }
    }

    /// sub_abs: |a| - |b| (requires |a| >= |b|) with the given sign; dscale = max.
    static func subAbs(_ a: Numeric, _ b: Numeric, negative: Bool) -> Numeric {
        let an = Int(a.ndigits), bn = Int(b.ndigits)
        let aw = Int(a.weight), bw = Int(b.weight)
        let resWeight = aw
        let resDscale = max(Int(a.dscale), Int(b.dscale))
        let resRscale = max(an - aw - 1, bn - bw - 1)
        var resN = resRscale + resWeight + 1
        if resN <= 0 { resN = 1 }
        return a.withDigits { ap, _ in
            b.withDigits { bp, _ in
                NumericKernel.withScratch(of: UInt16.self, capacity: resN) { out in
                    var i1 = resRscale + aw + 1
                    var i2 = resRscale + bw + 1
                    var borrow = 0
                    var i = resN - 1
                    while i >= 0 {
                        i1 -= 1
                        i2 -= 1
                        if i1 >= 0 && i1 < an { borrow += Int(ap[i1]) }
                        if i2 >= 0 && i2 < bn { borrow -= Int(bp[i2]) }
                        if borrow < 0 {
                            out[i] = UInt16(borrow + NumericConst.nbase)
                            borrow = -1
                        } else {
                            out[i] = UInt16(borrow)
                            borrow = 0
                        }
                        i -= 1
                    }
                    return make(negative: negative, weight: resWeight, dscale: resDscale, digits: out, count: resN)
                }
            }
        }
    }

    /// add_var
    static func addVar(_ a: Numeric, _ b: Numeric) -> Numeric {
        let aneg = a.kind == .neg, bneg = b.kind == .neg
        if aneg == bneg { return addAbs(a, b, negative: aneg) }
        switch cmpAbs(a, b) {
        case 0: return zeroValue(dscale: max(Int(a.dscale), Int(b.dscale)))
        case 1: return subAbs(a, b, negative: aneg)
        default: return subAbs(b, a, negative: bneg)
        }
    }

    /// sub_var
    static func subVar(_ a: Numeric, _ b: Numeric) -> Numeric {
        let aneg = a.kind == .neg, bneg = !(b.kind == .neg)
        if aneg == bneg { return addAbs(a, b, negative: aneg) }
        switch cmpAbs(a, b) {
        case 0: return zeroValue(dscale: max(Int(a.dscale), Int(b.dscale)))
        case 1: return subAbs(a, b, negative: aneg)
        default: return subAbs(b, a, negative: bneg)
        }
    }

    /// mul_var: product rounded to rscale, computed (like PostgreSQL) from only the input
    /// digits that can affect the first rscale digits plus MUL_GUARD_DIGITS.
    static func mulVar(_ x: Numeric, _ y: Numeric, rscale: Int) -> Numeric {
        let (a, b) = x.ndigits > y.ndigits ? (y, x) : (x, y)
        let an = Int(a.ndigits), bn = Int(b.ndigits)
        if an == 0 || bn == 0 { return zeroValue(dscale: rscale) }
        let negative = a.kind != b.kind
        let resWeight = Int(a.weight) + Int(b.weight) + 2
        var resN = an + bn + 1
        let maxdigits = resWeight + 1 + (rscale + NumericConst.decDigits - 1) / NumericConst.decDigits + NumericConst.mulGuardDigits
        resN = min(resN, maxdigits)
        if resN < 3 { return zeroValue(dscale: rscale) }
        return a.withDigits { ap, _ in
            b.withDigits { bp, _ in
                NumericKernel.withScratch(of: UInt32.self, capacity: resN) { acc in
                    // 32-bit accumulators (vectorize well); carries are propagated whenever
                    // the running bound on a column could overflow, as numeric.c does.
                    acc.initialize(repeating: 0, count: resN)
                    let limit: UInt32 = (UInt32.max - UInt32.max / 10000) / 9999
                    var maxdig: UInt32 = 0
                    var i1 = min(an - 1, resN - 3)
                    while i1 >= 0 {
                        let d1 = UInt32(ap[i1])
                        if d1 != 0 {
                            maxdig += d1
                            if maxdig > limit {
                                var carry: UInt32 = 0
                                var i = resN - 1
                                while i >= 0 {
                                    let v = acc[i] &+ carry
                                    carry = v / 10000
                                    acc[i] = v &- carry &* 10000
                                    i -= 1
                                }
                                maxdig = 1 + d1
                            }
                            let lim = min(bn, resN - i1 - 2)
                            let dst = acc + (i1 + 2)
                            for i2 in 0..<lim {
                                dst[i2] &+= d1 &* UInt32(bp[i2])
                            }
                        }
                        i1 -= 1
                    }
                    return NumericKernel.withScratch(of: UInt16.self, capacity: resN + 1) { out in
                        out[0] = 0
                        var carry: UInt32 = 0
                        var i = resN - 1
                        while i >= 0 {
                            let v = acc[i] &+ carry
                            carry = v / 10000
                            out[i + 1] = UInt16(truncatingIfNeeded: v &- carry &* 10000)
                            i -= 1
                        }
                        var start = 1, n = resN, w = resWeight
                        NumericKernel.round(out, &start, &n, &w, rscale)
                        return make(negative: negative, weight: w, dscale: rscale, digits: out + start, count: n)
                    }
                }
            }
        }
    }

    /// round_var (rscale may be negative; the result's dscale is rscale).
    static func roundVar(_ x: Numeric, _ rscale: Int) -> Numeric {
        let n0 = Int(x.ndigits)
        if n0 == 0 { return x.withDscale(rscale) }
        // Quick exit when nothing needs rounding.
        let di = (Int(x.weight) + 1) * NumericConst.decDigits + rscale
        if di >= 0 {
            let nd = (di + NumericConst.decDigits - 1) / NumericConst.decDigits
            if !(nd < n0 || (nd == n0 && di % NumericConst.decDigits > 0)) { return x.withDscale(rscale) }
        }
        // (the scratch closure captures only trivial values, so x is not copied for it)
        let w0 = Int(x.weight), negative = x.isNeg
        return x.withDigits { xp, _ in
            NumericKernel.withScratch(of: UInt16.self, capacity: n0 + 1) { p in
                p[0] = 0
                (p + 1).update(from: xp, count: n0)
                var start = 1, n = n0, w = w0
                NumericKernel.round(p, &start, &n, &w, rscale)
                return make(negative: negative, weight: w, dscale: rscale, digits: p + start, count: n)
            }
        }
    }

    /// trunc_var
    static func truncVar(_ x: Numeric, _ rscale: Int) -> Numeric {
        let n0 = Int(x.ndigits)
        if n0 == 0 { return x.withDscale(rscale) }
        let w0 = Int(x.weight), negative = x.isNeg
        return x.withDigits { xp, _ in
            NumericKernel.withScratch(of: UInt16.self, capacity: n0) { p in
                p.update(from: xp, count: n0)
                var n = n0, w = w0
                NumericKernel.trunc(p, 0, &n, &w, rscale)
                return make(negative: negative, weight: w, dscale: rscale, digits: p, count: n)
            }
        }
    }

    /// div_var: Knuth long division; the quotient is exact to rscale digits and then rounded
    /// (or truncated).
    static func divVar(_ a: Numeric, _ b: Numeric, rscale: Int, round: Bool) throws -> Numeric {
        let bn = Int(b.ndigits)
        if bn == 0 { throw divisionByZeroError }
        if bn <= 2 {
            var idiv = b.digit(0)
            var iw = Int(b.weight)
            if bn == 2 {
                idiv = idiv * NumericConst.nbase + b.digit(1)
                iw -= 1
            }
            if b.kind == .neg { idiv = -idiv }
            return divVarInt(a, idiv, iw, rscale: rscale, round: round)
        }
        let an = Int(a.ndigits)
        if an == 0 { return zeroValue(dscale: rscale) }
        let negative = a.kind != b.kind
        let resWeight = Int(a.weight) - Int(b.weight)
        var resN = resWeight + 1 + (rscale + NumericConst.decDigits - 1) / NumericConst.decDigits
        resN = max(resN, 1)
        if round { resN += 1 }
        let divN = max(resN + bn, an)
        return try a.withDigits { ap, _ in
            try b.withDigits { bp, _ in
                // (a direct temporary allocation keeps this kernel's code as fast as before;
                // capacities >= 1 always have a base address)
                try withUnsafeTemporaryAllocation(of: Int32.self, capacity: divN + bn + 2) { wsBuf in
                    guard let dividend = wsBuf.baseAddress else { throw SQLError.bug("div_var: no scratch buffer") }
                    dividend.initialize(repeating: 0, count: divN + bn + 2)
                    let divisor = dividend + (divN + 1)
                    for i in 0..<an { dividend[i + 1] = Int32(ap[i]) }
                    for i in 0..<bn { divisor[i + 1] = Int32(bp[i]) }
                    return try withUnsafeTemporaryAllocation(of: UInt16.self, capacity: resN + 1) { outBuf in
                        guard let out = outBuf.baseAddress else { throw SQLError.bug("div_var: no scratch buffer") }
                        out[0] = 0
                        let res = out + 1
                        if Int(divisor[1]) < NumericConst.halfNbase {
                            let d = NumericConst.nbase / (Int(divisor[1]) + 1)
                            var carry = 0
                            var i = bn
                            while i > 0 {
                                carry += Int(divisor[i]) * d
                                divisor[i] = Int32(carry % NumericConst.nbase)
                                carry /= NumericConst.nbase
                                i -= 1
                            }
                            carry = 0
                            i = an
                            while i >= 0 {
                                carry += Int(dividend[i]) * d
                                dividend[i] = Int32(carry % NumericConst.nbase)
                                carry /= NumericConst.nbase
                                i -= 1
                            }
                        }
                        let divisor1 = Int(divisor[1])
                        let divisor2 = Int(divisor[2])
                        for j in 0..<resN {
                            let next2 = Int(dividend[j]) * NumericConst.nbase + Int(dividend[j + 1])
                            if next2 == 0 {
                                res[j] = 0
                                continue
                            }
                            var qhat: Int
                            if Int(dividend[j]) == divisor1 {
                                qhat = NumericConst.nbase - 1
                            } else {
                                qhat = next2 / divisor1
                            }
                            while divisor2 * qhat > (next2 - qhat * divisor1) * NumericConst.nbase + Int(dividend[j + 2]) {
                                qhat -= 1
                            }
                            if qhat > 0 {
                                let dj = dividend + j
                                var borrow = 0
                                var i = bn
                                while i >= 0 {
                                    let t = Int(dj[i]) &- borrow &- Int(divisor[i]) &* qhat
                                    borrow = (NumericConst.nbase &- 1 &- t) / NumericConst.nbase
                                    dj[i] = Int32(truncatingIfNeeded: t &+ borrow &* NumericConst.nbase)
                                    i -= 1
                                }
                                if borrow != 0 {
                                    qhat -= 1
                                    var carry = 0
                                    i = bn
                                    while i >= 0 {
                                        carry += Int(dj[i]) + Int(divisor[i])
                                        if carry >= NumericConst.nbase {
                                            dj[i] = Int32(carry - NumericConst.nbase)
                                            carry = 1
                                        } else {
                                            dj[i] = Int32(carry)
                                            carry = 0
                                        }
                                        i -= 1
                                    }
                                }
                            }
                            res[j] = UInt16(qhat)
                        }
                        var start = 1, n = resN, w = resWeight
                        if round {
                            NumericKernel.round(out, &start, &n, &w, rscale)
                        } else {
                            NumericKernel.trunc(out, start, &n, &w, rscale)
                        }
                        return make(negative: negative, weight: w, dscale: rscale, digits: out + start, count: n)
                    }
                }
            }
        }
    }

    /// div_var_int: division by a small integer ival · 10000^ivalWeight (ival != 0).
    static func divVarInt(_ a: Numeric, _ ival: Int, _ ivalWeight: Int, rscale: Int, round: Bool) -> Numeric {
        let an = Int(a.ndigits)
        if an == 0 { return zeroValue(dscale: rscale) }
        let negative = (a.kind == .pos) ? (ival < 0) : (ival > 0)
        let resWeight = Int(a.weight) - ivalWeight
        var resN = resWeight + 1 + (rscale + NumericConst.decDigits - 1) / NumericConst.decDigits
        resN = max(resN, 1)
        if round { resN += 1 }
        let divisor = UInt64(ival.magnitude)
        return a.withDigits { ap, _ in
            NumericKernel.withScratch(of: UInt16.self, capacity: resN + 1) { out in
                out[0] = 0
                var carry: UInt64 = 0
                for i in 0..<resN {
                    carry = carry &* 10000 &+ (i < an ? UInt64(ap[i]) : 0)
                    let q = carry / divisor
                    out[i + 1] = UInt16(truncatingIfNeeded: q)
                    carry = carry &- q &* divisor
                }
                var start = 1, n = resN, w = resWeight
                if round {
                    NumericKernel.round(out, &start, &n, &w, rscale)
                } else {
                    NumericKernel.trunc(out, start, &n, &w, rscale)
                }
                return make(negative: negative, weight: w, dscale: rscale, digits: out + start, count: n)
            }
        }
    }

    /// div_var_fast: the "FM" approximate division PostgreSQL uses inside the transcendental
    /// functions. Reproduced operation for operation (including its float estimates and
    /// carry normalization schedule) because its last digits are not exact.
    static func divVarFast(_ a: Numeric, _ b: Numeric, rscale: Int, round: Bool) throws -> Numeric {
        let bn = Int(b.ndigits)
        if bn == 0 { throw divisionByZeroError }
        if bn <= 2 {
            var idiv = b.digit(0)
            var iw = Int(b.weight)
            if bn == 2 {
                idiv = idiv * NumericConst.nbase + b.digit(1)
                iw -= 1
            }
            if b.kind == .neg { idiv = -idiv }
            return divVarInt(a, idiv, iw, rscale: rscale, round: round)
        }
        let an = Int(a.ndigits)
        if an == 0 { return zeroValue(dscale: rscale) }
        let negative = a.kind != b.kind
        let resWeight = Int(a.weight) - Int(b.weight) + 1
        var divN = resWeight + 1 + (rscale + NumericConst.decDigits - 1) / NumericConst.decDigits
        divN += NumericConst.divGuardDigits
        if divN < NumericConst.divGuardDigits { divN = NumericConst.divGuardDigits }
        let NB = Int32(NumericConst.nbase)
        let intMax = Int32.max
        let normLimit = (intMax - intMax / NB - 1) / (NB - 1)
        return try a.withDigits { ap, _ in
            try b.withDigits { bp, _ in
                // (a direct temporary allocation, as in divVar)
                try withUnsafeTemporaryAllocation(of: Int32.self, capacity: divN + 1) { divBuf in
                    guard let div = divBuf.baseAddress else { throw SQLError.bug("div_var_fast: no scratch buffer") }
                    div.initialize(repeating: 0, count: divN + 1)
                    let loadN = min(divN, an)
                    for i in 0..<loadN { div[i + 1] = Int32(ap[i]) }
                    var fdivisor = Double(bp[0])
                    for i in 1..<4 {
                        fdivisor *= Double(NumericConst.nbase)
                        if i < bn { fdivisor += Double(bp[i]) }
                    }
                    let fdivisorinverse = 1.0 / fdivisor
                    @inline(__always) func qdigitOf(_ f: Double) -> Int32 {
                        let t = f.rounded(.towardZero)
                        let ti: Int32 = t >= -2147483648.0 && t <= 2147483647.0 ? Int32(t) : Int32.min
                        return f >= 0.0 ? ti : ti &- 1
                    }
                    var maxdiv: Int32 = 1
                    var qi = 0
                    while qi < divN {
                        var fdividend = Double(div[qi])
                        for i in 1..<4 {
                            fdividend *= Double(NumericConst.nbase)
                            if qi + i <= divN { fdividend += Double(div[qi + i]) }
                        }
                        var qdigit = qdigitOf(fdividend * fdivisorinverse)
                        if qdigit != 0 {
                            maxdiv = maxdiv &+ (qdigit < 0 ? 0 &- qdigit : qdigit)
                            if maxdiv > normLimit {
                                var carry: Int32 = 0
                                var i = min(qi + bn - 2, divN)
                                while i > qi {
                                    var newdig = div[i] &+ carry
                                    if newdig < 0 {
                                        carry = 0 &- ((0 &- newdig &- 1) / NB) &- 1
                                        newdig = newdig &- carry &* NB
                                    } else if newdig >= NB {
                                        carry = newdig / NB
                                        newdig = newdig &- carry &* NB
                                    } else {
                                        carry = 0
                                    }
                                    div[i] = newdig
                                    i -= 1
                                }
                                div[qi] = div[qi] &+ carry
                                maxdiv = 1
                                fdividend = Double(div[qi])
                                for i in 1..<4 {
                                    fdividend *= Double(NumericConst.nbase)
                                    if qi + i <= divN { fdividend += Double(div[qi + i]) }
                                }
                                qdigit = qdigitOf(fdividend * fdivisorinverse)
                                maxdiv = maxdiv &+ (qdigit < 0 ? 0 &- qdigit : qdigit)
                            }
                            if qdigit != 0 {
                                let istop = min(bn, divN - qi + 1)
                                let q16 = Int32(Int16(truncatingIfNeeded: qdigit))
                                let dq = div + qi
                                for i in 0..<istop {
                                    dq[i] = dq[i] &- q16 &* Int32(bp[i])
                                }
                            }
                        }
                        div[qi + 1] = div[qi + 1] &+ div[qi] &* NB
                        div[qi] = qdigit
                        qi += 1
                    }
                    var fdividend = Double(div[qi])
                    for _ in 1..<4 { fdividend *= Double(NumericConst.nbase) }
                    div[qi] = qdigitOf(fdividend * fdivisorinverse)

                    return try withUnsafeTemporaryAllocation(of: UInt16.self, capacity: divN + 2) { outBuf in
                        guard let out = outBuf.baseAddress else { throw SQLError.bug("div_var_fast: no scratch buffer") }
                        out[0] = 0
                        var carry: Int32 = 0
                        var i = divN
                        while i >= 0 {
                            var newdig = div[i] &+ carry
                            if newdig < 0 {
                                carry = 0 &- ((0 &- newdig &- 1) / NB) &- 1
                                newdig = newdig &- carry &* NB
                            } else if newdig >= NB {
                                carry = newdig / NB
                                newdig = newdig &- carry &* NB
                            } else {
                                carry = 0
                            }
                            out[i + 1] = UInt16(truncatingIfNeeded: newdig)
                            i -= 1
                        }
                        var start = 1, n = divN + 1, w = resWeight
                        if round {
                            NumericKernel.round(out, &start, &n, &w, rscale)
                        } else {
                            NumericKernel.trunc(out, start, &n, &w, rscale)
                        }
                        return make(negative: negative, weight: w, dscale: rscale, digits: out + start, count: n)
                    }
                }
            }
        }
    }

    /// select_div_scale
    static func selectDivScale(_ a: Numeric, _ b: Numeric) -> Int {
        let w1 = a.ndigits > 0 ? Int(a.weight) : 0
        let f1 = a.ndigits > 0 ? a.digit(0) : 0
        let w2 = b.ndigits > 0 ? Int(b.weight) : 0
        let f2 = b.ndigits > 0 ? b.digit(0) : 0
        var qweight = w1 - w2
        if f1 <= f2 { qweight -= 1 }
        var rscale = NumericConst.minSigDigits - qweight * NumericConst.decDigits
        rscale = max(rscale, Int(a.dscale))
        rscale = max(rscale, Int(b.dscale))
        rscale = max(rscale, NumericConst.minDisplayScale)
        rscale = min(rscale, NumericConst.maxDisplayScale)
        return rscale
    }

    /// mod_var
    static func modVar(_ a: Numeric, _ b: Numeric) throws -> Numeric {
        let q = try divVar(a, b, rscale: 0, round: false)
        let p = mulVar(b, q, rscale: Int(b.dscale))
        return subVar(a, p)
    }

    /// div_mod_var: truncated quotient and remainder.
    static func divModVar(_ a: Numeric, _ b: Numeric) throws -> (Numeric, Numeric) {
        var q = try divVarFast(a, b, rscale: 0, round: false)
        var r = mulVar(b, q, rscale: Int(b.dscale))
        r = subVar(a, r)
        while r.ndigits != 0 && r.kind != a.kind {
            if a.kind == b.kind {
                q = subVar(q, one)
                r = addVar(r, b)
            } else {
                q = addVar(q, one)
                r = subVar(r, b)
            }
        }
        while cmpAbs(r, b) >= 0 {
            if a.kind == b.kind {
                q = addVar(q, one)
                r = subVar(r, b)
            } else {
                q = subVar(q, one)
                r = addVar(r, b)
            }
        }
        return (q, r)
    }

    /// ceil_var / floor_var
    static func ceilVar(_ x: Numeric) -> Numeric {
        let t = truncVar(x, 0)
        if x.kind == .pos && cmpVar(x, t) != 0 { return addVar(t, one) }
        return t
    }

    static func floorVar(_ x: Numeric) -> Numeric {
        let t = truncVar(x, 0)
        if x.kind == .neg && cmpVar(x, t) != 0 { return subVar(t, one) }
        return t
    }

    /// numericvar_to_int64 (rounds half away from zero); nil on overflow.
    static func toInt64(_ x: Numeric) -> Int64? {
        let r = roundVar(x, 0)
        let n = Int(r.ndigits)
        if n == 0 { return 0 }
        let w = Int(r.weight)
        if w > 4 { return nil }
        var val: Int64 = -Int64(r.digit(0))
        if w >= 1 {
            for i in 1...w {
                let (m, o1) = val.multipliedReportingOverflow(by: 10000)
                if o1 { return nil }
                val = m
                if i < n {
                    let (s, o2) = val.subtractingReportingOverflow(Int64(r.digit(i)))
                    if o2 { return nil }
                    val = s
                }
            }
        }
        if r.kind != .neg {
            if val == Int64.min { return nil }
            val = -val
        }
        return val
    }

    /// get_str_from_var then strtod (numericvar_to_double_no_overflow).
    static func toDoubleNoOverflow(_ x: Numeric) -> Double {
        let s = x.description
        return s.withCString { strtod($0, nil) }
    }

    // MARK: sqrt_var

    static func sqrtVar(_ arg: Numeric, rscale: Int) throws -> Numeric {
        let stat = cmpVar(arg, .zero)
        if stat == 0 { return zeroValue(dscale: rscale) }
        if stat < 0 {
            throw SQLError(invalidArgumentForPower, "cannot take square root of a negative number")
        }
        let d = arg.digitArray
        let an = d.count
        let aw = Int(arg.weight)
        let resWeight = aw >= 0 ? aw / 2 : -((-aw - 1) / 2 + 1)
        var resN: Int
        if rscale + 1 >= 0 {
            resN = resWeight + 1 + (rscale + NumericConst.decDigits) / NumericConst.decDigits
        } else {
            resN = resWeight + 1 - (-rscale - 1) / NumericConst.decDigits
        }
        resN = max(resN, 1)
        var srcN = aw + 1 + (resN - resWeight - 1) * 2
        srcN = max(srcN, 1)

        var nd: [Int] = [srcN]
        while srcN > 4 {
            var blen = srcN / 4
            if blen * 4 == srcN && Int(d[0]) < NumericConst.nbase / 4 { blen -= 1 }
            srcN -= 2 * blen
            nd.append(srcN)
        }
        var step = nd.count - 1
        // innermost: srcN <= 4 digits, fits in Int64
        var argInt: Int64 = Int64(d[0])
        var srcIdx = 1
        while srcIdx < srcN {
            argInt *= 10000
            if srcIdx < an { argInt += Int64(d[srcIdx]) }
            srcIdx += 1
        }
        var s64 = Int64(Double(argInt).squareRoot())
        var r64 = argInt - s64 * s64
        while r64 < 0 || r64 > 2 * s64 {
            s64 = (s64 + argInt / s64) / 2
            r64 = argInt - s64 * s64
        }
        step -= 1
        while step >= 0 && nd[step] <= 8 {
            let sN = nd[step]
            let blen = (sN - srcIdx) / 2
            var a0: Int64 = 0, a1: Int64 = 0, b: Int64 = 1
            for _ in 0..<blen {
                b *= 10000
                a1 *= 10000
                if srcIdx < an { a1 += Int64(d[srcIdx]) }
                srcIdx += 1
            }
            for _ in 0..<blen {
                a0 *= 10000
                if srcIdx < an { a0 += Int64(d[srcIdx]) }
                srcIdx += 1
            }
            let numer = r64 * b + a1
            let denom = 2 * s64
            let q = numer / denom
            let u = numer - q * denom
            s64 = s64 * b + q
            r64 = u * b + a0 - q * q
            if r64 < 0 {
                r64 += s64
                s64 -= 1
                r64 += s64
            }
            step -= 1
        }
        var sVar: Numeric
        var rVar = Numeric.zero
        if step >= 0 {
            var s128 = Int128(s64)
            var r128 = Int128(r64)
            while step >= 0 && nd[step] <= 16 {
                let sN = nd[step]
                let blen = (sN - srcIdx) / 2
                var a0: Int64 = 0, a1: Int64 = 0, b: Int64 = 1
                for _ in 0..<blen {
                    b *= 10000
                    a1 *= 10000
                    if srcIdx < an { a1 += Int64(d[srcIdx]) }
                    srcIdx += 1
                }
                for _ in 0..<blen {
                    a0 *= 10000
                    if srcIdx < an { a0 += Int64(d[srcIdx]) }
                    srcIdx += 1
                }
                let numer = r128 * Int128(b) + Int128(a1)
                let denom = 2 * s128
                let q = numer / denom
                let u = numer - q * denom
                s128 = s128 * Int128(b) + q
                r128 = u * Int128(b) + Int128(a0) - q * q
                if r128 < 0 {
                    r128 += s128
                    s128 -= 1
                    r128 += s128
                }
                step -= 1
            }
            sVar = fromInt128(s128)
            if step >= 0 { rVar = fromInt128(r128) }
        } else {
            sVar = fromInt64(s64)
        }
        while step >= 0 {
            let sN = nd[step]
            let blen = (sN - srcIdx) / 2
            func extract(_ from: Int) -> Numeric {
                if from < an {
                    let len = min(blen, an - from)
                    return fromDigits(negative: false, weight: blen - 1, dscale: 0, Array(d[from..<(from + len)]))
                }
                return .zero
            }
            let a1 = extract(srcIdx)
            srcIdx += blen
            let a0 = extract(srcIdx)
            srcIdx += blen
            var qv = addVar(rVar.shifted(by: blen), a1)
            var uv = addVar(sVar, sVar)
            (qv, uv) = try divModVar(qv, uv)
            sVar = addVar(sVar.shifted(by: blen), qv)
            uv = addVar(uv.shifted(by: blen), a0)
            qv = mulVar(qv, qv, rscale: 0)
            if step > 0 {
                rVar = subVar(uv, qv)
                if rVar.kind == .neg {
                    rVar = addVar(rVar, sVar)
                    sVar = subVar(sVar, one)
                    rVar = addVar(rVar, sVar)
                }
            } else {
                if cmpVar(uv, qv) < 0 { sVar = subVar(sVar, one) }
            }
            step -= 1
        }
        // The integer square root has exactly resN digits; give it weight resWeight.
        // (as sqrt_var: the first digit of s gets weight res_weight)
        var res = sVar
        res.weight = Int32(resWeight)
        res.kind = .pos
        return roundVar(res, rscale)
    }

    // MARK: exp_var

    static func expVar(_ arg: Numeric, rscale: Int) throws -> Numeric {
        var x = arg
        var val = toDoubleNoOverflow(x)
        if abs(val) >= Double(NumericConst.maxResultScale * 3) {
            if val > 0 { throw overflowError }
            return zeroValue(dscale: rscale)
        }
        let dweight = cInt(val * 0.434294481903252)
        var ndiv2: Int
        if abs(val) > 0.01 {
            ndiv2 = 1
            val /= 2
            while abs(val) > 0.01 {
                ndiv2 += 1
                val /= 2
            }
            let lr = Int(x.dscale) + ndiv2
            x = divVarInt(x, 1 << ndiv2, 0, rscale: lr, round: true)
        } else {
            ndiv2 = 0
        }
        var sigDigits = 1 + dweight + rscale + cInt(Double(ndiv2) * 0.301029995663981)
        sigDigits = max(sigDigits, 0) + 8
        var localRscale = sigDigits - 1
        var result = addVar(one, x)
        var elem = mulVar(x, x, rscale: localRscale)
        var ni = 2
        elem = divVarInt(elem, ni, 0, rscale: localRscale, round: true)
        while elem.ndigits != 0 {
            result = addVar(result, elem)
            elem = mulVar(elem, x, rscale: localRscale)
            ni += 1
            elem = divVarInt(elem, ni, 0, rscale: localRscale, round: true)
        }
        while ndiv2 > 0 {
            ndiv2 -= 1
            localRscale = sigDigits - Int(result.weight) * 2 * NumericConst.decDigits
            localRscale = max(localRscale, NumericConst.minDisplayScale)
            result = mulVar(result, result, rscale: localRscale)
        }
        return roundVar(result, rscale)
    }

    // MARK: estimate_ln_dweight

    static func estimateLnDweight(_ v: Numeric) -> Int {
        if v.kind != .pos { return 0 }
        if cmpVar(v, zeroPointNine) >= 0 && cmpVar(v, onePointOne) <= 0 {
            let x = subVar(v, one)
            if x.ndigits > 0 {
                return Int(x.weight) * NumericConst.decDigits + cInt(cLog10(Double(x.digit(0))))
            }
            return 0
        }
        if v.ndigits > 0 {
            var digits = v.digit(0)
            var dweight = Int(v.weight) * NumericConst.decDigits
            if v.ndigits > 1 {
                digits = digits * NumericConst.nbase + v.digit(1)
                dweight -= NumericConst.decDigits
            }
            let lnv = cLog(Double(digits)) + Double(dweight) * 2.302585092994046
            return cInt(cLog10(abs(lnv)))
        }
        return 0
    }

    // MARK: ln_var

    static func lnVar(_ arg: Numeric, rscale: Int) throws -> Numeric {
        let c = cmpVar(arg, .zero)
        if c == 0 { throw SQLError(invalidArgumentForLog, "cannot take logarithm of zero") }
        if c < 0 { throw SQLError(invalidArgumentForLog, "cannot take logarithm of a negative number") }
        var x = arg
        var fact = two
        var nsqrt = 0
        while cmpVar(x, zeroPointNine) <= 0 {
            let lr = rscale - Int(x.weight) * NumericConst.decDigits / 2 + 8
            x = try sqrtVar(x, rscale: lr)
            fact = mulVar(fact, two, rscale: 0)
            nsqrt += 1
        }
        while cmpVar(x, onePointOne) >= 0 {
            let lr = rscale - Int(x.weight) * NumericConst.decDigits / 2 + 8
            x = try sqrtVar(x, rscale: lr)
            fact = mulVar(fact, two, rscale: 0)
            nsqrt += 1
        }
        let localRscale = rscale + cInt(Double(nsqrt + 1) * 0.301029995663981) + 8
        var result = subVar(x, one)
        var elem = addVar(x, one)
        result = try divVarFast(result, elem, rscale: localRscale, round: true)
        var xx = result
        x = mulVar(result, result, rscale: localRscale)
        var ni = 1
        while true {
            ni += 2
            xx = mulVar(xx, x, rscale: localRscale)
            elem = divVarInt(xx, ni, 0, rscale: localRscale, round: true)
            if elem.ndigits == 0 { break }
            result = addVar(result, elem)
            if Int(elem.weight) < (Int(result.weight) - localRscale * 2 / NumericConst.decDigits) { break }
        }
        return mulVar(result, fact, rscale: rscale)
    }

    // MARK: log_var

    static func logVar(base: Numeric, num: Numeric) throws -> Numeric {
        let lnBaseDweight = estimateLnDweight(base)
        let lnNumDweight = estimateLnDweight(num)
        let resultDweight = lnNumDweight - lnBaseDweight
        var rscale = NumericConst.minSigDigits - resultDweight
        rscale = max(rscale, Int(base.dscale))
        rscale = max(rscale, Int(num.dscale))
        rscale = max(rscale, NumericConst.minDisplayScale)
        rscale = min(rscale, NumericConst.maxDisplayScale)
        var lnBaseRscale = rscale + resultDweight - lnBaseDweight + 8
        lnBaseRscale = max(lnBaseRscale, NumericConst.minDisplayScale)
        var lnNumRscale = rscale + resultDweight - lnNumDweight + 8
        lnNumRscale = max(lnNumRscale, NumericConst.minDisplayScale)
        let lnBase = try lnVar(base, rscale: lnBaseRscale)
        let lnNum = try lnVar(num, rscale: lnNumRscale)
        return try divVarFast(lnNum, lnBase, rscale: rscale, round: true)
    }

    // MARK: power_var

    static func powerVar(base baseIn: Numeric, exp: Numeric) throws -> Numeric {
        var base = baseIn
        if exp.ndigits == 0 || Int(exp.ndigits) <= Int(exp.weight) + 1 {
            if let e64 = toInt64(exp), e64 >= Int64(Int32.min), e64 <= Int64(Int32.max) {
                var rscale = NumericConst.minSigDigits
                rscale = max(rscale, Int(base.dscale))
                rscale = max(rscale, NumericConst.minDisplayScale)
                rscale = min(rscale, NumericConst.maxDisplayScale)
                return try powerVarInt(base, Int(e64), rscale: rscale)
            }
        }
        if cmpVar(base, .zero) == 0 {
            return zeroValue(dscale: NumericConst.minSigDigits)
        }
        var resNeg = false
        if base.kind == .neg {
            if exp.ndigits > 0 && Int(exp.ndigits) > Int(exp.weight) + 1 {
                throw SQLError(invalidArgumentForPower,
                               "a negative number raised to a non-integer power yields a complex result")
            }
            if exp.ndigits > 0 && Int(exp.ndigits) == Int(exp.weight) + 1
                && (exp.digit(Int(exp.ndigits) - 1) & 1) != 0 {
                resNeg = true
            }
            base.kind = .pos
        }
        let lnDweight = estimateLnDweight(base)
        var localRscale = 8 - lnDweight
        localRscale = max(localRscale, NumericConst.minDisplayScale)
        var lnBase = try lnVar(base, rscale: localRscale)
        var lnNum = mulVar(lnBase, exp, rscale: localRscale)
        var val = toDoubleNoOverflow(lnNum)
        if abs(val) > Double(NumericConst.maxResultScale) * 3.01 {
            if val > 0 { throw overflowError }
            return zeroValue(dscale: NumericConst.maxDisplayScale)
        }
        val *= 0.434294481903252
        var rscale = NumericConst.minSigDigits - cInt(val)
        rscale = max(rscale, Int(base.dscale))
        rscale = max(rscale, Int(exp.dscale))
        rscale = max(rscale, NumericConst.minDisplayScale)
        rscale = min(rscale, NumericConst.maxDisplayScale)
        var sigDigits = rscale + cInt(val)
        sigDigits = max(sigDigits, 0)
        localRscale = sigDigits - lnDweight + 8
        localRscale = max(localRscale, NumericConst.minDisplayScale)
        lnBase = try lnVar(base, rscale: localRscale)
        lnNum = mulVar(lnBase, exp, rscale: localRscale)
        var result = try expVar(lnNum, rscale: rscale)
        if resNeg && result.ndigits > 0 { result.kind = .neg }
        return result
    }

    // MARK: power_var_int

    static func powerVarInt(_ base: Numeric, _ exp: Int, rscale: Int) throws -> Numeric {
        switch exp {
        case 0:
            return one.withDscale(rscale)
        case 1:
            return roundVar(base, rscale)
        case -1:
            return try divVar(one, base, rscale: rscale, round: true)
        case 2:
            return mulVar(base, base, rscale: rscale)
        default:
            break
        }
        if base.ndigits == 0 {
            if exp < 0 { throw divisionByZeroError }
            return zeroValue(dscale: rscale)
        }
        var f = Double(base.digit(0))
        var p = Int(base.weight) * NumericConst.decDigits
        var i = 1
        while i < Int(base.ndigits) && i * NumericConst.decDigits < 16 {
            f = f * Double(NumericConst.nbase) + Double(base.digit(i))
            p -= NumericConst.decDigits
            i += 1
        }
        f = Double(exp) * (cLog10(f) + Double(p))
        if f > Double(3 * NumericConst.weightMax * NumericConst.decDigits) { throw overflowError }
        if f + 1 < Double(-rscale) || f + 1 < Double(-NumericConst.maxDisplayScale) {
            return zeroValue(dscale: rscale)
        }
        var sigDigits = 1 + rscale + cInt(f)
        sigDigits += cInt(cLog(abs(Double(exp)))) + 8
        var neg = exp < 0
        var mask = UInt32(exp.magnitude)
        var baseProd = base
        var result = (mask & 1) != 0 ? base : one
        while true {
            mask >>= 1
            if mask == 0 { break }
            var lr = sigDigits - 2 * Int(baseProd.weight) * NumericConst.decDigits
            lr = min(lr, 2 * Int(baseProd.dscale))
            lr = max(lr, NumericConst.minDisplayScale)
            baseProd = mulVar(baseProd, baseProd, rscale: lr)
            if (mask & 1) != 0 {
                lr = sigDigits - (Int(baseProd.weight) + Int(result.weight)) * NumericConst.decDigits
                lr = min(lr, Int(baseProd.dscale) + Int(result.dscale))
                lr = max(lr, NumericConst.minDisplayScale)
                result = mulVar(baseProd, result, rscale: lr)
            }
            if Int(baseProd.weight) > NumericConst.weightMax || Int(result.weight) > NumericConst.weightMax {
                if !neg { throw overflowError }
                result = .zero
                neg = false
                break
            }
        }
        if neg {
            return try divVarFast(one, result, rscale: rscale, round: true)
        }
        return roundVar(result, rscale)
    }
}

// MARK: - Public surface: properties

extension Numeric {
    /// The display scale (dscale); 0 for NaN and the infinities.
    public var scale: Int { isFinite ? Int(dscale) : 0 }
    public var isNaN: Bool { kind == .nan }
    public var isInfinite: Bool { kind == .pinf || kind == .ninf }
    public var isZero: Bool { isFinite && ndigits == 0 }
    /// -1, 0 or 1 (NaN: 0; the infinities: ±1).
    public var sign: Int {
        switch kind {
        case .nan: return 0
        case .pinf: return 1
        case .ninf: return -1
        case .pos: return ndigits == 0 ? 0 : 1
        case .neg: return -1
        }
    }

    /// min_scale(): the smallest scale that shows the value exactly (0 for NaN/Infinity,
    /// where PostgreSQL returns NULL).
    public var minimumScale: Int {
        if !isFinite || ndigits == 0 { return 0 }
        var ms = (Int(ndigits) - 1 - Int(weight)) * NumericConst.decDigits
        if ms <= 0 { return 0 }
        var last = digit(Int(ndigits) - 1)
        while last % 10 == 0 { ms -= 1; last /= 10 }
        return ms
    }

    /// trim_scale(): the same value with trailing fractional zeros dropped.
    public func trimmingScale() -> Numeric {
        if !isFinite { return self }
        return withDscale(minimumScale)
    }

    /// Checks the limits of PostgreSQL's storage format (weight fits int16, display scale
    /// at most 16383) and throws 22003 "value overflows numeric format" as make_result does.
    public func validated() throws -> Numeric {
        if !isFinite { return self }
        if ndigits != 0 && (Int(weight) > NumericConst.weightMax || Int(weight) < NumericConst.weightMin) { throw Numeric.overflowError }
        if dscale < 0 || Int(dscale) > NumericConst.dscaleMax { throw Numeric.overflowError }
        return self
    }
}

// MARK: - Integers and floats

extension Numeric {
    public init(_ value: Int64) {
        self = Numeric.fromInt64(value)
    }

    public init(_ value: Int) {
        self = Numeric.fromInt64(Int64(value))
    }

    /// float8 → numeric as float8_numeric: printf("%.15g") then numeric input.
    public init(_ value: Double) {
        if value.isNaN { self = .nan; return }
        if value.isInfinite { self = value < 0 ? .negativeInfinity : .infinity; return }
        if let fast = Numeric.fromShortestDouble(value) { self = fast; return }
        let text = NumericKernel.withScratch(of: CChar.self, capacity: 64) { bp -> String in
            bp.initialize(repeating: 0, count: 64)
            _ = withVaList([Int32(15), value]) { va in vsnprintf(bp, 64, "%.*g", va) }
            return String(cString: bp)
        }
        self = (try? Numeric.parse(text)) ?? .nan
    }

    /// When the shortest round-trip decimal form of a normal `value` has at most 15
    /// significant digits it is exactly what printf("%.15g") produces (the 15-digit grid is
    /// coarser than a normal double's spacing), so the digits can be taken from it without
    /// printf.
    static func fromShortestDouble(_ value: Double) -> Numeric? {
        if value == 0 { return .zero }
        // (not for subnormals, whose spacing is coarser than the 15-digit grid)
        guard value.isNormal else { return nil }
        let text = value.magnitude.description  // "123.456", "1e-05", "1.2345e+20"
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        var pointPos = -1
        var exp = 0
        var sawE = false
        var expNeg = false
        var expDigits = 0
        for c in text.utf8 {
            if sawE {
                if c == UInt8(ascii: "-") { expNeg = true } else if c == UInt8(ascii: "+") { continue } else if isDigit(c) {
                    exp = exp * 10 + Int(c - 48)
                    expDigits += 1
                } else { return nil }
            } else if isDigit(c) {
                digits.append(c - 48)
            } else if c == UInt8(ascii: ".") {
                pointPos = digits.count
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                sawE = true
            } else {
                return nil
            }
        }
        if sawE && expDigits == 0 { return nil }
        if pointPos < 0 { pointPos = digits.count }
        if expNeg { exp = -exp }
        // strip leading zeros (they shift the point) and trailing zeros
        var lead = 0
        while lead < digits.count && digits[lead] == 0 { lead += 1 }
        var end = digits.count
        while end > lead && digits[end - 1] == 0 { end -= 1 }
        let sig = end - lead
        if sig == 0 || sig > 15 { return nil }
        // value = 0.d[lead..<end] × 10^(pointPos - lead + exp); last digit's exponent:
        let lastExp = pointPos - lead + exp - sig
        var t: [UInt8] = []
        t.reserveCapacity(sig + 8)
        if value < 0 { t.append(UInt8(ascii: "-")) }
        for k in lead..<end { t.append(digits[k] + 48) }
        t.append(UInt8(ascii: "e"))
        t.append(contentsOf: String(lastExp).utf8)
        return t.withUnsafeBufferPointer { try? parseBytes($0, original: "") }
    }

    /// numeric → float8 as numeric_float8 (text → strtod). Values beyond double's range give
    /// ±Infinity or 0 here; `float8()` raises PostgreSQL's error instead.
    public var doubleValue: Double {
        switch kind {
        case .nan: return .nan
        case .pinf: return .infinity
        case .ninf: return -.infinity
        default: return Numeric.toDoubleNoOverflow(self)
        }
    }

    /// numeric → float8 exactly as PostgreSQL's cast: 22003 "\"…\" is out of range for type
    /// double precision" when strtod overflows or underflows to zero.
    public func float8() throws -> Double {
        if !isFinite { return doubleValue }
        let s = description
        let v = s.withCString { strtod($0, nil) }
        if v.isInfinite || (v == 0 && ndigits != 0) {
            throw SQLError(.numericValueOutOfRange, "\"\(s)\" is out of range for type double precision")
        }
        return v
    }

    /// numeric → int8/int4/int2, rounding half away from zero, with PostgreSQL's errors.
    public func int64(bits: Int) throws -> Int64 {
        let typname: String
        switch bits {
        case 16: typname = "smallint"
        case 32: typname = "integer"
        default: typname = "bigint"
        }
        switch kind {
        case .nan: throw SQLError(.featureNotSupported, "cannot convert NaN to \(typname)")
        case .pinf, .ninf: throw SQLError(.featureNotSupported, "cannot convert infinity to \(typname)")
        default: break
        }
        guard let v = Numeric.toInt64(self) else {
            throw SQLError(.numericValueOutOfRange, "\(typname) out of range")
        }
        switch bits {
        case 16:
            if v < Int64(Int16.min) || v > Int64(Int16.max) { throw SQLError(.numericValueOutOfRange, "smallint out of range") }
        case 32:
            if v < Int64(Int32.min) || v > Int64(Int32.max) { throw SQLError(.numericValueOutOfRange, "integer out of range") }
        default:
            break
        }
        return v
    }
}

// MARK: - Text input (numeric_in) and output (numeric_out)

extension Numeric {
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// numeric_in: "12.345", "-1e10", "  .5 ", "NaN", "Infinity", "-inf" (case-insensitive).
    /// Returns nil where PostgreSQL raises an error (see `parse`).
    public init?(_ text: String) {
        guard let v = try? Numeric.parse(text) else { return nil }
        self = v
    }

    /// numeric_in with PostgreSQL's errors: 22P02 "invalid input syntax for type numeric: \"…\""
    /// and 22003 "value overflows numeric format".
    public static func parse(_ text: String) throws -> Numeric {
        var t = text
        return try t.withUTF8 { try parseBytes($0, original: text) }
    }

    static func matchesPrefix(_ p: UnsafeBufferPointer<UInt8>, _ at: Int, _ word: StaticString) -> Bool {
        let wl = word.utf8CodeUnitCount
        if p.count - at < wl { return false }
        let w = word.utf8Start
        for i in 0..<wl {
            var c = p[at + i]
            if c >= 0x41 && c <= 0x5A { c += 0x20 }
            var d = w[i]
            if d >= 0x41 && d <= 0x5A { d += 0x20 }
            if c != d { return false }
        }
        return true
    }

    static func parseBytes(_ p: UnsafeBufferPointer<UInt8>, original: String) throws -> Numeric {
        let n = p.count
        var i = 0
        while i < n && isSpace(p[i]) { i += 1 }
        var special: Numeric?
        if matchesPrefix(p, i, "NaN") { special = .nan; i += 3 }
        else if matchesPrefix(p, i, "Infinity") { special = .infinity; i += 8 }
        else if matchesPrefix(p, i, "+Infinity") { special = .infinity; i += 9 }
        else if matchesPrefix(p, i, "-Infinity") { special = .negativeInfinity; i += 9 }
        else if matchesPrefix(p, i, "inf") { special = .infinity; i += 3 }
        else if matchesPrefix(p, i, "+inf") { special = .infinity; i += 4 }
        else if matchesPrefix(p, i, "-inf") { special = .negativeInfinity; i += 4 }
        if let s = special {
            while i < n {
                if !isSpace(p[i]) { throw syntaxError(original) }
                i += 1
            }
            return s
        }
        let (value, end) = try parseFinite(p, from: i, original: original)
        i = end
        while i < n {
            if !isSpace(p[i]) { throw syntaxError(original) }
            i += 1
        }
        return try value.validated()
    }

    /// set_var_from_str: parses a finite number starting at `from`; returns it and the end index.
    static func parseFinite(_ p: UnsafeBufferPointer<UInt8>, from: Int, original: String) throws -> (Numeric, Int) {
        let n = p.count
        var i = from
        var negative = false
        if i < n {
            if p[i] == UInt8(ascii: "+") { i += 1 } else if p[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        }
        var haveDP = false
        if i < n && p[i] == UInt8(ascii: ".") { haveDP = true; i += 1 }
        if !(i < n && isDigit(p[i])) { throw syntaxError(original) }
        let digitsStart = i
        var dweight = -1
        var dscale = 0
        var ddigits = 0
        while i < n {
            let c = p[i]
            if isDigit(c) {
                ddigits += 1
                if !haveDP { dweight += 1 } else { dscale += 1 }
                i += 1
            } else if c == UInt8(ascii: ".") {
                if haveDP { throw syntaxError(original) }
                haveDP = true
                i += 1
            } else {
                break
            }
        }
        let digitsEnd = i
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            // strtol: optional white space, optional sign, at least one digit
            var j = i
            while j < n && isSpace(p[j]) { j += 1 }
            var eneg = false
            if j < n && (p[j] == UInt8(ascii: "+") || p[j] == UInt8(ascii: "-")) {
                eneg = p[j] == UInt8(ascii: "-")
                j += 1
            }
            if !(j < n && isDigit(p[j])) { throw syntaxError(original) }
            var e = 0
            var big = false
            while j < n && isDigit(p[j]) {
                if !big {
                    e = e * 10 + Int(p[j] - 0x30)
                    if e > (1 << 40) { big = true }
                }
                j += 1
            }
            i = j
            let limit = Int(Int32.max) / 2
            if big || e >= limit { throw overflowError }
            let exponent = eneg ? -e : e
            dweight += exponent
            dscale -= exponent
            if dscale < 0 { dscale = 0 }
        }
        let weight: Int
        if dweight >= 0 {
            weight = (dweight + 1 + NumericConst.decDigits - 1) / NumericConst.decDigits - 1
        } else {
            weight = -((-dweight - 1) / NumericConst.decDigits + 1)
        }
        let offset = (weight + 1) * NumericConst.decDigits - (dweight + 1)
        let ndigits = (ddigits + offset + NumericConst.decDigits - 1) / NumericConst.decDigits
        let value = NumericKernel.withScratch(of: UInt16.self, capacity: max(ndigits, 1)) { out -> Numeric in
            var k = 0
            var acc = 0
            var cnt = offset
            var q = digitsStart
            while q < digitsEnd {
                let c = p[q]
                q += 1
                if c == UInt8(ascii: ".") { continue }
                acc = acc * 10 + Int(c - 0x30)
                cnt += 1
                if cnt == NumericConst.decDigits {
                    out[k] = UInt16(acc)
                    k += 1
                    acc = 0
                    cnt = 0
                }
            }
            if cnt > 0 {
                while cnt < NumericConst.decDigits { acc *= 10; cnt += 1 }
                out[k] = UInt16(acc)
                k += 1
            }
            return make(negative: negative, weight: weight, dscale: dscale, digits: out, count: k)
        }
        return (value, i)
    }

    /// numeric_out: "12.3450" keeps its display scale; "NaN", "Infinity", "-Infinity".
    public var description: String {
        switch kind {
        case .nan: return "NaN"
        case .pinf: return "Infinity"
        case .ninf: return "-Infinity"
        default: break
        }
        let ds = max(Int(dscale), 0)
        let w = Int(weight)
        var intPart = (w + 1) * NumericConst.decDigits
        if intPart <= 0 { intPart = 1 }
        let cap = intPart + ds + NumericConst.decDigits + 2
        return withDigits { dp, n in
            String(unsafeUninitializedCapacity: cap) { out in
                var c = 0
                if kind == .neg { out[c] = UInt8(ascii: "-"); c += 1 }
                var d: Int
                if w < 0 {
                    d = w + 1
                    out[c] = UInt8(ascii: "0"); c += 1
                } else {
                    d = 0
                    while d <= w {
                        var dig = d < n ? Int(dp[d]) : 0
                        var putit = d > 0
                        let d1 = dig / 1000
                        dig -= d1 * 1000
                        putit = putit || d1 > 0
                        if putit { out[c] = UInt8(d1 + 48); c += 1 }
                        let d2 = dig / 100
                        dig -= d2 * 100
                        putit = putit || d2 > 0
                        if putit { out[c] = UInt8(d2 + 48); c += 1 }
                        let d3 = dig / 10
                        dig -= d3 * 10
                        putit = putit || d3 > 0
                        if putit { out[c] = UInt8(d3 + 48); c += 1 }
                        out[c] = UInt8(dig + 48); c += 1
                        d += 1
                    }
                }
                if ds > 0 {
                    out[c] = UInt8(ascii: "."); c += 1
                    let end = c + ds
                    var i = 0
                    while i < ds {
                        var dig = (d >= 0 && d < n) ? Int(dp[d]) : 0
                        let d1 = dig / 1000
                        dig -= d1 * 1000
                        let d2 = dig / 100
                        dig -= d2 * 100
                        let d3 = dig / 10
                        dig -= d3 * 10
                        out[c] = UInt8(d1 + 48)
                        out[c + 1] = UInt8(d2 + 48)
                        out[c + 2] = UInt8(d3 + 48)
                        out[c + 3] = UInt8(dig + 48)
                        c += 4
                        d += 1
                        i += NumericConst.decDigits
                    }
                    c = end
                }
                return c
            }
        }
    }
}

extension Numeric: CustomStringConvertible {}

// MARK: - Typmod coercion

extension Numeric {
    /// numeric(p, s): rounds to s and checks the precision, with PostgreSQL's errors
    /// (22023 for an invalid typmod, 22003 "numeric field overflow" with its DETAIL).
    public func coerced(precision: Int, scale: Int) throws -> Numeric {
        if precision < 1 || precision > NumericConst.maxPrecision {
            throw SQLError(.invalidParameterValue, "NUMERIC precision \(precision) must be between 1 and \(NumericConst.maxPrecision)")
        }
        if scale < NumericConst.minScale || scale > NumericConst.maxScale {
            throw SQLError(.invalidParameterValue, "NUMERIC scale \(scale) must be between \(NumericConst.minScale) and \(NumericConst.maxScale)")
        }
        switch kind {
        case .nan: return self
        case .pinf, .ninf:
            throw SQLError(.numericValueOutOfRange, "numeric field overflow",
                           detail: "A field with precision \(precision), scale \(scale) cannot hold an infinite value.")
        default: break
        }
        let maxdigits = precision - scale
        var v = Numeric.roundVar(self, scale)
        if v.dscale < 0 { v.dscale = 0 }
        if v.ndigits != 0 {
            var ddigits = (Int(v.weight) + 1) * NumericConst.decDigits
            let dig = v.digit(0)
            if dig < 10 { ddigits -= 3 } else if dig < 100 { ddigits -= 2 } else if dig < 1000 { ddigits -= 1 }
            if ddigits > maxdigits {
                let limit = maxdigits != 0 ? "10^\(maxdigits)" : "1"
                throw SQLError(.numericValueOutOfRange, "numeric field overflow",
                               detail: "A field with precision \(precision), scale \(scale) must round to an absolute value less than \(limit).")
            }
        }
        return try v.validated()
    }
}

// MARK: - Arithmetic operators and functions

extension Numeric {
    static func addSpecial(_ a: Numeric, _ b: Numeric) -> Numeric {
        if a.kind == .nan || b.kind == .nan { return .nan }
        if a.kind == .pinf { return b.kind == .ninf ? .nan : .infinity }
        if a.kind == .ninf { return b.kind == .pinf ? .nan : .negativeInfinity }
        return b.kind == .pinf ? .infinity : .negativeInfinity
    }

    /// Exact sum; scale is the larger input scale.
    public static func + (a: Numeric, b: Numeric) -> Numeric {
        if !a.isFinite || !b.isFinite { return addSpecial(a, b) }
        return addVar(a, b)
    }

    /// Exact difference; scale is the larger input scale.
    public static func - (a: Numeric, b: Numeric) -> Numeric {
        if !a.isFinite || !b.isFinite {
            if a.kind == .nan || b.kind == .nan { return .nan }
            if a.kind == .pinf { return b.kind == .pinf ? .nan : .infinity }
            if a.kind == .ninf { return b.kind == .ninf ? .nan : .negativeInfinity }
            return b.kind == .pinf ? .negativeInfinity : .infinity
        }
        return subVar(a, b)
    }

    static func infTimes(_ infPositive: Bool, _ other: Numeric) -> Numeric {
        switch other.sign {
        case 0: return .nan
        case 1: return infPositive ? .infinity : .negativeInfinity
        default: return infPositive ? .negativeInfinity : .infinity
        }
    }

    /// Exact product (scale = sum of input scales, rounded at 16383 as PostgreSQL does).
    public static func * (a: Numeric, b: Numeric) -> Numeric {
        if !a.isFinite || !b.isFinite {
            if a.kind == .nan || b.kind == .nan { return .nan }
            if a.kind == .pinf { return infTimes(true, b) }
            if a.kind == .ninf { return infTimes(false, b) }
            return infTimes(b.kind == .pinf, a)
        }
        var r = mulVar(a, b, rscale: Int(a.dscale) + Int(b.dscale))
        if Int(r.dscale) > NumericConst.dscaleMax { r = roundVar(r, NumericConst.dscaleMax) }
        return r
    }

    /// `a + b` with PostgreSQL's overflow check.
    public func adding(_ b: Numeric) throws -> Numeric { try (self + b).validated() }
    /// `a - b` with PostgreSQL's overflow check.
    public func subtracting(_ b: Numeric) throws -> Numeric { try (self - b).validated() }
    /// `a * b` with PostgreSQL's overflow check.
    public func multiplied(by b: Numeric) throws -> Numeric { try (self * b).validated() }

    /// numeric_div: result scale from select_div_scale, rounded half away from zero.
    public func divided(by b: Numeric) throws -> Numeric {
        let a = self
        if !a.isFinite || !b.isFinite {
            if a.kind == .nan || b.kind == .nan { return .nan }
            if a.kind == .pinf || a.kind == .ninf {
                if !b.isFinite { return .nan }
                switch b.sign {
                case 0: throw Numeric.divisionByZeroError
                case 1: return a
                default: return a.kind == .pinf ? .negativeInfinity : .infinity
                }
            }
            return .zero
        }
        let rscale = Numeric.selectDivScale(a, b)
        return try Numeric.divVar(a, b, rscale: rscale, round: true).validated()
    }

    /// numeric_mod (the % operator and mod()): a - trunc(a/b)*b.
    public func remainder(dividingBy b: Numeric) throws -> Numeric {
        let a = self
        if !a.isFinite || !b.isFinite {
            if a.kind == .nan || b.kind == .nan { return .nan }
            if a.kind == .pinf || a.kind == .ninf {
                if b.sign == 0 { throw Numeric.divisionByZeroError }
                return .nan
            }
            return a
        }
        return try Numeric.modVar(a, b).validated()
    }

    /// numeric_div_trunc (div(a, b)): the quotient truncated toward zero, scale 0.
    public func integerDivision(by b: Numeric) throws -> Numeric {
        let a = self
        if !a.isFinite || !b.isFinite {
            if a.kind == .nan || b.kind == .nan { return .nan }
            if a.kind == .pinf || a.kind == .ninf {
                if !b.isFinite { return .nan }
                switch b.sign {
                case 0: throw Numeric.divisionByZeroError
                case 1: return a
                default: return a.kind == .pinf ? .negativeInfinity : .infinity
                }
            }
            return .zero
        }
        return try Numeric.divVar(a, b, rscale: 0, round: false).validated()
    }

    public prefix static func - (a: Numeric) -> Numeric {
        var r = a
        switch a.kind {
        case .nan: break
        case .pinf: r.kind = .ninf
        case .ninf: r.kind = .pinf
        case .pos: if a.ndigits != 0 { r.kind = .neg }
        case .neg: r.kind = .pos
        }
        return r
    }

    /// abs()
    public var magnitude: Numeric {
        var r = self
        if r.kind == .neg { r.kind = .pos } else if r.kind == .ninf { r.kind = .pinf }
        return r
    }

    /// round(x, s); s may be negative (rounds before the point; the result then has scale 0).
    public func rounded(scale: Int) -> Numeric {
        if !isFinite { return self }
        var s = max(scale, -(NumericConst.weightMax + 1) * NumericConst.decDigits - 1)
        s = min(s, NumericConst.dscaleMax)
        var r = Numeric.roundVar(self, s)
        if s < 0 { r.dscale = 0 }
        return r
    }

    /// trunc(x, s); s may be negative.
    public func truncated(scale: Int) -> Numeric {
        if !isFinite { return self }
        var s = max(scale, -(NumericConst.weightMax + 1) * NumericConst.decDigits)
        s = min(s, NumericConst.dscaleMax)
        var r = Numeric.truncVar(self, s)
        if s < 0 { r.dscale = 0 }
        return r
    }

    /// floor()
    public var floor: Numeric { isFinite ? Numeric.floorVar(self) : self }
    /// ceil() / ceiling()
    public var ceiling: Numeric { isFinite ? Numeric.ceilVar(self) : self }

    /// sqrt(): at least 16 significant digits, never fewer than the input's scale.
    public func squareRoot() throws -> Numeric {
        switch kind {
        case .ninf: throw SQLError(Numeric.invalidArgumentForPower, "cannot take square root of a negative number")
        case .nan, .pinf: return self
        default: break
        }
        let sweight = (Int(weight) + 1) * NumericConst.decDigits / 2 - 1
        var rscale = NumericConst.minSigDigits - sweight
        rscale = max(rscale, Int(dscale))
        rscale = max(rscale, NumericConst.minDisplayScale)
        rscale = min(rscale, NumericConst.maxDisplayScale)
        return try Numeric.sqrtVar(self, rscale: rscale).validated()
    }

    /// exp()
    public func exp() throws -> Numeric {
        switch kind {
        case .ninf: return .zero
        case .nan, .pinf: return self
        default: break
        }
        var val = Numeric.toDoubleNoOverflow(self)
        val *= 0.434294481903252
        val = max(val, -Double(NumericConst.maxResultScale))
        val = min(val, Double(NumericConst.maxResultScale))
        var rscale = NumericConst.minSigDigits - cInt(val)
        rscale = max(rscale, Int(dscale))
        rscale = max(rscale, NumericConst.minDisplayScale)
        rscale = min(rscale, NumericConst.maxDisplayScale)
        return try Numeric.expVar(self, rscale: rscale).validated()
    }

    /// ln()
    public func ln() throws -> Numeric {
        switch kind {
        case .ninf: throw SQLError(Numeric.invalidArgumentForLog, "cannot take logarithm of a negative number")
        case .nan, .pinf: return self
        default: break
        }
        let lnDweight = Numeric.estimateLnDweight(self)
        var rscale = NumericConst.minSigDigits - lnDweight
        rscale = max(rscale, Int(dscale))
        rscale = max(rscale, NumericConst.minDisplayScale)
        rscale = min(rscale, NumericConst.maxDisplayScale)
        return try Numeric.lnVar(self, rscale: rscale).validated()
    }

    /// log10() and log(x): PostgreSQL defines both as log(10, x).
    public func log10() throws -> Numeric { try log(base: Numeric.ten) }

    /// log(base, x) with x = self.
    public func log(base: Numeric) throws -> Numeric {
        let num = self
        if !base.isFinite || !num.isFinite {
            if base.kind == .nan || num.kind == .nan { return .nan }
            let s1 = base.sign, s2 = num.sign
            if s1 < 0 || s2 < 0 {
                throw SQLError(Numeric.invalidArgumentForLog, "cannot take logarithm of a negative number")
            }
            if s1 == 0 || s2 == 0 {
                throw SQLError(Numeric.invalidArgumentForLog, "cannot take logarithm of zero")
            }
            if base.kind == .pinf {
                return num.kind == .pinf ? .nan : .zero
            }
            return .infinity
        }
        return try Numeric.logVar(base: base, num: num).validated()
    }

    /// numeric ^ numeric (power()), with PostgreSQL's special cases, scales and errors.
    public func power(_ exponent: Numeric) throws -> Numeric {
        let a = self, b = exponent
        if !a.isFinite || !b.isFinite {
            if a.kind == .nan {
                if b.isFinite && b.ndigits == 0 { return .one }
                return .nan
            }
            if b.kind == .nan {
                if a.isFinite && Numeric.cmpVar(a, .one) == 0 { return .one }
                return .nan
            }
            let s1 = a.sign, s2 = b.sign
            if s1 == 0 && s2 < 0 {
                throw SQLError(Numeric.invalidArgumentForPower, "zero raised to a negative power is undefined")
            }
            let bIntegral = !b.isFinite || b.ndigits == 0 || Int(b.ndigits) <= Int(b.weight) + 1
            if s1 < 0 && !bIntegral {
                throw SQLError(Numeric.invalidArgumentForPower,
                               "a negative number raised to a non-integer power yields a complex result")
            }
            if a.isFinite && Numeric.cmpVar(a, .one) == 0 { return .one }
            if s2 == 0 { return .one }
            if s1 == 0 && s2 > 0 { return .zero }
            if b.kind == .pinf || b.kind == .ninf {
                var absGtOne = true
                if a.isFinite {
                    if Numeric.cmpVar(a, .minusOne) == 0 { return .one }
                    absGtOne = Numeric.cmpVar(a.magnitude, .one) > 0
                }
                return absGtOne == (s2 > 0) ? .infinity : .zero
            }
            if a.kind == .pinf { return s2 > 0 ? .infinity : .zero }
            // a is -Infinity, b finite
            if s2 < 0 { return .zero }
            if b.ndigits > 0 && Int(b.ndigits) == Int(b.weight) + 1 && (b.digit(Int(b.ndigits) - 1) & 1) != 0 {
                return .negativeInfinity
            }
            return .infinity
        }
        if a.sign == 0 && b.sign < 0 {
            throw SQLError(Numeric.invalidArgumentForPower, "zero raised to a negative power is undefined")
        }
        return try Numeric.powerVar(base: a, exp: b).validated()
    }

    /// avg(): numeric_avg's final step, sum / count with numeric division's result scale.
    /// count must be positive (PostgreSQL returns NULL for no rows; this throws 22012 then).
    public static func average(sum: Numeric, count: Int64) throws -> Numeric {
        try sum.divided(by: Numeric(count))
    }
}

// MARK: - Comparison and hashing

extension Numeric: Comparable, Hashable {
    /// cmp_numerics: -Infinity < finite values < +Infinity < NaN; NaN = NaN.
    public func compare(_ b: Numeric) -> Int {
        let a = self
        if a.isFinite && b.isFinite { return Numeric.cmpVar(a, b) }
        switch a.kind {
        case .nan: return b.kind == .nan ? 0 : 1
        case .pinf:
            if b.kind == .nan { return -1 }
            return b.kind == .pinf ? 0 : 1
        case .ninf:
            return b.kind == .ninf ? 0 : -1
        default:
            return b.kind == .ninf ? 1 : -1
        }
    }

    public static func < (a: Numeric, b: Numeric) -> Bool { a.compare(b) < 0 }

    public static func == (a: Numeric, b: Numeric) -> Bool {
        if a.kind != b.kind || a.ndigits != b.ndigits { return false }
        if !a.isFinite || a.ndigits == 0 { return true }
        if a.weight != b.weight { return false }
        if a.ext == nil && b.ext == nil {
            let n = Int(a.ndigits)
            return withUnsafeBytes(of: a.inl) { pa in
                withUnsafeBytes(of: b.inl) { pb in
                    guard let ra = pa.baseAddress, let rb = pb.baseAddress else {
                        return pa.prefix(n * 2).elementsEqual(pb.prefix(n * 2))
                    }
                    return memcmp(ra, rb, n * 2) == 0
                }
            }
        }
        return a.withDigits { ap, n in
            b.withDigits { bp, _ in memcmp(ap, bp, n * 2) == 0 }
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind.rawValue)
        if !isFinite || ndigits == 0 { return }
        hasher.combine(weight)
        withDigits { p, n in
            hasher.combine(bytes: UnsafeRawBufferPointer(start: p, count: n * 2))
        }
    }
}

// MARK: - Order-preserving key

extension Numeric {
    // Layout: one class byte, then for nonzero finite values a 4-byte big-endian biased
    // weight and the digits as 2-byte big-endian (digit + 1), ended by 0x0000. Negative
    // values store the complement of all bytes after the class byte, so memcmp order is
    // numeric order. Equal values (1.0, 1.00) give identical keys; the display scale is
    // not part of the key.
    static let keyNegInf: UInt8 = 0x01
    static let keyNeg: UInt8 = 0x02
    static let keyZero: UInt8 = 0x03
    static let keyPos: UInt8 = 0x04
    static let keyPosInf: UInt8 = 0x05
    static let keyNaN: UInt8 = 0x06

    /// Appends an order-preserving binary key: memcmp order of keys equals numeric order
    /// (NaN last) and equal values give identical keys. The key is self-delimiting.
    public func appendKey(to out: inout [UInt8]) {
        switch kind {
        case .nan: out.append(Numeric.keyNaN); return
        case .pinf: out.append(Numeric.keyPosInf); return
        case .ninf: out.append(Numeric.keyNegInf); return
        default: break
        }
        if ndigits == 0 { out.append(Numeric.keyZero); return }
        let neg = kind == .neg
        let x: UInt8 = neg ? 0xFF : 0x00
        out.append(neg ? Numeric.keyNeg : Numeric.keyPos)
        let bw = UInt32(bitPattern: weight) ^ 0x8000_0000
        out.append(UInt8(truncatingIfNeeded: bw >> 24) ^ x)
        out.append(UInt8(truncatingIfNeeded: bw >> 16) ^ x)
        out.append(UInt8(truncatingIfNeeded: bw >> 8) ^ x)
        out.append(UInt8(truncatingIfNeeded: bw) ^ x)
        withDigits { p, n in
            for i in 0..<n {
                let v = p[i] &+ 1
                out.append(UInt8(truncatingIfNeeded: v >> 8) ^ x)
                out.append(UInt8(truncatingIfNeeded: v) ^ x)
            }
        }
        out.append(x)
        out.append(x)
    }

    /// Decodes a key written by appendKey, advancing `at`. The display scale of the result is
    /// the smallest that shows every digit (keys do not keep the scale).
    public static func fromKey(_ bytes: UnsafeRawBufferPointer, at: inout Int) throws -> Numeric {
        func corrupt() -> SQLError { SQLError(.dataCorrupted, "corrupt numeric key") }
        guard at < bytes.count else { throw corrupt() }
        let tag = bytes[at]
        at += 1
        switch tag {
        case keyNaN: return .nan
        case keyPosInf: return .infinity
        case keyNegInf: return .negativeInfinity
        case keyZero: return .zero
        case keyPos, keyNeg: break
        default: throw corrupt()
        }
        let neg = tag == keyNeg
        let x: UInt8 = neg ? 0xFF : 0x00
        guard at + 4 <= bytes.count else { throw corrupt() }
        var bw: UInt32 = 0
        for k in 0..<4 { bw = bw << 8 | UInt32(bytes[at + k] ^ x) }
        at += 4
        let w = Int(Int32(bitPattern: bw ^ 0x8000_0000))
        guard abs(w) <= NumericConst.weightLimit + 1 else { throw corrupt() }
        var digits: [UInt16] = []
        while true {
            guard at + 2 <= bytes.count else { throw corrupt() }
            let v = UInt16(bytes[at] ^ x) << 8 | UInt16(bytes[at + 1] ^ x)
            at += 2
            if v == 0 { break }
            guard v <= 10000 else { throw corrupt() }
            digits.append(v - 1)
        }
        guard let first = digits.first, first != 0, digits.last != 0 else { throw corrupt() }
        // minimal display scale: fractional decimal digits actually present
        var dscale = (digits.count - 1 - w) * NumericConst.decDigits
        if dscale > 0 {
            var last = Int(digits[digits.count - 1])
            while last % 10 == 0 { dscale -= 1; last /= 10 }
        } else {
            dscale = 0
        }
        return fromDigits(negative: neg, weight: w, dscale: dscale, digits)
    }
}

// MARK: - Compact storage encoding

extension Numeric {
    // Layout: header byte = kind (low 3 bits) | min(ndigits, 31) << 3; for finite values
    // then varint(ndigits) if ndigits >= 31, zigzag varint weight, zigzag varint dscale,
    // and the digits as 2-byte little-endian values.

    @inline(__always) static func putVarint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    @inline(__always) static func zigzag(_ v: Int) -> UInt64 {
        UInt64(bitPattern: Int64((v << 1) ^ (v >> 63)))
    }

    @inline(__always) static func unzigzag(_ u: UInt64) -> Int {
        Int(Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))))
    }

    static func getVarint(_ bytes: UnsafeRawBufferPointer, _ at: inout Int) throws -> UInt64 {
        var r: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard at < bytes.count, shift < 64 else { throw SQLError(.dataCorrupted, "corrupt numeric value") }
            let b = bytes[at]
            at += 1
            r |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return r }
            shift += 7
        }
    }

    /// Appends a compact, self-delimiting encoding that keeps the display scale.
    public func encode(into out: inout [UInt8]) {
        let n = Int(ndigits)
        if !isFinite {
            out.append(kind.rawValue)
            return
        }
        out.append(kind.rawValue | UInt8(min(n, 31) << 3))
        if n >= 31 { Numeric.putVarint(UInt64(n), &out) }
        Numeric.putVarint(Numeric.zigzag(Int(weight)), &out)
        Numeric.putVarint(Numeric.zigzag(Int(dscale)), &out)
        withDigits { p, n in
            for i in 0..<n {
                out.append(UInt8(truncatingIfNeeded: p[i]))
                out.append(UInt8(truncatingIfNeeded: p[i] >> 8))
            }
        }
    }

    /// Decodes a value written by encode(into:), advancing `at`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, at: inout Int) throws -> Numeric {
        func corrupt() -> SQLError { SQLError(.dataCorrupted, "corrupt numeric value") }
        guard at < bytes.count else { throw corrupt() }
        let h = bytes[at]
        at += 1
        guard let k = Kind(rawValue: h & 7) else { throw corrupt() }
        switch k {
        case .nan: return .nan
        case .pinf: return .infinity
        case .ninf: return .negativeInfinity
        default: break
        }
        var n = Int(h >> 3)
        if n == 31 { n = Int(truncatingIfNeeded: try getVarint(bytes, &at)) }
        let w = unzigzag(try getVarint(bytes, &at))
        let ds = unzigzag(try getVarint(bytes, &at))
        guard n >= 0, n <= (bytes.count - at) / 2,
              abs(w) <= NumericConst.weightLimit + 1, ds >= 0, ds <= NumericConst.dscaleMax else { throw corrupt() }
        if n == 0 {
            if k != .pos { throw corrupt() }
            return zeroValue(dscale: ds)
        }
        // n > 0 digits fit in the bytes, so they are not empty and have a base address.
        guard let base = bytes.baseAddress else { throw corrupt() }
        let r = NumericKernel.withScratch(of: UInt16.self, capacity: n) { p -> Numeric? in
            for i in 0..<n {
                let v = UInt16(base.load(fromByteOffset: at + 2 * i, as: UInt8.self))
                    | UInt16(base.load(fromByteOffset: at + 2 * i + 1, as: UInt8.self)) << 8
                if v >= 10000 { return nil }
                p[i] = v
            }
            if p[0] == 0 || p[n - 1] == 0 { return nil }
            return make(negative: k == .neg, weight: w, dscale: ds, digits: p, count: n)
        }
        guard let value = r else { throw corrupt() }
        at += 2 * n
        return value
    }
}

// MARK: - PostgreSQL binary wire format

extension Numeric {
    /// numeric_send: int16 ndigits, int16 weight, uint16 sign, uint16 dscale, then the
    /// base-10000 digits, all big-endian. (Values beyond PostgreSQL's range must be
    /// `validated()` first; their weight would not fit.)
    public func wireBytes() -> [UInt8] {
        var out: [UInt8] = []
        let n = Int(ndigits)
        out.reserveCapacity(8 + 2 * n)
        func put(_ v: UInt16) {
            out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v))
        }
        switch kind {
        case .nan:
            put(0); put(0); put(0xC000); put(0)
        case .pinf:
            // PostgreSQL reads the special header as a short-format one: dscale shows as 32.
            put(0); put(0); put(0xD000); put(0x20)
        case .ninf:
            put(0); put(0); put(0xF000); put(0x20)
        default:
            put(UInt16(truncatingIfNeeded: n))
            put(UInt16(truncatingIfNeeded: Int(weight)))
            put(kind == .neg ? 0x4000 : 0x0000)
            put(UInt16(truncatingIfNeeded: Int(dscale)))
            withDigits { p, n in
                for i in 0..<n { put(p[i]) }
            }
        }
        return out
    }

    /// numeric_recv, with its errors (22P03 for a bad sign, scale or digit; 08P01 when the
    /// bytes run out; 22P03 "incorrect binary data format" for bytes left over).
    public init(wire: [UInt8]) throws {
        var pos = 0
        func u16() throws -> Int {
            guard pos + 2 <= wire.count else {
                throw SQLError(Numeric.protocolViolation, "insufficient data left in message")
            }
            defer { pos += 2 }
            return Int(wire[pos]) << 8 | Int(wire[pos + 1])
        }
        let len = try u16()
        let weight = Int(Int16(truncatingIfNeeded: try u16()))
        let sign = try u16()
        guard sign == 0x0000 || sign == 0x4000 || sign == 0xC000 || sign == 0xD000 || sign == 0xF000 else {
            throw SQLError(Numeric.invalidBinaryRepresentation, "invalid sign in external \"numeric\" value")
        }
        let dscale = try u16()
        guard dscale & NumericConst.dscaleMax == dscale else {
            throw SQLError(Numeric.invalidBinaryRepresentation, "invalid scale in external \"numeric\" value")
        }
        var digits = [UInt16](repeating: 0, count: len)
        for i in 0..<len {
            let d = Int(Int16(truncatingIfNeeded: try u16()))
            if d < 0 || d >= NumericConst.nbase {
                throw SQLError(Numeric.invalidBinaryRepresentation, "invalid digit in external \"numeric\" value")
            }
            digits[i] = UInt16(d)
        }
        guard pos == wire.count else {
            throw SQLError(Numeric.invalidBinaryRepresentation, "incorrect binary data format")
        }
        switch sign {
        case 0xC000: self = .nan; return
        case 0xD000: self = .infinity; return
        case 0xF000: self = .negativeInfinity; return
        default: break
        }
        // unstripped digits: trunc_var to dscale, then make_result strips and range-checks
        var v = digits.withUnsafeBufferPointer { bp -> Numeric in
            // (digits has len elements, so only an empty one can lack a base address)
            guard len > 0, let src = bp.baseAddress else { return Numeric.zeroValue(dscale: dscale) }
            return NumericKernel.withScratch(of: UInt16.self, capacity: len) { p in
                p.update(from: src, count: len)
                var n = len, w = weight
                NumericKernel.trunc(p, 0, &n, &w, dscale)
                return Numeric.make(negative: sign == 0x4000, weight: w, dscale: dscale, digits: p, count: n)
            }
        }
        v.dscale = Int32(dscale)
        self = try v.validated()
    }
}
