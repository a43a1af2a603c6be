#!/usr/bin/env python3
"""What clients read about the schema: psql's \\d family, SQLAlchemy 2 reflection and ORM
(psycopg2 and psycopg 3 dialects), information_schema, reg* casts and the catalog as of a
past seq, against a real `driftdb serve` process.

    python3 tests/compat/test_catalog.py --driftdb .build/release/driftdb [-k pattern]

The expected psql output is PostgreSQL 15's for the same schema (owner names aside; a
CHECK's text is DriftDB's canonical form of the expression).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pgwire  # noqa: E402  (the Server helper and psql runner)
from test_pgwire import OneServer, psql  # noqa: E402

SCHEMA = """
create schema sales;
create table branches (bid serial primary key, name varchar(40) not null unique, created timestamptz default now());
create table accounts (aid int primary key, bid int references branches(bid) on delete cascade,
                       balance numeric(12,2) check (balance > 0), note text);
create index accounts_bid_idx on accounts (bid);
create unique index accounts_note_idx on accounts (note, bid);
comment on table accounts is 'the accounts';
comment on column accounts.note is 'free text';
create view rich as select aid, balance from accounts;
create table sales.orders (id bigint generated always as identity primary key, aid int not null, qty smallint default 1,
                           constraint orders_aid_fkey foreign key (aid) references accounts(aid));
"""


class Catalog(OneServer):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        psql(cls.server, SCHEMA)

    def out(self, command):
        return psql(self.server, command + '\n').stdout

    def test_psql_list_tables_indexes_schemas(self):
        self.assertEqual(self.out('\\dt'), '''\
          List of relations
 Schema |   Name   | Type  |  Owner  
--------+----------+-------+---------
 public | accounts | table | driftdb
 public | branches | table | driftdb
(2 rows)

''')
        self.assertEqual(self.out('\\di'), '''\
                    List of relations
 Schema |       Name        | Type  |  Owner  |  Table   
--------+-------------------+-------+---------+----------
 public | accounts_bid_idx  | index | driftdb | accounts
 public | accounts_note_idx | index | driftdb | accounts
 public | accounts_pkey     | index | driftdb | accounts
 public | branches_name_key | index | driftdb | branches
 public | branches_pkey     | index | driftdb | branches
(5 rows)

''')
        self.assertEqual(self.out('\\dn'), '''\
 List of schemas
  Name  |  Owner  
--------+---------
 public | driftdb
 sales  | driftdb
(2 rows)

''')
        self.assertIn(' public | rich | view | driftdb', self.out('\\dv'))
        self.assertIn(' public | branches_bid_seq | sequence | driftdb', self.out('\\ds'))
        self.assertIn(' sales  | orders | table | driftdb', self.out('\\dt sales.*'))

    def test_psql_describe_table(self):
        self.assertEqual(self.out('\\d accounts'), '''\
                 Table "public.accounts"
 Column  |     Type      | Collation | Nullable | Default 
---------+---------------+-----------+----------+---------
 aid     | integer       |           | not null | 
 bid     | integer       |           |          | 
 balance | numeric(12,2) |           |          | 
 note    | text          |           |          | 
Indexes:
    "accounts_pkey" PRIMARY KEY, btree (aid)
    "accounts_bid_idx" btree (bid)
    "accounts_note_idx" UNIQUE, btree (note, bid)
Check constraints:
    "accounts_balance_check" CHECK ((balance > 0))
Foreign-key constraints:
    "accounts_bid_fkey" FOREIGN KEY (bid) REFERENCES branches(bid) ON DELETE CASCADE
Referenced by:
    TABLE "sales.orders" CONSTRAINT "orders_aid_fkey" FOREIGN KEY (aid) REFERENCES accounts(aid)

''')
        self.assertEqual(self.out('\\d branches'), '''\
                                      Table "public.branches"
 Column  |           Type           | Collation | Nullable |                Default                
---------+--------------------------+-----------+----------+---------------------------------------
 bid     | integer                  |           | not null | nextval('branches_bid_seq'::regclass)
 name    | character varying(40)    |           | not null | 
 created | timestamp with time zone |           |          | now()
Indexes:
    "branches_pkey" PRIMARY KEY, btree (bid)
    "branches_name_key" UNIQUE CONSTRAINT, btree (name)
Referenced by:
    TABLE "accounts" CONSTRAINT "accounts_bid_fkey" FOREIGN KEY (bid) REFERENCES branches(bid) ON DELETE CASCADE

''')
        orders = self.out('\\d sales.orders')
        self.assertIn(' id     | bigint   |           | not null | generated always as identity', orders)
        self.assertIn(' qty    | smallint |           |          | 1', orders)
        self.assertIn('"orders_aid_fkey" FOREIGN KEY (aid) REFERENCES accounts(aid)', orders)
        verbose = self.out('\\d+ accounts')
        self.assertIn('free text', verbose)
        self.assertIn('Access method: heap', verbose)
        self.assertIn('the accounts', self.out('\\dt+ accounts'))

    def test_psql_describe_view_sequence_index_and_expanded(self):
        self.assertIn(' balance | numeric(12,2) |', self.out('\\d rich'))
        seq = self.out('\\d branches_bid_seq')
        self.assertIn(' integer |     1 |       1 | 2147483647 |         1 | no      |     1', seq)
        self.assertIn('Owned by: public.branches.bid', seq)
        self.assertIn('primary key, btree, for table "public.accounts"', self.out('\\d accounts_pkey'))
        x = self.out('\\x\nselect relname, relkind from pg_class where relname = \'accounts\';')
        self.assertIn('relname | accounts', x)
        self.assertIn('relkind | r', x)

    def test_regclass_and_friends(self):
        with self.server.connect() as c, c.cursor() as cur:
            cur.execute("select 'accounts'::regclass, 'accounts'::regclass::oid = (select oid from pg_class where relname = 'accounts'),"
                        " 'sales.orders'::regclass, 'pg_catalog.pg_class'::regclass::oid, 'integer[]'::regtype, "
                        " format_type('varchar'::regtype, 44), pg_get_serial_sequence('branches', 'bid')")
            self.assertEqual(cur.fetchone(), ('accounts', True, 'sales.orders', 1259, 'integer[]', 'character varying(40)',
                                              'public.branches_bid_seq'))
            cur.execute("select pg_get_constraintdef(oid), pg_get_indexdef(conindid) from pg_constraint"
                        " where conrelid = 'accounts'::regclass order by contype, conname")
            self.assertEqual(cur.fetchall(), [
                ('CHECK ((balance > 0))', None),
                ('FOREIGN KEY (bid) REFERENCES branches(bid) ON DELETE CASCADE',
                 'CREATE UNIQUE INDEX branches_pkey ON public.branches USING btree (bid)'),
                ('PRIMARY KEY (aid)', 'CREATE UNIQUE INDEX accounts_pkey ON public.accounts USING btree (aid)'),
            ])
            # int2vector: printed with spaces, subscripted from 0; the lockstep of two
            # set-returning functions in a select list.
            cur.execute("select indkey, indkey[0], indkey[1], array_upper(indkey, 1) from pg_index"
                        " where indexrelid = 'accounts_note_idx'::regclass")
            self.assertEqual(cur.fetchone(), ('4 2', 4, 2, 1))
            cur.execute("select unnest(indkey), generate_subscripts(indkey, 1) from pg_index"
                        " where indexrelid = 'accounts_note_idx'::regclass")
            self.assertEqual(cur.fetchall(), [(4, 0), (2, 1)])
            cur.execute("select (current_schemas(true))[1], current_schemas(false), current_setting('server_version_num')")
            self.assertEqual(cur.fetchone(), ('pg_catalog', ['public'], '150000'))
            with self.assertRaises(test_pgwire.psycopg2.errors.UndefinedTable):
                cur.execute("select 'no_such_table'::regclass")

    def test_information_schema(self):
        with self.server.connect() as c, c.cursor() as cur:
            cur.execute("select table_schema, table_name, table_type from information_schema.tables"
                        " where table_schema in ('public', 'sales') order by 1, 2")
            self.assertEqual(cur.fetchall(), [('public', 'accounts', 'BASE TABLE'), ('public', 'branches', 'BASE TABLE'),
                                              ('public', 'rich', 'VIEW'), ('sales', 'orders', 'BASE TABLE')])
            cur.execute("select column_name, ordinal_position, is_nullable, data_type, character_maximum_length,"
                        " numeric_precision, numeric_scale, column_default, udt_name from information_schema.columns"
                        " where table_name = 'branches' order by ordinal_position")
            self.assertEqual(cur.fetchall(), [
                ('bid', 1, 'NO', 'integer', None, 32, 0, "nextval('branches_bid_seq'::regclass)", 'int4'),
                ('name', 2, 'NO', 'character varying', 40, None, None, None, 'varchar'),
                ('created', 3, 'YES', 'timestamp with time zone', None, None, None, 'now()', 'timestamptz'),
            ])
            cur.execute("select is_identity, identity_generation from information_schema.columns"
                        " where table_schema = 'sales' and column_name = 'id'")
            self.assertEqual(cur.fetchone(), ('YES', 'ALWAYS'))
            cur.execute("select tc.constraint_type, kcu.column_name from information_schema.table_constraints tc"
                        " join information_schema.key_column_usage kcu using (constraint_schema, constraint_name)"
                        " where tc.table_name = 'accounts' order by 1")
            self.assertEqual(cur.fetchall(), [('FOREIGN KEY', 'bid'), ('PRIMARY KEY', 'aid')])
            cur.execute("select unique_constraint_name, update_rule, delete_rule from information_schema.referential_constraints"
                        " where constraint_name = 'accounts_bid_fkey'")
            self.assertEqual(cur.fetchone(), ('branches_pkey', 'NO ACTION', 'CASCADE'))
            # information_schema's names need their schema: "tables" alone is not the view.
            with self.assertRaises(test_pgwire.psycopg2.errors.UndefinedTable):
                cur.execute("select * from tables")

    def test_catalog_as_of_a_past_seq_and_no_history_columns(self):
        c = self.server.connect()
        c.autocommit = True  # before any `with c`, which would open a transaction block
        self.addCleanup(c.close)
        with c.cursor() as cur:
            cur.execute("create table later (x int)")
            cur.execute("select max(drift_seq) from drift_events")
            created = cur.fetchone()[0]
            cur.execute("alter table later add column y text")
            cur.execute("select attname from pg_attribute where attrelid = 'later'::regclass and attnum > 0 order by attnum")
            self.assertEqual(cur.fetchall(), [('x',), ('y',)])
            cur.execute(f"select attname from pg_attribute as of @seq:{created}"
                        " where attrelid = 'later'::regclass and attnum > 0 order by attnum")
            self.assertEqual(cur.fetchall(), [('x',)])
            cur.execute(f"select count(*) from pg_class as of @seq:{created - 1} where relname = 'later'")
            self.assertEqual(cur.fetchone(), (0,))
            cur.execute("select count(*) from pg_attribute where attname like 'drift%'")
            self.assertEqual(cur.fetchone(), (0,))
            cur.execute("drop table later")
            cur.execute(f"select count(*) from pg_class as of @seq:{created} where relname = 'later'")
            self.assertEqual(cur.fetchone(), (1,))


class SQLAlchemy(OneServer):
    """SQLAlchemy 2: create_all, the ORM with RETURNING (insertmanyvalues), reflection."""

    def run_dialect(self, driver):
        import sqlalchemy as sa
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, Session

        engine = sa.create_engine(f'postgresql+{driver}://driftdb@127.0.0.1:{self.server.port}/driftdb')

        class Base(DeclarativeBase):
            pass

        class Parent(Base):
            __tablename__ = f'parent_{driver}'
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str] = mapped_column(sa.String(50), unique=True)
            children = relationship('Child', back_populates='parent')

        class Child(Base):
            __tablename__ = f'child_{driver}'
            id: Mapped[int] = mapped_column(primary_key=True)
            parent_id: Mapped[int] = mapped_column(sa.ForeignKey(f'parent_{driver}.id', ondelete='CASCADE'), index=True)
            amount = mapped_column(sa.Numeric(10, 2))
            parent = relationship('Parent', back_populates='children')

        Base.metadata.create_all(engine)
        with Session(engine) as s:
            parents = [Parent(name=f'p{i}') for i in range(50)]
            s.add_all(parents)
            s.flush()  # one batched INSERT ... RETURNING, rows in the order sent
            self.assertEqual([p.id for p in parents], list(range(1, 51)))
            s.add_all([Child(parent=parents[i % 5], amount=i) for i in range(10)])
            s.commit()
            p = s.get(Parent, 1)
            p.name = 'renamed'
            s.delete(s.get(Child, 1))
            s.commit()
            self.assertEqual(s.scalar(sa.select(Parent.name).where(Parent.id == 1)), 'renamed')
            self.assertEqual(s.scalar(sa.select(sa.func.count()).select_from(Child)), 9)

        insp = sa.inspect(engine)
        parent, child = f'parent_{driver}', f'child_{driver}'
        self.assertTrue(insp.has_table(child))
        self.assertFalse(insp.has_table('nope'))
        self.assertIn(child, insp.get_table_names())
        cols = {c['name']: c for c in insp.get_columns(child)}
        self.assertEqual(list(cols), ['id', 'parent_id', 'amount'])
        self.assertEqual(str(cols['amount']['type']), 'NUMERIC(10, 2)')
        self.assertTrue(cols['id']['autoincrement'])
        self.assertFalse(cols['parent_id']['nullable'])
        self.assertEqual(insp.get_pk_constraint(child)['constrained_columns'], ['id'])
        fks = insp.get_foreign_keys(child)
        self.assertEqual([(f['constrained_columns'], f['referred_table'], f['referred_columns'], f['options']) for f in fks],
                         [(['parent_id'], parent, ['id'], {'ondelete': 'CASCADE'})])
        self.assertEqual([(i['name'], i['column_names'], i['unique']) for i in insp.get_indexes(child)],
                         [(f'ix_{child}_parent_id', ['parent_id'], False)])
        self.assertEqual([u['column_names'] for u in insp.get_unique_constraints(parent)], [['name']])
        table = sa.Table(child, sa.MetaData(), autoload_with=engine)
        self.assertEqual([c.name for c in table.columns], ['id', 'parent_id', 'amount'])
        self.assertEqual([fk.target_fullname for fk in table.foreign_keys], [f'{parent}.id'])
        engine.dispose()

    def test_psycopg2_dialect(self):
        self.run_dialect('psycopg2')

    def test_psycopg_dialect(self):
        self.run_dialect('psycopg')


if __name__ == '__main__':
    test_pgwire.main()
