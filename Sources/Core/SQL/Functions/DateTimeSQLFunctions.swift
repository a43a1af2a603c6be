import DriftCore
import DriftStorage

/// Date and time functions and operators (PostgreSQL's, in the session's time zone).
enum DateTimeSQLFunctions {
    static func zone(_ ctx: ExecContext) -> TimeZoneRule { ctx.dt.timeZone }

    static func ts(_ v: Value) throws -> Int64 {
        switch v {
        case .timestamp(let t), .timestamptz(let t): return t
        default: throw SQLError.bug("expected a timestamp, got \(v)")
        }
    }

    static func iv(_ v: Value) throws -> Interval {
        guard case .interval(let i) = v else { throw SQLError.bug("expected an interval, got \(v)") }
        return i
    }

    static func date(_ v: Value) throws -> Int32 {
        guard case .date(let d) = v else { throw SQLError.bug("expected a date, got \(v)") }
        return d
    }

    static func time(_ v: Value) throws -> Int64 {
        guard case .time(let t) = v else { throw SQLError.bug("expected a time, got \(v)") }
        return t
    }

    static func numericText(_ s: String?) throws -> Value {
        guard let s else { return .null }
        return .numeric(try Numeric.parse(s))
    }

    static func int32(_ v: Value) throws -> Int32 {
        let i = try v.int()
        guard let r = Int32(exactly: i) else { throw SQLError(.numericValueOutOfRange, "integer out of range") }
        return r
    }

    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        var out: [(String, Overload)] = []
        // EXTRACT (numeric) and date_part (double precision).
        out.append(F.fn("extract", [.text, .timestamp], .numeric, .binary { f, t in try numericText(try PGDateFunctions.extract(try f.text(), timestamp: try ts(t))) }))
        out.append(F.fn("extract", [.text, .timestamptz], .numeric, .context { ctx, a in
            try numericText(try PGDateFunctions.extract(try a[0].text(), timestamptz: try ts(a[1]), zone: zone(ctx)))
        }))
        out.append(F.fn("extract", [.text, .date], .numeric, .binary { f, d in try numericText(try PGDateFunctions.extract(try f.text(), date: try date(d))) }))
        out.append(F.fn("extract", [.text, .time], .numeric, .binary { f, t in try numericText(try PGDateFunctions.extract(try f.text(), time: try time(t))) }))
        out.append(F.fn("extract", [.text, .interval], .numeric, .binary { f, i in try numericText(try PGDateFunctions.extract(try f.text(), interval: try iv(i))) }))
        out.append(F.fn("date_part", [.text, .timestamp], .float8, .binary { f, t in (try PGDateFunctions.datePart(try f.text(), timestamp: try ts(t))).map { .double($0) } ?? .null }))
        out.append(F.fn("date_part", [.text, .timestamptz], .float8, .context { ctx, a in
            (try PGDateFunctions.datePart(try a[0].text(), timestamptz: try ts(a[1]), zone: zone(ctx))).map { .double($0) } ?? .null
        }))
        out.append(F.fn("date_part", [.text, .date], .float8, .binary { f, d in (try PGDateFunctions.datePart(try f.text(), date: try date(d))).map { .double($0) } ?? .null }))
        out.append(F.fn("date_part", [.text, .time], .float8, .binary { f, t in .double(try PGDateFunctions.datePart(try f.text(), time: try time(t))) }))
        out.append(F.fn("date_part", [.text, .interval], .float8, .binary { f, i in .double(try PGDateFunctions.datePart(try f.text(), interval: try iv(i))) }))
        // date_trunc
        out.append(F.fn("date_trunc", [.text, .timestamp], .timestamp, .binary { f, t in .timestamp(try PGDateFunctions.dateTrunc(try f.text(), timestamp: try ts(t))) }))
        out.append(F.fn("date_trunc", [.text, .timestamptz], .timestamptz, .context { ctx, a in
            .timestamptz(try PGDateFunctions.dateTrunc(try a[0].text(), timestamptz: try ts(a[1]), zone: zone(ctx)))
        }))
        out.append(F.fn("date_trunc", [.text, .timestamptz, .text], .timestamptz, .nary { a in
            .timestamptz(try PGDateFunctions.dateTrunc(try a[0].text(), timestamptz: try ts(a[1]), zoneText: try a[2].text()))
        }))
        out.append(F.fn("date_trunc", [.text, .interval], .interval, .binary { f, i in .interval(try PGDateFunctions.dateTrunc(try f.text(), interval: try iv(i))) }))
        // age
        out.append(F.fn("age", [.timestamp, .timestamp], .interval, .binary { a, b in .interval(try PGDateFunctions.age(try ts(a), try ts(b))) }))
        out.append(F.fn("age", [.timestamptz, .timestamptz], .interval, .context { ctx, a in
            .interval(try PGDateFunctions.age(timestamptz: try ts(a[0]), try ts(a[1]), zone: zone(ctx)))
        }))
        out.append(F.fn("age", [.timestamp], .interval, .context { ctx, a in .interval(try PGDateFunctions.age(try ts(a[0]), ctx.dt)) }))
        out.append(F.fn("age", [.timestamptz], .interval, .context { ctx, a in .interval(try PGDateFunctions.age(timestamptz: try ts(a[0]), ctx.dt)) }))
        // to_char and friends
        out.append(F.fn("to_char", [.timestamp, .text], .text, .binary { t, f in (try PGFormat.toChar(timestamp: try ts(t), try f.text())).map { .text($0) } ?? .null }))
        out.append(F.fn("to_char", [.timestamptz, .text], .text, .context { ctx, a in
            (try PGFormat.toChar(timestamptz: try ts(a[0]), try a[1].text(), zone: zone(ctx))).map { .text($0) } ?? .null
        }))
        out.append(F.fn("to_char", [.interval, .text], .text, .binary { i, f in (try PGFormat.toChar(interval: try iv(i), try f.text())).map { .text($0) } ?? .null }))
        out.append(F.fn("to_char", [.numeric, .text], .text, .binary { n, f in .text(try PGFormat.toChar(numeric: try n.numeric().description, try f.text())) }))
        out.append(F.fn("to_char", [.float8, .text], .text, .binary { d, f in .text(try PGFormat.toChar(double: try d.double(), try f.text())) }))
        out.append(F.fn("to_char", [.float4, .text], .text, .binary { d, f in .text(try PGFormat.toChar(double: try d.double(), try f.text())) }))
        out.append(F.fn("to_char", [.int8, .text], .text, .binary { i, f in .text(try PGFormat.toChar(integer: try i.int(), try f.text())) }))
        out.append(F.fn("to_char", [.int4, .text], .text, .binary { i, f in .text(try PGFormat.toChar(integer: try i.int(), try f.text(), isInt4: true)) }))
        out.append(F.fn("to_timestamp", [.float8], .timestamptz, .unary { .timestamptz(try PGDateFunctions.toTimestamp(try $0.double())) }))
        out.append(F.fn("to_timestamp", [.text, .text], .timestamptz, .context { ctx, a in
            .timestamptz(try PGFormat.toTimestamp(try a[0].text(), try a[1].text(), zone: zone(ctx)))
        }))
        out.append(F.fn("to_date", [.text, .text], .date, .binary { s, f in .date(try PGFormat.toDate(try s.text(), try f.text())) }))
        // make_*
        out.append(F.fn("make_date", [.int4, .int4, .int4], .date, .ternary { y, m, d in
            .date(try PGDateFunctions.makeDate(year: try int32(y), month: try int32(m), day: try int32(d)))
        }))
        out.append(F.fn("make_time", [.int4, .int4, .float8], .time, .ternary { h, m, s in
            .time(try PGDateFunctions.makeTime(hour: try int32(h), min: try int32(m), sec: try s.double()))
        }))
        out.append(F.fn("make_timestamp", [.int4, .int4, .int4, .int4, .int4, .float8], .timestamp, .nary { a in
            .timestamp(try PGDateFunctions.makeTimestamp(year: try int32(a[0]), month: try int32(a[1]), day: try int32(a[2]),
                                                         hour: try int32(a[3]), min: try int32(a[4]), sec: try a[5].double()))
        }))
        out.append(F.fn("make_timestamptz", [.int4, .int4, .int4, .int4, .int4, .float8], .timestamptz, .context { ctx, a in
            .timestamptz(try PGDateFunctions.makeTimestamptz(year: try int32(a[0]), month: try int32(a[1]), day: try int32(a[2]),
                                                             hour: try int32(a[3]), min: try int32(a[4]), sec: try a[5].double(), zone: zone(ctx)))
        }))
        out.append(F.fn("make_timestamptz", [.int4, .int4, .int4, .int4, .int4, .float8, .text], .timestamptz, .nary { a in
            .timestamptz(try PGDateFunctions.makeTimestamptz(year: try int32(a[0]), month: try int32(a[1]), day: try int32(a[2]),
                                                             hour: try int32(a[3]), min: try int32(a[4]), sec: try a[5].double(),
                                                             zoneText: try a[6].text()))
        }))
        out.append(F.fn("make_interval", [.int4, .int4, .int4, .int4, .int4, .int4, .float8], .interval, .nary { a in
            .interval(try PGDateFunctions.makeInterval(years: try int32(a[0]), months: try int32(a[1]), weeks: try int32(a[2]),
                                                       days: try int32(a[3]), hours: try int32(a[4]), mins: try int32(a[5]),
                                                       secs: try a[6].double()))
        }))
        out.append(F.fn("justify_days", [.interval], .interval, .unary { .interval(try iv($0).justifiedDays()) }))
        out.append(F.fn("justify_hours", [.interval], .interval, .unary { .interval(try iv($0).justifiedHours()) }))
        out.append(F.fn("justify_interval", [.interval], .interval, .unary { .interval(try iv($0).justified()) }))
        out.append(F.fn("isfinite", [.date], .bool, .unary { .bool(PGDateFunctions.isFinite(date: try date($0))) }))
        out.append(F.fn("isfinite", [.timestamp], .bool, .unary { .bool(PGDateFunctions.isFinite(timestamp: try ts($0))) }))
        out.append(F.fn("isfinite", [.timestamptz], .bool, .unary { .bool(PGDateFunctions.isFinite(timestamp: try ts($0))) }))
        out.append(F.fn("isfinite", [.interval], .bool, .unary { .bool(PGDateFunctions.isFinite(interval: try iv($0))) }))
        out.append(F.fn("date_bin", [.interval, .timestamp, .timestamp], .timestamp, .ternary { s, t, o in
            .timestamp(try PGDateFunctions.dateBin(try iv(s), try ts(t), origin: try ts(o)))
        }))
        out.append(F.fn("date_bin", [.interval, .timestamptz, .timestamptz], .timestamptz, .ternary { s, t, o in
            .timestamptz(try PGDateFunctions.dateBin(try iv(s), try ts(t), origin: try ts(o)))
        }))
        // AT TIME ZONE arrives as timezone(zone, value).
        out.append(F.fn("timezone", [.text, .timestamptz], .timestamp, .binary { z, t in .timestamp(try PGDateFunctions.atTimeZone(timestamptz: try ts(t), try z.text())) }))
        out.append(F.fn("timezone", [.text, .timestamp], .timestamptz, .binary { z, t in .timestamptz(try PGDateFunctions.atTimeZone(timestamp: try ts(t), try z.text())) }))
        out.append(F.fn("timezone", [.interval, .timestamptz], .timestamp, .binary { z, t in .timestamp(try PGDateFunctions.atTimeZone(timestamptz: try ts(t), interval: try iv(z))) }))
        out.append(F.fn("timezone", [.interval, .timestamp], .timestamptz, .binary { z, t in .timestamptz(try PGDateFunctions.atTimeZone(timestamp: try ts(t), interval: try iv(z))) }))
        out.append(F.fn("timeofday", [], .text, volatile: true, .context { ctx, _ in
            .text((try? PGFormat.toChar(timestamptz: PGTime.fromUnix(wallClockMicros()), "Dy Mon DD HH24:MI:SS.US YYYY TZ", zone: zone(ctx))) ?? nil ?? "")
        }))
        return out
    }()

    // MARK: Operators

    static let dateAddInterval = ScalarFunction("date_pl_interval", .binary { d, i in .timestamp(try PGDateFunctions.add(date: try date(d), try iv(i))) })
    static let dateSubInterval = ScalarFunction("date_mi_interval", .binary { d, i in .timestamp(try PGDateFunctions.subtract(date: try date(d), try iv(i))) })
    static let dateAddTime = ScalarFunction("datetime_pl", .binary { d, t in .timestamp(try PGDateFunctions.add(date: try date(d), time: try time(t))) })
    static let timestampAddInterval = ScalarFunction("timestamp_pl_interval", .binary { t, i in .timestamp(try PGDateFunctions.add(timestamp: try ts(t), try iv(i))) })
    static let timestampSubInterval = ScalarFunction("timestamp_mi_interval", .binary { t, i in .timestamp(try PGDateFunctions.subtract(timestamp: try ts(t), try iv(i))) })
    static let timestamptzAddInterval = ScalarFunction("timestamptz_pl_interval", .context { ctx, a in
        .timestamptz(try PGDateFunctions.add(timestamptz: try ts(a[0]), try iv(a[1]), zone: zone(ctx)))
    })
    static let timestamptzSubInterval = ScalarFunction("timestamptz_mi_interval", .context { ctx, a in
        .timestamptz(try PGDateFunctions.subtract(timestamptz: try ts(a[0]), try iv(a[1]), zone: zone(ctx)))
    })
    static let timestampDiff = ScalarFunction("timestamp_mi", .binary { a, b in .interval(try PGDateFunctions.difference(try ts(a), try ts(b))) })
    static let intervalAdd = ScalarFunction("interval_pl", .binary { a, b in .interval(try iv(a).adding(try iv(b))) })
    static let intervalSub = ScalarFunction("interval_mi", .binary { a, b in .interval(try iv(a).subtracting(try iv(b))) })
    static let intervalMul = ScalarFunction("interval_mul", .binary { a, f in .interval(try iv(a).multiplied(by: try f.double())) })
    static let intervalDiv = ScalarFunction("interval_div", .binary { a, f in
        let d = try f.double()
        guard d != 0 else { throw SQLError(.divisionByZero, "division by zero") }
        return .interval(try iv(a).divided(by: d))
    })
    static let intervalNeg = ScalarFunction("interval_um", .unary { .interval(try iv($0).negated()) })
    static let timeAddInterval = ScalarFunction("time_pl_interval", .binary { t, i in .time(PGTimeOfDay.add(try time(t), try iv(i))) })
    static let timeSubInterval = ScalarFunction("time_mi_interval", .binary { t, i in .time(PGTimeOfDay.subtract(try time(t), try iv(i))) })
    static let timeDiff = ScalarFunction("time_mi_time", .binary { a, b in .interval(PGTimeOfDay.difference(try time(a), try time(b))) })

    /// `generate_series(start, stop, step interval)` over timestamps.
    static let series = SetFunction("generate_series", columns: { types in
        [ResultColumn(name: "generate_series", type: types.first ?? .timestamp)]
    }, rows: { ctx, args in
        var cur = try ts(args[0])
        let stop = try ts(args[1])
        let step = try iv(args[2])
        guard step.span != 0 else { throw SQLError(.invalidParameterValue, "step size cannot equal zero") }
        let tz = args[0].isTimestamptz
        let forward = step.span > 0
        let zone = zone(ctx)
        var done = false
        return AnyIterator {
            guard !done, forward ? cur <= stop : cur >= stop else { return nil }
            let v: Value = tz ? .timestamptz(cur) : .timestamp(cur)
            do {
                cur = tz ? try PGDateFunctions.add(timestamptz: cur, step, zone: zone) : try PGDateFunctions.add(timestamp: cur, step)
            } catch {
                done = true
            }
            return [v]
        }
    })
}

extension Value {
    var isTimestamptz: Bool {
        if case .timestamptz = self { return true }
        return false
    }
}
