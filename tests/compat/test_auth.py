#!/usr/bin/env python3
"""The auth plugin with real clients: SCRAM-SHA-256 and MD5 logins through psycopg2 and psql,
host rules (local trust, TLS-only roles, reject), wrong passwords (28P01) and refused
connections (28000), CREATE/ALTER/DROP ROLE and pg_roles as of a past seq.

    python3 tests/compat/test_auth.py --driftdb .build/release/driftdb [-k pattern]
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pgwire  # noqa: E402
from test_pgwire import Server, psycopg2  # noqa: E402

PASSWORD = 'Adm1n secret'


def auth_config(cert, key, metrics_port):
    return (f'    tls_cert: {cert}\n    tls_key: {key}\n'
            f'  - kind: metrics\n    listen: 127.0.0.1:{metrics_port}\n'
            '  - kind: auth\n'
            '    superuser: admin\n'
            '    rules:\n'
            '      - {connection: local, database: all, user: all, method: trust}\n'
            '      - {connection: hostnossl, database: all, user: tlsonly, method: reject}\n'
            '      - {connection: host, database: all, user: "old,victim", address: 127.0.0.0/8, method: md5}\n'
            '      - {connection: host, database: all, user: all, address: 127.0.0.1/32, method: scram-sha-256}\n')


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix='driftdb-auth-')
        cls.cert, cls.key = os.path.join(cls.work, 'server.crt'), os.path.join(cls.work, 'server.key')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', cls.key, '-out', cls.cert,
                        '-days', '2', '-subj', '/CN=127.0.0.1'], check=True, capture_output=True)
        os.environ['DRIFTDB_PASSWORD'] = PASSWORD
        try:
            cls.metrics_port = test_pgwire.free_port()
            cls.server = Server(extra=auth_config(cls.cert, cls.key, cls.metrics_port))
        finally:
            del os.environ['DRIFTDB_PASSWORD']
        c = cls.admin()
        cur = c.cursor()
        cur.execute("CREATE ROLE app LOGIN PASSWORD 'app pw'")
        cur.execute("CREATE USER tlsonly PASSWORD 'tls pw'")
        cur.execute("CREATE ROLE nologin PASSWORD 'x'")
        cur.execute("SET password_encryption = 'md5'")
        cur.execute("CREATE USER old PASSWORD 'old pw'")
        cur.execute("CREATE USER victim PASSWORD 'victim pw'")
        c.close()

    @classmethod
    def tearDownClass(cls):
        cls.server.remove()

    @classmethod
    def admin(cls):
        c = cls.server.connect(user='admin', password=PASSWORD)
        c.autocommit = True
        return c

    def refused(self, **kw):
        """The server's FATAL message for a connection it refuses (libpq keeps no SQLSTATE
        for a failed connection: `sqlstate` reads it off the wire)."""
        with self.assertRaises(psycopg2.OperationalError) as e:
            self.server.connect(**kw).close()
        return str(e.exception)

    def sqlstate(self, user, md5_answer=None, source='127.0.0.1'):
        """The SQLSTATE of the ErrorResponse a TCP startup as `user` from `source` ends in
        (None: AuthenticationOk), answering an MD5 challenge with `md5_answer`."""
        with socket.create_connection(('127.0.0.1', self.server.port), timeout=10, source_address=(source, 0)) as sock:
            body = struct.pack('!i', 196608) + b'user\0' + user.encode() + b'\0database\0driftdb\0\0'
            sock.sendall(struct.pack('!i', len(body) + 4) + body)
            f = sock.makefile('rb')
            while True:
                kind = f.read(1)
                n = struct.unpack('!i', f.read(4))[0]
                payload = f.read(n - 4)
                if kind == b'R' and struct.unpack('!i', payload[:4])[0] == 5 and md5_answer is not None:
                    answer = md5_answer.encode() + b'\0'
                    sock.sendall(b'p' + struct.pack('!i', len(answer) + 4) + answer)
                    continue
                if kind == b'R' and struct.unpack('!i', payload[:4])[0] == 0:
                    return None
                if kind == b'E':
                    fields = {p[:1]: p[1:].decode() for p in payload.split(b'\0') if p}
                    return fields[b'C']
                self.fail(f'unexpected message {kind!r} {payload!r}')

    def test_scram_login_right_and_wrong_password(self):
        c = self.server.connect(user='app', password='app pw')
        cur = c.cursor()
        cur.execute('SELECT current_user, session_user')
        self.assertEqual(cur.fetchone(), ('app', 'app'))
        self.assertEqual((c.get_parameter_status('is_superuser'), c.get_parameter_status('session_authorization')), ('off', 'app'))
        c.close()
        self.assertEqual(self.admin().get_parameter_status('is_superuser'), 'on')
        wrong = self.refused(user='app', password='nope')
        self.assertIn('password authentication failed for user "app"', wrong)
        # An unknown role fails the same way: nothing says it does not exist.
        unknown = self.refused(user='ghost', password='nope')
        self.assertIn('password authentication failed for user "ghost"', unknown)

    def test_the_stored_password_is_a_scram_verifier(self):
        # Through the log: CREATE ROLE's event holds the verifier, never the password.
        with open(os.path.join(self.server.data, 'segments', sorted(os.listdir(os.path.join(self.server.data, 'segments')))[0]), 'rb') as f:
            log = f.read()
        self.assertNotIn(b'app pw', log)
        self.assertNotIn(PASSWORD.encode(), log)
        self.assertIn(b'SCRAM-SHA-256$4096:', log)

    def test_psql_logs_in_with_scram_over_tls_and_with_channel_binding(self):
        env = dict(os.environ, PGPASSWORD='app pw')
        for mode in ('disable', 'require'):
            r = subprocess.run(['psql', '-X', '-At', '-c', 'SELECT current_user',
                                f'host=127.0.0.1 port={self.server.port} user=app dbname=driftdb sslmode={mode}'],
                               capture_output=True, text=True, env=env, timeout=30)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, 'app'), r.stderr)
        # SCRAM-SHA-256-PLUS: the exchange bound to this TLS connection's certificate.
        r = subprocess.run(['psql', '-X', '-At', '-c', 'SELECT current_user',
                            f'host=127.0.0.1 port={self.server.port} user=app dbname=driftdb sslmode=require channel_binding=require'],
                           capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, 'app'), r.stderr)
        # Without TLS there is nothing to bind to: libpq refuses rather than log in unbound.
        r = subprocess.run(['psql', '-X', '-At', '-c', 'SELECT 1',
                            f'host=127.0.0.1 port={self.server.port} user=app dbname=driftdb sslmode=disable channel_binding=require'],
                           capture_output=True, text=True, env=env, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        env['PGPASSWORD'] = 'wrong'
        r = subprocess.run(['psql', '-X', '-At', '-c', 'SELECT 1', f'host=127.0.0.1 port={self.server.port} user=app dbname=driftdb'],
                           capture_output=True, text=True, env=env, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('password authentication failed for user "app"', r.stderr)

    def test_pgjdbc_logs_in_with_scram(self):
        jar = '/usr/share/java/postgresql.jar'
        out = tempfile.mkdtemp(prefix='driftdb-jdbc-auth-')
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'jdbc', 'JdbcAuth.java')
        subprocess.run(['javac', '-d', out, '-cp', jar, source], check=True, timeout=300)
        r = subprocess.run(['java', '-cp', f'{jar}:{out}', 'JdbcAuth', f'jdbc:postgresql://127.0.0.1:{self.server.port}/driftdb',
                            'app', 'app pw'], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('jdbc auth checks passed', r.stdout)

    def test_sqlalchemy_over_psycopg3_logs_in_with_scram(self):
        import sqlalchemy
        from urllib.parse import quote
        engine = sqlalchemy.create_engine(f"postgresql+psycopg://app:{quote('app pw')}@127.0.0.1:{self.server.port}/driftdb")
        try:
            with engine.connect() as c:
                self.assertEqual(c.execute(sqlalchemy.text('SELECT current_user')).scalar(), 'app')
            bad = sqlalchemy.create_engine(f"postgresql+psycopg://app:wrong@127.0.0.1:{self.server.port}/driftdb")
            with self.assertRaises(sqlalchemy.exc.OperationalError) as e:
                bad.connect()
            self.assertIn('password authentication failed for user "app"', str(e.exception))
            bad.dispose()
        finally:
            engine.dispose()

    def test_a_brute_force_from_one_address_is_throttled_and_others_go_on(self):
        wrong = 'md5' + '0' * 32
        states = [self.sqlstate('victim', md5_answer=wrong, source='127.0.0.3') for _ in range(1000)]
        # A handful were checked (28P01); the rest were refused without a check (28000).
        self.assertLess(states.count('28P01'), 40, states[:60])
        self.assertEqual(states.count('28P01') + states.count('28000'), 1000)
        # That address waits out its window whoever it names: refused before any challenge.
        self.assertEqual(self.sqlstate('app', source='127.0.0.3'), '28000')
        # Another address and another role are untouched.
        started = time.time()
        c = self.server.connect(user='app', password='app pw')
        c.close()
        print(f'login from another address during the throttle: {(time.time() - started) * 1000:.1f} ms', flush=True)
        self.assertLess(time.time() - started, 5)
        self.assertGreaterEqual(self.attempts('throttled'), states.count('28000'))
        self.assertGreaterEqual(self.attempts('wrong_password'), states.count('28P01'))

    def attempts(self, result):
        """driftdb_auth_attempts_total{result} as the metrics plugin serves it."""
        text = urllib.request.urlopen(f'http://127.0.0.1:{self.metrics_port}/metrics', timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith(f'driftdb_auth_attempts_total{{result="{result}"}} '):
                return float(line.split(' ')[1])
        return 0

    def test_a_roles_connection_limit_holds_except_for_superusers(self):
        c = self.admin()
        cur = c.cursor()
        cur.execute("CREATE ROLE limited LOGIN CONNECTION LIMIT 1 PASSWORD 'lim'")
        first = self.server.connect(user='limited', password='lim')
        self.assertIn('too many connections for role "limited"', self.refused(user='limited', password='lim'))
        first.close()
        # The slot frees when the connection closes (its session unregisters as it ends).
        deadline = time.time() + 10
        while True:
            try:
                self.server.connect(user='limited', password='lim').close()
                break
            except psycopg2.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        cur.execute('ALTER ROLE admin CONNECTION LIMIT 0')
        self.admin().close()
        cur.execute('ALTER ROLE admin CONNECTION LIMIT -1')
        cur.execute('DROP ROLE limited')
        c.close()

    def test_md5_role_through_psycopg2(self):
        c = self.server.connect(user='old', password='old pw')
        cur = c.cursor()
        cur.execute('SELECT current_user')
        self.assertEqual(cur.fetchone(), ('old',))
        c.close()
        self.assertIn('password authentication failed', self.refused(user='old', password='bad'))
        self.assertEqual(self.sqlstate('old', md5_answer='md5' + '0' * 32), '28P01')
        self.assertEqual(self.sqlstate('tlsonly'), '28000')

    def test_rules_local_trust_tls_only_and_nologin(self):
        # The Unix socket is trusted: no password.
        c = self.server.connect(host=self.server.dir, user='app')
        cur = c.cursor()
        cur.execute('SELECT current_user')
        self.assertEqual(cur.fetchone(), ('app',))
        c.close()
        # tlsonly: refused without TLS (28000), admitted with it.
        self.assertIn('authentication rule rejects', self.refused(user='tlsonly', password='tls pw', sslmode='disable'))
        c = self.server.connect(user='tlsonly', password='tls pw', sslmode='require')
        c.close()
        # Trust still needs a role that exists and may log in.
        self.assertIn('role "ghost" does not exist', self.refused(host=self.server.dir, user='ghost'))
        self.assertIn('is not permitted to log in', self.refused(user='nologin', password='x'))

    def test_role_ddl_rights_and_history(self):
        c = self.admin()
        cur = c.cursor()
        cur.execute('SELECT max(drift_seq) FROM drift_events')
        before = cur.fetchone()[0]
        cur.execute("CREATE ROLE temp_role LOGIN CONNECTION LIMIT 3 VALID UNTIL '2100-01-01 00:00:00+00' PASSWORD 'tmp'")
        cur.execute("SELECT rolname, rolcanlogin, rolsuper, rolconnlimit, rolpassword, rolvaliduntil::text FROM pg_roles "
                    "WHERE rolname = 'temp_role'")
        self.assertEqual(cur.fetchone(), ('temp_role', True, False, 3, '********', '2100-01-01 00:00:00+00'))
        cur.execute(f"SELECT count(*) FROM pg_roles AS OF @seq:{before} WHERE rolname = 'temp_role'")
        self.assertEqual(cur.fetchone(), (0,))
        for sql, state in [("CREATE ROLE temp_role", '42710'), ("CREATE ROLE pg_x", '42939'), ("DROP ROLE nobody", '42704'),
                           ("DROP ROLE admin", '55006')]:
            with self.assertRaises(psycopg2.Error) as e:
                cur.execute(sql)
            self.assertEqual(e.exception.pgcode, state, sql)
        # A role without CREATEROLE may change its own password, nothing else.
        a = self.server.connect(user='app', password='app pw')
        a.autocommit = True
        acur = a.cursor()
        for sql in ["CREATE ROLE x", "ALTER ROLE temp_role NOLOGIN", "ALTER ROLE app SUPERUSER", "DROP ROLE temp_role"]:
            with self.assertRaises(psycopg2.Error) as e:
                acur.execute(sql)
            self.assertEqual(e.exception.pgcode, '42501', sql)
        acur.execute("ALTER ROLE app PASSWORD 'app pw 2'")
        a.close()
        self.server.connect(user='app', password='app pw 2').close()
        self.refused(user='app', password='app pw')
        cur.execute("ALTER ROLE app PASSWORD 'app pw'")
        cur.execute('ALTER ROLE temp_role RENAME TO temp2')
        cur.execute('DROP ROLE temp2')
        cur.execute('DROP ROLE IF EXISTS temp2')
        self.assertEqual(c.notices[-1].strip(), 'NOTICE:  role "temp2" does not exist, skipping')
        c.close()


if __name__ == '__main__':
    test_pgwire.main()
