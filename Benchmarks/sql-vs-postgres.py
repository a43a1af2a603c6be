#!/usr/bin/env python3
"""DriftDB's SQL engine against PostgreSQL 15 on the same machine and the same data.
Run by hand, never in CI:

    Benchmarks/sql-vs-postgres.py [--rows N] [--runs N] [--driftdb PATH] [--pg-parallel]
                                  [--plans] [--keep]

Loads the same tables into a fresh DriftDB directory and a throwaway PostgreSQL 15 cluster
(initdb in a temp dir as `postgres`, trust auth, locale C, 127.0.0.1 on a free port, stopped
by PID at exit), with the same SQL on both sides:

    t (id bigint PRIMARY KEY, grp int, uid bigint, s text)   --rows rows, grp = id % 1000,
                                                              uid = id % (rows / 10)
    u (id bigint PRIMARY KEY, v int)                          rows / 10 rows

then updates 1% of t (`id % 100 = 0`) so those rows have a past version, and times each
figure: one warm-up run, then --runs runs; the median is reported (reads are preceded
by one pass over every query, which also checks the answers).

What is timed:
  * reads: each engine's own EXPLAIN ANALYZE, i.e. server-side execution with no client or
    wire cost. PostgreSQL: `EXPLAIN (ANALYZE, TIMING OFF)`, "Execution Time" and "Planning
    Time" both reported (exec + plan). DriftDB: `EXPLAIN ANALYZE`'s "Execution Time", which
    runs the plan to the end and excludes parsing and binding (DriftDB's planning), so the
    ratio is taken against PostgreSQL's execution time alone.
  * INSERT ... SELECT: the statement's wall clock, commit (fsync) included. PostgreSQL: the
    psycopg2 call. DriftDB: `clock_timestamp()` read by the statements just before and just
    after it in the same `driftdb sql` process (no process start-up, no recovery).

DriftDB runs as a copy of --driftdb (default .build/release/driftdb) so a rebuild during the
run changes nothing. PostgreSQL keeps its stock settings except
max_parallel_workers_per_gather=0, so that each query uses one core as DriftDB's do
(--pg-parallel keeps PostgreSQL's default of 2). Every query's answer is compared between
the two engines before it is timed; a difference is printed as a warning.
"""
import argparse
import glob
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from statistics import median

import psycopg2
import psycopg2.extensions

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------------------

class Figure:
    """One row of the table. `driftdb` and `pg` are the queries timed on each side (the same
    text unless the figure needs DriftDB-only syntax); `expect` is a PostgreSQL query whose
    answer DriftDB's must equal (default: `pg`); `ordered` says the row order is part of the
    answer."""

    def __init__(self, name, driftdb, pg=None, expect=None, ordered=False, note=None):
        self.name = name
        self.driftdb = driftdb
        self.pg = pg or driftdb
        self.expect = expect or self.pg
        self.ordered = ordered
        self.note = note


def schema(rows):
    """The load, the same text on both sides."""
    users = rows // 10
    return [
        'CREATE TABLE t (id bigint PRIMARY KEY, grp int NOT NULL, uid bigint NOT NULL, s text NOT NULL)',
        f'INSERT INTO t SELECT g, g % 1000, g % {users}, md5(g::text) FROM generate_series(1, {rows}) g',
        'CREATE TABLE u (id bigint PRIMARY KEY, v int NOT NULL)',
        f'INSERT INTO u SELECT g, g % 7 FROM generate_series(0, {users - 1}) g',
    ]


# A second version for 1% of t's rows, written after the seq that AS OF reads.
HISTORY = 'UPDATE t SET s = upper(s) WHERE id % 100 = 0'

INSERT_TARGET = [
    'DROP TABLE IF EXISTS t2',
    'CREATE TABLE t2 (id bigint PRIMARY KEY, grp int NOT NULL, uid bigint NOT NULL, s text NOT NULL)',
]
INSERT_SELECT = 'INSERT INTO t2 SELECT * FROM t'


def figures(rows, key, seq):
    """The read figures. `key` is a primary key with a past version (a multiple of 100);
    `seq` is DriftDB's seq of the load, before HISTORY."""
    return [
        Figure('point SELECT by primary key', f'SELECT * FROM t WHERE id = {key}'),
        Figure('100-row range scan on the primary key',
               f'SELECT * FROM t WHERE id BETWEEN {key} AND {key + 99}'),
        Figure(f'COUNT(*) and SUM over {rows:,} rows', 'SELECT count(*), sum(id) FROM t'),
        Figure(f'GROUP BY over {rows:,} rows into 1k groups',
               'SELECT grp, count(*), sum(id) FROM t GROUP BY grp'),
        Figure(f'hash join {rows:,} x {rows // 10:,} rows',
               'SELECT count(*) FROM t JOIN u ON u.id = t.uid'),
        Figure(f'ORDER BY ... LIMIT 10 over {rows:,} rows',
               'SELECT * FROM t ORDER BY s LIMIT 10', ordered=True),
        Figure('point SELECT AS OF a past seq',
               f'SELECT * FROM t AS OF @seq:{seq} WHERE id = {key}',
               pg=f'SELECT * FROM t WHERE id = {key}',
               expect=f'SELECT id, grp, uid, md5(id::text) FROM t WHERE id = {key}',
               note='PostgreSQL has no AS OF: its column is the plain point SELECT'),
    ]


# ---------------------------------------------------------------------------------------
# DriftDB: `driftdb sql --jsonl`, one process per batch of statements
# ---------------------------------------------------------------------------------------

class DriftDB:
    def __init__(self, binary, data):
        self.binary = binary
        self.data = data

    def version(self):
        return subprocess.run([self.binary, '--version'], check=True, capture_output=True,
                              text=True).stdout.strip()

    def init(self):
        subprocess.run([self.binary, 'init', self.data], check=True, stdout=subprocess.DEVNULL)

    def run(self, statements):
        """Runs the statements in one process, each its own transaction; returns one JSON
        result per statement. Any error stops the run and raises."""
        script = os.path.join(os.path.dirname(self.data), 'script.sql')
        with open(script, 'w') as f:
            f.write(''.join(s + ';\n' for s in statements))
        p = subprocess.run([self.binary, 'sql', '-d', self.data, '--jsonl', '--on-error-stop',
                            '-f', script], capture_output=True, text=True)
        results = [json.loads(line) for line in p.stdout.splitlines() if line.startswith('{')]
        failed = next((i for i, r in enumerate(results) if 'error' in r), None)
        if failed is not None:
            e = results[failed]['error']
            raise RuntimeError(f'DriftDB: ERROR {e["code"]}: {e["message"]}\n  in: {statements[failed]}')
        if p.returncode != 0 or len(results) != len(statements):
            raise RuntimeError(f'driftdb sql exited with {p.returncode} after {len(results)} of '
                               f'{len(statements)} statements:\n{p.stderr.strip()}')
        return results

    @staticmethod
    def execution_ms(result):
        """The "Execution Time: X ms" last line of an EXPLAIN ANALYZE result."""
        last = result['rows'][-1][0]
        if not last.startswith('Execution Time:'):
            raise RuntimeError(f'DriftDB EXPLAIN ANALYZE: no Execution Time line: {last!r}')
        return float(last.split()[2])


# ---------------------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster, stopped by its postmaster's PID
# ---------------------------------------------------------------------------------------

class Postgres:
    def __init__(self, root, parallel):
        self.root = root
        self.data = os.path.join(root, 'data')
        self.parallel = parallel
        self.pid = None
        self.conn = None
        # initdb and postgres refuse to run as root.
        self.as_user = ['runuser', '-u', 'postgres', '--'] if os.geteuid() == 0 else []

    def _run(self, args):
        p = subprocess.run(self.as_user + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise RuntimeError(f'{args[0]} failed:\n{p.stdout}')

    def start(self):
        os.mkdir(self.root, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, 'postgres', 'postgres')
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        self._run(['initdb', '-D', self.data, '-U', 'postgres', '-A', 'trust', '--locale=C',
                   '-E', 'UTF8', '--no-sync', '--no-instructions'])
        opts = f'-p {port} -k {self.root} -c listen_addresses=127.0.0.1'
        if not self.parallel:
            opts += ' -c max_parallel_workers_per_gather=0'
        self._run(['pg_ctl', '-D', self.data, '-l', os.path.join(self.root, 'log'), '-w', '-t', '60',
                   '-o', opts, 'start'])
        with open(os.path.join(self.data, 'postmaster.pid')) as f:
            self.pid = int(f.readline())
        self.conn = psycopg2.connect(host='127.0.0.1', port=port, user='postgres', dbname='postgres')
        self.conn.autocommit = True
        # Every value as PostgreSQL's text output (as DriftDB's --jsonl gives it), so answers
        # compare as strings.
        cur = self.conn.cursor()
        cur.execute('SELECT oid FROM pg_type')
        oids = tuple(r[0] for r in cur.fetchall())
        psycopg2.extensions.register_type(psycopg2.extensions.new_type(oids, 'TEXT_OUT', lambda v, c: v), self.conn)

    def stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.pid is None:
            return
        os.kill(self.pid, signal.SIGINT)  # fast shutdown
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            log(f'warning: PostgreSQL (pid {self.pid}) did not stop within 60 s')
        self.pid = None

    def execute(self, sql):
        cur = self.conn.cursor()
        cur.execute(sql)
        return cur.fetchall() if cur.description is not None else None

    def one(self, sql):
        return self.execute(sql)[0][0]

    def explain(self, sql):
        """(execution ms, planning ms, plan lines) from EXPLAIN (ANALYZE, TIMING OFF)."""
        lines = [r[0] for r in self.execute(f'EXPLAIN (ANALYZE, TIMING OFF) {sql}')]
        times = {}
        for line in lines:
            for label in ('Execution Time', 'Planning Time'):
                if line.startswith(label + ':'):
                    times[label] = float(line.split()[2])
        return times['Execution Time'], times['Planning Time'], lines


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------

def machine():
    model = '?'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    mem = '?'
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                mem = f'{int(line.split()[1]) / (1 << 20):.0f} GiB'
                break
    return f'nproc {os.cpu_count()}, CPU {model}, {mem} RAM, {platform.system()} {platform.release()}'


def same_answer(driftdb_result, pg_rows, ordered):
    ours = [tuple(r) for r in driftdb_result.get('rows', [])]
    theirs = [tuple(r) for r in pg_rows]
    return ours == theirs if ordered else sorted(ours, key=repr) == sorted(theirs, key=repr)


def run(args, work):
    binary = os.path.join(work, 'driftdb')
    shutil.copy2(args.driftdb, binary)
    ddb = DriftDB(binary, os.path.join(work, 'driftdb-data'))
    pg = Postgres(os.path.join(work, 'postgres'), args.pg_parallel)
    key = max(100, args.rows // 200 * 100)
    warnings = []
    try:
        # Load both. DriftDB's seq of the load is the AS OF point.
        log(f'loading {args.rows:,} rows into DriftDB ...')
        started = time.monotonic()
        ddb.init()
        loaded = ddb.run(schema(args.rows) + ['SELECT max(drift_seq) FROM t', HISTORY])
        seq = int(loaded[-2]['rows'][0][0])
        ddb_load = time.monotonic() - started
        log('loading PostgreSQL ...')
        pg.start()
        started = time.monotonic()
        for sql in schema(args.rows) + [HISTORY, 'VACUUM ANALYZE t', 'VACUUM ANALYZE u']:
            pg.execute(sql)
        pg_load = time.monotonic() - started
        pg_version = pg.one('SHOW server_version')
        pg_settings = ', '.join(f'{s}={pg.one("SHOW " + s)}' for s in
                                ('max_parallel_workers_per_gather', 'jit', 'shared_buffers'))

        # Reads. Each engine first answers every query once (the answers are compared, and
        # the pass warms the process: a fresh DriftDB process runs its first point lookups
        # about 4x slower than after a few large queries), then per query one warm-up
        # EXPLAIN and the timed ones. All of DriftDB's run in one process.
        figs = figures(args.rows, key, seq)
        log(f'DriftDB: {len(figs)} queries x {1 + args.runs} runs ...')
        statements = [fig.driftdb for fig in figs]
        for fig in figs:
            statements += [f'EXPLAIN ANALYZE {fig.driftdb}'] * (1 + args.runs)
        results = ddb.run(statements)
        answers, explains = results[:len(figs)], iter(results[len(figs):])
        log('PostgreSQL: the same ...')
        for fig, answer in zip(figs, answers):
            expected = pg.execute(fig.expect)
            pg.execute(fig.pg)
            if not same_answer(answer, expected, fig.ordered):
                warnings.append(f'different answers for "{fig.name}": DriftDB {answer.get("rows")!r:.300}, '
                                f'PostgreSQL {expected!r:.300}')
        rows = []
        for fig in figs:
            timed = [next(explains) for _ in range(1 + args.runs)][1:]
            ddb_ms = median([DriftDB.execution_ms(r) for r in timed])
            ddb_plan = [r[0] for r in timed[-1]['rows']]
            timings = [pg.explain(fig.pg) for _ in range(1 + args.runs)][1:]
            pg_exec, pg_plan = median([t[0] for t in timings]), median([t[1] for t in timings])
            rows.append((fig, ddb_ms, pg_exec, pg_plan, ddb_plan, timings[-1][2]))

        # INSERT ... SELECT: wall clock of the statement, into a fresh t2 each run.
        log(f'INSERT ... SELECT x {1 + args.runs} runs on each ...')
        clock = 'SELECT extract(epoch FROM clock_timestamp())'
        statements = []
        for _ in range(1 + args.runs):
            statements += INSERT_TARGET + [clock, INSERT_SELECT, clock]
        results = ddb.run(statements)
        ddb_insert, tags = [], set()
        for i in range(1 + args.runs):
            _, _, before, insert, after = results[5 * i:5 * i + 5]
            ddb_insert.append((float(after['rows'][0][0]) - float(before['rows'][0][0])) * 1000)
            tags.add(insert['tag'])
        pg_insert = []
        for _ in range(1 + args.runs):
            for sql in INSERT_TARGET:
                pg.execute(sql)
            cur = pg.conn.cursor()
            started = time.perf_counter()
            cur.execute(INSERT_SELECT)
            pg_insert.append((time.perf_counter() - started) * 1000)
            tags.add(f'INSERT 0 {cur.rowcount}')
        if tags != {f'INSERT 0 {args.rows}'}:
            warnings.append(f'INSERT ... SELECT: command tags {sorted(tags)}, expected INSERT 0 {args.rows}')
        insert_ms = (median(ddb_insert[1:]), median(pg_insert[1:]))
    finally:
        pg.stop()

    # The report.
    print(f'# DriftDB SQL vs PostgreSQL: {args.rows:,} rows, median of {args.runs} warm runs')
    print()
    print(f'machine: {machine()}')
    print(f'DriftDB: {ddb.version()}, `driftdb sql` in process')
    print(f'PostgreSQL: {pg_version} ({pg_settings}), over 127.0.0.1')
    print(f'setup wall clock (not a figure): DriftDB load {ddb_load:.1f} s, PostgreSQL load + VACUUM ANALYZE {pg_load:.1f} s')
    print()
    print('| figure | DriftDB ms | PostgreSQL ms (exec + plan) | ratio |')
    print('|---|---|---|---|')
    for n, (fig, ddb_ms, pg_exec, pg_plan, _, _) in enumerate(rows, 1):
        name = fig.name + (' (PG: plain point SELECT)' if fig.note else '')
        print(f'| {n}. {name} | {ddb_ms:.3f} | {pg_exec:.3f} + {pg_plan:.3f} | {ratio(ddb_ms, pg_exec)} |')
    print(f'| {len(rows) + 1}. INSERT ... SELECT of {args.rows:,} rows (wall clock) '
          f'| {insert_ms[0]:.1f} | {insert_ms[1]:.1f} | {ratio(*insert_ms)} |')
    print()
    print('ratio = DriftDB / PostgreSQL execution time (planning excluded on both sides: DriftDB\'s')
    print('EXPLAIN ANALYZE does not count parsing and binding); above 1 means DriftDB is slower.')
    print('INSERT ... SELECT is the statement\'s wall clock with its commit on both sides.')
    for fig, *_ in rows:
        if fig.note:
            print(f'{fig.name}: {fig.note}.')
    print()
    print('Queries (the same text on both sides unless two are given):')
    for n, (fig, *_) in enumerate(rows, 1):
        if fig.driftdb == fig.pg:
            print(f'{n}. {fig.driftdb}')
        else:
            print(f'{n}. DriftDB: {fig.driftdb}')
            print(f'{" " * len(str(n))}  PostgreSQL: {fig.pg}')
    print(f'{len(rows) + 1}. {INSERT_SELECT}   (into a fresh t2 each run: {"; ".join(INSERT_TARGET)})')
    print()
    print('Data (both sides):')
    for sql in schema(args.rows) + [HISTORY]:
        print(f'   {sql}')
    print(f'   DriftDB\'s AS OF point is the seq of the load (@seq:{seq}), before the UPDATE;'
          ' PostgreSQL then runs VACUUM ANALYZE t, u.')
    if args.plans:
        for n, (fig, _, _, _, ddb_plan, pg_plan) in enumerate(rows, 1):
            print()
            print(f'{n}. {fig.name}')
            print('   DriftDB:')
            print('\n'.join('     ' + line for line in ddb_plan))
            print('   PostgreSQL:')
            print('\n'.join('     ' + line for line in pg_plan))
    for w in warnings:
        print(f'\nWARNING: {w}')
    return 1 if warnings else 0


def ratio(driftdb_ms, pg_ms):
    return f'{driftdb_ms / pg_ms:.2f}x' if pg_ms > 0 else 'n/a'


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rows', type=int, default=1_000_000, help='rows in t (default 1,000,000; at least 1,000)')
    parser.add_argument('--runs', type=int, default=5, help='timed runs per query after one warm-up (default 5)')
    parser.add_argument('--driftdb', default=os.path.join(REPO, '.build/release/driftdb'),
                        help='the driftdb binary (copied before use; default .build/release/driftdb)')
    parser.add_argument('--pg-parallel', action='store_true',
                        help="keep PostgreSQL's parallel query (default: max_parallel_workers_per_gather=0)")
    parser.add_argument('--plans', action='store_true', help="print both engines' plans of the last run")
    parser.add_argument('--keep', action='store_true', help='keep the data directories (the server is stopped)')
    args = parser.parse_args()
    if args.rows < 1000 or args.runs < 1:
        parser.error('--rows must be at least 1000 and --runs at least 1')
    if not os.access(args.driftdb, os.X_OK):
        parser.error(f'{args.driftdb}: no driftdb binary (swift build -c release)')
    if shutil.which('initdb') is None:  # Debian keeps them out of PATH
        os.environ['PATH'] = ':'.join(sorted(glob.glob('/usr/lib/postgresql/*/bin'), reverse=True)
                                      + [os.environ['PATH']])
    # SIGTERM unwinds like Ctrl-C, so the server is stopped and the directories removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix='sql-vs-postgres-')
    os.chmod(work, 0o755)  # the postgres user must reach its directory inside
    try:
        return run(args, work)
    finally:
        if args.keep:
            log(f'kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
