#!/usr/bin/env python3
"""The auth plugin with real clients: SCRAM-SHA-256 and MD5 logins through psycopg2 and psql,
host rules (local trust, TLS-only roles, reject), wrong passwords (28P01) and refused
connections (28000), CREATE/ALTER/DROP ROLE and pg_roles as of a past seq.

    python3 tests/compat/test_auth.py --driftdb .build/release/driftdb [-k pattern]
"""
import os
import re
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
        a = self.admin()
        self.assertEqual(a.get_parameter_status('is_superuser'), 'on')
        # It follows SET ROLE, as ParameterStatus and SHOW, and the end of SET LOCAL's block.
        acur = a.cursor()
        for sql, want in [('SET ROLE app', 'off'), ('RESET ROLE', 'on'), ('BEGIN', 'on'), ('SET LOCAL ROLE app', 'off'), ('COMMIT', 'on')]:
            acur.execute(sql)
            acur.execute('SHOW is_superuser')
            self.assertEqual((a.get_parameter_status('is_superuser'), acur.fetchone()[0]), (want, want), sql)
        a.close()
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

    def test_a_roles_settings_apply_to_its_sessions(self):
        c = self.admin()
        cur = c.cursor()
        cur.execute("CREATE ROLE timed LOGIN PASSWORD 'tp'")
        cur.execute("ALTER ROLE timed SET statement_timeout = '200ms'")
        cur.execute("ALTER ROLE timed SET application_name TO 'batch'")
        cur.execute("SELECT rolconfig FROM pg_roles WHERE rolname = 'timed'")
        self.assertEqual(cur.fetchone(), (['statement_timeout=200ms', 'application_name=batch'],))
        with self.assertRaises(psycopg2.Error) as e:
            cur.execute("ALTER ROLE timed SET statement_timeout = 'soon'")
        self.assertEqual(e.exception.pgcode, '22023')
        t = self.server.connect(user='timed', password='tp')
        tcur = t.cursor()
        tcur.execute('SHOW statement_timeout')
        self.assertEqual(tcur.fetchone(), ('200ms',))
        with self.assertRaises(psycopg2.Error) as e:
            tcur.execute('SELECT pg_sleep(2)')
        self.assertEqual(e.exception.pgcode, '57014')
        t.close()
        cur.execute('ALTER ROLE timed RESET statement_timeout')
        t = self.server.connect(user='timed', password='tp')
        tcur = t.cursor()
        tcur.execute('SHOW statement_timeout')
        self.assertEqual(tcur.fetchone(), ('0',))
        t.close()
        cur.execute('ALTER ROLE timed RESET ALL')
        cur.execute("SELECT rolconfig FROM pg_roles WHERE rolname = 'timed'")
        self.assertEqual(cur.fetchone(), (None,))
        cur.execute('DROP ROLE timed')
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


    def role_conn(self, user, password='m', **kw):
        c = self.server.connect(user=user, password=password, **kw)
        c.autocommit = True
        return c

    def outcome(self, cur, sql):
        """'ok' or the SQLSTATE a statement fails with."""
        try:
            cur.execute(sql)
            return 'ok'
        except psycopg2.Error as e:
            return e.pgcode

    def test_grant_matrix(self):
        """Each privilege on each kind of object, held directly, through a granted role and
        through PUBLIC: what it allows succeeds, everything else fails with 42501, and
        has_*_privilege says the same; REVOKE takes effect at a live session's next statement."""
        c = self.admin()
        cur = c.cursor()
        cur.execute("CREATE ROLE m_direct LOGIN PASSWORD 'm'")
        cur.execute("CREATE ROLE m_member LOGIN PASSWORD 'm'")
        cur.execute("CREATE ROLE m_other LOGIN PASSWORD 'm'")
        cur.execute('CREATE ROLE m_group')
        cur.execute('GRANT m_group TO m_member')
        # REFERENCES is exercised by creating a referencing table.
        cur.execute('GRANT CREATE ON SCHEMA public TO m_direct, m_member, m_other')
        paths = [('direct', 'm_direct', 'm_direct'), ('group', 'm_group', 'm_member'), ('public', 'PUBLIC', 'm_other')]
        table_statements = {
            'SELECT': 'SELECT * FROM {t}',
            'INSERT': 'INSERT INTO {t} VALUES ({n}, 0)',
            'UPDATE': 'UPDATE {t} SET v = 1',
            'DELETE': 'DELETE FROM {t}',
            'TRUNCATE': 'TRUNCATE {t}',
            'REFERENCES': 'CREATE TABLE {t}_ref{n} (a int REFERENCES {t})',
        }
        sequence_statements = {'USAGE': "SELECT nextval('{t}')", 'SELECT': 'SELECT last_value FROM {t}',
                               'UPDATE': "SELECT setval('{t}', 10)"}
        # nextval takes USAGE or UPDATE.
        sequence_implies = {'UPDATE': {'UPDATE', 'USAGE'}}
        schema_statements = {'USAGE': 'SELECT * FROM {t}.inside', 'CREATE': 'CREATE TABLE {t}.made (a int)'}
        n = 1000
        for kind, statements in [('table', table_statements), ('sequence', sequence_statements), ('schema', schema_statements)]:
            for privilege in statements:
                for path, grantee, user in paths:
                    name = f'g_{kind[:3]}_{privilege.lower()}_{path}'
                    if kind == 'table':
                        cur.execute(f'CREATE TABLE {name} (id int PRIMARY KEY, v int)')
                        cur.execute(f'INSERT INTO {name} VALUES (1, 1)')
                    elif kind == 'sequence':
                        cur.execute(f'CREATE SEQUENCE {name}')
                    else:
                        cur.execute(f'CREATE SCHEMA {name}')
                        cur.execute(f'CREATE TABLE {name}.inside (a int)')
                        cur.execute(f'GRANT SELECT ON {name}.inside TO PUBLIC')
                    on = {'table': 'TABLE', 'sequence': 'SEQUENCE', 'schema': 'SCHEMA'}[kind]
                    cur.execute(f'GRANT {privilege} ON {on} {name} TO {grantee}')
                    r = self.role_conn(user)
                    rcur = r.cursor()
                    allowed = sequence_implies.get(privilege, {privilege}) if kind == 'sequence' else {privilege}
                    for other, sql in statements.items():
                        n += 1
                        got = self.outcome(rcur, sql.format(t=name, n=n))
                        self.assertEqual(got, 'ok' if other in allowed else '42501', f'{user} holding {privilege} on {kind} {name}: {sql}')
                        function = {'table': 'has_table_privilege', 'sequence': 'has_sequence_privilege', 'schema': 'has_schema_privilege'}[kind]
                        rcur.execute(f'SELECT {function}(%s, %s)', (name, other))
                        self.assertEqual(rcur.fetchone()[0], other == privilege, f'{function}({name}, {other}) as {user}')
                    # REVOKE reaches the live session at its next statement.
                    cur.execute(f'REVOKE {privilege} ON {on} {name} FROM {grantee}')
                    n += 1
                    self.assertEqual(self.outcome(rcur, statements[privilege].format(t=name, n=n)), '42501', f'after REVOKE {privilege} on {name}')
                    r.close()
        # The message is PostgreSQL's.
        r = self.role_conn('m_direct')
        with self.assertRaises(psycopg2.Error) as e:
            r.cursor().execute('SELECT * FROM g_tab_select_direct')
        self.assertEqual(e.exception.pgerror.splitlines()[0], 'ERROR:  permission denied for table g_tab_select_direct')
        r.close()

    def test_owners_grant_options_and_acl_columns(self):
        c = self.admin()
        cur = c.cursor()
        cur.execute("CREATE ROLE o_owner LOGIN PASSWORD 'm'")
        cur.execute("CREATE ROLE o_reader LOGIN PASSWORD 'm'")
        cur.execute("CREATE ROLE o_third LOGIN PASSWORD 'm'")
        o = self.role_conn('o_owner')
        ocur = o.cursor()
        # PostgreSQL 15: nobody but the owner creates in public until granted.
        self.assertEqual(self.outcome(ocur, 'CREATE TABLE owned (id int PRIMARY KEY, v text)'), '42501')
        cur.execute('GRANT CREATE ON SCHEMA public TO o_owner')
        ocur.execute('CREATE TABLE owned (id int PRIMARY KEY, v text)')
        ocur.execute("INSERT INTO owned VALUES (1, 'a')")
        cur.execute("SELECT pg_get_userbyid(relowner), relacl FROM pg_class WHERE relname = 'owned'")
        self.assertEqual(cur.fetchone(), ('o_owner', None))
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'owned'")
        self.assertEqual(cur.fetchone(), ('o_owner',))
        r = self.role_conn('o_reader')
        rcur = r.cursor()
        self.assertEqual(self.outcome(rcur, 'SELECT * FROM owned'), '42501')
        ocur.execute('GRANT SELECT ON owned TO o_reader WITH GRANT OPTION')
        rcur.execute('SELECT * FROM owned')
        self.assertEqual(rcur.fetchall(), [(1, 'a')])
        # With the grant option the reader passes SELECT on, and only SELECT.
        rcur.execute('GRANT SELECT ON owned TO o_third')
        self.assertEqual(self.outcome(rcur, 'GRANT INSERT ON owned TO o_third'), 'ok')
        self.assertIn('no privileges were granted for "owned"', r.notices[-1])
        cur.execute("SELECT relacl FROM pg_class WHERE relname = 'owned'")
        self.assertEqual(cur.fetchone()[0], ['o_owner=arwdDxt/o_owner', 'o_reader=r*/o_owner', 'o_third=r/o_reader'])
        # Revoking the option needs CASCADE once it was used.
        self.assertEqual(self.outcome(ocur, 'REVOKE GRANT OPTION FOR SELECT ON owned FROM o_reader'), '2BP01')
        ocur.execute('REVOKE GRANT OPTION FOR SELECT ON owned FROM o_reader CASCADE')
        cur.execute("SELECT relacl FROM pg_class WHERE relname = 'owned'")
        self.assertEqual(cur.fetchone()[0], ['o_owner=arwdDxt/o_owner', 'o_reader=r/o_owner'])
        # Only the owner alters or drops; ownership moves to a role the owner is a member of.
        for sql in ['DROP TABLE owned', 'ALTER TABLE owned ADD COLUMN x int', 'CREATE INDEX ON owned (v)']:
            self.assertEqual(self.outcome(rcur, sql), '42501', sql)
        self.assertEqual(self.outcome(ocur, 'ALTER TABLE owned OWNER TO o_reader'), '42501')
        cur.execute('ALTER TABLE owned OWNER TO o_reader')
        cur.execute("SELECT pg_get_userbyid(relowner), relacl FROM pg_class WHERE relname = 'owned'")
        self.assertEqual(cur.fetchone(), ('o_reader', ['o_reader=arwdDxt/o_reader']))
        # A role that owns objects or holds privileges cannot be dropped.
        with self.assertRaises(psycopg2.Error) as e:
            cur.execute('DROP ROLE o_reader')
        self.assertEqual(e.exception.pgcode, '2BP01')
        self.assertIn('owner of table owned', e.exception.pgerror)
        rcur.execute('DROP TABLE owned')
        # A view reads its tables with its owner's rights.
        cur.execute('CREATE TABLE secret (id int, s text)')
        cur.execute("INSERT INTO secret VALUES (1, 'x')")
        cur.execute('SELECT max(drift_seq) FROM drift_events')
        written = cur.fetchone()[0]
        cur.execute('CREATE VIEW secret_ids AS SELECT id FROM secret')
        cur.execute('GRANT SELECT ON secret_ids TO o_third')
        t = self.role_conn('o_third')
        tcur = t.cursor()
        tcur.execute('SELECT * FROM secret_ids')
        self.assertEqual(tcur.fetchall(), [(1,)])
        self.assertEqual(self.outcome(tcur, 'SELECT * FROM secret'), '42501')
        self.assertEqual(self.outcome(tcur, f'SELECT * FROM secret AS OF @seq:{written}'), '42501')
        # drift_events shows only the tables the reader may read.
        tcur.execute("SELECT DISTINCT table_name FROM drift_events WHERE table_name IN ('secret', 'secret_ids')")
        self.assertEqual(tcur.fetchall(), [])
        cur.execute('GRANT SELECT ON secret TO o_third')
        tcur.execute("SELECT DISTINCT table_name FROM drift_events WHERE table_name = 'secret'")
        self.assertEqual(tcur.fetchall(), [('secret',)])
        for conn in (o, r, t):
            conn.close()
        cur.execute('DROP VIEW secret_ids')
        cur.execute('DROP TABLE secret')
        cur.execute('REVOKE CREATE ON SCHEMA public FROM o_owner')
        for role in ('o_owner', 'o_reader', 'o_third'):
            cur.execute(f'DROP ROLE {role}')

    def test_role_membership_set_role_and_catalog(self):
        c = self.admin()
        cur = c.cursor()
        cur.execute('CREATE ROLE s_group')
        cur.execute('CREATE ROLE s_noinherit NOINHERIT')
        cur.execute("CREATE ROLE s_user LOGIN PASSWORD 'm'")
        cur.execute("CREATE ROLE s_stranger LOGIN PASSWORD 'm'")
        cur.execute('CREATE TABLE s_data (x int)')
        cur.execute('GRANT SELECT ON s_data TO s_group')
        cur.execute('GRANT s_group TO s_user WITH ADMIN OPTION')
        cur.execute('GRANT s_noinherit TO s_stranger')
        cur.execute('GRANT s_group TO s_noinherit')
        self.assertEqual(self.outcome(cur, 'GRANT s_user TO s_group'), '0LP01')
        cur.execute("SELECT r.rolname, m.rolname, admin_option FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
                    "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname LIKE 's\\_%' ORDER BY 1, 2")
        self.assertEqual(cur.fetchall(), [('s_group', 's_noinherit', False), ('s_group', 's_user', True),
                                          ('s_noinherit', 's_stranger', False)])
        u = self.role_conn('s_user')
        ucur = u.cursor()
        ucur.execute('SELECT * FROM s_data')
        ucur.execute("SELECT pg_has_role('s_group', 'MEMBER'), pg_has_role('s_stranger', 'MEMBER')")
        self.assertEqual(ucur.fetchone(), (True, False))
        # SET ROLE: to a role one is a member of; current_user changes, session_user does not.
        self.assertEqual(self.outcome(ucur, 'SET ROLE s_stranger'), '42501')
        ucur.execute('SET ROLE s_group')
        ucur.execute('SELECT current_user, session_user')
        self.assertEqual(ucur.fetchone(), ('s_group', 's_user'))
        ucur.execute('RESET ROLE')
        ucur.execute('SELECT current_user')
        self.assertEqual(ucur.fetchone(), ('s_user',))
        # Nor through a startup option, set_config or the role's own defaults.
        self.assertIn('permission denied to set role "s_stranger"', self.refused(user='s_user', password='m', options='-c role=s_stranger'))
        self.assertEqual(self.outcome(ucur, "SELECT set_config('role', 's_stranger', false)"), '42501')
        # A default the role may not take is skipped at login (PostgreSQL warns and goes on).
        cur.execute("ALTER ROLE s_user SET role = 's_stranger'")
        with self.role_conn('s_user') as g:
            gcur = g.cursor()
            gcur.execute('SELECT current_user')
            self.assertEqual(gcur.fetchone(), ('s_user',))
        g.close()
        cur.execute("ALTER ROLE s_user SET role = 's_group'")
        with self.role_conn('s_user') as g:
            gcur = g.cursor()
            gcur.execute('SELECT current_user')
            self.assertEqual(gcur.fetchone(), ('s_group',))
        g.close()
        cur.execute('ALTER ROLE s_user RESET role')
        with self.role_conn('s_user', options='-c role=s_group') as g:
            gcur = g.cursor()
            gcur.execute('SELECT current_user, session_user')
            self.assertEqual(gcur.fetchone(), ('s_group', 's_user'))
        g.close()
        # ADMIN OPTION lets s_user grant the role on.
        ucur.execute('GRANT s_group TO s_stranger')
        u.close()
        # NOINHERIT: s_stranger's membership in s_noinherit does not pass s_group's rights
        # through it, but its direct membership (just granted) does.
        s = self.role_conn('s_stranger')
        scur = s.cursor()
        scur.execute('SELECT * FROM s_data')
        cur.execute('REVOKE s_group FROM s_stranger')
        self.assertEqual(self.outcome(scur, 'SELECT * FROM s_data'), '42501')
        # As s_noinherit, nothing of s_group's; but s_group may be set (membership, not inheritance).
        scur.execute('SET ROLE s_noinherit')
        self.assertEqual(self.outcome(scur, 'SELECT * FROM s_data'), '42501')
        scur.execute('SET ROLE s_group')
        scur.execute('SELECT * FROM s_data')
        s.close()
        # psql's \du and \dp read what the catalog says.
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        out = subprocess.run(['psql', '-X', '-c', r'\du s_*', '-c', r'\dp s_data',
                              f'host=127.0.0.1 port={self.server.port} user=admin dbname=driftdb'],
                             capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r's_user\s*\|[^\n]*\|\s*\{s_group\}')
        self.assertRegex(out.stdout, r's_noinherit\s*\|\s*No inheritance, Cannot login\s*\|\s*\{s_group\}')
        self.assertIn('admin=arwdDxt/admin', out.stdout)
        self.assertIn('s_group=r/admin', out.stdout)
        cur.execute('DROP TABLE s_data')
        for role in ('s_user', 's_stranger', 's_noinherit', 's_group'):
            cur.execute(f'DROP ROLE {role}')


    def test_row_level_security_model(self):
        """A multi-tenant table under permissive and restrictive policies and a seeded random
        history: every current and historical read (AS OF, FOR SYSTEM_TIME ALL and BETWEEN,
        joins, subqueries, a view, drift_events, COPY TO, SHOW DRIFT) returns exactly the rows
        a model of the policies allows; writes outside WITH CHECK fail; side channels are
        closed where PostgreSQL closes them."""
        import random
        rng = random.Random(int(os.environ.get('SEED', '20261202')))
        c = self.admin()
        cur = c.cursor()
        for sql in [
            "CREATE ROLE r_alice LOGIN PASSWORD 'm'", "CREATE ROLE r_bob LOGIN PASSWORD 'm'",
            "CREATE ROLE r_auditor LOGIN PASSWORD 'm'", 'CREATE ROLE r_viewer', 'CREATE ROLE r_users',
            'GRANT r_users TO r_alice, r_bob',
            'CREATE TABLE docs (id int PRIMARY KEY, tenant text NOT NULL, author text NOT NULL, secret int NOT NULL, body text)',
            'CREATE TABLE tenants (name text PRIMARY KEY, label text)',
            "INSERT INTO tenants VALUES ('t1', 'one'), ('t2', 'two'), ('t3', 'three')",
            'GRANT SELECT ON tenants TO PUBLIC',
            'GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO r_users',
            'GRANT SELECT ON docs TO r_auditor, r_viewer',
            'ALTER TABLE docs ENABLE ROW LEVEL SECURITY',
            "CREATE POLICY tenant_rows ON docs USING (tenant = current_setting('app.tenant', true)) "
            "WITH CHECK (tenant = current_setting('app.tenant', true))",
            'CREATE POLICY auditor_reads ON docs FOR SELECT TO r_auditor USING (true)',
            'CREATE POLICY no_secrets ON docs AS RESTRICTIVE FOR SELECT USING (secret < 90)',
            'CREATE POLICY own_updates ON docs AS RESTRICTIVE FOR UPDATE USING (author = current_user)',
            'CREATE VIEW docs_view AS SELECT id, tenant, secret FROM docs',
            'GRANT SELECT ON docs_view TO r_users, r_auditor',
            'ALTER VIEW docs_view OWNER TO r_viewer',
        ]:
            cur.execute(sql)
        cur.execute("SELECT polname, polcmd, polpermissive FROM pg_policy ORDER BY 1")
        self.assertEqual(cur.fetchall(), [('auditor_reads', 'r', True), ('no_secrets', 'r', False),
                                          ('own_updates', 'w', False), ('tenant_rows', '*', True)])
        cur.execute("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'docs'")
        self.assertEqual(cur.fetchone(), (True, False))

        # The seeded history, written by the admin (a superuser: no policy binds it).
        state, versions, events, seqs = {}, [], [], []
        next_id = 1
        def last_seq():
            cur.execute("SELECT max(drift_seq) FROM drift_events")
            return cur.fetchone()[0]
        for step in range(60):
            op = rng.choice(['insert', 'insert', 'update', 'delete']) if state else 'insert'
            if op == 'insert':
                row = (rng.choice(['t1', 't2', 't3']), rng.choice(['r_alice', 'r_bob']), rng.randrange(100), f'b{step}')
                cur.execute('INSERT INTO docs VALUES (%s, %s, %s, %s, %s)', (next_id,) + row)
                key, image = next_id, row
                next_id += 1
            elif op == 'update':
                key = rng.choice(sorted(state))
                old = state[key]
                image = (rng.choice(['t1', 't2', 't3']) if rng.random() < 0.3 else old[0], old[1], rng.randrange(100), f'b{step}')
                cur.execute('UPDATE docs SET tenant = %s, secret = %s, body = %s WHERE id = %s', (image[0], image[2], image[3], key))
            else:
                key = rng.choice(sorted(state))
                image = state[key]
                cur.execute('DELETE FROM docs WHERE id = %s', (key,))
            seq = last_seq()
            if op == 'delete':
                del state[key]
                for v in versions:
                    if v['id'] == key and v['end'] is None:
                        v['end'] = seq
            else:
                for v in versions:
                    if v['id'] == key and v['end'] is None:
                        v['end'] = seq
                state[key] = image
                versions.append({'id': key, 'row': image, 'start': seq, 'end': None})
            events.append((seq, op, key, image))
            seqs.append((seq, dict(state)))
        # A hidden row whose secret would divide by zero, for the error-channel probe.
        cur.execute("INSERT INTO docs VALUES (5000, 't1', 'r_bob', 95, 'hidden')")
        hidden_seq = last_seq()
        state[5000] = ('t1', 'r_bob', 95, 'hidden')
        versions.append({'id': 5000, 'row': state[5000], 'start': hidden_seq, 'end': None})
        events.append((hidden_seq, 'insert', 5000, state[5000]))

        def allows(who, tenant, row, through_view=False):
            t, _, secret, _ = row
            if secret >= 90:
                return False
            if who == 'r_auditor' and not through_view:
                return True
            return t == tenant

        checked = 0
        for who, tenant in [('r_alice', 't1'), ('r_bob', 't2'), ('r_auditor', 't3')]:
            conn = self.role_conn(who)
            q = conn.cursor()
            q.execute("SET app.tenant = %s", (tenant,))
            def ids(sql, params=None):
                q.execute(sql, params)
                return [r[0] for r in q.fetchall()]
            def visible(rows, view=False):
                return sorted(k for k, r in rows.items() if allows(who, tenant, r, view))
            self.assertEqual(ids('SELECT id FROM docs ORDER BY id'), visible(state), who)
            for seq, snapshot in seqs[::6]:
                self.assertEqual(ids(f'SELECT id FROM docs AS OF @seq:{seq} ORDER BY id'), visible(snapshot), f'{who} AS OF {seq}')
                checked += 1
            q.execute('SELECT id, body FROM docs FOR SYSTEM_TIME ALL')
            self.assertEqual(sorted(q.fetchall()), sorted((v['id'], v['row'][3]) for v in versions if allows(who, tenant, v['row'])), who)
            lo, hi = seqs[10][0], seqs[30][0]
            q.execute(f'SELECT id, body FROM docs FOR SYSTEM_TIME BETWEEN @seq:{lo} AND @seq:{hi}')
            self.assertEqual(sorted(q.fetchall()), sorted((v['id'], v['row'][3]) for v in versions
                                                          if v['start'] <= hi and (v['end'] is None or v['end'] > lo)
                                                          and allows(who, tenant, v['row'])), f'{who} BETWEEN')
            self.assertEqual(ids('SELECT d.id FROM docs d JOIN tenants t ON t.name = d.tenant ORDER BY d.id'), visible(state))
            self.assertEqual(ids('SELECT name FROM tenants WHERE name IN (SELECT tenant FROM docs) ORDER BY 1'),
                             sorted({state[k][0] for k in visible(state)}))
            self.assertEqual(ids('SELECT (SELECT count(*) FROM docs)'), [len(visible(state))])
            self.assertEqual(ids('SELECT id FROM docs_view ORDER BY id'), visible(state, view=True), f'{who} view')
            q.execute("SELECT drift_seq, op, (key->>'id')::int FROM drift_events WHERE table_name = 'docs' AND op <> 'ddl'")
            self.assertEqual(sorted(q.fetchall()), sorted((s, op, k) for s, op, k, img in events if allows(who, tenant, img)), f'{who} drift_events')
            import io
            out = io.StringIO()
            q.copy_expert('COPY docs TO STDOUT', out)
            self.assertEqual(sorted(int(line.split('\t')[0]) for line in out.getvalue().splitlines()), visible(state), f'{who} COPY')
            for key in sorted({k for _, _, k, _ in events})[:12]:
                q.execute(f'SHOW DRIFT docs KEY {key}')
                self.assertEqual([r[0] for r in q.fetchall()],
                                 [v['start'] for v in versions if v['id'] == key and allows(who, tenant, v['row'])], f'{who} SHOW DRIFT {key}')
            # ORDER BY and errors see only visible rows: the hidden secret 95 divides nothing.
            self.assertEqual(ids('SELECT id FROM docs WHERE 1 / (secret - 95) >= 0 OR true ORDER BY secret, id'),
                             sorted(visible(state), key=lambda k: (state[k][2], k)))
            q.execute('EXPLAIN SELECT * FROM docs WHERE body = %s', ('hidden',))
            self.assertNotIn('5000', ' '.join(r[0] for r in q.fetchall()))
            conn.close()
        self.assertGreater(checked, 10)

        # Writes: WITH CHECK, the UPDATE/DELETE policies, DriftQL, and unique violations that
        # name no hidden key.
        a = self.role_conn('r_alice')
        w = a.cursor()
        w.execute("SET app.tenant = 't1'")
        self.assertEqual(self.outcome(w, "INSERT INTO docs VALUES (6000, 't2', 'r_alice', 1, 'x')"), '42501')
        self.assertIn('new row violates row-level security policy for table "docs"',
                      self.last_error(w, "INSERT INTO docs VALUES (6000, 't2', 'r_alice', 1, 'x')"))
        w.execute("INSERT INTO docs VALUES (6000, 't1', 'r_alice', 1, 'mine')")
        w.execute("INSERT INTO docs VALUES (6001, 't1', 'r_bob', 1, 'bobs')")
        w.execute("UPDATE docs SET body = 'changed' WHERE id = 6001")
        self.assertEqual(w.rowcount, 0)
        w.execute("UPDATE docs SET body = 'changed' WHERE id = 6000")
        self.assertEqual(w.rowcount, 1)
        self.assertEqual(self.outcome(w, "UPDATE docs SET tenant = 't2' WHERE id = 6000"), '42501')
        w.execute("DELETE FROM docs WHERE tenant = 't2'")
        self.assertEqual(w.rowcount, 0)
        # ON CONFLICT DO UPDATE: the existing row must pass UPDATE's USING, the new one its CHECK.
        upsert = "INSERT INTO docs VALUES ({}, 't1', 'r_alice', 1, 'x') ON CONFLICT (id) DO UPDATE SET {}"
        self.assertIn('violates row-level security policy (USING expression)', self.last_error(w, upsert.format(6001, "body = 'y'")))
        self.assertEqual(self.outcome(w, upsert.format(6000, "tenant = 't2'")), '42501')
        w.execute(upsert.format(6000, "body = 'upserted'"))
        w.execute('SELECT body FROM docs WHERE id = 6000')
        self.assertEqual(w.fetchone(), ('upserted',))
        self.assertEqual(self.outcome(w, 'INSERT INTO docs {"id": 6002, "tenant": "t2", "author": "r_alice", "secret": 1}'), '42501')
        hidden = next(k for k, r in state.items() if r[0] != 't1')
        error = self.last_error(w, f"INSERT INTO docs VALUES ({hidden}, 't1', 'r_alice', 1, 'dup')")
        self.assertIn('duplicate key value violates unique constraint', error)
        self.assertNotIn('Key (id)', error)
        a.close()
        # No fail-open: a policy that fails to evaluate fails the statement.
        cur.execute('CREATE TABLE fragile (id int)')
        cur.execute('INSERT INTO fragile VALUES (1), (3)')
        cur.execute('GRANT SELECT ON fragile TO r_alice')
        cur.execute('ALTER TABLE fragile ENABLE ROW LEVEL SECURITY')
        cur.execute('CREATE POLICY divides ON fragile USING (1 / (id - 3) > 0)')
        a = self.role_conn('r_alice')
        self.assertEqual(self.outcome(a.cursor(), 'SELECT * FROM fragile'), '22012')
        a.close()
        # The owner is bound only with FORCE.
        cur.execute('ALTER TABLE fragile OWNER TO r_alice')
        a = self.role_conn('r_alice')
        self.assertEqual(self.outcome(a.cursor(), 'SELECT * FROM fragile'), 'ok')
        cur.execute('ALTER TABLE fragile FORCE ROW LEVEL SECURITY')
        self.assertEqual(self.outcome(a.cursor(), 'SELECT * FROM fragile'), '22012')
        a.close()
        cur.execute('DROP TABLE fragile')
        cur.execute('DROP VIEW docs_view')
        cur.execute('DROP TABLE docs')
        cur.execute('DROP TABLE tenants')
        for role in ('r_alice', 'r_bob', 'r_auditor', 'r_viewer', 'r_users'):
            cur.execute(f'DROP ROLE {role}')

    def test_audit_and_role_history_show_a_scripted_sequence(self):
        c = self.admin()
        cur = c.cursor()
        # Logins are recorded off the connection's path: earlier ones (this connection's
        # own) may still arrive, with their earlier times.
        cur.execute('SELECT now()')
        started = cur.fetchone()[0]
        script = [
            ("CREATE ROLE h_dev LOGIN PASSWORD 'dev pw'", 'create_role', 'h_dev canlogin, password'),
            ('CREATE ROLE h_team', 'create_role', 'h_team'),
            ('GRANT h_team TO h_dev', 'grant_role', 'h_team to h_dev'),
            ('CREATE TABLE h_data (x int)', None, None),
            ('GRANT SELECT, INSERT ON h_data TO h_team', 'grant', 'SELECT, INSERT on table h_data to h_team'),
            ('ALTER ROLE h_dev CREATEROLE', 'alter_role', 'h_dev createrole'),
            ('REVOKE INSERT ON h_data FROM h_team', 'revoke', 'INSERT on table h_data from h_team'),
            ('REVOKE h_team FROM h_dev', 'revoke_role', 'h_team from h_dev'),
            ('DROP TABLE h_data', None, None),
            ('DROP ROLE h_team', 'drop_role', 'h_team'),
        ]
        seqs = []
        for sql, _, _ in script:
            cur.execute(sql)
            cur.execute('SELECT max(drift_seq) FROM drift_events')
            seqs.append(cur.fetchone()[0])
        # A failed statement leaves no record: its transaction is rolled back with the change.
        self.assertEqual(self.outcome(cur, 'GRANT SELECT ON no_such_table TO h_dev'), '42P01')
        self.server.connect(user='h_dev', password='dev pw', sslmode='require').close()
        self.refused(user='h_dev', password='wrong', sslmode='disable')
        expected = [('admin', '127.0.0.1', event, detail) for _, event, detail in script if event] + [
            ('h_dev', '127.0.0.1', 'login', 'tls'), ('h_dev', '127.0.0.1', 'login_failed', 'wrong password')]
        deadline = time.time() + 10
        while True:
            cur.execute('SELECT role, address, event, detail FROM drift_audit WHERE at >= %s ORDER BY at', (started,))
            rows = cur.fetchall()
            if len(rows) >= len(expected) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(rows, expected)
        # Append-only, for everyone.
        for sql in ["INSERT INTO drift_audit VALUES (now(), 'x', 'x', 'login', NULL)", 'DELETE FROM drift_audit',
                    "UPDATE drift_audit SET detail = 'x'", 'TRUNCATE drift.drift_audit', 'DROP TABLE drift.drift_audit',
                    'ALTER TABLE drift.drift_audit ADD COLUMN y int', 'DROP SCHEMA drift CASCADE']:
            self.assertEqual(self.outcome(cur, sql), '42501', sql)
        # Who had which rights when: pg_roles and pg_auth_members FOR SYSTEM_TIME ALL.
        cur.execute("SELECT rolname, rolcreaterole, drift_seq, drift_op, system_time_end = 'infinity' "
                    "FROM pg_roles FOR SYSTEM_TIME ALL WHERE rolname LIKE 'h\\_%' ORDER BY drift_seq, rolname")
        self.assertEqual(cur.fetchall(), [('h_dev', False, seqs[0], 'insert', False), ('h_team', False, seqs[1], 'insert', False),
                                          ('h_dev', True, seqs[5], 'update', True)])
        cur.execute("SELECT drift_seq, system_time_end = 'infinity' FROM pg_roles FOR SYSTEM_TIME ALL "
                    "WHERE rolname = 'h_team'")
        self.assertEqual(cur.fetchall(), [(seqs[1], False)])
        cur.execute(f"SELECT rolname FROM pg_roles AS OF @seq:{seqs[8]} WHERE rolname = 'h_team'")
        self.assertEqual(cur.fetchall(), [('h_team',)])
        cur.execute("SELECT r.rolname, a.drift_seq FROM pg_auth_members FOR SYSTEM_TIME ALL a JOIN pg_roles r ON r.oid = a.roleid "
                    "WHERE r.rolname = 'h_team'")
        self.assertEqual(cur.fetchall(), [])
        cur.execute("SELECT drift_seq, system_time_end IS NOT NULL FROM pg_auth_members FOR SYSTEM_TIME ALL a "
                    f"WHERE a.drift_seq = {seqs[2]}")
        self.assertEqual(cur.fetchall(), [(seqs[2], True)])
        cur.execute('DROP ROLE h_dev')


    def test_rights_cannot_be_escaped(self):
        """Holes a review of the privilege code found, each closed: reading the past with the
        catalog of the past, a renamed or dropped role, DDL and maintenance without rights."""
        c = self.admin()
        cur = c.cursor()
        cur.execute('CREATE TABLE e_secret (x int)')
        cur.execute('INSERT INTO e_secret VALUES (1)')
        cur.execute('SELECT max(drift_seq) FROM drift_events')
        past = cur.fetchone()[0]
        cur.execute("CREATE ROLE e_late LOGIN PASSWORD 'm' CREATEROLE")
        late = self.role_conn('e_late')
        lcur = late.cursor()
        # A role that did not exist at that seq is still checked with now's rights.
        lcur.execute(f"SET drift.as_of = '@seq:{past}'")
        self.assertEqual(self.outcome(lcur, 'SELECT * FROM e_secret'), '42501')
        self.assertEqual(self.outcome(lcur, 'SELECT count(*) FROM drift_events'), 'ok')
        lcur.execute('RESET drift.as_of')
        # SET ROLE to a role, then rename it: the session keeps no rights, it gains none.
        lcur.execute('CREATE ROLE e_x CREATEROLE')
        lcur.execute('GRANT e_x TO e_late')
        lcur.execute('SET ROLE e_x')
        lcur.execute('ALTER ROLE e_x RENAME TO e_y')
        self.assertEqual(self.outcome(lcur, 'ALTER ROLE e_late SUPERUSER'), '42501')
        self.assertEqual(self.outcome(lcur, 'SELECT * FROM e_secret'), '42501')
        lcur.execute('RESET ROLE')
        # A session whose login role is dropped from elsewhere keeps no rights.
        cur.execute("CREATE ROLE e_gone LOGIN PASSWORD 'm'")
        cur.execute('GRANT SELECT ON e_secret TO PUBLIC')
        gone = self.role_conn('e_gone')
        gcur = gone.cursor()
        cur.execute('REVOKE SELECT ON e_secret FROM PUBLIC')
        cur.execute('DROP ROLE e_gone')
        self.assertEqual(self.outcome(gcur, 'SELECT * FROM e_secret'), '42501')
        self.assertEqual(self.outcome(gcur, 'CREATE ROLE e_sneak'), '42501')
        gone.close()
        # Temporary tables are the session's own.
        lcur.execute('CREATE TEMP TABLE e_scratch (a int)')
        lcur.execute('INSERT INTO e_scratch VALUES (1)')
        lcur.execute('SELECT * FROM e_scratch')
        self.assertEqual(lcur.fetchall(), [(1,)])
        lcur.execute('DROP TABLE e_scratch')
        # DDL and maintenance need the owner's or a superuser's rights.
        cur.execute('CREATE VIEW e_view AS SELECT 1 AS one')
        cur.execute('CREATE SEQUENCE e_seq')
        cur.execute('CREATE TABLE e_parent (id int PRIMARY KEY)')
        cur.execute('CREATE TABLE e_child (id int REFERENCES e_parent)')
        cur.execute('GRANT TRUNCATE ON e_parent TO e_late')
        for sql in ['ALTER VIEW e_view RENAME TO e_v2', 'ALTER SEQUENCE e_seq RENAME TO e_s2', "COMMENT ON TABLE e_secret IS 'x'",
                    'VACUUM', 'CHECKPOINT', 'ANALYZE', 'TRUNCATE e_parent CASCADE']:
            self.assertEqual(self.outcome(lcur, sql), '42501', sql)
        lcur.execute('BEGIN')
        self.assertEqual(self.outcome(lcur, 'LOCK TABLE drift.drift_audit IN ACCESS EXCLUSIVE MODE'), '42501')
        lcur.execute('ROLLBACK')
        # A view whose owner lost its right to a table still depends on the table: DROP
        # TABLE and a rename of a column it reads are refused, not left to break it.
        cur.execute('GRANT CREATE ON SCHEMA public TO e_late')
        cur.execute('CREATE TABLE e_base (a int)')
        cur.execute('GRANT SELECT ON e_base TO e_late')
        lcur.execute('CREATE VIEW e_reader AS SELECT a FROM e_base')
        cur.execute('REVOKE SELECT ON e_base FROM e_late')
        self.assertEqual(self.outcome(cur, 'DROP TABLE e_base'), '2BP01')
        self.assertEqual(self.outcome(cur, 'ALTER TABLE e_base RENAME COLUMN a TO b'), '0A000')
        self.assertEqual(self.outcome(cur, 'ALTER TABLE e_base DROP COLUMN a'), '2BP01')
        self.assertEqual(self.outcome(lcur, 'SELECT * FROM e_reader'), '42501')
        cur.execute('DROP VIEW e_reader')
        cur.execute('DROP TABLE e_base')
        cur.execute('REVOKE CREATE ON SCHEMA public FROM e_late')
        # ALL TABLES IN SCHEMA means tables and views, not the sequences beside them.
        cur.execute('CREATE TABLE e_serial (id serial)')
        cur.execute('GRANT INSERT ON ALL TABLES IN SCHEMA public TO e_late')
        cur.execute("SELECT has_sequence_privilege('e_late', 'e_serial_id_seq', 'UPDATE')")
        self.assertEqual(cur.fetchone(), (False,))
        late.close()
        cur.execute('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM e_late')
        for sql in ['DROP TABLE e_serial', 'DROP TABLE e_child', 'DROP TABLE e_parent', 'DROP SEQUENCE e_seq', 'DROP VIEW e_view',
                    'DROP TABLE e_secret', 'REVOKE e_y FROM e_late', 'DROP ROLE e_y', 'DROP ROLE e_late']:
            cur.execute(sql)


    # Column privileges, run step by step against DriftDB and a real PostgreSQL 15: each
    # step is (role or None for the superuser, statement); the outcomes (rows or SQLSTATE
    # and message) must match.
    COLUMN_SETUP = [
        'CREATE ROLE c_reader', 'CREATE ROLE c_writer',
        'CREATE TABLE c_t (id int PRIMARY KEY, pub text, secret text, n int)',
        "INSERT INTO c_t VALUES (1, 'a', 's', 10)",
        'GRANT SELECT (id, pub) ON c_t TO c_reader',
        'GRANT INSERT (id, pub), UPDATE (pub), SELECT (id) ON c_t TO c_writer',
        'CREATE TABLE c_parent (k int PRIMARY KEY, other int UNIQUE)',
        'INSERT INTO c_parent VALUES (1, 1)',
        'GRANT REFERENCES (k) ON c_parent TO c_writer',
        'GRANT CREATE ON SCHEMA public TO c_writer',
    ]
    ATTACL = ("SELECT attname, attacl::text[] FROM pg_attribute WHERE attrelid = 'c_t'::regclass "
              'AND attnum > 0 AND NOT attisdropped ORDER BY attnum')
    COLUMN_STEPS = [
        ('c_reader', 'SELECT id, pub FROM c_t'),
        ('c_reader', 'SELECT * FROM c_t'),
        ('c_reader', 'SELECT secret FROM c_t'),
        ('c_reader', "SELECT id FROM c_t WHERE secret = 's'"),
        ('c_reader', 'SELECT id FROM c_t ORDER BY n'),
        ('c_reader', 'SELECT count(*) FROM c_t'),
        ('c_reader', 'SELECT 1 FROM c_t'),
        ('c_reader', 'SELECT t.id, u.pub FROM c_t t JOIN c_t u ON t.id = u.id'),
        ('c_reader', 'SELECT id FROM (SELECT id, pub FROM c_t) s'),
        ('c_reader', 'SELECT id FROM (SELECT * FROM c_t) s'),
        ('c_reader', 'SELECT pub FROM c_t GROUP BY pub HAVING max(n) > 0'),
        ('c_reader', 'EXPLAIN SELECT secret FROM c_t'),
        ('c_reader', "EXPLAIN SELECT id FROM c_t WHERE secret = 's'"),
        ('c_reader', "SELECT has_column_privilege('c_t', 'pub', 'SELECT'), has_column_privilege('c_t', 'secret', 'SELECT'), "
                     "has_table_privilege('c_t', 'SELECT'), has_any_column_privilege('c_t', 'SELECT'), "
                     "has_any_column_privilege('c_t', 'UPDATE'), has_column_privilege('c_writer', 'c_t', 'pub', 'UPDATE')"),
        ('c_reader', "INSERT INTO c_t (id, pub) VALUES (5, 'x')"),
        ('c_reader', "UPDATE c_t SET pub = 'q'"),
        ('c_reader', 'SELECT id FROM c_t FOR UPDATE'),
        ('c_reader', 'SELECT id FROM c_t FOR KEY SHARE'),
        ('c_writer', 'SELECT id FROM c_t WHERE id = 1 FOR UPDATE'),
        ('c_writer', 'SELECT id FROM c_t WHERE id = 1 FOR SHARE'),
        ('c_reader', 'GRANT SELECT (id) ON c_t TO c_writer'),
        ('c_writer', "INSERT INTO c_t (id, pub) VALUES (2, 'b')"),
        ('c_writer', "INSERT INTO c_t (id, pub, n) VALUES (3, 'c', 1)"),
        ('c_writer', 'INSERT INTO c_t VALUES (4)'),
        ('c_writer', "INSERT INTO c_t VALUES (6, 'f', 'g')"),
        ('c_writer', "INSERT INTO c_t (id, pub) VALUES (5, 'e') RETURNING id"),
        ('c_writer', "INSERT INTO c_t (id, pub) VALUES (7, 'e') RETURNING pub"),
        ('c_writer', "INSERT INTO c_t (id, pub) VALUES (2, 'z') ON CONFLICT (id) DO UPDATE SET pub = excluded.pub"),
        ('c_writer', "INSERT INTO c_t (id, pub) VALUES (2, 'z') ON CONFLICT (id) DO UPDATE SET n = 1"),
        ('c_writer', "INSERT INTO c_t (id, pub) VALUES (2, 'z') ON CONFLICT (id) DO UPDATE SET pub = c_t.pub || 'z'"),
        ('c_writer', "INSERT INTO c_t (id, pub) VALUES (2, 'z') ON CONFLICT (id) DO NOTHING"),
        ('c_writer', "UPDATE c_t SET pub = 'z' WHERE id = 1"),
        ('c_writer', "UPDATE c_t SET pub = pub || 'z'"),
        ('c_writer', 'UPDATE c_t SET n = 1 WHERE id = 1'),
        ('c_writer', "UPDATE c_t SET pub = 'y' WHERE id = 1 RETURNING id"),
        ('c_writer', 'DELETE FROM c_t WHERE id = 2'),
        ('c_writer', "EXPLAIN UPDATE c_t SET pub = 'x' WHERE id IN (SELECT id FROM c_t WHERE n > 0)"),
        ('c_writer', "EXPLAIN INSERT INTO c_t (id, pub) SELECT id + 100, secret FROM c_t"),
        ('c_writer', 'SELECT id FROM c_t ORDER BY id'),
        ('c_writer', 'SELECT pub FROM c_t'),
        ('c_writer', 'CREATE TABLE c_child (a int REFERENCES c_parent (k))'),
        ('c_writer', 'CREATE TABLE c_child2 (a int REFERENCES c_parent (other))'),
        ('c_writer', 'CREATE TABLE c_child3 (a int REFERENCES c_parent)'),
        ('c_writer', 'INSERT INTO c_child VALUES (1)'),
        ('psql', r'\dp c_t'),
        (None, 'SELECT id, pub, secret, n FROM c_t ORDER BY id'),
        (None, 'GRANT DELETE (id) ON c_t TO c_reader'),
        (None, 'GRANT SELECT (nope) ON c_t TO c_reader'),
        (None, ATTACL),
        (None, "SELECT relacl FROM pg_class WHERE relname = 'c_t'"),
        (None, 'DROP ROLE c_reader'),
        (None, 'REVOKE SELECT ON c_t FROM c_reader'),
        (None, ATTACL),
        ('c_reader', 'SELECT id FROM c_t'),
        (None, 'GRANT ALL (secret) ON c_t TO c_reader WITH GRANT OPTION'),
        ('c_reader', 'GRANT SELECT (secret) ON c_t TO c_writer'),
        ('c_reader', 'GRANT SELECT (id) ON c_t TO c_writer'),
        (None, ATTACL),
        (None, 'REVOKE GRANT OPTION FOR SELECT (secret) ON c_t FROM c_reader'),
        (None, 'REVOKE UPDATE (pub) ON c_t FROM c_writer'),
        (None, ATTACL),
        (None, 'ALTER TABLE c_t DROP COLUMN pub'),
        (None, 'ALTER TABLE c_t RENAME COLUMN secret TO hidden'),
        (None, ATTACL),
        ('c_reader', 'SELECT hidden FROM c_t ORDER BY id'),
        (None, 'ALTER TABLE c_t OWNER TO c_writer'),
        (None, ATTACL),
        ('psql', r'\dp c_t'),
    ]

    def step_outcomes(self, conn, dsn, superuser, steps):
        """Each step's outcome as (role or None for the superuser, statement): its rows or
        SQLSTATE and message; a step ('psql', command) records psql's output instead.
        The superuser's name reads as SU."""
        cur = conn.cursor()
        got = []
        for role, sql in steps:
            if role == 'psql':
                out = subprocess.run(['psql', '-X', '-c', sql, dsn], capture_output=True, text=True, timeout=30,
                                     env=dict(os.environ, PGPASSWORD=PASSWORD))
                # The superusers' names differ in length: compare without psql's padding.
                table = re.sub(r'-+', '-', re.sub(r' +', ' ', out.stdout.replace(superuser, 'SU')))
                got.append((out.returncode, table, out.stderr))
                continue
            cur.execute(f'SET ROLE {role}' if role else 'RESET ROLE')
            try:
                cur.execute(sql)
                rows = cur.fetchall() if cur.description else None
                got.append(('ok', rows))
            except psycopg2.Error as e:
                got.append((e.pgcode, e.pgerror.splitlines()[0]))
        cur.execute('RESET ROLE')
        text = repr(got).replace(f"'{superuser}=", "'SU=").replace(f"/{superuser}'", "/SU'").replace(f"'{superuser}'", "'SU'")
        return eval(text)  # noqa: S307 - our own repr of rows and strings

    def assert_steps_match_postgresql(self, setup, steps):
        """Runs `setup` and `steps` on a real PostgreSQL 15, then on DriftDB as its
        superuser, and compares every step's outcome."""
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'differential'))
        import difftest  # noqa: E402
        pg = difftest.PgServer(lambda m: print(m, file=sys.stderr))
        dsn = pg.start()
        try:
            p = psycopg2.connect(dsn)
            p.autocommit = True
            for sql in setup:
                p.cursor().execute(sql)
            expected = self.step_outcomes(p, dsn, 'postgres', steps)
            p.close()
        finally:
            pg.stop()
        c = self.admin()
        for sql in setup:
            c.cursor().execute(sql)
        got = self.step_outcomes(c, f'host=127.0.0.1 port={self.server.port} user=admin dbname=driftdb', 'admin', steps)
        for (role, sql), want, have in zip(steps, expected, got):
            self.assertEqual(have, want, f'as {role or "superuser"}: {sql}')
        return c

    def test_column_privileges_match_postgresql(self):
        c = self.assert_steps_match_postgresql(self.COLUMN_SETUP, self.COLUMN_STEPS)
        # COPY goes by the same column grants (c_reader holds SELECT and INSERT on hidden).
        import io
        cur = c.cursor()
        cur.execute('SET ROLE c_reader')
        out = io.StringIO()
        cur.copy_expert('COPY c_t (hidden) TO STDOUT', out)
        self.assertEqual(sorted(out.getvalue().splitlines()), ['\\N', '\\N', '\\N', 's'])
        for sql in ['COPY c_t TO STDOUT', 'COPY c_t (id) TO STDOUT', 'COPY (SELECT n FROM c_t) TO STDOUT']:
            with self.assertRaises(psycopg2.Error) as e:
                cur.copy_expert(sql, io.StringIO())
            self.assertEqual(e.exception.pgcode, '42501', sql)
        with self.assertRaises(psycopg2.Error) as e:
            cur.copy_expert('COPY c_t (id, hidden) FROM STDIN', io.StringIO('9\tq\n'))
        self.assertEqual(e.exception.pgcode, '42501')
        cur.execute('RESET ROLE')
        # DriftDB's pseudo-columns are not columns a grant names: they need SELECT on the table.
        cur.execute('SET ROLE c_reader')
        self.assertEqual(self.outcome(cur, 'SELECT hidden FROM c_t'), 'ok')
        self.assertEqual(self.outcome(cur, 'SELECT hidden, drift_seq FROM c_t'), '42501')
        cur.execute('RESET ROLE')
        for sql in ['DROP TABLE c_child', 'DROP TABLE c_child3', 'DROP TABLE c_t', 'DROP TABLE c_parent',
                    'REVOKE CREATE ON SCHEMA public FROM c_writer', 'DROP ROLE c_reader', 'DROP ROLE c_writer']:
            cur.execute(sql)
        c.close()


    VIEW_COLUMN_SETUP = [
        'CREATE ROLE vc_r',
        "CREATE TABLE vc_t (a int, b int, c text)", "INSERT INTO vc_t VALUES (1, 2, 'x')",
        'CREATE VIEW vc_v AS SELECT a, b, c FROM vc_t',
        'CREATE VIEW vc_w (x, y) AS SELECT a + 1, b FROM vc_t',
        'CREATE TABLE vc_u (k int)', 'INSERT INTO vc_u VALUES (1)', 'GRANT SELECT, UPDATE, DELETE ON vc_u TO vc_r',
        'GRANT SELECT (a), UPDATE (a) ON vc_t TO vc_r',
    ]
    VIEW_ATTACL = ("SELECT attrelid::regclass::text, attname, attacl::text[] FROM pg_attribute "
                   "WHERE attrelid IN ('vc_v'::regclass, 'vc_w'::regclass) AND attnum > 0 ORDER BY 1, attnum")
    VIEW_COLUMN_STEPS = [
        (None, 'GRANT SELECT (a) ON vc_v TO vc_r'),
        (None, 'GRANT SELECT (x), UPDATE (y) ON vc_w TO vc_r'),
        (None, 'GRANT INSERT (a, b), REFERENCES (a) ON vc_v TO vc_r'),
        (None, 'GRANT SELECT (nosuch) ON vc_v TO vc_r'),
        (None, 'GRANT DELETE (a) ON vc_v TO vc_r'),
        (None, VIEW_ATTACL),
        (None, "SELECT has_column_privilege('vc_r', 'vc_v', 'a', 'SELECT'), has_column_privilege('vc_r', 'vc_v', 'b', 'SELECT'), "
               "has_table_privilege('vc_r', 'vc_v', 'SELECT'), has_any_column_privilege('vc_r', 'vc_v', 'SELECT'), "
               "has_column_privilege('vc_r', 'vc_w', 2::int2, 'UPDATE'), has_column_privilege('vc_r', 'vc_w', 3::int2, 'UPDATE')"),
        (None, "SELECT has_column_privilege('vc_r', 'vc_v', 'nosuch', 'SELECT')"),
        ('vc_r', 'SELECT a FROM vc_v'),
        ('vc_r', 'SELECT b FROM vc_v'),
        ('vc_r', 'SELECT * FROM vc_v'),
        ('vc_r', 'SELECT count(*) FROM vc_v'),
        ('vc_r', 'SELECT 1 FROM vc_v'),
        ('vc_r', 'SELECT x FROM vc_w'),
        ('vc_r', 'SELECT y FROM vc_w'),
        ('vc_r', 'SELECT vc_v.a FROM vc_v WHERE b = 2'),
        ('vc_r', 'SELECT a FROM vc_v ORDER BY b'),
        ('vc_r', 'SELECT a FROM vc_v GROUP BY a HAVING a > 0'),
        ('vc_r', 'SELECT q.a FROM vc_v q JOIN vc_w ON q.a + 1 = vc_w.x'),
        ('vc_r', 'SELECT q.a FROM vc_v q JOIN vc_w ON q.a = vc_w.y'),
        ('vc_r', 'SELECT a FROM vc_v WHERE EXISTS (SELECT 1 FROM vc_w WHERE vc_w.x = vc_v.a + 1)'),
        ('vc_r', 'SELECT a FROM vc_v WHERE EXISTS (SELECT 1 FROM vc_w WHERE vc_w.x = vc_v.b + 1)'),
        ('vc_r', 'WITH q AS (SELECT a FROM vc_v) SELECT * FROM q'),
        ('vc_r', 'SELECT a FROM (SELECT * FROM vc_v) s'),
        ('vc_r', 'SELECT a FROM vc_t'),
        ('vc_r', 'UPDATE vc_u SET k = 2 FROM vc_v WHERE vc_v.a = vc_u.k'),
        ('vc_r', 'UPDATE vc_u SET k = 3 FROM vc_v WHERE vc_v.b = vc_u.k'),
        ('vc_r', 'DELETE FROM vc_u USING vc_v WHERE vc_v.c = vc_u.k::text'),
        ('vc_r', 'DELETE FROM vc_u USING vc_v WHERE vc_v.a = vc_u.k RETURNING vc_u.k'),
        ('vc_r', 'SELECT * FROM vc_u'),
        # A star in RETURNING reads every column it names: of a view in FROM, of the target.
        ('vc_r', 'UPDATE vc_u SET k = k FROM vc_v WHERE vc_v.a = vc_u.k RETURNING vc_v.*'),
        ('vc_r', 'UPDATE vc_u SET k = k FROM vc_v WHERE vc_v.a = vc_u.k RETURNING *'),
        ('vc_r', 'DELETE FROM vc_u USING vc_v WHERE vc_u.k = vc_v.a RETURNING *'),
        ('vc_r', 'UPDATE vc_t SET a = a RETURNING *'),
        ('vc_r', 'UPDATE vc_t SET a = a RETURNING vc_t.*'),
        ('vc_r', 'UPDATE vc_t SET a = a RETURNING a'),
        (None, 'REVOKE SELECT (a) ON vc_v FROM vc_r'),
        ('vc_r', 'SELECT a FROM vc_v'),
        (None, VIEW_ATTACL),
        (None, 'DROP ROLE vc_r'),
        (None, 'DROP VIEW vc_v'),
        (None, 'DROP ROLE vc_r'),
        (None, 'CREATE VIEW vc_v AS SELECT a, b, c FROM vc_t'),
        (None, VIEW_ATTACL),
    ]

    def test_column_privileges_on_views_match_postgresql(self):
        # A role holding SELECT on some of a view's columns reads those (in every clause, in
        # joins, subqueries and UPDATE ... FROM); the view's owner reads its table. REVOKE takes
        # effect at the next statement; DROP VIEW drops the columns' grants.
        c = self.assert_steps_match_postgresql(self.VIEW_COLUMN_SETUP, self.VIEW_COLUMN_STEPS)
        cur = c.cursor()
        for sql in ['DROP VIEW vc_v', 'DROP VIEW vc_w', 'DROP TABLE vc_u', 'DROP TABLE vc_t', 'DROP ROLE vc_r']:
            cur.execute(sql)
        c.close()


    DEFAULTS_SETUP = [
        'CREATE ROLE d_r', 'CREATE ROLE d_x', 'CREATE ROLE d_m', 'GRANT d_r TO d_m', 'CREATE SCHEMA d_s',
        'GRANT CREATE, USAGE ON SCHEMA d_s TO d_r', 'GRANT CREATE ON SCHEMA public TO d_r', 'GRANT USAGE ON SCHEMA d_s TO d_x',
    ]
    DEFAULTS = ('SELECT pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype, d.defaclacl::text[] FROM pg_default_acl d '
                'LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace ORDER BY 1, 2, 3')
    DEFAULTS_STEPS = [
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r GRANT SELECT ON TABLES TO d_x'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r IN SCHEMA d_s GRANT INSERT ON TABLES TO d_x WITH GRANT OPTION'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r REVOKE UPDATE ON TABLES FROM d_r'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r GRANT USAGE ON SEQUENCES TO PUBLIC'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r GRANT CREATE ON SCHEMAS TO d_x'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r IN SCHEMA d_s GRANT CREATE ON SCHEMAS TO d_x'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r IN SCHEMA nope GRANT SELECT ON TABLES TO d_x'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE nope GRANT SELECT ON TABLES TO d_x'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r GRANT SELECT ON TABLES TO nope'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r GRANT DELETE ON SEQUENCES TO d_x'),
        (None, DEFAULTS),
        ('psql', r'\ddp'),
        ('d_r', 'CREATE TABLE d_s.d_t1 (a int)'),
        ('d_r', 'CREATE TABLE public.d_t2 (a int)'),
        ('d_r', 'CREATE SEQUENCE d_sq'),
        ('d_r', 'CREATE TABLE d_t3 (a serial)'),
        ('d_r', 'CREATE VIEW d_v AS SELECT 1 AS one'),
        (None, 'ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO d_x'),
        (None, 'CREATE SCHEMA d_s2'),
        (None, 'ALTER DEFAULT PRIVILEGES REVOKE USAGE ON SCHEMAS FROM d_x'),
        (None, "SELECT relname, relacl::text[] FROM pg_class WHERE relname IN ('d_t1', 'd_t2', 'd_t3', 'd_t3_a_seq', 'd_sq', 'd_v') "
               'ORDER BY 1'),
        (None, "SELECT nspname, nspacl::text[] FROM pg_namespace WHERE nspname = 'd_s2'"),
        ('d_x', 'SELECT * FROM d_t2'),
        ('d_x', 'INSERT INTO d_s.d_t1 VALUES (1)'),
        ('d_x', 'SELECT * FROM d_s.d_t1'),
        ('d_x', "SELECT nextval('d_sq')"),
        ('d_x', 'UPDATE d_t2 SET a = 1'),
        (None, 'DROP ROLE d_x'),
        ('d_x', 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r GRANT SELECT ON TABLES TO d_x'),
        ('d_m', 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r GRANT TRUNCATE ON TABLES TO d_x'),
        ('d_x', 'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO d_r'),
        (None, DEFAULTS),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r IN SCHEMA d_s REVOKE INSERT ON TABLES FROM d_x'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r GRANT UPDATE ON TABLES TO d_r'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r REVOKE SELECT, TRUNCATE ON TABLES FROM d_x'),
        (None, DEFAULTS),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r IN SCHEMA d_s GRANT SELECT ON SEQUENCES TO d_x'),
        (None, 'DROP TABLE d_s.d_t1'),
        (None, 'DROP SCHEMA d_s'),
        (None, DEFAULTS),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r REVOKE ALL ON SEQUENCES FROM PUBLIC'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_r REVOKE ALL ON SCHEMAS FROM d_x'),
        (None, 'ALTER DEFAULT PRIVILEGES FOR ROLE d_x REVOKE ALL ON TABLES FROM d_r'),
        (None, DEFAULTS),
    ]

    SESSION_AUTH_SETUP = [
        'CREATE ROLE sa_alice LOGIN', 'CREATE ROLE sa_bob', 'GRANT sa_bob TO sa_alice',
        'CREATE TABLE sa_t (a int)', 'GRANT SELECT ON sa_t TO sa_bob',
    ]
    WHO = "SELECT session_user, current_user, current_setting('is_superuser'), current_setting('role'), " \
          "current_setting('session_authorization')"
    SESSION_AUTH_STEPS = [
        (None, WHO),
        (None, 'SET SESSION AUTHORIZATION sa_alice'),
        (None, WHO),
        (None, 'SELECT * FROM sa_t'),
        (None, 'CREATE TABLE sa_t2 (a int)'),
        (None, 'SET ROLE sa_bob; SELECT * FROM sa_t'),
        (None, f'SET ROLE sa_bob; SET SESSION AUTHORIZATION sa_alice; {WHO}'),
        # A superuser login may go on switching after becoming an ordinary role.
        (None, f'SET SESSION AUTHORIZATION sa_bob; {WHO}'),
        (None, 'SET ROLE sa_alice'),
        (None, 'SET SESSION AUTHORIZATION sa_nobody'),
        (None, f'SET SESSION AUTHORIZATION DEFAULT; {WHO}'),
        # RESET ALL leaves it; RESET SESSION AUTHORIZATION and DISCARD ALL do not.
        (None, "SET SESSION AUTHORIZATION 'sa_alice'; RESET ALL; SELECT session_user"),
        (None, 'RESET SESSION AUTHORIZATION; SELECT session_user'),
        (None, 'SET SESSION AUTHORIZATION sa_alice'),
        (None, 'DISCARD ALL'),
        (None, 'SELECT session_user, current_user'),
        # Transactional: SET LOCAL ends with the block, a rolled-back SET is undone.
        (None, f'BEGIN; SET LOCAL SESSION AUTHORIZATION sa_alice; {WHO}'),
        (None, f'COMMIT; {WHO}'),
        (None, 'BEGIN; SET SESSION AUTHORIZATION sa_alice; ROLLBACK; SELECT session_user, current_user'),
        (None, 'BEGIN; SET SESSION AUTHORIZATION sa_alice; COMMIT; SELECT session_user, current_user'),
        (None, 'RESET SESSION AUTHORIZATION'),
        (None, "SELECT set_config('session_authorization', 'sa_bob', false)"),
        (None, WHO),
        (None, f'SET session_authorization = DEFAULT; {WHO}'),
    ]

    def test_set_session_authorization_matches_postgresql(self):
        """SET SESSION AUTHORIZATION, step by step against DriftDB and a real PostgreSQL 15;
        then an ordinary login, which may take only itself, and the parameters reported."""
        c = self.assert_steps_match_postgresql(self.SESSION_AUTH_SETUP, self.SESSION_AUTH_STEPS)
        cur = c.cursor()
        cur.execute("ALTER ROLE sa_alice PASSWORD 'm'")
        a = self.role_conn('sa_alice')
        # PostgreSQL 15's outcomes for a login that is no superuser.
        steps = [(None, f'SET SESSION AUTHORIZATION {r}') for r in ['sa_bob', 'sa_nobody', 'sa_alice', 'DEFAULT']]
        self.assertEqual(self.step_outcomes(a, None, 'admin', steps), [
            ('42501', 'ERROR:  permission denied to set session authorization "sa_bob"'),
            ('22023', 'ERROR:  role "sa_nobody" does not exist'),
            ('ok', None), ('ok', None)])
        # The session user and is_superuser go to the client as ParameterStatus.
        cur.execute('SET SESSION AUTHORIZATION sa_alice')
        self.assertEqual((c.get_parameter_status('session_authorization'), c.get_parameter_status('is_superuser')),
                         ('sa_alice', 'off'))
        cur.execute('BEGIN')
        cur.execute('SET SESSION AUTHORIZATION sa_bob')
        self.assertEqual(c.get_parameter_status('session_authorization'), 'sa_bob')
        cur.execute('ROLLBACK')
        self.assertEqual((c.get_parameter_status('session_authorization'), c.get_parameter_status('is_superuser')),
                         ('sa_alice', 'off'))
        cur.execute('RESET SESSION AUTHORIZATION')
        self.assertEqual((c.get_parameter_status('session_authorization'), c.get_parameter_status('is_superuser')),
                         ('admin', 'on'))
        a.close()
        for sql in ['DROP TABLE sa_t', 'DROP ROLE sa_alice', 'DROP ROLE sa_bob']:
            cur.execute(sql)
        c.close()

    def test_default_privileges_match_postgresql(self):
        """ALTER DEFAULT PRIVILEGES, step by step against DriftDB and a real PostgreSQL 15:
        the lists pg_default_acl holds, what new tables, views, sequences and schemas start
        with, what the grantees may then do, and who may change whose defaults."""
        c = self.assert_steps_match_postgresql(self.DEFAULTS_SETUP, self.DEFAULTS_STEPS)
        cur = c.cursor()
        for sql in ['DROP VIEW d_v', 'DROP TABLE d_t3', 'DROP TABLE d_t2', 'DROP SEQUENCE d_sq', 'DROP SCHEMA d_s2',
                    'REVOKE CREATE ON SCHEMA public FROM d_r', 'DROP ROLE d_m', 'DROP ROLE d_x', 'DROP ROLE d_r']:
            cur.execute(sql)
        c.close()

    def last_error(self, cur, sql):
        try:
            cur.execute(sql)
        except psycopg2.Error as e:
            return e.pgerror
        self.fail(f'{sql} succeeded')


if __name__ == '__main__':
    test_pgwire.main()
