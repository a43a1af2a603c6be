#!/usr/bin/env python3
"""Real PostgreSQL clients against a real `driftdb serve` process.

    python3 tests/compat/test_pgwire.py --driftdb .build/release/driftdb [-k pattern]

Each server binds 127.0.0.1 on a free port (and a Unix-domain socket in its own temporary
directory), keeps its data in a temporary directory, and is stopped by the test that
started it, by PID. Clients: psql, psycopg2 (simple query protocol), psycopg 3 (extended
protocol, binary formats, pipeline mode), and raw sockets for malformed input.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import psycopg2
import psycopg2.errors
import psycopg2.extensions

try:
    import psycopg
except ImportError:  # reported by the tests that need it
    psycopg = None

DRIFTDB = None
SEED = int(os.environ.get('SEED', random.randrange(1, 2**31)))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Server:
    """A driftdb server process on a free port with its own data and socket directory."""

    def __init__(self, extra='', data=None, port=None):
        self.dir = tempfile.mkdtemp(prefix='driftdb-compat-')
        self.data = data or os.path.join(self.dir, 'data')
        self.port = port or free_port()
        self.config = os.path.join(self.dir, 'plugins.yaml')
        with open(self.config, 'w') as f:
            f.write(f'data_path: {self.data}\n'
                    f'shutdown_timeout_ms: 2000\n'
                    f'plugins:\n'
                    f'  - kind: pgwire\n'
                    f'    listen: 127.0.0.1:{self.port}\n'
                    f'    unix_socket_dir: {self.dir}\n' + extra)
        self.start()

    def start(self):
        self.log_path = os.path.join(self.dir, f'server-{time.time_ns()}.log')
        self.log = open(self.log_path, 'w')
        self.proc = subprocess.Popen([DRIFTDB, 'serve', '--config', self.config], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'server exited with {self.proc.returncode}: {self.output()}')
            if 'database open' in self.output():
                return
            time.sleep(0.02)
        raise RuntimeError(f'server did not start: {self.output()}')

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def dsn(self, **kw):
        d = dict(host='127.0.0.1', port=self.port, user='driftdb', dbname='driftdb', connect_timeout=10)
        d.update(kw)
        def quote(v):
            return "'" + str(v).replace('\\', '\\\\').replace("'", "\\'") + "'"
        return ' '.join(f'{k}={quote(v)}' for k, v in d.items())

    def connect(self, **kw):
        return psycopg2.connect(self.dsn(**kw))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the server (by PID) and returns its exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                # Say where it hung: every thread's stack (gdb when there is one), then the log.
                stacks = subprocess.run(['gdb', '-p', str(self.proc.pid), '-batch', '-ex', 'thread apply all bt 40'],
                                        capture_output=True, text=True).stdout if shutil.which('gdb') else ''
                raise AssertionError(f'the server did not stop within {timeout} s\n{stacks[-30000:]}\n{self.output()[-4000:]}')
        self.log.close()
        return self.proc.returncode

    def remove(self):
        if self.proc.poll() is None:
            self.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def psql(server, script, host=None, check=True, extra=()):
    env = dict(os.environ, PGCLIENTENCODING='UTF8', PGCONNECT_TIMEOUT='10')
    r = subprocess.run(['psql', '-X', '-q', '-h', host or '127.0.0.1', '-p', str(server.port), '-U', 'driftdb', 'driftdb', *extra],
                       input=script, capture_output=True, text=True, env=env, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f'psql failed ({r.returncode}): {r.stderr}')
    return r


class OneServer(unittest.TestCase):
    """A base for test classes that share one server (started before their first test,
    stopped by SIGTERM after their last, which must exit 0)."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        status = cls.server.stop()
        cls.server.remove()
        assert status == 0, f'server exited with {status}'


class Shared(OneServer):
    """Tests that share one server."""

    def test_psql_session(self):
        r = psql(self.server, '''
CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) DEFAULT 0);
INSERT INTO accounts VALUES (1, 'ann', 100), (2, 'bob', 50);
UPDATE accounts SET balance = balance - 30 WHERE id = 1;
\\x on
SELECT * FROM accounts WHERE id = 1;
\\x off
SELECT owner, balance FROM accounts ORDER BY id;
''')
        self.assertIn('owner   | ann', r.stdout)
        self.assertIn('balance | 70.00', r.stdout)
        self.assertIn(' ann   |   70.00', r.stdout)
        self.assertIn(' bob   |   50.00', r.stdout)

    def test_psql_time_travel_and_errors(self):
        r = psql(self.server, """
CREATE TABLE prices (sku text PRIMARY KEY, price int);
INSERT INTO prices VALUES ('a', 10);
SELECT '@seq:' || drift_seq AS target FROM prices \\gset
UPDATE prices SET price = 12 WHERE sku = 'a';
SELECT 'now', price FROM prices;
SELECT 'then', price FROM prices AS OF :target;
SELECT 'sql2011', price FROM prices FOR SYSTEM_TIME AS OF :target;
""")
        self.assertIn(' now      |    12', r.stdout)
        self.assertIn(' then     |    10', r.stdout)
        self.assertIn(' sql2011  |    10', r.stdout)
        r = psql(self.server, 'SELECT * FROM no_such_table;\nSELECT 1/0;\n', check=False)
        self.assertIn('ERROR:  relation "no_such_table" does not exist', r.stderr)
        self.assertIn('ERROR:  division by zero', r.stderr)

    def test_psql_copy_in_and_out(self):
        d = self.server.dir
        with open(os.path.join(d, 'in.tsv'), 'w') as f:
            f.write('1\tone\n2\t\\N\n3\tth\\tree\n')
        with open(os.path.join(d, 'in.csv'), 'w') as f:
            f.write('id,v\n4,"four, quoted"\n5,\n6,""\n')
        out = os.path.join(d, 'out.csv')
        r = psql(self.server, f"""
CREATE TABLE copied (id int PRIMARY KEY, v text);
\\copy copied FROM '{d}/in.tsv'
\\copy copied FROM '{d}/in.csv' WITH (FORMAT csv, HEADER true)
SELECT id, coalesce(v, '<null>') FROM copied ORDER BY id;
\\copy (SELECT * FROM copied ORDER BY id) TO '{out}' WITH (FORMAT csv, HEADER)
\\copy copied TO STDOUT
""")
        self.assertIn('  3 | th      ree', r.stdout)  # psql shows the tab as spaces
        self.assertIn('  2 | <null>', r.stdout)
        self.assertIn('  5 | <null>', r.stdout)
        self.assertIn('  6 | \n', r.stdout)
        with open(out) as f:
            self.assertEqual(f.read(), 'id,v\n1,one\n2,\n3,th\tree\n4,"four, quoted"\n5,\n6,""\n')
        self.assertIn('3\tth\\tree\n', r.stdout)
        self.assertIn('2\t\\N\n', r.stdout)

    def test_psycopg_copy(self):
        c = self.server.connect()
        cur = c.cursor()
        cur.execute('CREATE TABLE loaded (id int PRIMARY KEY, name text, score numeric)')
        c.commit()
        import io
        cur.copy_expert('COPY loaded FROM STDIN WITH (FORMAT csv)', io.StringIO('1,ann,1.5\n2,bob,\n'))
        c.commit()
        buf = io.StringIO()
        cur.copy_expert('COPY (SELECT * FROM loaded ORDER BY id) TO STDOUT', buf)
        self.assertEqual(buf.getvalue(), '1\tann\t1.5\n2\tbob\t\\N\n')
        # A bad row fails the whole COPY; nothing of it stays.
        with self.assertRaises(psycopg2.errors.InvalidTextRepresentation):
            cur.copy_expert('COPY loaded FROM STDIN', io.StringIO('3\tcy\t2\n4\tdi\tnot-a-number\n'))
        c.rollback()
        with self.assertRaises(psycopg2.errors.BadCopyFileFormat):
            cur.copy_expert('COPY loaded FROM STDIN', io.StringIO('5\tex\n'))
        c.rollback()
        cur.execute('SELECT count(*) FROM loaded')
        self.assertEqual(cur.fetchone(), (2,))
        c.close()
        if psycopg is None:
            return
        with psycopg.connect(self.server.dsn()) as c3:
            cur3 = c3.cursor()
            with cur3.copy('COPY loaded (id, name) FROM STDIN') as cp:
                for i in range(10, 1010):
                    cp.write_row((i, f'n{i}'))
            with cur3.copy('COPY (SELECT id FROM loaded WHERE id >= 1000 ORDER BY id) TO STDOUT') as cp:
                got = [int(r[0]) for r in cp.rows()]
            self.assertEqual(got, list(range(1000, 1010)))

    def test_psql_over_the_unix_socket(self):
        r = psql(self.server, 'SELECT 40 + 2 AS answer;\n', host=self.server.dir)
        self.assertIn('42', r.stdout)

    def test_wrong_database_and_user(self):
        with self.assertRaises(psycopg2.OperationalError) as e:
            self.server.connect(dbname='nosuch')
        self.assertIn('database "nosuch" does not exist', str(e.exception))

    def test_psycopg2_parameters_transactions_and_errors(self):
        c = self.server.connect()
        cur = c.cursor()
        cur.execute('CREATE TABLE parent (id int PRIMARY KEY)')
        cur.execute('CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent, n int CHECK (n > 0), s text NOT NULL)')
        c.commit()
        cur.execute('INSERT INTO parent VALUES (%s), (%s)', (1, 2))
        cur.execute('INSERT INTO child VALUES (%s, %s, %s, %s)', (1, 1, 5, "it's ünïcode"))
        c.commit()
        cur.execute('SELECT s, n FROM child WHERE id = %s', (1,))
        self.assertEqual(cur.fetchone(), ("it's ünïcode", 5))
        for sql, exc in [('INSERT INTO parent VALUES (1)', psycopg2.errors.UniqueViolation),
                         ('INSERT INTO child VALUES (2, 99, 1, %s)', psycopg2.errors.ForeignKeyViolation),
                         ('INSERT INTO child VALUES (3, 1, -1, %s)', psycopg2.errors.CheckViolation),
                         ('INSERT INTO child VALUES (4, 1, 1, NULL)', psycopg2.errors.NotNullViolation),
                         ('SELECT 1/0', psycopg2.errors.DivisionByZero),
                         ('SELEC 1', psycopg2.errors.SyntaxError)]:
            with self.assertRaises(exc, msg=sql):
                cur.execute(sql, ('x',) if '%s' in sql else None)
            c.rollback()
        # A failed statement aborts the block until ROLLBACK.
        cur.execute('INSERT INTO parent VALUES (3)')
        with self.assertRaises(psycopg2.errors.UniqueViolation):
            cur.execute('INSERT INTO parent VALUES (1)')
        with self.assertRaises(psycopg2.errors.InFailedSqlTransaction):
            cur.execute('SELECT 1')
        c.rollback()
        cur.execute('SELECT count(*) FROM parent')
        self.assertEqual(cur.fetchone(), (2,))
        self.assertEqual(c.get_transaction_status(), psycopg2.extensions.TRANSACTION_STATUS_INTRANS)
        c.rollback()
        self.assertEqual(c.get_transaction_status(), psycopg2.extensions.TRANSACTION_STATUS_IDLE)
        c.close()

    def test_a_multi_statement_message_is_one_transaction(self):
        c = self.server.connect()
        c.autocommit = True
        cur = c.cursor()
        cur.execute('CREATE TABLE once (id int PRIMARY KEY)')
        with self.assertRaises(psycopg2.errors.UniqueViolation):
            cur.execute('INSERT INTO once VALUES (1); INSERT INTO once VALUES (2); INSERT INTO once VALUES (1)')
        cur.execute('SELECT count(*) FROM once')
        self.assertEqual(cur.fetchone(), (0,), 'the failed message left rows behind')
        # COMMIT inside the message ends its transaction; what follows starts another.
        with self.assertRaises(psycopg2.errors.UniqueViolation):
            cur.execute('INSERT INTO once VALUES (1); COMMIT; INSERT INTO once VALUES (2); INSERT INTO once VALUES (2)')
        cur.execute('SELECT id FROM once ORDER BY id')
        self.assertEqual(cur.fetchall(), [(1,)])
        # BEGIN inside the message turns its transaction into an ordinary block that outlives
        # it, statements before the BEGIN included (PostgreSQL 15 gives [(1,)] here too).
        cur.execute('INSERT INTO once VALUES (3); BEGIN; INSERT INTO once VALUES (4)')
        self.assertEqual(c.get_transaction_status(), psycopg2.extensions.TRANSACTION_STATUS_INTRANS)
        cur.execute('ROLLBACK')
        cur.execute('SELECT id FROM once ORDER BY id')
        self.assertEqual(cur.fetchall(), [(1,)])
        c.close()

    def test_serialization_failure(self):
        a, b = self.server.connect(), self.server.connect()
        a.cursor().execute('CREATE TABLE counters (id int PRIMARY KEY, n int)')
        a.cursor().execute('INSERT INTO counters VALUES (1, 0)')
        a.commit()
        for c in (a, b):
            c.set_session(isolation_level='REPEATABLE READ')
        ca, cb = a.cursor(), b.cursor()
        ca.execute('SELECT n FROM counters WHERE id = 1')
        cb.execute('SELECT n FROM counters WHERE id = 1')
        ca.execute('UPDATE counters SET n = n + 1 WHERE id = 1')
        a.commit()
        with self.assertRaises(psycopg2.errors.SerializationFailure):
            cb.execute('UPDATE counters SET n = n + 1 WHERE id = 1')
        b.rollback()
        a.close()
        b.close()

    def test_a_lock_wait_stalls_no_other_connection(self):
        # Each connection's statements run on its own thread: several sessions waiting for
        # one row lock leave every other connection (new ones included) answering, and
        # all go on when the holder commits.
        holder = self.server.connect()
        holder.cursor().execute('CREATE TABLE contended (id int PRIMARY KEY, n int)')
        holder.cursor().execute('INSERT INTO contended VALUES (1, 0)')
        holder.commit()
        holder.cursor().execute('UPDATE contended SET n = n + 1 WHERE id = 1')
        waiters = [self.server.connect() for _ in range(6)]
        done = []

        def wait_for_lock(c):
            c.cursor().execute('UPDATE contended SET n = n + 1 WHERE id = 1')
            c.commit()
            done.append(c)
        threads = [threading.Thread(target=wait_for_lock, args=(c,)) for c in waiters]
        for t in threads:
            t.start()
        time.sleep(0.3)
        self.assertEqual(done, [])
        for _ in range(20):
            other = self.server.connect()
            cur = other.cursor()
            cur.execute('SELECT count(*) FROM contended')
            self.assertEqual(cur.fetchone(), (1,))
            other.close()
        holder.commit()
        for t in threads:
            t.join(timeout=10)
        self.assertEqual(len(done), 6)
        cur = holder.cursor()
        cur.execute('SELECT n FROM contended WHERE id = 1')
        self.assertEqual(cur.fetchone(), (7,))
        holder.commit()
        for c in [holder] + waiters:
            c.close()

    def test_psycopg2_server_side_cursor(self):
        c = self.server.connect()
        cur = c.cursor()
        cur.execute('CREATE TABLE many AS SELECT g AS id FROM generate_series(1, 1000) g')
        c.commit()
        named = c.cursor('big')
        named.itersize = 100
        named.execute('SELECT id FROM many ORDER BY id')
        self.assertEqual(sum(r[0] for r in named), 500500)
        named.close()
        c.commit()
        c.close()

    def test_cancel_a_long_select(self):
        c = self.server.connect()
        cur = c.cursor()
        cur.execute('CREATE TABLE ten_k AS SELECT g AS id FROM generate_series(1, 10000) g')
        c.commit()

        def cancel():
            time.sleep(0.5)
            c.cancel()
        threading.Thread(target=cancel).start()
        started = time.time()
        with self.assertRaises(psycopg2.errors.QueryCanceled):
            cur.execute('SELECT count(*) FROM ten_k a, ten_k b, ten_k c')
        self.assertLess(time.time() - started, 1.5)
        c.rollback()
        cur.execute('SELECT 1')
        self.assertEqual(cur.fetchone(), (1,))
        c.close()

    def test_statement_and_idle_in_transaction_timeouts(self):
        c = self.server.connect(options='-c statement_timeout=300')
        cur = c.cursor()
        started = time.time()
        with self.assertRaises(psycopg2.errors.QueryCanceled) as e:
            cur.execute('SELECT pg_sleep(5)')
        self.assertIn('statement timeout', str(e.exception))
        self.assertLess(time.time() - started, 2)
        c.rollback()
        cur.execute("SET idle_in_transaction_session_timeout = '300ms'")
        c.commit()
        cur.execute('SELECT 1')  # opens a transaction block, then idles in it
        time.sleep(1)
        with self.assertRaises(psycopg2.OperationalError):
            cur.execute('SELECT 2')
        self.assertIsNone(self.server.proc.poll())

    def test_connections_leave_nothing_behind(self):
        def mappings():
            with open(f'/proc/{self.server.proc.pid}/maps') as f:
                return sum(1 for _ in f)
        self.server.connect().close()
        before = mappings()
        for _ in range(150):
            c = self.server.connect()
            c.cursor().execute('SELECT 1')
            c.close()
        time.sleep(0.5)
        # Each connection's thread has a stack (and a guard page) mapped until it is released
        # when the thread ends: 150 leaked threads would add 300 mappings.
        self.assertLess(mappings() - before, 100)

    def test_parameter_status_follows_set(self):
        c = self.server.connect(application_name='compat')
        self.assertEqual(c.get_parameter_status('application_name'), 'compat')
        self.assertEqual(c.get_parameter_status('server_encoding'), 'UTF8')
        self.assertTrue(c.get_parameter_status('server_version').startswith('15'))
        self.assertEqual(c.server_version // 10000, 15)
        c.autocommit = True
        c.cursor().execute("SET TimeZone = 'Europe/Berlin'")
        self.assertEqual(c.get_parameter_status('TimeZone'), 'Europe/Berlin')
        c.close()

    @unittest.skipIf(psycopg is None, 'psycopg 3 is not installed')
    def test_psycopg3_extended_binary_and_pipeline(self):
        import datetime
        import decimal
        import uuid
        with psycopg.connect(self.server.dsn()) as c:
            cur = c.cursor()
            cur.execute('CREATE TABLE typed (id int8 PRIMARY KEY, f float8, d numeric, ts timestamptz, u uuid, b bytea, '
                        'a int4[], j jsonb, ok bool, day date, span interval)')
            row = (7, 1.25, decimal.Decimal('-12.3400'), datetime.datetime(2026, 11, 30, 4, 21, tzinfo=datetime.timezone.utc),
                   uuid.UUID(int=12345), b'\x00\xff', [1, None, 3], psycopg.types.json.Jsonb({'k': [1, 2]}), True,
                   datetime.date(2024, 2, 29), datetime.timedelta(days=2, seconds=5))
            cur.execute('INSERT INTO typed VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)', row)
            for binary in (False, True):
                bc = c.cursor(binary=binary)
                bc.execute('SELECT * FROM typed WHERE id = %s', (7,))
                got = bc.fetchone()
                self.assertEqual(got[:7], row[:7], f'binary={binary}')
                self.assertEqual(got[7], {'k': [1, 2]})
                self.assertEqual(got[8:], row[8:])
            cur.executemany('INSERT INTO typed (id) VALUES (%s)', [(i,) for i in range(100, 150)])
            with c.pipeline():
                cur.execute('SELECT count(*) FROM typed')
                cur2 = c.cursor()
                cur2.execute('SELECT %s::text || %s', ('a', 'b'))
            self.assertEqual(cur.fetchone(), (51,))
            self.assertEqual(cur2.fetchone(), ('ab',))
            for _ in range(3):
                cur.execute('SELECT id FROM typed WHERE id = %s', (100,), prepare=True)
                self.assertEqual(cur.fetchone(), (100,))
            with self.assertRaises(psycopg.errors.UniqueViolation):
                cur.execute('INSERT INTO typed (id) VALUES (%s)', (7,))
        # Autocommit: the statements of one pipeline sync run as one transaction.
        with psycopg.connect(self.server.dsn(), autocommit=True) as c:
            # Utility statements through Parse/Bind/Execute run (they once answered EmptyQuery).
            c.execute('CREATE TABLE piped (id int PRIMARY KEY)', prepare=True)
            c.execute("SET application_name = 'piped'", prepare=True)
            self.assertEqual(c.execute('SHOW application_name').fetchone(), ('piped',))
            self.assertGreater(len(c.execute('SHOW ALL', prepare=True).fetchall()), 5)
            with c.transaction():
                c.execute('DECLARE piped_cur CURSOR FOR SELECT g FROM generate_series(1, 3) g')
                self.assertEqual(c.execute('FETCH 2 FROM piped_cur', prepare=True).fetchall(), [(1,), (2,)])
                self.assertEqual(c.execute('FETCH 2 FROM piped_cur', prepare=True).fetchall(), [(3,)])
            with self.assertRaises(psycopg.errors.UniqueViolation):
                with c.pipeline():
                    c.execute('INSERT INTO piped VALUES (%s)', (1,))
                    c.execute('INSERT INTO piped VALUES (%s)', (1,))
            self.assertEqual(c.execute('SELECT count(*) FROM piped').fetchone(), (0,))

    def test_pgbench(self):
        base = ['pgbench', '-h', '127.0.0.1', '-p', str(self.server.port), '-U', 'driftdb']

        def run(*args, seconds=None):
            r = subprocess.run(base + list(args) + ['driftdb'], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, f'pgbench {args}: {r.stdout}\n{r.stderr}')
            if seconds is not None:
                self.assertIn('number of failed transactions: 0 (0.000%)', r.stdout, r.stdout)
                processed = int(r.stdout.split('number of transactions actually processed: ')[1].split()[0].split('/')[0])
                self.assertGreater(processed, 0, r.stdout)
            return r.stdout
        run('-i', '-s', '1', '-q')
        # Every run without pgbench's vacuum step (-n: it truncates the history), so the history
        # keeps every transaction since the load.
        for mode in ('simple', 'prepared', 'extended'):
            run('-n', '-S', '-T', '5', '-c', '4', '-M', mode, seconds=5)
            run('-n', '-T', '5', '-c', '4', '-M', mode, seconds=5)
        c = self.server.connect()
        cur = c.cursor()
        cur.execute('SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(bbalance) FROM pgbench_branches), '
                    '(SELECT sum(tbalance) FROM pgbench_tellers), (SELECT sum(delta) FROM pgbench_history), '
                    '(SELECT count(*) FROM pgbench_history)')
        a, b, t, h, n = cur.fetchone()
        self.assertGreater(n, 0)
        self.assertEqual((a, b, t), (h, h, h), 'the balances do not add up')
        c.close()

    def test_bad_input_never_hurts_another_client(self):
        good = self.server.connect()
        good.autocommit = True
        stop = threading.Event()
        failures = []

        def query():
            cur = good.cursor()
            n = 0
            while not stop.is_set():
                try:
                    cur.execute('SELECT %s::int * 2', (n,))
                    if cur.fetchone() != (n * 2,):
                        failures.append(n)
                except Exception as e:  # noqa: BLE001 - any failure is the finding
                    failures.append(repr(e))
                    return
                n += 1
        t = threading.Thread(target=query)
        t.start()
        rng = random.Random(SEED)
        startup = struct.pack('!ii', 0, 196608) + b'user\x00driftdb\x00database\x00driftdb\x00\x00'
        startup = struct.pack('!i', len(startup)) + startup[4:]
        shapes = []
        for i in range(120):
            kind = i % 6
            if kind == 0:
                payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            elif kind == 1:
                payload = startup[:rng.randrange(1, len(startup))]
            elif kind == 2:
                payload = startup + b'Q' + struct.pack('!i', 0x7ffffff0)
            elif kind == 3:
                payload = startup + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            elif kind == 4:
                payload = startup + b'B' + struct.pack('!i', 12) + b'\x00\x00\xff\xff\xff\xff\x00'
            else:
                payload = struct.pack('!i', 1 << 30) + b'\x00' * 8
            shapes.append(kind)
            s = socket.create_connection(('127.0.0.1', self.server.port), timeout=5)
            try:
                s.sendall(payload)
                if rng.random() < 0.5:
                    s.shutdown(socket.SHUT_WR)
                    try:
                        while s.recv(4096):
                            pass
                    except OSError:
                        pass
            except OSError:
                pass
            finally:
                s.close()
        stop.set()
        t.join()
        self.assertEqual(failures, [], f'seed {SEED}')
        self.assertIsNone(self.server.proc.poll(), 'the server died')
        c = self.server.connect()
        c.cursor().execute('SELECT 1')
        c.close()
        good.close()


class TLS(unittest.TestCase):
    """A server with tls_cert and tls_key: sslmode=require works (psql, psycopg 3), and the
    session really runs over TLS; a server without them answers SSLRequest 'N'."""

    def test_sslmode_require(self):
        work = tempfile.mkdtemp(prefix='driftdb-tls-')
        self.addCleanup(shutil.rmtree, work, True)
        cert, key = os.path.join(work, 'server.crt'), os.path.join(work, 'server.key')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                        '-days', '2', '-subj', '/CN=127.0.0.1'], check=True, capture_output=True, timeout=60)
        server = Server(extra=f'    tls_cert: {cert}\n    tls_key: {key}\n')
        self.addCleanup(server.remove)
        env = dict(os.environ, PGCLIENTENCODING='UTF8', PGCONNECT_TIMEOUT='10')
        r = subprocess.run(['psql', '-X', f'host=127.0.0.1 port={server.port} user=driftdb dbname=driftdb sslmode=require',
                            '-c', '\\conninfo', '-c', 'CREATE TABLE secret (id int PRIMARY KEY)', '-c', 'INSERT INTO secret VALUES (1)',
                            '-c', 'SELECT count(*) FROM secret'],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('SSL connection (protocol: TLSv1.', r.stdout)
        self.assertIn(' 1\n', r.stdout)
        if psycopg is not None:
            with psycopg.connect(server.dsn(sslmode='require')) as c:
                self.assertTrue(c.pgconn.ssl_in_use)
                self.assertEqual(c.execute('SELECT id FROM secret WHERE id = %s', (1,)).fetchone(), (1,))
        # An SSLRequest with plaintext behind it in the same packet: the plaintext must never be
        # taken as if it had come through TLS (the connection is refused, nothing authenticated).
        startup = b'user\x00driftdb\x00database\x00driftdb\x00\x00'
        packet = struct.pack('!ii', 8, 80877103) + struct.pack('!ii', 8 + len(startup), 196608) + startup
        with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
            sock.sendall(packet)
            got = b''
            while True:
                try:
                    chunk = sock.recv(4096)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                got += chunk
        self.assertNotIn(b'R\x00\x00\x00\x08\x00\x00\x00\x00', got, 'plaintext after SSLRequest was authenticated')
        self.assertNotIn(b'S', got[:1])
        # Without TLS configured: sslmode=require is refused by the client (the server says 'N').
        plain = Server()
        self.addCleanup(plain.remove)
        r = subprocess.run(['psql', '-X', f'host=127.0.0.1 port={plain.port} user=driftdb dbname=driftdb sslmode=require',
                            '-c', 'SELECT 1'], capture_output=True, text=True, env=env, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('server does not support SSL', r.stderr)
        self.assertEqual(server.stop(), 0)


class Limits(unittest.TestCase):
    def setUp(self):
        self.server = Server(extra='    max_connections: 3\n    max_message_bytes: 65536\n    authentication_timeout_ms: 1000\n')

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0)
        self.server.remove()

    def test_connection_limit_and_message_size(self):
        held = [self.server.connect() for _ in range(3)]
        with self.assertRaises(psycopg2.OperationalError) as e:
            self.server.connect()
        self.assertIn('too many clients', str(e.exception))
        # Connections over the limit get no thread of their own: a flood of them, silent after
        # connecting, leaves the thread count where it was.
        def threads():
            return len(os.listdir(f'/proc/{self.server.proc.pid}/task'))
        before = threads()
        flood = [socket.create_connection(('127.0.0.1', self.server.port), timeout=10) for _ in range(60)]
        time.sleep(0.3)
        self.assertLess(threads() - before, 5)
        # Silent clients are dropped after authentication_timeout_ms; connected ones stay.
        quiet = socket.create_connection(('127.0.0.1', self.server.port), timeout=10)
        held.pop().close()
        time.sleep(0.2)
        quiet_within = socket.create_connection(('127.0.0.1', self.server.port), timeout=10)
        time.sleep(1.5)
        for f in flood + [quiet, quiet_within]:
            self.assertEqual(f.recv(100), b'')
            f.close()
        held[0].cursor().execute('SELECT 1')
        held.append(self.server.connect())
        held.pop().close()
        time.sleep(0.2)
        c = self.server.connect()
        with self.assertRaises(psycopg2.Error) as e:
            c.cursor().execute('SELECT ' + "'" + 'x' * 70000 + "'")
        # The connection that sent it is closed; the others keep working.
        held[0].cursor().execute('SELECT 1')
        for h in held:
            h.close()


class Lifecycle(unittest.TestCase):
    def test_sigterm_rolls_back_open_work_and_exits_zero(self):
        server = Server()
        try:
            c = server.connect()
            cur = c.cursor()
            cur.execute('CREATE TABLE kept (id int PRIMARY KEY)')
            cur.execute('INSERT INTO kept VALUES (1)')
            c.commit()
            cur.execute('INSERT INTO kept VALUES (2)')  # left open
            self.assertEqual(server.stop(signal.SIGTERM), 0, server.output())
            with self.assertRaises(psycopg2.Error):
                cur.execute('SELECT 1')
            server.start()
            c2 = server.connect()
            cur2 = c2.cursor()
            cur2.execute('SELECT id FROM kept ORDER BY id')
            self.assertEqual(cur2.fetchall(), [(1,)])
            c2.close()
            self.assertEqual(server.stop(), 0)
        finally:
            server.remove()

    def test_acknowledged_commits_survive_kill_nine(self):
        server = Server()
        rng = random.Random(SEED)
        acknowledged = set()
        try:
            c = server.connect()
            c.cursor().execute('CREATE TABLE acked (id int PRIMARY KEY, twice int NOT NULL)')
            c.cursor().execute('CREATE TABLE mirror (id int PRIMARY KEY)')
            c.commit()
            c.close()
            n = 0
            for cycle in range(10):
                stop = threading.Event()

                def writer():
                    nonlocal n
                    try:
                        w = server.connect()
                        cur = w.cursor()
                        while not stop.is_set():
                            n += 1
                            cur.execute('INSERT INTO acked VALUES (%s, %s)', (n, 2 * n))
                            cur.execute('INSERT INTO mirror VALUES (%s)', (n,))
                            w.commit()
                            acknowledged.add(n)
                    except psycopg2.Error:
                        pass
                t = threading.Thread(target=writer)
                t.start()
                time.sleep(0.05 + rng.random() * 0.3)
                server.stop(signal.SIGKILL)
                stop.set()
                t.join()
                server.start()
                v = server.connect()
                cur = v.cursor()
                cur.execute('SELECT id, twice FROM acked')
                rows = dict(cur.fetchall())
                cur.execute('SELECT id FROM mirror')
                mirror = {r[0] for r in cur.fetchall()}
                v.close()
                missing = acknowledged - set(rows)
                self.assertEqual(missing, set(), f'cycle {cycle}, seed {SEED}: acknowledged commits lost')
                self.assertEqual(set(rows), mirror, f'cycle {cycle}: a partial transaction is visible')
                self.assertTrue(all(v == 2 * k for k, v in rows.items()))
            self.assertGreater(len(acknowledged), 20)
            self.assertEqual(server.stop(), 0)
        finally:
            server.remove()


def main():
    """Runs the tests of the script that calls it (`--driftdb PATH` names the server binary;
    other arguments go to unittest, e.g. `-k pattern`)."""
    global DRIFTDB
    parser = argparse.ArgumentParser()
    parser.add_argument('--driftdb', required=True)
    args, rest = parser.parse_known_args()
    DRIFTDB = os.path.abspath(args.driftdb)
    print(f'compat: seed {SEED} (replay: SEED={SEED})', flush=True)
    unittest.main(module='__main__', argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == '__main__':
    main()
