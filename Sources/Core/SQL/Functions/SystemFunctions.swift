import DriftCore
import DriftStorage
#if canImport(Glibc)
import Glibc
#endif

/// The clock, the session and the server: now() and its relatives, version(), current_user,
/// pg_typeof().
enum SystemFunctions {
    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        var out: [(String, Overload)] = []
        out.append(F.fn("now", [], .timestamptz, .nullary { .timestamptz($0.transactionTime) }))
        out.append(F.fn("transaction_timestamp", [], .timestamptz, .nullary { .timestamptz($0.transactionTime) }))
        out.append(F.fn("statement_timestamp", [], .timestamptz, .nullary { .timestamptz($0.statementTime) }))
        out.append(F.fn("clock_timestamp", [], .timestamptz, volatile: true, .nullary { _ in .timestamptz(PGTime.fromUnix(wallClockMicros())) }))
        out.append(F.fn("version", [], .text, .nullary { _ in
            .text("PostgreSQL 15.0 (DriftDB \(Engine.productVersion)) on x86_64-pc-linux-gnu, compiled by Swift, 64-bit")
        }))
        out.append(F.fn("current_database", [], .text, .nullary { ctx in .text(ctx.session?.databaseName ?? "driftdb") }))
        out.append(F.fn("current_schema", [], .text, .nullary { ctx in
            ctx.session?.searchPath(in: ctx.txn.catalog).first.map { .text($0) } ?? .null
        }))
        out.append(F.fn("pg_backend_pid", [], .int4, .nullary { ctx in .int(Int64(ctx.session?.processId ?? Int32(truncatingIfNeeded: getpid()))) }))
        out.append(F.fn("pg_typeof", params: [.any], result: .type(.text), strict: false, .unary { _ in .null }))
        out.append(F.fn("txid_current", [], .int8, .nullary { .int(Int64(bitPattern: $0.txn.id)) }))
        out.append(F.fn("pg_sleep", [.float8], .text, volatile: true, .context { ctx, a in
            var remaining = (try a[0].double()) * 1000
            while remaining > 0 {
                try ctx.interrupt?.check()
                let step = min(remaining, 10)
                usleep(UInt32(step * 1000))
                remaining -= step
            }
            return .null
        }))
        return out
    }()
}

/// Set-returning functions for FROM.
enum SetFunctions {
    static let all: [SetFunction] = [
        SetFunction("generate_series", columns: { types in
            [ResultColumn(name: "generate_series", type: types.first ?? .int4)]
        }, rows: { _, args in
            let start = try args[0].int(), stop = try args[1].int()
            let step = args.count > 2 ? try args[2].int() : 1
            guard step != 0 else { throw SQLError(.invalidParameterValue, "step size cannot equal zero") }
            var next: Int64? = start
            return AnyIterator {
                guard let v = next, step > 0 ? v <= stop : v >= stop else { return nil }
                let (n, overflow) = v.addingReportingOverflow(step)
                next = overflow ? nil : n
                return [.int(v)]
            }
        }),
    ]
}
