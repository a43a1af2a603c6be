import DriftCore

/// pg_advisory_lock and its family over the engine's advisory locks. The lock functions
/// return void in PostgreSQL; here they return an empty text, which prints the same.
enum AdvisoryFunctions {
    static func key(_ args: [Value]) throws -> AdvisoryLocks.Key {
        if args.count == 2 { return AdvisoryLocks.Key((try args[0].int() << 32) | (try args[1].int() & 0xFFFF_FFFF), twoPart: true) }
        return AdvisoryLocks.Key(try args[0].int())
    }

    static func holder(_ ctx: ExecContext, transactional: Bool) throws -> AdvisoryLocks.Holder {
        guard let s = ctx.session else { throw SQLError.notSupported("advisory locks outside a session") }
        return AdvisoryLocks.Holder(session: s.sessionId, transactional: transactional)
    }

    static let all: [(String, Overload)] = {
        typealias F = FunctionCatalog
        var out: [(String, Overload)] = []
        for params in [[SQLType.int8], [.int4, .int4]] {
            for shared in [false, true] {
                let suffix = shared ? "_shared" : ""
                for xact in [false, true] {
                    let infix = xact ? "_xact" : ""
                    out.append(F.fn("pg_advisory\(infix)_lock\(suffix)", params, .text, volatile: true, .context { ctx, a in
                        _ = try ctx.engine.advisoryLocks.acquire(try key(a), try holder(ctx, transactional: xact), exclusive: !shared,
                                                                 wait: true, timeoutNanos: ctx.txn.lockTimeoutNanos, interrupt: ctx.txn.interrupt)
                        ctx.session?.noteAdvisory(transactional: xact)
                        return .text("")
                    }))
                    out.append(F.fn("pg_try_advisory\(infix)_lock\(suffix)", params, .bool, volatile: true, .context { ctx, a in
                        let got = try ctx.engine.advisoryLocks.acquire(try key(a), try holder(ctx, transactional: xact), exclusive: !shared,
                                                                       wait: false, timeoutNanos: nil, interrupt: nil)
                        if got { ctx.session?.noteAdvisory(transactional: xact) }
                        return .bool(got)
                    }))
                }
                out.append(F.fn("pg_advisory_unlock\(suffix)", params, .bool, volatile: true, .context { ctx, a in
                    .bool(ctx.engine.advisoryLocks.release(try key(a), try holder(ctx, transactional: false), exclusive: !shared))
                }))
            }
        }
        out.append(F.fn("pg_advisory_unlock_all", [], .text, volatile: true, .context { ctx, _ in
            ctx.engine.advisoryLocks.releaseAll(try holder(ctx, transactional: false))
            return .text("")
        }))
        return out
    }()
}
