import DriftCore
import DriftStorage

/// Functions the binder uses for SQL syntax (SIMILAR TO, `~`, CURRENT_USER, date arithmetic,
/// bit operators).
enum BuiltinFunctions {
    static let now = ScalarFunction("now", .nullary { .timestamptz($0.transactionTime) })

    static let currentUser = ScalarFunction("current_user", .nullary { ctx in .text(ctx.session?.currentRoleName ?? "driftdb") })
    static let sessionUser = ScalarFunction("session_user", .nullary { ctx in .text(ctx.session?.userName ?? "driftdb") })

    static let similarToRegex = ScalarFunction("similar_to_escape", .nary { args in
        guard case .text(let p) = args[0] else { return .null }
        var escape: Character? = "\\"
        if args.count > 1 {
            guard case .text(let e) = args[1] else { return .null }
            guard e.count <= 1 else {
                throw SQLError(SQLState("22019"), "invalid escape string", hint: "Escape string must be empty or one character.")
            }
            escape = e.first
        }
        return .text(try PatternRegex.fromSimilar(p, escape: escape))
    })

    static func regexMatch(caseInsensitive: Bool) -> ScalarFunction {
        ScalarFunction(caseInsensitive ? "texticregexeq" : "textregexeq", .binary { s, p in
            .bool(try PatternRegex.matches(try s.text(), try p.text(), caseInsensitive: caseInsensitive))
        })
    }

    static let bitNot = ScalarFunction("bitnot", .unary { .int(~(try $0.int())) })

    static func bitwise(_ op: String) -> ScalarFunction {
        ScalarFunction("bit" + op, .binary { a, b in
            let x = try a.int(), y = try b.int()
            switch op {
            case "&": return .int(x & y)
            case "|": return .int(x | y)
            case "#": return .int(x ^ y)
            case "<<": return .int(y >= 64 || y <= -64 ? 0 : (y >= 0 ? x << y : x >> -y))
            default: return .int(y >= 64 ? (x < 0 ? -1 : 0) : (y >= 0 ? x >> y : x << -y))
            }
        })
    }

    static let dateAddDays = ScalarFunction("date_pli", .binary { d, n in
        guard case .date(let days) = d else { return .null }
        if days == PGTime.dateInfinity || days == PGTime.dateNegativeInfinity { return d }
        let r = Int64(days) + (try n.int())
        guard PGTime.isValidDate(r) else { throw SQLError(.datetimeFieldOverflow, "date out of range") }
        return .date(Int32(r))
    })

    static let dateDiff = ScalarFunction("date_mi", .binary { a, b in
        guard case .date(let x) = a, case .date(let y) = b else { return .null }
        if x == PGTime.dateInfinity || x == PGTime.dateNegativeInfinity || y == PGTime.dateInfinity || y == PGTime.dateNegativeInfinity {
            throw SQLError(.datetimeFieldOverflow, "cannot subtract infinite dates")
        }
        return .int(Int64(x) - Int64(y))
    })
}
