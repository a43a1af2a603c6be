import DriftStorage

/// A sequence's durable state and what this process has handed out of it.
struct SequenceState {
    /// The log seq of the state event this comes from (newer events replace it).
    var eventSeq: UInt64
    /// The last value handed out or reserved (durable), and whether nextval returned it.
    var last: Int64
    var called: Bool
    /// The value nextval gave last in this process (within the durable reservation).
    var handedOut: Int64?
}

/// Sequences: values are not transactional (a rolled-back transaction's nextval stays used, as
/// in PostgreSQL) and durable in blocks: nextval logs a reservation of the next 32 values
/// before handing out the first, so after a crash numbering resumes past the reservation
/// (values reserved but not handed out are skipped, never repeated).
extension Engine {
    static let sequenceReservation: Int64 = 32

    /// Records a state event read from the log or a snapshot (older ones than the known state are ignored).
    func noteSequenceState(_ id: UInt32, last: Int64, called: Bool, seq: UInt64) {
        sequenceStateLock.withLock {
            if let s = sequenceStates[id], s.eventSeq >= seq { return }
            sequenceStates[id] = SequenceState(eventSeq: seq, last: last, called: called, handedOut: nil)
        }
    }

    func forgetSequence(_ id: UInt32) {
        sequenceStateLock.withLock { sequenceStates[id] = nil }
    }

    /// Every sequence's state event, for snapshots.
    var sequenceStateEvents: [(UInt64, CatalogEvent)] {
        sequenceStateLock.withLock {
            // (A temporary sequence's state, never logged, has event seq 0: it stays out.)
            sequenceStates.filter { $0.value.eventSeq != 0 }.sorted { $0.key < $1.key }.map { ($1.eventSeq, .sequenceState($0, last: $1.last, called: $1.called)) }
        }
    }

    /// On a clean close: each sequence's exact position, so numbering resumes without the
    /// gap a crash leaves (best effort: a failure here is a crash's outcome, values skipped).
    func logExactSequenceStates() {
        sequenceLock.withLock {
            let pending = sequenceStateLock.withLock { sequenceStates.filter { $0.value.eventSeq != 0 && $0.value.handedOut != nil && $0.value.handedOut != $0.value.last } }
            for (id, s) in pending.sorted(by: { $0.key < $1.key }) {
                guard let h = s.handedOut, let seq = try? logSequenceState(id, last: h, called: true) else { continue }
                sequenceStateLock.withLock { sequenceStates[id] = SequenceState(eventSeq: seq, last: h, called: true, handedOut: nil) }
            }
        }
    }

    /// Logs a state event as its own transaction (durable before it returns).
    private func logSequenceState(_ id: UInt32, last: Int64, called: Bool, temporary: Bool = false) throws -> UInt64 {
        // A session's temporary sequence lives in memory only (event seq 0: never logged).
        if temporary { return 0 }
        if let f = writerFailure { throw SQLError(.ioError, StorageError.failed(reason: f).description) }
        let event = CatalogEvent.sequenceState(id, last: last, called: called)
        let request = CommitRequest(events: [LogEvent(type: .ddl, payload: event.encode())],
                                    context: CommitContext(ddl: [(0, event)], serializableTxn: nil))
        do {
            try logWriter().commit(request)
        } catch let e as StorageError {
            throw SQLError(storageError: e)
        }
        return request.seq
    }

    /// nextval: the next value, with PostgreSQL's bounds and cycling.
    public func sequenceNext(_ def: SequenceDef) throws -> Int64 {
        try sequenceLock.withLock {
            var s = sequenceStateLock.withLock { sequenceStates[def.id] } ?? SequenceState(eventSeq: 0, last: def.start, called: false, handedOut: nil)
            let next: Int64
            let current = s.handedOut ?? s.last
            let called = s.handedOut != nil ? true : s.called
            if !called {
                next = current
            } else {
                let (v, overflow) = current.addingReportingOverflow(def.increment)
                if overflow || v > def.maxValue || v < def.minValue {
                    guard def.cycle else {
                        let (bound, word) = def.increment > 0 ? (def.maxValue, "maximum") : (def.minValue, "minimum")
                        throw SQLError(SQLState("2200H"), "nextval: reached \(word) value of sequence \"\(def.name)\" (\(bound))")
                    }
                    next = def.increment > 0 ? def.minValue : def.maxValue
                } else {
                    next = v
                }
            }
            // Within the durable reservation, or past it: reserve the next block first.
            let reserved = s.called ? s.last : nil
            let within: Bool
            if let r = reserved, s.handedOut != nil {
                within = def.increment > 0 ? next <= r && next > (s.handedOut ?? Int64.min) : next >= r && next < (s.handedOut ?? Int64.max)
            } else {
                within = false
            }
            if !within {
                var end = next
                // A large increment reserves up to the sequence's bound (the step overflows).
                let (step, stepOverflow) = def.increment.multipliedReportingOverflow(by: Self.sequenceReservation - 1)
                var (e, overflow) = next.addingReportingOverflow(step)
                overflow = overflow || stepOverflow
                if !overflow { end = e }
                if def.increment > 0 { end = min(overflow ? def.maxValue : end, def.maxValue) } else { end = max(overflow ? def.minValue : end, def.minValue) }
                s.eventSeq = try logSequenceState(def.id, last: end, called: true, temporary: def.schema == TemporaryTables.schema)
                s.last = end
                s.called = true
            }
            s.handedOut = next
            sequenceStateLock.withLock { sequenceStates[def.id] = s }
            return next
        }
    }

    /// setval: the sequence continues after `value` (or at it, when `called` is false).
    public func sequenceSet(_ def: SequenceDef, value: Int64, called: Bool) throws {
        guard value >= def.minValue, value <= def.maxValue else {
            throw SQLError(.numericValueOutOfRange,
                           "setval: value \(value) is out of bounds for sequence \"\(def.name)\" (\(def.minValue)..\(def.maxValue))")
        }
        try sequenceLock.withLock {
            let seq = try logSequenceState(def.id, last: value, called: called, temporary: def.schema == TemporaryTables.schema)
            sequenceStateLock.withLock { sequenceStates[def.id] = SequenceState(eventSeq: seq, last: value, called: called, handedOut: nil) }
        }
    }

    /// The durable state (last value, is_called) of a sequence, for reads of the sequence itself.
    public func sequenceCurrent(_ def: SequenceDef) -> (last: Int64, called: Bool) {
        sequenceStateLock.withLock {
            guard let s = sequenceStates[def.id] else { return (def.start, false) }
            if let h = s.handedOut { return (h, true) }
            return (s.last, s.called)
        }
    }
}
