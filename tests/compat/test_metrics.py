#!/usr/bin/env python3
"""The metrics plugin against a real Prometheus: a `driftdb serve` process with pgwire and
metrics, a real `prometheus` scraping it every second, statements run through psycopg2,
and Prometheus's HTTP API read back. Also /health: 200 while the database takes writes, 503
with the reason once the log cannot be written (the server runs under a file-size limit, so
a write of the log fails with EFBIG as a full or failing device would).

    python3 tests/compat/test_metrics.py --driftdb .build/release/driftdb [-k pattern]
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pgwire  # noqa: E402
from test_pgwire import Server, free_port  # noqa: E402


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None, ''  # not listening yet


def parse_metrics(text):
    """Prometheus text format: {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        series, value = line.rsplit(' ', 1)
        if '{' in series:
            name, rest = series.split('{', 1)
            labels = frozenset(tuple(kv.split('=', 1)) for kv in rest.rstrip('}').replace('"', '').split(',') if kv)
        else:
            name, labels = series, frozenset()
        out[(name, labels)] = float(value)
    return out


def value(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0.0)


class MetricsServer(Server):
    def __init__(self, **kw):
        self.metrics_port = free_port()
        super().__init__(extra=f'  - kind: metrics\n    listen: 127.0.0.1:{self.metrics_port}\n', **kw)

    def url(self, path):
        return f'http://127.0.0.1:{self.metrics_port}{path}'

    def metrics(self):
        status, text = http_get(self.url('/metrics'))
        assert status == 200, status
        return parse_metrics(text)


class Metrics(unittest.TestCase):
    def setUp(self):
        self.server = MetricsServer()
        self.addCleanup(self.server.remove)

    def test_every_series_is_measured_and_prometheus_scrapes_it(self):
        s = self.server
        self.assertEqual(http_get(s.url('/health')), (200, 'ok\n'))
        before = s.metrics()
        c = s.connect()
        c.autocommit = True
        cur = c.cursor()
        cur.execute('create table m (id int primary key, v text)')
        for i in range(7):
            cur.execute('select count(*) from m')
        for i in range(3):
            cur.execute('insert into m values (%s, %s)', (i, 'x' * 100))
        for sql in ['select 1/0', 'insert into m values (1, null)']:
            try:
                cur.execute(sql)
            except test_pgwire.psycopg2.Error:
                pass
        after = s.metrics()

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        self.assertEqual(delta('driftdb_statements_total', kind='select', outcome='ok'), 7)
        self.assertEqual(delta('driftdb_statements_total', kind='insert', outcome='ok'), 3)
        self.assertEqual(delta('driftdb_statements_total', kind='ddl', outcome='ok'), 1)
        self.assertEqual(delta('driftdb_statements_total', kind='select', outcome='error'), 1)
        self.assertEqual(delta('driftdb_statements_total', kind='insert', outcome='error'), 1)
        self.assertEqual(delta('driftdb_errors_total', **{'class': '22'}), 1)
        self.assertEqual(delta('driftdb_errors_total', **{'class': '23'}), 1)
        self.assertEqual(delta('driftdb_statement_duration_seconds_count', kind='select'), 8)
        self.assertGreater(delta('driftdb_statement_duration_seconds_sum', kind='select'), 0)
        self.assertEqual(delta('driftdb_commits_total'), 4)  # the table and three inserts
        self.assertEqual(delta('driftdb_events_total'), 4)
        self.assertGreater(delta('driftdb_log_bytes_total'), 300)
        self.assertEqual(delta('driftdb_fsync_duration_seconds_count'), 4)
        self.assertGreaterEqual(delta('driftdb_group_commit_size_count'), 4)
        self.assertEqual(value(after, 'driftdb_visible_seq'), 4)
        self.assertEqual(value(after, 'driftdb_connections_open'), 1)
        self.assertEqual(delta('driftdb_connections_total'), 1)
        self.assertGreater(delta('driftdb_bytes_received_total'), 200)
        self.assertGreater(delta('driftdb_bytes_sent_total'), 200)
        self.assertIn(('driftdb_recovery_duration_seconds', frozenset()), after)
        c.close()
        deadline = time.time() + 5
        while value(s.metrics(), 'driftdb_connections_open') != 0 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(value(s.metrics(), 'driftdb_connections_open'), 0)

        # A real Prometheus scrapes it; its API agrees with the statements run.
        prom = shutil.which('prometheus')
        self.assertIsNotNone(prom, 'prometheus is not installed (scripts/deps installs it)')
        work = tempfile.mkdtemp(prefix='driftdb-prometheus-')
        self.addCleanup(shutil.rmtree, work, True)
        config = os.path.join(work, 'prometheus.yml')
        with open(config, 'w') as f:
            f.write('global:\n  scrape_interval: 1s\n'
                    'scrape_configs:\n  - job_name: driftdb\n'
                    f'    static_configs:\n      - targets: ["127.0.0.1:{s.metrics_port}"]\n')
        port = free_port()
        log = open(os.path.join(work, 'log'), 'w')
        p = subprocess.Popen([prom, f'--config.file={config}', f'--storage.tsdb.path={work}/data',
                              f'--web.listen-address=127.0.0.1:{port}'], stdout=log, stderr=subprocess.STDOUT)

        def stop():
            os.kill(p.pid, signal.SIGTERM)
            p.wait(30)
            log.close()
        self.addCleanup(stop)

        def query(q):
            status, body = http_get(f'http://127.0.0.1:{port}/api/v1/query?' + urllib.parse.urlencode({'query': q}))
            if status != 200:
                return None
            r = json.loads(body)['data']['result']
            return float(r[0]['value'][1]) if r else None

        deadline = time.time() + 60
        up = selects = None
        while time.time() < deadline:
            up = query('up{job="driftdb"}')
            selects = query('driftdb_statements_total{kind="select",outcome="ok"}')
            if up == 1 and selects == value(after, 'driftdb_statements_total', kind='select', outcome='ok'):
                break
            time.sleep(0.5)
        self.assertEqual(up, 1)
        self.assertEqual(selects, 7)
        self.assertEqual(query('driftdb_statements_total{kind="insert",outcome="ok"}'), 3)


class Health(unittest.TestCase):
    def test_health_turns_503_when_the_log_cannot_be_written(self):
        # Every file the server writes is limited to 192 KiB; SIGXFSZ is ignored (and stays
        # ignored across exec), so writing past it fails with EFBIG instead of killing it.
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (192 << 10, 192 << 10))
        orig = subprocess.Popen

        def popen(*a, **kw):
            kw.setdefault('preexec_fn', limit)
            return orig(*a, **kw)
        subprocess.Popen = popen
        try:
            s = MetricsServer()
        finally:
            subprocess.Popen = orig
        self.addCleanup(s.remove)
        self.assertEqual(http_get(s.url('/health')), (200, 'ok\n'))
        c = s.connect()
        c.autocommit = True
        cur = c.cursor()
        cur.execute('create table big (id int primary key, v text)')
        failed = None
        for i in range(400):
            try:
                cur.execute('insert into big values (%s, %s)', (i, 'y' * 2000))
            except test_pgwire.psycopg2.Error as e:
                failed = e
                break
        self.assertIsNotNone(failed, 'the file-size limit never stopped a commit')
        status, body = http_get(s.url('/health'))
        self.assertEqual(status, 503)
        self.assertTrue(body.startswith('failed: '), body)
        self.assertGreaterEqual(value(s.metrics(), 'driftdb_commit_failures_total'), 1)
        c.close()


if __name__ == '__main__':
    test_pgwire.main()
