#!/usr/bin/env python3
"""DriftDB's server against PostgreSQL 15 through pgbench, on the same machine. Run by hand,
never in CI:

    Benchmarks/pgwire-vs-postgres.py [--scale N] [--seconds N] [--driftdb PATH]

Starts `driftdb serve` (a fresh data directory, durability fsync, 127.0.0.1 on a free port)
and a throwaway PostgreSQL 15 cluster (as Benchmarks/sql-vs-postgres.py starts it: stock
settings, fsync on), loads both with `pgbench -i -s N`, and runs on each:

  1. pgbench -S, 1 client          (select-only, simple protocol)
  2. pgbench -S, 8 clients
  3. TPC-B (pgbench's default script), 8 clients
  4. single-row INSERT, autocommit, 1 client   (INSERT INTO ins (v) VALUES (:v), bigserial key)
  5. single-row INSERT, autocommit, 8 clients
  6. point SELECT as of a past seq, 1 client   (DriftDB: ... AS OF @seq:N WHERE aid = :aid,
     N a seq after the load; PostgreSQL has no AS OF: its figure is the plain point SELECT)

Each for --seconds, 8 threads of pgbench at most (-j); tps (without connection time) is
reported, and the ratio DriftDB / PostgreSQL (above 1: DriftDB is faster).
"""
import argparse
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import psycopg2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location('sql_vs_postgres', os.path.join(REPO, 'Benchmarks', 'sql-vs-postgres.py'))
shared = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shared)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def pgbench(args, port, user, db, script=None):
    cmd = ['pgbench', '-h', '127.0.0.1', '-p', str(port), '-U', user, '-n'] + args
    if script:
        cmd += ['-f', script]
    cmd.append(db)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)}:\n{r.stdout}\n{r.stderr}')
    failed = re.search(r'number of failed transactions: (\d+)', r.stdout)
    if failed and int(failed.group(1)) != 0:
        shared.log(f'warning: {failed.group(0)} in {" ".join(args)}')
    m = re.search(r'tps = ([\d.]+) \(without initial connection time\)', r.stdout)
    if not m:
        raise RuntimeError(f'no tps in pgbench output:\n{r.stdout}')
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scale', type=int, default=10)
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--driftdb', default=os.path.join(REPO, '.build/release/driftdb'))
    args = ap.parse_args()
    if shutil.which('initdb') is None:
        for d in sorted(os.listdir('/usr/lib/postgresql'), reverse=True):
            os.environ['PATH'] = f'/usr/lib/postgresql/{d}/bin:' + os.environ['PATH']
            break
    root = tempfile.mkdtemp(prefix='pgwire-bench-')
    os.chmod(root, 0o755)  # the PostgreSQL cluster inside runs as postgres
    binary = os.path.join(root, 'driftdb')
    shutil.copy(args.driftdb, binary)
    port = free_port()
    config = os.path.join(root, 'plugins.yaml')
    with open(config, 'w') as f:
        f.write(f'data_path: {root}/data\nlog_level: warning\nplugins:\n  - kind: pgwire\n    listen: 127.0.0.1:{port}\n')
    server = subprocess.Popen([binary, 'serve', '--config', config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pg = shared.Postgres(os.path.join(root, 'pg'), parallel=False)
    try:
        deadline = time.time() + 30
        while True:
            try:
                psycopg2.connect(host='127.0.0.1', port=port, user='driftdb', dbname='driftdb').close()
                break
            except psycopg2.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        pg.start()
        pg_port = pg.conn.info.port
        sides = {'DriftDB': (port, 'driftdb', 'driftdb'), 'PostgreSQL': (pg_port, 'postgres', 'postgres')}
        scripts = {}
        for name, (p, user, db) in sides.items():
            shared.log(f'{name}: pgbench -i -s {args.scale} ...')
            subprocess.run(['pgbench', '-h', '127.0.0.1', '-p', str(p), '-U', user, '-i', '-q', '-s', str(args.scale), db],
                           check=True, capture_output=True)
            c = psycopg2.connect(host='127.0.0.1', port=p, user=user, dbname=db)
            c.autocommit = True
            cur = c.cursor()
            cur.execute('DROP TABLE IF EXISTS ins')
            cur.execute('CREATE TABLE ins (id bigserial PRIMARY KEY, v bigint)')
            if name == 'DriftDB':
                # A seq after the load and its primary keys (as of an earlier seq the index did
                # not exist yet, and a point read scans).
                cur.execute('UPDATE pgbench_branches SET bbalance = bbalance WHERE bid = 1')
                cur.execute('SELECT drift_seq FROM pgbench_branches WHERE bid = 1')
                seq = cur.fetchone()[0]
                past = f'SELECT abalance FROM pgbench_accounts AS OF @seq:{seq} WHERE aid = :aid;'
            else:
                past = 'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;'
            c.close()
            aid = f'\\set aid random(1, {100000 * args.scale})\n'
            scripts[name] = {}
            for key, body in [('insert', '\\set v random(1, 1000000000)\nINSERT INTO ins (v) VALUES (:v);\n'),
                              ('past', aid + past + '\n')]:
                path = os.path.join(root, f'{name}-{key}.sql')
                with open(path, 'w') as f:
                    f.write(body)
                scripts[name][key] = path
        t = str(args.seconds)
        figures = [
            ('pgbench -S, 1 client', ['-S', '-c', '1', '-T', t], None),
            ('pgbench -S, 8 clients', ['-S', '-c', '8', '-j', '8', '-T', t], None),
            ('TPC-B, 8 clients', ['-c', '8', '-j', '8', '-T', t], None),
            ('single-row INSERT, 1 client', ['-c', '1', '-T', t], 'insert'),
            ('single-row INSERT, 8 clients', ['-c', '8', '-j', '8', '-T', t], 'insert'),
            ('point SELECT as of a past seq, 1 client (PG: plain)', ['-c', '1', '-T', t], 'past'),
        ]
        print(f'| figure (tps, scale {args.scale}, {args.seconds} s each) | DriftDB | PostgreSQL | DriftDB / PostgreSQL |')
        print('|---|---|---|---|')
        for label, a, script in figures:
            tps = {}
            for name, (p, user, db) in sides.items():
                tps[name] = pgbench(a, p, user, db, scripts[name][script] if script else None)
            print(f'| {label} | {tps["DriftDB"]:.0f} | {tps["PostgreSQL"]:.0f} | {tps["DriftDB"] / tps["PostgreSQL"]:.2f}x |',
                  flush=True)
    finally:
        pg.stop()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
