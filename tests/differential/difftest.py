#!/usr/bin/env python3
"""Differential SQL test: a seeded random-query generator run against PostgreSQL 15 and DriftDB.

Every statement the generator makes (schema, data, random queries, random DML) runs on a
PostgreSQL 15 server this script starts itself (initdb in a temp dir, 127.0.0.1, a free port,
TimeZone=UTC, stopped on exit) and on DriftDB (`driftdb sql --jsonl -f FILE`, one process for
the whole run). The results are compared statement by statement:

  * errors: the SQLSTATE must be equal (messages are never compared); one side failing and
    the other not is a mismatch;
  * results: command tag, column count, column names, column types and every value as
    PostgreSQL's text output. Row order is compared only as far as the query's ORDER BY
    fixes it (see `compare`); otherwise rows compare as multisets.

Replay a failure with `SEED=<n>` (or `--seed n`); `--dump FILE` writes the statements.
See README.md next to this file.
"""
import argparse
import atexit
import decimal
import json
import math
import struct
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# ---------------------------------------------------------------------------------------
# Switches
# ---------------------------------------------------------------------------------------

# Deliberate differences / pending features. DriftDB does not support (or does not yet
# match PostgreSQL on) these; the generator can emit them but each is OFF by default until
# the engine catches up. Turn one on with `--enable NAME` (or `--enable all`).
PENDING_FEATURES = {
    'grouping_func': 'the GROUPING() function next to GROUPING SETS/ROLLUP/CUBE (0A000)',
}

# Features built since the generator learned them: always on.
BUILT_FEATURES = {'numeric', 'avg', 'interval', 'time', 'sequence', 'datetime_funcs', 'uuid', 'enum'}

# Known DriftDB bugs found by this harness. The generator avoids each one by default so
# that CI is green; `--allow NAME` (or `--allow all`) makes the generator produce it again.
# Each entry: a minimal repro with PostgreSQL's and DriftDB's answers (see README.md).
KNOWN_BUGS = {
    'unknown_literal_typmod':
        "an untyped literal meeting a char(n)/varchar(n) value is coerced with that length: CREATE TABLE tc(c char(1)); SELECT * FROM tc WHERE c = 'ABC'; or SELECT coalesce('xyz', v) with v varchar(1); PostgreSQL: no error; DriftDB: ERROR 22001 value too long for type character(1). Avoided: string literals are written 'x'::text",
    'polymorphic_unknown_literal':
        "untyped literals accepted by polymorphic functions: SELECT to_jsonb('abc'); SELECT array_agg(DISTINCT 'foo' ORDER BY 'foo'); SELECT json_agg('f'); PostgreSQL: ERROR 42804 could not determine polymorphic type / 42725 function array_agg(unknown) is not unique; DriftDB: a result. Avoided: string literals are written 'x'::text",
    'string_result_types':
        "result types of string expressions: CASE WHEN true THEN 'a'::varchar(2) ELSE 'b'::varchar(5) END is text (PostgreSQL: character varying); min(char(n)) is text (PostgreSQL: character); max(varchar) is character varying (PostgreSQL: text); NULLIF('a'::varchar(2), 'b') is character varying (PostgreSQL: text). Avoided in the comparison: text, character varying and character compare as one type",
    'column_names':
        "column names: a cast of a cast is named after the inner type (SELECT CAST(NULL::date AS char(10)) -> PostgreSQL 'bpchar', DriftDB 'date'; SELECT ('x'::text)::varchar(3) -> 'varchar' vs 'text'); CASE takes the name of its ELSE result when that is a column or function (SELECT CASE 1 WHEN 2 THEN 'a' ELSE lower('B') END -> PostgreSQL 'lower', DriftDB 'case'). Avoided: such select items get an alias",
    'jsonb_ordering':
        'jsonb ordering across types differs: ORDER BY over {}, [1,2,3], true, 1, "s", null, [] DESC gives PostgreSQL {} [1,2,3] true 1 "s" null [] (object > array > boolean > number > string > null, empty top-level array lowest) but DriftDB {} true null [] [1,2,3] 1 "s". Avoided: jsonb is never ordered or compared with < >',
    'like_bpchar':
        "LIKE, ILIKE and SIMILAR TO on char(n) ignore the padding: SELECT 'abc'::char(5) LIKE '%c'; SELECT 'a  '::char(3) SIMILAR TO 'a'; PostgreSQL: f, f; DriftDB: t, t. Avoided: their operands are cast to text",
    'text_jsonb_concat':
        "text || jsonb fails: SELECT 'a'::text || '{}'::jsonb; PostgreSQL: a{} (text); DriftDB: ERROR 42883 function jsonb_concat(text, jsonb) does not exist (jsonb || text the same: PostgreSQL concatenates the text forms)",
    'operator_resolution_sqlstate':
        "no matching operator gives a different SQLSTATE: SELECT '{}'::jsonb - 1.5::real; SELECT 1::int8 + '2020-01-01'::date; SELECT 1.5::float8 - '2020-01-01'::date; PostgreSQL: ERROR 42883 operator does not exist; DriftDB: 42804 (expression is of type ..., which cannot be used as ...) or 0A000 (interval arithmetic). Avoided in the comparison: 42804/0A000 from DriftDB accepted for PostgreSQL's 42883",
    'frame_error_sqlstate':
        'an invalid window frame gives 42601 instead of 42P20: ... ROWS BETWEEN 2 PRECEDING AND UNBOUNDED PRECEDING. Avoided: frames are valid',
    'jsonb_set_path':
        'jsonb_set with a non-integer path element on an array: SELECT jsonb_set(\'{"b":[1,2]}\', \'{b,x}\', \'1\'); PostgreSQL: ERROR 22P02 path element at position 2 is not an integer; DriftDB: {"b": [1, 2]}. Avoided: one-element paths',
    'date_input_sqlstate':
        "SELECT '0'::date; PostgreSQL: ERROR 22008 date/time field value out of range; DriftDB: 22007 invalid input syntax. SELECT '-25.875'::timestamptz; PostgreSQL: 22009 time zone displacement out of range; DriftDB: 22007. Avoided in the comparison: 22007/22008/22009 are interchangeable",
    'error_precedence':
        "errors found while folding constants are raised before analysis errors later in the statement: SELECT 1 FROM (VALUES (1)) v(x) WHERE (- (-2147483648)::int4) = 1 AND 'a'::date = x; PostgreSQL: 22007 (the literal is coerced during analysis); DriftDB: 22003. Avoided: a statement with an injected analysis error has no risky expression; in the comparison a 22xxx from DriftDB is accepted for PostgreSQL's 42xxx",
    'analysis_order':
        "with two analysis errors in one statement DriftDB reports another one first (PostgreSQL analyses FROM/ON, then the select list, then WHERE, GROUP BY, HAVING): SELECT LEAST(ARRAY[1], ARRAY['a']) FROM t WHERE CAST('x' AS no_such_type) IS NULL; PostgreSQL: 42846 (or 42883 ...); DriftDB: 42704. Avoided in the comparison: for a statement with an injected error any two 42xxx codes are accepted",
    'null_short_circuit':
        "a strict operator skips its second operand when the first is NULL, hiding that operand's error: SELECT f / CAST(g AS float8) FROM t WHERE f IS NULL (g = 'x'); SELECT a + (SELECT x FROM (VALUES (1),(2)) v(x)) FROM t WHERE a IS NULL; PostgreSQL: ERROR 22P02 / 21000; DriftDB: NULL. Avoided in the comparison: a PostgreSQL error the generator knew the query might raise is accepted when DriftDB returns a result",
    'ambiguous_using':
        'a merged USING column that is also visible from an earlier FROM item is not reported ambiguous: SELECT a FROM t x, t y JOIN t z USING (a); PostgreSQL: ERROR 42702 column reference "a" is ambiguous; DriftDB: rows. Avoided: such columns are always qualified',
    'jsonb_set_scalar':
        "jsonb_set on a scalar returns it: SELECT jsonb_set('1'::jsonb, '{b}', '1'); PostgreSQL: ERROR 22023 cannot set path in scalar; DriftDB: 1. Avoided: jsonb_set only on objects",
    'insert_error_order':
        "a multi-row INSERT reports a different error when several rows are bad: PostgreSQL coerces untyped literals of every row during analysis (22P02 first), then runs row by row (coercion, NOT NULL, CHECK, unique) and fails at the first bad row; DriftDB checks in another order (e.g. 22001 of row 3 before 23505 of row 2); in one row PostgreSQL's analysis-time coercion of untyped literals also comes before DriftDB's coercion of earlier columns. Avoided in the comparison: the constraint/coercion SQLSTATEs of an INSERT are interchangeable",
    'bpchar_least':
        "GREATEST/LEAST of char(n) values return text and lose the padding: SELECT LEAST('hello world'::char(3), 'abc  '::character(5)); PostgreSQL: 'abc  ' (character); DriftDB: 'abc' (text). Avoided: no GREATEST/LEAST on char(n)",
    'stable_fold':
        "stable functions are folded at plan time, so they fail even when no row is produced: SELECT format('%I', NULL::bool) FROM t WHERE a > 5; SELECT concat('a')::jsonb FROM t WHERE a > 5; PostgreSQL: 0 rows (format/concat are STABLE, evaluated per row); DriftDB: ERROR 22004 / 22P02. Avoided: risky operations always have a table column operand",
    'pruned_evaluation':
        "DriftDB evaluates what PostgreSQL's plan never runs: aggregates under a constant false HAVING, a select list over a join with a constant-false ON, WITH queries the statement does not reference. SELECT sum(k / k) FROM t HAVING false; PostgreSQL: 0 rows; DriftDB: ERROR 22012 (k = 0). Not strictly a bug (PostgreSQL does not promise either) but a difference. PostgreSQL also folds a strict function with a NULL constant argument to NULL without running its other arguments (SELECT mod((SELECT x FROM (VALUES (1),(2)) v(x)), NULL::int) is NULL there, 21000 in DriftDB). Avoided in the comparison: a DriftDB error the generator knew the query might raise is accepted when PostgreSQL returns a result (for DML: changed no row)",
    'setop_null':
        "an untyped NULL in a set operation is typed text: SELECT true UNION SELECT NULL; SELECT 1 INTERSECT SELECT (NULL); PostgreSQL: t, NULL / no row (the NULL takes the other branch's type); DriftDB: ERROR 42804 UNION types boolean and text cannot be matched. Avoided: NULLs are typed",
    'to_hex_int2':
        "SELECT to_hex(5::int2); PostgreSQL: ERROR 42725 function to_hex(smallint) is not unique; DriftDB: 5. Avoided: to_hex's argument is cast to int4/int8",
    'to_jsonb_timestamptz':
        'SELECT to_jsonb(\'2020-01-01 12:00+02\'::timestamptz); PostgreSQL: "2020-01-01T10:00:00+00:00"; DriftDB: "2020-01-01T10:00:00+00". Avoided: no timestamptz into to_jsonb',
    'nullif_bpchar':
        "NULLIF of two equal char(n) values is not NULL: SELECT NULLIF('7'::char(3), '7'::char(3)); PostgreSQL: NULL; DriftDB: '7  '. Also NULLIF(char(n), text) compares with the padding. Avoided: no NULLIF on char(n); string NULLIFs compare as text",
    'json_type':
        'json values are normalised like jsonb: SELECT \'{"k": "v", "a": 1}\'::json, \'{"a":1,  "a":2}\'::json; PostgreSQL: the input text unchanged; DriftDB: {"a": 1, "k": "v"} and {"a": 2}. Avoided: no json literals (json_agg only)',
    'bpchar_padding':
        "results of type character lose their padding, and min/max/CASE/COALESCE/UNION over char(n) are typed text: SELECT min('true'::char(5)), CASE WHEN true THEN 'a'::char(3) ELSE 'b'::char(5) END; PostgreSQL: 'true ', 'a  ' (character); DriftDB: 'true', 'a' (text). Avoided in the comparison: values of PostgreSQL type character compare without trailing spaces",
    'range_offset_int2':
        'RANGE frames with an offset over a smallint column fail: SELECT min(x) OVER (ORDER BY x RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) FROM (VALUES (1::int2)) v(x); PostgreSQL: 1; DriftDB: ERROR 42804 expression is of type integer, which cannot be used as smallint. Avoided: RANGE offsets only over int4/int8/float8',
    'octet_length_bpchar':
        "octet_length of char(n) leaves out the padding: SELECT octet_length('ab'::char(8)); PostgreSQL: 8; DriftDB: 2. Avoided: octet_length only on text",
    'int_input_sqlstate':
        'SELECT \'2020-01-01\'::int8; PostgreSQL: ERROR 22P02 invalid input syntax for type bigint; DriftDB: 22003 value "2020-01-01" is out of range for type bigint. Avoided in the comparison: 22003 accepted for 22P02',
    'grouped_correlation':
        'a grouped query with a correlated subquery in its select list rejects an outer reference to an ungrouped column inside a WHERE subquery: CREATE TABLE t (id int, g text); SELECT (SELECT t.g) FROM t WHERE t.g IN (SELECT t.id::text) GROUP BY t.g; PostgreSQL: rows (WHERE is evaluated before grouping); DriftDB: ERROR 42803 subquery uses ungrouped column "t.id" from outer query. Avoided: subqueries in the WHERE of a grouped query are not correlated',
    'ungrouped_after_fold':
        'the check for ungrouped columns runs after constant folding: SELECT count(*) + (a * NULL) FROM t; PostgreSQL: ERROR 42803 column "t.a" must appear in the GROUP BY clause; DriftDB: NULL. Avoided: no aggregate injected into a select list',
    'array_cross_type_eq':
        'arrays of different element types compare: SELECT ARRAY[1] = ARRAY[1::int8]; PostgreSQL: ERROR 42883 operator does not exist: integer[] = bigint[]; DriftDB: t. Avoided: array_agg elements are cast to one type',
    'initcap_c_locale':
        "initcap in the C locale: SELECT initcap('hello wörld'), initcap('Ωmega'); PostgreSQL: Hello WöRld, ΩMega (only ASCII letters are letters); DriftDB: Hello Wörld, Ωmega. Avoided: no initcap",
    'bytea_escape_input':
        "bytea escape-format input: SELECT 'a\\b'::bytea; PostgreSQL: ERROR 22P02 invalid input syntax for type bytea; DriftDB: \\x615c62. SELECT '\\x4'::bytea; PostgreSQL: 22023 invalid hexadecimal data: odd number of digits; DriftDB: 22P02. Avoided: no text to bytea casts of data",
    'using_sqlstate':
        'JOIN ... USING over columns of types that do not match: PostgreSQL: ERROR 42804 JOIN/USING types text[] and jsonb cannot be matched; DriftDB: 42883 operator does not exist: text[] = jsonb. Avoided: USING only over columns of one type category',
    'bpchar_varchar_compare':
        "varchar compared with char(n) compares as text: SELECT '  '::varchar = '   '::char(3), 'a'::char(3) = 'a '::varchar; PostgreSQL: t, t (the varchar is coerced to char(n): trailing spaces do not count); DriftDB: f, f. Avoided: char(n) values only meet char(n) values",
    'real_to_text':
        'real values turned into text print as double precision: CREATE TABLE tr (r real); INSERT INTO tr VALUES (0.1); SELECT r::text, concat(r), (CASE WHEN true THEN 0.1::real END)::text FROM tr; PostgreSQL: 0.1; DriftDB: 0.10000000149011612 (a real column itself prints 0.1). Avoided: no real value is cast to text',
    'variance_precision':
        'stddev/variance lose precision (naive sum of squares, PostgreSQL uses the Youngs-Cramer algorithm): SELECT stddev_samp(x) FROM (VALUES (0.8::float8), ... twelve times) v(x); PostgreSQL: 1.0932720593655596e-16; DriftDB: 1.7971476589308e-08. Avoided: no stddev/variance',
    'const_assignment_fold':
        "UPDATE t SET c = 'Hello' WHERE false with c char(1): PostgreSQL folds the assignment cast of the constant at plan time: ERROR 22001 even though no row matches; DriftDB: UPDATE 0 (INSERT ... SELECT 'abc'::char(3) ... WHERE false the same). Avoided: constant SET values and INSERT ... SELECT values of char(n)/varchar(n) columns are cast to the column type",
}

# Bugs this harness found that are fixed: the generator produces them again.
FIXED_BUGS = {'range_offset_overflow', 'width_bucket_nan', 'jsonb_cast', 'case_const_fold', 'radians', 'nan_math', 'bytea_concat', 'jsonb_scalar_index', 'group_by_empty', 'int4_min_literal'}

# Floating point tolerance (deliberate, documented difference): sums, averages and
# variances of float4/float8 values depend on the order in which rows are added, and that
# order legitimately differs between the engines (hash joins, scan order). Output columns
# the generator marks "fuzzy" (a float aggregate or window aggregate as a whole select
# item) compare numerically: |a-b| <= REL_TOL*max(|a|,|b|) + ABS_TOL. Every other value,
# float or not, must match its text exactly. The generator keeps such aggregates out of
# WHERE/HAVING/ORDER BY/set operations so a last-digit difference cannot change which rows
# come back; float data stays within +-1e4 so ABS_TOL covers cancellation.
REL_TOL = 1e-12
ABS_TOL = 1e-8
REL_TOL_REAL = 1e-6   # sums of real are accumulated in float4 by PostgreSQL
ABS_TOL_REAL = 1e-3

# ---------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------

INT_T = ('int2', 'int4', 'int8')
FLT_T = ('float4', 'float8')
STR_T = ('text', 'varchar', 'bpchar')
DT_T = ('date', 'timestamp', 'timestamptz')
CAT = {'int2': 'num', 'int4': 'num', 'int8': 'num', 'float4': 'num', 'float8': 'num',
       'numeric': 'num', 'text': 'str', 'varchar': 'str', 'bpchar': 'str', 'bool': 'bool',
       'date': 'dt', 'timestamp': 'dt', 'timestamptz': 'dt', 'bytea': 'bytea',
       'jsonb': 'jsonb', 'json': 'json'}
SQLNAMES = {
    'int2': ['smallint', 'int2'], 'int4': ['integer', 'int', 'int4'],
    'int8': ['bigint', 'int8'], 'float4': ['real', 'float4'],
    'float8': ['double precision', 'float8'], 'numeric': ['numeric'],
    'text': ['text'], 'varchar': ['varchar'], 'bpchar': ['char'],
    'bool': ['boolean', 'bool'], 'date': ['date'],
    'timestamp': ['timestamp', 'timestamp without time zone'],
    'timestamptz': ['timestamptz', 'timestamp with time zone'], 'bytea': ['bytea'],
    'jsonb': ['jsonb'],
}
FLOAT_TYPE_NAMES = {'double precision': 'float8', 'real': 'float4'}


def cat(t):
    if t.endswith('[]'):
        return 'array'
    return CAT.get(t, t)


def orderable(t):
    return t != 'json' and not (t.endswith('[]') and t[:-2] == 'json')


def q(s):
    return "'" + s.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------
# Literal pools (data and literals). Float data stays within +-1e4 (see ABS_TOL); -0.0 is
# never stored (0 and -0 are equal but print differently, which would make GROUP BY /
# DISTINCT representatives order dependent).
# ---------------------------------------------------------------------------------------

INT2_V = [0, 0, 1, 1, 2, 3, 5, 7, 10, -1, -2, 42, 100, 32767, -32768, 255, 1000]
INT4_V = [0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, -1, -5, 42, 100, 1000, 65536,
          2147483647, -2147483648, 123456789, -99999]
INT8_V = [0, 1, 2, 3, 4, 5, 7, 9, -1, 10, 100, 4294967296, 9223372036854775807,
          -9223372036854775808, 1234567890123, -42, 2147483648]
F8_V = ['0', '1', '-1', '0.5', '2.25', '-3.75', '0.1', '0.2', '0.3', '1.5', '3', '7',
        '100', '1e-05', '123.456', '9999.5', '-0.001', '3.141592653589793', '2.5e3',
        'NaN', 'Infinity', '-Infinity', '0.30000000000000004', '6', '8', '4.5e-3']
F4_V = ['0', '1', '-1', '0.5', '2.25', '-3.75', '1.5', '3', '7', '100', '-250.25', '0.125',
        'NaN', 'Infinity', '-Infinity', '1000', '0.1', '6']
TEXT_V = ['', 'a', 'a', 'b', 'c', 'abc', 'ABC', 'Abc', 'hello world', 'Hello World',
          ' padded ', 'x%y_z', 'ünïcödé', '日本語', '😀 emoji', "it's", 'a\\b', '123',
          '-7', '1e5', 'true', 'f', '2020-01-01', '{"a": 1}', 'NaN', 'null', 'A', 'B',
          'x' * 300, 'tab\there', 'abc  ', 'aBc', '  ', 'a,b,c', 'foo.bar', 'Ωmega',
          'ß', 'İi', 'zzz', '0', '3.5', 'yes']
DATE_V = ['1970-01-01', '1969-12-31', '2000-02-29', '2020-06-15', '2020-06-15',
          '0001-01-01', '9999-12-31', '0044-03-15 BC', 'infinity', '-infinity',
          '2024-12-31', '1999-01-01', '2038-01-19', '1900-03-01']
TS_V = ['1970-01-01 00:00:00', '2000-01-01 12:34:56.789', '1999-12-31 23:59:59.999999',
        '0001-01-01 00:00:00', '2020-06-15 08:00:00', '2020-06-15 08:00:00',
        '2262-04-11 23:47:16', '1900-01-01 00:00:00', 'infinity', '-infinity',
        '2038-01-19 03:14:08', '0099-12-31 23:59:59 BC', '2020-02-29 00:00:00.5']
TSTZ_V = ['1970-01-01 00:00:00+00', '2000-01-01 12:34:56.789+05:30',
          '1999-12-31 23:59:59.999999-08', '2020-06-15 08:00:00+00',
          '2020-06-15 10:00:00+02', '0001-01-01 00:00:00+00', 'infinity', '-infinity',
          '2038-01-19 03:14:08+00', '1900-01-01 00:00:00+01', '2020-02-29 12:00:00-11:30']
BYTEA_V = ['\\x', '\\x00', '\\xdeadbeef', '\\x616263', '\\x00ff00ff', '\\x41', '\\x61',
           '\\xc3bc']
JSONB_V = ['null', '1', '0', '-7', '"a"', '""', 'true', 'false', '[]', '{}', '[1, 2, 3]',
           '[1, "a", null, true]', '{"a": 1, "b": "x"}', '{"a": 2}', '{"b": [1, 2]}',
           '{"a": {"b": [1, {"c": null}]}, "k": "v"}', '[{"a": 1}, {"a": 2}]',
           '{"a": [1, 2], "b": {"a": 3}}', '"ünï"', '{"q": "a\\"b"}', '[[1], [2, 3]]',
           '{"a": null}', '{"k": "v", "a": 1}', '"1"', '{"": 0}', '[3, 1, 2]']
NUMERIC_V = ['0', '1.50', '-2.25', '0.1', '123456789.123456789', '1e20', '-0.001', '3',
             '99999999999999999999', '0.3333333333333333333333']
JSONB_NUMERIC_V = ['1.50', '{"a": 1.5e3}', '[0.1, 2.50]']

PATH_TAIL = ['', ", 'b'", ", '0'"]
JSON_KEYS = ["'a'", "'b'", "'k'", "'1'", '0', '1', '(-1)', "'c'"]
BACKSLASH = '\\'
TEXT_ARRAYS = ["ARRAY['a', 'b']", "'{a,k}'::text[]", "'{}'::text[]", "ARRAY['q']"]
IDENT_REF = __import__('re').compile(r'[a-z0-9_]+(\.[a-z0-9_]+)?')
TYPED_LITERAL = __import__('re').compile(
    r"(date|timestamp|timestamptz|zone|jsonb|json|float8|float4|real|precision|int2|int4|int8|"
    r"bigint|smallint|integer|text|boolean|bool|bytea|char|varchar) '")
LIKE_PATTERNS = ['a%', '%a%', '_', '%', '', 'A%', '%c', 'a_c', '%\\%%', 'x\\%y%', '%_%_%',
                 'abc', '%ü%', 'h%o%', '%b_', '__', '%d']
SIMILAR_PATTERNS = ['a%', '(a|b)%', '%[0-9]%', '[a-c]*', 'a_c', '%(x|y)%', '%', '[A-Z]%',
                    '(ab)+', 'abc|ABC']


# SQLSTATEs an INSERT/UPDATE can fail with while coercing and checking rows
INSERT_CODES = {'23505', '23502', '23514', '22001', '22003', '22P02', '22007', '22008',
                '22012', '21000', '22023'}


class Col:
    def __init__(self, name, t, decl, notnull=False, default=None, length=None):
        self.name, self.t, self.decl = name, t, decl
        self.notnull, self.default, self.length = notnull, default, length


class Table:
    def __init__(self, name):
        self.name = name
        self.cols = []
        self.pk = []          # column names
        self.uniques = []     # lists of column names
        self.checks = []      # (sql, colname)

    def col(self, name):
        for c in self.cols:
            if c.name == name:
                return c
        return None


class ColRef:
    """A column visible in a scope: qual.name (qual None: merged USING column)."""

    def __init__(self, qual, name, t, base=False):
        self.qual, self.name, self.t, self.base = qual, name, t, base
        self.unq = True   # may be referenced unqualified (set False when ambiguous)

    @property
    def sql(self):
        return f'{self.qual}.{self.name}' if self.qual else self.name


class StmtState:
    def __init__(self, bad):
        self.risks = set()     # SQLSTATEs a data-dependent runtime error could have
        self.bad = bad         # inject one ill-typed / invalid construct
        self.injected = False
        self.alias_n = 0
        self.fuzzy_item = False
        self.os_window = False   # an order-sensitive window function is used


class Ctx:
    """Expression context: the columns in scope and what may appear here."""

    def __init__(self, st, scope, outer=None):
        self.st = st
        self.scope = scope
        self.outer = outer
        self.group = None        # grouped query: list of (sql, type) usable as leaves
        self.agg_ok = False      # aggregates allowed (select list / HAVING of grouped q.)
        self.risky = False       # may emit expressions whose runtime error depends on data
        self.subq = 0            # subquery nesting level
        self.no_outer = False    # no outer references (inside aggregate arguments)
        self.in_agg = False
        self.extremes = False    # extreme literals (1e300, 3.4e38 ...): top-level items only
        self.no_corr = False     # subqueries here may not reference outer columns
        self.in_where = False

    def child(self, scope=None):
        c = Ctx(self.st, self.scope if scope is None else scope, self.outer)
        c.group, c.agg_ok, c.risky, c.subq = self.group, self.agg_ok, self.risky, self.subq
        c.no_outer, c.in_agg = self.no_outer, self.in_agg
        c.extremes = self.extremes
        c.no_corr = self.no_corr
        c.in_where = self.in_where
        return c


class Sel:
    def __init__(self, sql, cols, order_keys=None, fuzzy=()):
        self.sql = sql
        self.cols = cols               # [(name, type)]
        self.order_keys = order_keys   # output column indexes fixing the order, or None
        self.fuzzy = set(fuzzy)


class Stmt:
    def __init__(self, sql, kind, order_keys=None, fuzzy=(), alt_codes=(), dml=False, st=None):
        self.sql, self.kind = sql, kind
        self.order_keys = order_keys
        self.fuzzy = set(fuzzy)
        self.alt_codes = set(alt_codes)   # interchangeable SQLSTATEs (order-dependent errors)
        self.dml = dml
        self.risks = set(st.risks) if st is not None else set()   # runtime errors it may raise
        self.table = getattr(st, 'table', None)                   # table a DML statement changes
        self.bad = bool(st is not None and st.injected)           # has an injected error


class Gen:
    def __init__(self, seed, enabled, allowed):
        self.r = random.Random(seed)
        self.en = set(enabled)
        self.allow = set(allowed)
        self.tables = []

    # -- helpers ---------------------------------------------------------------------------
    def on(self, feature):
        return feature in self.en

    def jflt(self):
        """Type of a float going into jsonb: jsonb numbers are numeric, and float8 -> jsonb
        prints numeric digits in PostgreSQL (pending feature numeric)."""
        return 'float8' if self.on('numeric') else 'int4'

    def ordok(self, t):
        """May values of type t be ordered (ORDER BY, <, min/max) here?"""
        if not orderable(t):
            return False
        if (t == 'jsonb' or t == 'jsonb[]') and not self.bug('jsonb_ordering'):
            return False
        return True

    def bug(self, name):
        """True when the generator may produce the construct of known bug NAME."""
        return name in self.allow

    def w(self, items):
        """Weighted choice from [(weight, value)]."""
        tot = sum(x[0] for x in items)
        p = self.r.random() * tot
        for wt, v in items:
            p -= wt
            if p < 0:
                return v
        return items[-1][1]

    def qc(self, *vals):
        """A random one of vals as a quoted SQL string literal."""
        return q(self.r.choice(vals))

    def coin(self, p):
        return self.r.random() < p

    def tname(self, t):
        if t.endswith('[]'):
            return self.tname(t[:-2]) + '[]'
        if t == 'varchar':
            return self.r.choice(['varchar', 'varchar(5)', 'character varying(20)', 'varchar(2)'])
        if t == 'bpchar':
            return self.r.choice(['char(3)', 'character(5)', 'char', 'char(10)'])
        return self.r.choice(SQLNAMES[t])

    def alias(self, st, p='a'):
        st.alias_n += 1
        return f'{p}{st.alias_n}'

    def textable_types(self):
        """Types whose values may be turned into text (known bug real_to_text)."""
        return [t for t in self.basic_types() if t != 'float4' or self.bug('real_to_text')]

    def basic_types(self):
        ts = ['int2', 'int4', 'int8', 'float4', 'float8', 'text', 'varchar', 'bpchar', 'bool',
              'date', 'timestamp', 'timestamptz', 'bytea', 'jsonb']
        if self.on('numeric'):
            ts.append('numeric')
        return ts

    # -- literals ------------------------------------------------------------------------
    def raw_value(self, t, length=None):
        """A data value as SQL literal text (no cast)."""
        r = self.r
        if t == 'int2':
            v = r.choice(INT2_V)
        elif t == 'int4':
            v = r.choice(INT4_V) if r.random() < 0.9 else r.randint(-1000, 1000)
            if v == -2147483648 and not self.bug('int4_min_literal'):
                return '(-2147483648)::int4'
        elif t == 'int8':
            v = r.choice(INT8_V) if r.random() < 0.9 else r.randint(-10 ** 6, 10 ** 6)
        elif t == 'float8':
            return q(r.choice(F8_V) if r.random() < 0.85 else str(r.randint(-400, 400) / 8))
        elif t == 'float4':
            return q(r.choice(F4_V) if r.random() < 0.85 else str(r.randint(-400, 400) / 4))
        elif t == 'numeric':
            return q(r.choice(NUMERIC_V))
        elif t in STR_T:
            s = r.choice(TEXT_V)
            if length is not None:
                s = s[:length]
                if t == 'bpchar':
                    s = s.rstrip(' ') if r.random() < 0.5 else s
            return q(s)
        elif t == 'bool':
            return r.choice(['true', 'false', "'t'", "'f'", 'TRUE'])
        elif t == 'date':
            return q(r.choice(DATE_V))
        elif t == 'timestamp':
            return q(r.choice(TS_V))
        elif t == 'timestamptz':
            return q(r.choice(TSTZ_V))
        elif t == 'bytea':
            return q(r.choice(BYTEA_V))
        elif t == 'jsonb':
            pool = JSONB_V + (JSONB_NUMERIC_V if self.on('numeric') else [])
            return q(r.choice(pool))
        else:
            raise ValueError(t)
        return str(v) if v >= 0 else f'({v})'

    def lit(self, t, c=None):
        """A typed literal expression of type t."""
        r = self.r
        if r.random() < 0.05:
            return f'NULL::{self.tname(t)}' if t not in ('json',) else 'NULL::json'
        if t == 'int4':
            if r.random() < 0.7:
                v = r.choice([0, 1, 2, 3, 5, 10, -1, 7, 100, 2147483647, -2147483648, 42])
                if v == -2147483648 and not self.bug('int4_min_literal'):
                    return '(-2147483648)::int4'
                return str(v) if v >= 0 else f'({v})'
            return f'{self.raw_value(t)}::{self.tname(t)}'
        if t in ('int2', 'int8'):
            return self.w([(3, f'{self.raw_value(t)}::{self.tname(t)}'),
                           (1, f'CAST({self.raw_value(t)} AS {self.tname(t)})')])
        if t in FLT_T:
            v = self.raw_value(t)
            risky = c is not None and c.risky and c.extremes and self.bug('case_const_fold')
            if t == 'float8' and risky and r.random() < 0.15:
                v = r.choice(["'1e300'", "'1.7976931348623157e308'", "'4.9e-324'", "'1e-300'",
                              "'123456789012345678'", "'0.1'", "'1e15'", "'1e16'", "'-1e-5'"])
            if t == 'float4' and risky and r.random() < 0.15:
                v = r.choice(["'3.4e38'", "'1e-45'", "'1.17549435e-38'", "'16777217'",
                              "'0.3'", "'1e10'", "'3.14159'"])
            return self.w([(3, f'{v}::{self.tname(t)}'), (1, f'{self.tname(t)} {v}'),
                           (1, f'CAST({v} AS {self.tname(t)})')])
        if t == 'numeric':
            return f'{r.choice(NUMERIC_V)}::numeric'
        if t in STR_T:
            s = self.raw_value('text')
            if t == 'text':
                untyped_ok = self.bug('unknown_literal_typmod') and self.bug('polymorphic_unknown_literal')
                return s if untyped_ok and r.random() < 0.6 else f'{s}::text'
            return f'{s}::{self.tname(t)}'
        if t == 'bool':
            return r.choice(['true', 'false', "'t'::boolean", "'no'::bool", 'NOT true'])
        if t in DT_T or t in ('bytea', 'jsonb'):
            v = self.raw_value(t)
            return self.w([(3, f'{v}::{self.tname(t)}'), (1, f'CAST({v} AS {self.tname(t)})')]
                          + ([(1, f'{t} {v}')] if t in ('date', 'timestamp', 'jsonb') else []))
        if t == 'json':
            if not self.bug('json_type'):
                return 'NULL::json'
            return f"{self.raw_value('jsonb')}::json"
        if t.endswith('[]'):
            return f'NULL::{t}'
        raise ValueError(t)

    # -- schema and data -------------------------------------------------------------------
    def schema(self):
        r = self.r
        stmts = []
        ntab = r.randint(3, 5)
        shared = {'id': r.choice(['int4', 'int4', 'int8']), 'k': 'int4', 'g': 'text',
                  'v': r.choice(['float8', 'int4', 'int8']), 'd': 'date', 'flag': 'bool'}
        if self.on('numeric') and r.random() < 0.5:
            shared['v'] = 'numeric'
        for ti in range(ntab):
            tb = Table(f't{ti}')
            names = []
            if r.random() < 0.65:
                names.append('id')
            for n in ['k', 'g', 'v', 'd', 'flag']:
                if r.random() < 0.45:
                    names.append(n)
            nextra = r.randint(2, 5)
            types = self.basic_types()
            for i in range(nextra):
                names.append(f'c{ti}_{i}')
            if len(names) < 3:
                names.append(f'c{ti}_9')
            for n in names:
                t = shared.get(n) or r.choice(types)
                length = None
                if t == 'varchar':
                    length = r.choice([1, 3, 5, 10, 20, 400])
                    decl = r.choice(['varchar', 'character varying']) + f'({length})'
                elif t == 'bpchar':
                    length = r.choice([1, 3, 8])
                    decl = r.choice(['char', 'character']) + f'({length})'
                else:
                    decl = r.choice(SQLNAMES[t])
                tb.cols.append(Col(n, t, decl, length=length))
            # primary key
            if names[0] == 'id' and r.random() < 0.8:
                tb.pk = ['id']
            elif r.random() < 0.25:
                cands = [c.name for c in tb.cols if c.t in ('int4', 'int8', 'text', 'int2')]
                if len(cands) >= 2:
                    tb.pk = r.sample(cands, 2)
            for c in tb.cols:
                if c.name in tb.pk:
                    c.notnull = True
                elif r.random() < 0.15:
                    c.notnull = True
                if r.random() < 0.15 and c.name not in tb.pk:
                    c.default = self.raw_value(c.t, c.length)
            if r.random() < 0.5:
                cands = [c.name for c in tb.cols if c.name not in tb.pk and c.t in
                         ('int4', 'int8', 'int2', 'text', 'varchar', 'date')]
                if cands:
                    tb.uniques.append([r.choice(cands)])
            for c in tb.cols:
                if r.random() < 0.12:
                    if c.t in INT_T:
                        tb.checks.append((f'{c.name} > -1000000', c.name))
                    elif c.t in ('text', 'varchar'):
                        tb.checks.append((f'length({c.name}) < 100', c.name))
                    elif c.t == 'float8':
                        tb.checks.append((f"{c.name} <> 'NaN'", c.name))
            parts = []
            for c in tb.cols:
                s = f'{c.name} {c.decl}'
                if tb.pk == [c.name] and r.random() < 0.7:
                    s += ' PRIMARY KEY'
                    pk_inline = True
                elif c.notnull:
                    s += ' NOT NULL'
                if c.default is not None:
                    s += f' DEFAULT {c.default}'
                parts.append(s)
            if tb.pk and not any('PRIMARY KEY' in p for p in parts):
                parts.append(f'PRIMARY KEY ({", ".join(tb.pk)})')
            for u in tb.uniques:
                parts.append(f'UNIQUE ({", ".join(u)})')
            for ck, _ in tb.checks:
                parts.append(f'CHECK ({ck})')
            stmts.append(Stmt(f'CREATE TABLE {tb.name} ({", ".join(parts)})', 'ddl'))
            self.tables.append(tb)
            for _ in range(r.randint(0, 2)):
                cs = r.sample([c.name for c in tb.cols if c.t != 'jsonb'] or [tb.cols[0].name], 1)
                if r.random() < 0.3 and len(tb.cols) > 2:
                    cs = r.sample([c.name for c in tb.cols if c.t != 'jsonb'][:4], 2) \
                        if len([c for c in tb.cols if c.t != 'jsonb']) >= 2 else cs
                stmts.append(Stmt(f'CREATE INDEX ON {tb.name} ({", ".join(cs)})', 'ddl'))
        return stmts

    def row_values(self, tb, pkseen):
        """A row satisfying every constraint of tb (as SQL literals), or None."""
        r = self.r
        for _ in range(20):
            vals = {}
            for c in tb.cols:
                if r.random() < 0.12 and not c.notnull:
                    vals[c.name] = 'NULL'
                elif c.t in INT_T and r.random() < 0.5:
                    vals[c.name] = str(r.randint(0, 12))
                else:
                    vals[c.name] = self.raw_value(c.t, c.length)
            ok = True
            for ck, cn in tb.checks:
                v = vals[cn]
                if v == 'NULL':
                    continue
                if 'length' in ck and len(v) > 90:
                    ok = False
                if '-1000000' in ck and v.startswith('(-') and len(v) > 8:
                    ok = False
                if 'NaN' in ck and 'NaN' in v:
                    ok = False
            keys = [tuple(vals[n] for n in tb.pk)] if tb.pk else []
            for u in tb.uniques:
                if vals[u[0]] != 'NULL':
                    keys.append((u[0], vals[u[0]]))
            if any(k in pkseen for k in keys):
                ok = False
            if ok:
                for k in keys:
                    pkseen.add(k)
                return vals
        return None

    def data(self):
        r = self.r
        stmts = []
        for tb in self.tables:
            seen = set()
            rows = []
            for _ in range(r.randint(4, 22)):
                if rows and not tb.pk and not tb.uniques and r.random() < 0.15:
                    rows.append(r.choice(rows))  # exact duplicate row
                    continue
                v = self.row_values(tb, seen)
                if v:
                    rows.append(v)
            # a few INSERT statements with several rows each
            i = 0
            while i < len(rows):
                n = r.randint(1, 8)
                chunk = rows[i:i + n]
                i += n
                cols = [c.name for c in tb.cols]
                vals = ', '.join('(' + ', '.join(row[cn] for cn in cols) + ')' for row in chunk)
                stmts.append(Stmt(f'INSERT INTO {tb.name} ({", ".join(cols)}) VALUES {vals}',
                                  'data', dml=True))
        return stmts

    # -- scope ---------------------------------------------------------------------------
    def cols_of(self, c, t, exact=True):
        """Leaves of type t usable in ctx c: [(sql, type, base)]."""
        out = []
        if c.group is not None:
            for sql, gt in c.group:
                if gt == t or (not exact and cat(gt) == cat(t)):
                    out.append((sql, gt, False))
            return out
        for cr in c.scope:
            if cr.t == t or (not exact and cat(cr.t) == cat(t) and cr.t != 'json'):
                if cr.qual is None and sum(1 for x in c.scope if x.unq and x.name == cr.name) != 1:
                    continue
                out.append((cr.sql, cr.t, cr.base))
        return out

    def outer_cols_of(self, c, t):
        if c.no_outer or c.outer is None:
            return []
        out = self.cols_of(c.outer, t)
        if c.outer.group is not None:
            # inside a subquery PostgreSQL matches grouped columns, not grouped expressions
            out = [x for x in out if IDENT_REF.fullmatch(x[0])]
        return out

    def scope_types(self, c):
        if c.group is not None:
            return [gt for _, gt in c.group]
        return [cr.t for cr in c.scope]

    # -- injection of ill-typed constructs -------------------------------------------------
    def inject(self, c, t):
        st = c.st
        if not st.bad or st.injected or self.r.random() > 0.25:
            return None
        st.injected = True
        r = self.r
        kind = r.randint(0, 9)
        if kind == 0:
            qual = r.choice([cr.qual for cr in c.scope if cr.qual] or ['nosuch'])
            return f'{qual}.no_such_col'
        if kind == 1:
            return 'no_such_column'
        if kind == 2:
            return f'no_such_func({self.lit("int4")})'
        if kind == 3:
            return r.choice(['length()', 'abs(1, 2)', "substr('a')", 'upper(1, 2, 3)',
                             "lpad('a')", 'sqrt()', "left(1)", "split_part('a', 'b')"])
        if kind == 4 and not c.agg_ok and c.group is None and (c.in_where or self.bug('ungrouped_after_fold')):
            return r.choice([f'count(*)', 'sum(1)', 'max(1)'])    # aggregate where not allowed
        if kind == 5:
            # a value of another category
            others = [x for x in self.basic_types() if cat(x) != cat(t)
                      and (x != 'jsonb' or self.bug('jsonb_cast'))]
            return self.lit(r.choice(others))
        if kind == 6:
            others = [cr for cr in c.scope if cat(cr.t) != cat(t) and (cr.t != 'jsonb' or self.bug('jsonb_cast'))]
            if others and c.group is None:
                return r.choice(others).sql
            return "'not a value'" if self.bug('polymorphic_unknown_literal') else "'not a value'::text"
        if kind == 7:
            return f'(SELECT 1 FROM no_such_table)'
        if kind == 8:
            return f'CAST({self.lit("text")} AS no_such_type)'
        op = r.choice(['+', '||', '-', '*'])
        other = r.choice(['bool', 'text']
                         + (['jsonb'] if self.bug('jsonb_cast') and self.bug('text_jsonb_concat') else [])
                         + (['date'] if self.on('interval') else []))
        if op == '||' and (other == 'jsonb' or t == 'jsonb') and not self.bug('text_jsonb_concat'):
            op = '+'
        return f"{self.lit(t)} {op} {self.lit(other)}"

    # -- expressions -----------------------------------------------------------------------
    def riskable(self, st):
        """May this statement hold data-dependent runtime errors? Not next to an injected
        analysis error (known bug error_precedence)."""
        return not (st.bad and not self.bug('error_precedence'))

    def risk(self, c, code, p=0.5):
        """Decide to emit a construct that may fail with SQLSTATE code at run time."""
        if c.st.bad and not self.bug('error_precedence'):
            return False
        if c.risky and self.r.random() < p:
            c.st.risks.add(code)
            return True
        return False

    def leaf(self, t, c):
        r = self.r
        cands = self.cols_of(c, t)
        if c.outer is not None and not c.no_outer and r.random() < 0.25:
            oc = self.outer_cols_of(c, t)
            if oc:
                return r.choice(oc)[0]
        if cands and r.random() < 0.8:
            return r.choice(cands)[0]
        if t in ('int2', 'int8', 'float4', 'int4'):
            near = self.cols_of(c, t, exact=False)
            if near and r.random() < 0.5:
                x = r.choice(near)
                if cat(x[1]) == 'num' and x[1] in INT_T + FLT_T:
                    if t in INT_T and x[1] in INT_T:
                        # widening only: never a runtime error
                        order = {'int2': 0, 'int4': 1, 'int8': 2}
                        if order[x[1]] <= order[t]:
                            return x[0] if r.random() < 0.5 else f'{x[0]}::{self.tname(t)}'
                    if t == 'float8':
                        return f'{x[0]}::float8'
        if t in ('varchar', 'bpchar', 'text'):
            near = self.cols_of(c, t, exact=False)
            if not self.bug('bpchar_varchar_compare'):
                # char(n) semantics differ (known bugs around bpchar): keep char(n) values
                # where a char(n) is asked for
                near = [x for x in near if (x[1] == 'bpchar') == (t == 'bpchar')]
            if near and r.random() < 0.6:
                return r.choice(near)[0]
        return self.lit(t, c)

    def base_col(self, c, types):
        """A base-table column of one of the types (for data-dependent risky operands)."""
        if c.group is not None:
            return None
        cands = [cr for cr in c.scope if cr.base and cr.t in types]
        if not cands:
            return None
        return self.r.choice(cands)

    def expr(self, t, c, d):
        r = self.r
        inj = self.inject(c, t)
        if inj is not None:
            return inj
        if d <= 0 or r.random() < 0.28:
            return self.leaf(t, c)
        opts = [(3, 'typed'), (1, 'case'), (0.6, 'coalesce'), (0.3, 'nullif'),
                (0.3, 'greatest')]
        if c.agg_ok and not c.in_agg:
            opts.append((2.5, 'agg'))
        if c.subq < 2 and t != 'json':
            opts.append((0.35, 'subq'))
        if t != 'json':
            opts.append((0.5, 'cast'))
        if t == 'bpchar' and not self.bug('bpchar_padding'):
            # CASE/COALESCE/min()... over char(n) lose the padding in DriftDB, and the
            # difference would travel into text results (known bug bpchar_padding)
            opts = [(3, 'typed'), (0.5, 'cast')]
        kind = self.w(opts)
        if kind == 'typed':
            return self.typed(t, c, d)
        if kind == 'case':
            n = r.randint(1, 3)
            if r.random() < 0.3 and t in INT_T + STR_T + ('bool', 'date', 'float8'):
                # simple CASE
                st = r.choice(['int4', 'text'])
                arms = ' '.join(f'WHEN {self.lit(st)} THEN {self.expr(t, c, d - 1)}' for _ in range(n))
                return f'CASE {self.expr(st, c, d - 1)} {arms}' + \
                    (f' ELSE {self.expr(t, c, d - 1)}' if r.random() < 0.6 else '') + ' END'
            arms = ' '.join(f'WHEN {self.boolexpr(c, d - 1)} THEN {self.expr(t, c, d - 1)}'
                            for _ in range(n))
            els = f' ELSE {self.expr(t, c, d - 1)}' if r.random() < 0.7 else ''
            return f'CASE {arms}{els} END'
        if kind == 'coalesce':
            n = r.randint(2, 3)
            return f'COALESCE({", ".join(self.expr(t, c, d - 1) for _ in range(n))})'
        if kind == 'nullif':
            if cat(t) in ('json',) or t == 'bpchar' and not self.bug('nullif_bpchar'):
                return self.leaf(t, c)
            a, b = self.expr(t, c, d - 1), self.expr(t, c, d - 1)
            if cat(t) == 'str' and not self.bug('nullif_bpchar'):
                a, b = f'({a})::text', f'({b})::text'   # a char(n) value may hide anywhere
            return f'NULLIF({a}, {b})'
        if kind == 'greatest':
            if not self.ordok(t) or t in ('bytea', 'bool', 'jsonb') and r.random() < 0.5 \
                    or t == 'bpchar' and not self.bug('bpchar_least'):
                return self.leaf(t, c)
            f = r.choice(['GREATEST', 'LEAST'])
            return f'{f}({", ".join(self.expr(t, c, d - 1) for _ in range(r.randint(2, 3)))})'
        if kind == 'agg':
            return self.agg(t, c, d)
        if kind == 'subq':
            return self.scalar_subq(t, c)
        if kind == 'cast':
            return self.cast_to(t, c, d)
        raise AssertionError(kind)

    def cast_to(self, t, c, d):
        """CAST(x AS t) from another type; risky casts only where allowed."""
        r = self.r
        safe_from = {
            'int2': ['int2', 'bool'] if False else ['int2'],
            'int4': ['int2', 'int4', 'bool'],
            'int8': ['int2', 'int4', 'int8'],
            'float4': ['int2', 'int4', 'float4'],
            'float8': ['int2', 'int4', 'int8', 'float4', 'float8'],
            'text': self.textable_types(),
            'varchar': self.textable_types(),
            'bpchar': ['text', 'int4', 'bool', 'date'],
            'bool': ['int4', 'bool'],
            'date': ['timestamp', 'timestamptz', 'date'],
            'timestamp': ['date', 'timestamptz'],
            'timestamptz': ['date', 'timestamp'],
            'bytea': ['bytea'],
            'jsonb': ['jsonb'],
            'numeric': ['int4', 'int8', 'float8', 'numeric'],
        }
        risky_from = {
            'int2': (['int4', 'int8', 'float8', 'float4', 'text'], '22003'),
            'int4': (['int8', 'float8', 'float4', 'text'], '22003'),
            'int8': (['float8', 'float4', 'text'], '22003'),
            'float4': (['float8', 'text'], '22003'),
            'float8': (['text'], '22P02'),
            'bool': (['text'], '22P02'),
            'date': (['text'], '22007'),
            'timestamp': (['text'], '22007'),
            'timestamptz': (['text'], '22007'),
            'jsonb': (['text'] if self.on('numeric') else ['jsonb'], '22P02'),
            'bytea': (['text'] if self.bug('bytea_escape_input') else ['bytea'], '22P02'),
        }
        if t.endswith('[]') or t == 'json':
            return self.leaf(t, c)
        src = r.choice(safe_from.get(t, [t]))
        if t == 'int2':
            return self.castsyntax(self.leaf('int2', c), t)   # int2 expressions may hold int4 values
        if t in risky_from and c.risky and r.random() < 0.4:
            srcs, code = risky_from[t]
            bc = self.base_col(c, srcs)
            if bc is not None:
                if bc.t == 'text':
                    # text input can fail in many ways: invalid syntax or out of range
                    c.st.risks.update({'22P02', '22003', '22007', '22008', '22023', '22009'})
                else:
                    c.st.risks.add(code)
                return self.castsyntax(bc.sql, t)
        inner = self.expr(src, c, d - 1)
        return self.castsyntax(inner, t)

    def castsyntax(self, e, t):
        tn = self.tname(t)
        if t in ('varchar', 'bpchar') and self.r.random() < 0.5:
            tn = 'varchar(400)' if t == 'varchar' else 'char(400)'   # wide: no truncation
        return self.w([(2, f'CAST({e} AS {tn})'), (2, f'({e})::{tn}')])

    def intexpr(self, c, d, t='int4'):
        return self.expr(t, c, d)

    def typed(self, t, c, d):
        fn = {
            'int2': self.e_int, 'int4': self.e_int, 'int8': self.e_int,
            'float4': self.e_float, 'float8': self.e_float, 'numeric': self.e_numeric,
            'text': self.e_text, 'varchar': self.e_varchar, 'bpchar': self.e_varchar,
            'bool': self.boolexpr, 'date': self.e_date, 'timestamp': self.e_ts,
            'timestamptz': self.e_ts, 'bytea': self.e_bytea, 'jsonb': self.e_jsonb,
            'json': self.e_json,
        }.get(t)
        if fn is None:
            return self.leaf(t, c)
        if t == 'bool':
            return f'({self.boolexpr(c, d)})'
        return fn(t, c, d)

    def small_int(self):
        return str(self.r.choice([0, 1, 2, 3, 4, 5, 10]))

    def data_operand(self, c, types):
        """A base-table column of one of the types, or None. Risky operations always take
        one such operand: an error that depends on constants only would be raised (or
        not) by PostgreSQL's constant folding, which prunes CASE arms and does not fold
        stable functions (known bugs case_const_fold, stable_fold)."""
        bc = self.base_col(c, types)
        if bc is None:
            return None
        return bc.sql

    def fit(self, e, t):
        """An integer expression computed in bigint, brought into t's range and type (the
        generator relies on an int2/int4 expression really being one: it may be cast)."""
        if t == 'int8':
            return e
        return f'(({e}) % {10000 if t == "int2" else 1000000000})::{t}'

    def e_int(self, t, c, d):
        r = self.r
        k = self.w([(4, 'arith'), (2, 'strfn'), (1, 'abs'), (1, 'mod'), (0.5, 'gcd'),
                    (0.5, 'wb'), (0.2, 'datediff'), (0.4, 'jlen'), (0.6, 'neg'),
                    (0.5, 'sign')])
        dz = self.data_operand(c, [t]) if c.risky else None
        if k == 'arith':
            op = r.choice(['+', '-', '*', '/', '%'])
            if dz is not None and self.risk(c, '22003', 0.6):
                a, b = dz, self.expr(t, c, d - 1)
                if op in '/%':
                    c.st.risks.add('22012')
                if r.random() < 0.5:
                    a, b = b, a
                return f'({a} {op} {b})' if r.random() < 0.5 else f'{a} {op} {b}'
            # error-free: int4/int2 operands widened to int8; divisor guarded
            a = self.expr(r.choice(['int2', 'int4']), c, 0)
            b = self.expr(r.choice(['int2', 'int4']), c, 0)
            if op in '/%':
                return self.fit(f'({a}::int8 {op} NULLIF({b}, 0))', t)
            return self.fit(f'({a}::int8 {op} {b})', t)
        if k == 'strfn':
            f = r.choice(['length', 'char_length', 'octet_length', 'ascii', 'strpos',
                          'position', 'lengthb', 'length_bytea', 'character_length'])
            s = self.expr('text', c, d - 1)
            if f == 'octet_length' and not self.bug('octet_length_bpchar'):
                s = f'({s})::text'
            if f == 'strpos':
                return f'strpos({s}, {self.expr("text", c, d - 1)})'
            if f == 'position':
                return f'position({self.expr("text", c, d - 1)} IN {s})'
            if f == 'lengthb':
                return f'length({self.expr(r.choice(["varchar", "bpchar"]), c, d - 1)})'
            if f == 'length_bytea':
                return f'length({self.expr("bytea", c, d - 1)})'
            return f'{f}({s})'
        if k == 'abs':
            if dz is not None and self.risk(c, '22003', 0.5):
                return f'abs({dz})'
            return self.fit(f'abs({self.expr("int4", c, d - 1)}::int8)', t)
        if k == 'neg':
            if dz is not None and self.risk(c, '22003', 0.5):
                return f'(- {dz})'
            return self.fit(f'(- {self.expr("int4", c, d - 1)}::int8)', t)
        if k == 'mod':
            if dz is not None and self.risk(c, '22012', 0.5):
                return f'mod({self.expr(t, c, d - 1)}, {dz})'
            return f'mod({self.expr(t, c, d - 1)}, NULLIF({self.expr(t, c, d - 1)}, 0))'
        if k == 'gcd':
            f = r.choice(['gcd', 'lcm'])
            tt = 'int4' if t == 'int2' else t
            dz2 = self.data_operand(c, [tt]) if c.risky else None
            if dz2 is not None and self.risk(c, '22003', 0.6):
                return f'{f}({self.expr(tt, c, d - 1)}, {dz2})'
            return self.fit(f'{f}({self.small_int()}, {self.lit("int2")}::int4)' if f == 'lcm' else
                            f'gcd({self.expr("int4", c, d - 1)}::int8, {self.expr("int4", c, d - 1)})', t)
        if k == 'wb':
            # A float8 operand may be NaN (2201G): only where the generator marks that risk;
            # elsewhere the operand comes from integers.
            fz = self.data_operand(c, ['float8']) if c.risky else None
            if fz is not None and self.risk(c, '2201G', 0.4):
                return (f'width_bucket({self.expr("float8", c, d - 1)}, {fz}, '
                        f'{self.expr("float8", c, 0)}, {self.expr("int4", c, 0)})')
            lo = r.choice(['0', '-10', '1'])
            return (f'width_bucket({self.expr("int4", c, d - 1)}, {lo}, '
                    f'{r.choice(["5", "100", "20.5"])}, {r.randint(1, 6)})')
        if k == 'datediff':
            dd = self.data_operand(c, ['date']) if c.risky else None
            if dd is not None and self.risk(c, '22008', 0.3):
                return f'({self.expr("date", c, d - 1)} - {dd})'
            return self.fit(f'(DATE {q(r.choice(DATE_V[:6]))} - DATE {q(r.choice(DATE_V[:8]))})', t)
        if k == 'jlen':
            jz = self.data_operand(c, ['jsonb']) if c.risky else None
            if jz is not None and self.risk(c, '22023', 0.5):
                return f'jsonb_array_length({jz})'
            j = self.expr('jsonb', c, d - 1)
            return f"jsonb_array_length(CASE WHEN jsonb_typeof({j}) = 'array' THEN {j} END)"
        if k == 'sign':
            return f"sign(NULLIF({self.expr('float8', c, d - 1)}, 'NaN'))::int4"
        return self.leaf(t, c)

    def e_float(self, t, c, d):
        r = self.r
        k = self.w([(4, 'arith'), (2, 'fn'), (1, 'fn2'), (1, 'round'), (0.5, 'pi')])
        fz = self.data_operand(c, [t, 'float8'] if t == 'float8' else [t]) if c.risky else None
        if k == 'arith':
            op = r.choice(['+', '-', '*', '/'])
            a, b = self.expr(t, c, d - 1), self.expr(t, c, d - 1)
            if op == '/':
                if fz is not None and self.risk(c, '22012', 0.5):
                    return f'({a} / {fz})'
                return f'({a} / NULLIF({b}, 0))'
            if c.risky:
                c.st.risks.add('22003')   # overflow/underflow with extreme literals
            return f'({a} {op} {b})'
        if k == 'fn':
            f = r.choice(['abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'sign', 'cbrt',
                          'sqrt', 'exp', 'ln', 'log', 'log10', 'sin', 'cos', 'tan', 'atan',
                          'asin', 'acos', 'degrees', 'cot'] +
                         (['radians'] if self.bug('radians') else []))
            x = self.expr('float8', c, d - 1)
            if f in ('sqrt', 'ln', 'log', 'log10', 'exp', 'sin', 'cos', 'tan', 'asin', 'acos', 'cot'):
                code = {'sqrt': '2201F', 'ln': '2201E', 'log': '2201E', 'log10': '2201E',
                        'exp': '22003', 'asin': '22003', 'acos': '22003', 'sin': '22003',
                        'cos': '22003', 'tan': '22003', 'cot': '22003'}[f]
                fx = self.data_operand(c, ['float8']) if c.risky else None
                if fx is not None and self.risk(c, code, 0.5):
                    if f in ('ln', 'log', 'log10', 'cot'):
                        c.st.risks.add('22012' if f != 'cot' else '22003')
                    if not self.bug('nan_math') and f in ('sqrt', 'ln', 'log', 'log10'):
                        return f"{f}(NULLIF({fx}, 'NaN'))"
                    return f'{f}({fx})'
                if not self.bug('nan_math'):
                    x = f"NULLIF({x}, 'NaN')"
                if f in ('sqrt',):
                    return f'sqrt(abs({x}))'
                if f in ('ln', 'log', 'log10'):
                    return f'{f}(abs({x}) + 1)'
                if f in ('asin', 'acos'):
                    return f'{f}(CASE WHEN {x} BETWEEN -1 AND 1 THEN {x} END)'
                return f'atan({x})'
            if t == 'float4' and f in ('abs',):
                return f'abs({self.expr("float4", c, d - 1)})'
            return f'{f}({x})'
        if k == 'fn2':
            f = r.choice(['power', 'atan2', 'pow', 'log2arg', '^'])
            a, b = self.expr('float8', c, d - 1), self.expr('float8', c, d - 1)
            if f in ('power', 'pow', '^'):
                fx = self.data_operand(c, ['float8']) if c.risky else None
                if fx is not None and self.risk(c, '22003', 0.5):
                    c.st.risks.update({'2201F', '22003', '22012'})
                    if r.random() < 0.5:
                        a = fx
                    else:
                        b = fx
                    return f'{f}({a}, {b})' if f != '^' else f'({a} ^ {b})'
                return f'power(abs({a}), {r.choice(["2", "0.5", "3", "1", "0"])})' if r.random() < 0.7 \
                    else f'({r.choice(["2", "1.5", "10"])}::float8 ^ {r.randint(-3, 5)})'
            if f == 'log2arg':
                if self.on('numeric'):
                    # base above 1 and argument positive: log's own errors never happen
                    return f'log((abs({a}) + 2)::numeric, (abs({b}) + 1)::numeric)::float8'
                return f'atan2({a}, {b})'
            return f'atan2({a}, {b})'
        if k == 'round':
            if t == 'float8' and c.group is None and r.random() < 0.3:
                # percent_rank()-like values come from windows; here float from ints
                return f'({self.expr("int4", c, d - 1)}::float8 / {r.choice(["3", "7", "2.5"])})'
            return f'{r.choice(["round", "trunc", "floor"])}({self.expr("float8", c, d - 1)})'
        return r.choice(['pi()', "'Infinity'::float8", "'NaN'::float8"])

    def e_numeric(self, t, c, d):
        r = self.r
        k = r.randint(0, 4)
        if k == 0:
            return f'({self.expr("numeric", c, d - 1)} {r.choice(["+", "-", "*"])} {self.expr("numeric", c, d - 1)})'
        if k == 1:
            return f'round({self.expr("numeric", c, d - 1)}, {r.randint(0, 4)})'
        if k == 2:
            return f'({self.expr("int4", c, d - 1)}::numeric / {r.choice(["3", "7", "1.5"])})'
        if k == 3:
            return f'div({self.expr("int4", c, d - 1)}, {r.choice(["3", "7", "2"])})'
        return f'{r.choice(["1.5", "0.1", "100.25", "1e3"])}'

    def e_text(self, t, c, d):
        r = self.r
        s = lambda: self.expr('text', c, d - 1)
        n = lambda: str(r.choice([0, 1, 2, 3, 5, -1]))
        k = r.randint(0, 31)
        if k == 0:
            return f'({s()} || {s()})'
        if k == 1:
            return f'{r.choice(["lower", "upper", "reverse", "md5", "btrim", "ltrim", "rtrim", "trim"] + (["initcap"] if self.bug("initcap_c_locale") else []))}({s()})'
        if k == 2:
            iz = self.data_operand(c, ['int4']) if c.risky else None
            if iz is not None and self.risk(c, '22011', 0.3):
                return f'substr({s()}, {self.expr("int4", c, 0)}, {iz})'
            return f'substr({s()}, {n()}{", " + str(r.randint(0, 4)) if r.random() < 0.6 else ""})'
        if k == 3:
            return f'substring({s()} FROM {r.randint(-1, 4)}' + (f' FOR {r.randint(0, 3)})' if r.random() < 0.6 else ')')
        if k == 4:
            return f'{r.choice(["left", "right"])}({s()}, {n()})'
        if k == 5:
            return f'repeat({s()}, {r.randint(-1, 3)})'
        if k == 6:
            return f'replace({s()}, {s()}, {s()})'
        if k == 7:
            f = r.choice(['lpad', 'rpad'])
            return f'{f}({s()}, {r.randint(0, 8)}' + (f', {s()})' if r.random() < 0.5 else ')')
        if k == 8:
            return f'concat({", ".join(self.expr(r.choice(self.textable_types()), c, d - 1) for _ in range(r.randint(1, 4)))})'
        if k == 8.5:
            pass
        if k == 9:
            return f'concat_ws({s()}, {", ".join(self.expr(r.choice(["text", "int4", "bool", "date"]), c, d - 1) for _ in range(r.randint(1, 3)))})'
        if k == 10:
            iz = self.data_operand(c, ['int4']) if c.risky else None
            if iz is not None and self.risk(c, '22023', 0.3):
                return f'split_part({s()}, {s()}, {iz})'
            return f'split_part({s()}, {self.qc(",", " ", "a", "")}, {r.choice([1, 2, -1, 3])})'
        if k == 11:
            tt = r.choice(["int4", "int8"])
            x = self.expr(tt, c, d - 1)
            return f'to_hex({x})' if self.bug('to_hex_int2') else f'to_hex(({x})::{tt})'
        if k == 12:
            iz = self.data_operand(c, ['int4']) if c.risky else None
            if iz is not None and self.risk(c, '54000', 0.3):
                c.st.risks.add('22023')
                return f'chr({iz})'
            return f'chr({r.choice([65, 97, 122, 48, 233, 8364, 128512, 32, 1000])})'
        if k == 13:
            return f'translate({s()}, {self.qc("abc", "a", "", "lo")}, {self.qc("xy", "", "XYZ")})'
        if k == 14:
            f = r.choice(['%s', '%s-%s', '[%s]', '%L', '%I', '%s %L', '%%%s', '%1$s %1$s'])
            if f == '%I':
                if c.risky:
                    c.st.risks.add('22004')     # %I of NULL
                else:
                    f = '%s'
            nargs = f.count('%') - 2 * f.count('%%') - (1 if '%1$s %1$s' == f else 0)
            args = ', '.join(self.expr(r.choice(['text', 'int4', 'bool', 'date', 'jsonb']), c, d - 1)
                             for _ in range(max(nargs, 0)))
            return f'format({q(f)}{", " + args if args else ""})'
        if k == 15:
            # any value as text
            tt = r.choice(self.textable_types())
            return self.w([(1, f'{self.expr(tt, c, d - 1)}::text'), (1, f'CAST({self.expr(tt, c, d - 1)} AS text)')])
        if k == 16:
            j = self.expr('jsonb', c, d - 1)
            op = r.choice(['->>', '#>>'])
            if op == '->>':
                key = r.choice(["'a'", "'b'", "'k'", '0', '1', '(-1)', "'q'", "'c'"])
                if not key.startswith("'") and not self.bug('jsonb_scalar_index'):
                    j = f"CASE WHEN jsonb_typeof({j}) IN ('object', 'array') THEN {j} END"
                return f'({j} ->> {key})'
            return f"({j} #>> {self.qc('{a,b}', '{a}', '{0}', '{a,b,1,c}', '{}', '{b,0}')})"
        if k == 17:
            return f'jsonb_typeof({self.expr("jsonb", c, d - 1)})'
        if k == 18:
            return f"jsonb_extract_path_text({self.expr('jsonb', c, d - 1)}, {self.qc('a', 'b')}{self.r.choice(PATH_TAIL)})"
        if k == 19 and c.agg_ok and not c.in_agg:
            return self.agg('text', c, d)
        if k == 20:
            return f'md5({self.expr("bytea", c, d - 1)})'
        if k == 21:
            return f'trim({r.choice(["BOTH", "LEADING", "TRAILING"])} {self.qc("a", " ", "xz")} FROM {s()})'
        if k == 22:
            return f'{r.choice(["btrim", "ltrim", "rtrim"])}({s()}, {self.qc("a", " ", "ab", "")})'
        if k == 23:
            return f'{self.expr(r.choice(["varchar", "bpchar"]), c, d - 1)}::text'
        if k == 24:
            others = ["int4", "bool", "date", "float8"] + (["jsonb"] if self.bug('text_jsonb_concat') else [])
            return f'({s()} || {self.expr(r.choice(others), c, d - 1)})'
        if k == 25:
            return f'initcap({s()})' if self.bug('initcap_c_locale') else f'upper({s()})'
        if k == 26:
            return f'({self.expr(r.choice(["int4", "float8", "date", "bool", "timestamp", "timestamptz", "bytea", "int8", "int2"] + (["float4"] if self.bug("real_to_text") else [])), c, d - 1)})::text'
        return self.leaf('text', c)

    def e_varchar(self, t, c, d):
        r = self.r
        k = r.randint(0, 3)
        if k == 0:
            return f'({self.expr("text", c, d - 1)})::{self.tname(t)}'
        if k == 1:
            return f'CAST({self.expr(r.choice(["text", "int4", "bool"]), c, d - 1)} AS {self.tname(t)})'
        return self.leaf(t, c)

    def e_date(self, t, c, d):
        r = self.r
        k = r.randint(0, 4)
        if k == 0:
            return f'({self.expr("date", c, d - 1)} {r.choice(["+", "-"])} {self.small_int()})'
        if k == 1:
            return f'({self.small_int()} + {self.expr("date", c, d - 1)})'
        if k == 2:
            return f'({self.expr(r.choice(["timestamp", "timestamptz"]), c, d - 1)})::date'
        if k == 3:
            return f'CAST({self.expr(r.choice(["timestamp", "timestamptz"]), c, d - 1)} AS date)'
        return self.leaf(t, c)

    def e_ts(self, t, c, d):
        r = self.r
        other = {'timestamp': ['date', 'timestamptz'], 'timestamptz': ['date', 'timestamp']}[t]
        k = r.randint(0, 2)
        if k == 0:
            return f'({self.expr(r.choice(other), c, d - 1)})::{self.tname(t)}'
        if k == 1:
            return f'CAST({self.expr(r.choice(other), c, d - 1)} AS {self.tname(t)})'
        return self.leaf(t, c)

    def e_bytea(self, t, c, d):
        r = self.r
        k = r.randint(0, 2)
        if k == 0 and self.bug('bytea_concat'):
            return f'({self.expr("bytea", c, d - 1)} || {self.expr("bytea", c, d - 1)})'
        tz = self.data_operand(c, ['text']) if c.risky else None
        if k == 1 and tz is not None and self.bug('bytea_escape_input') and self.risk(c, '22P02', 0.5):
            return f'CAST({tz} AS bytea)'
        return self.leaf(t, c)

    def e_jsonb(self, t, c, d):
        r = self.r
        j = lambda: self.expr('jsonb', c, d - 1)
        k = r.randint(0, 10)
        if k == 0:
            key = self.r.choice(JSON_KEYS)
            x = j()
            if not key.startswith("'") and not self.bug('jsonb_scalar_index'):
                x = f"CASE WHEN jsonb_typeof({x}) IN ('object', 'array') THEN {x} END"
            return f"({x} -> {key})"
        if k == 1:
            return f"({j()} #> {self.qc('{a,b}', '{a}', '{0}', '{a,b,1}', '{}', '{b,1}')})"
        if k == 2:
            n = r.randint(0, 3)
            args = []
            for i in range(n):
                args.append(r.choice(["'a'", "'b'", "'k'", "'a'", "'z'"]))
                args.append(self.expr(r.choice(['int4', 'text', 'bool', 'jsonb', self.jflt(), 'date']), c, d - 1))
            return f'jsonb_build_object({", ".join(args)})'
        if k == 3:
            args = [self.expr(r.choice(['int4', 'text', 'bool', 'jsonb', self.jflt()]), c, d - 1)
                    for _ in range(r.randint(0, 3))]
            return f'jsonb_build_array({", ".join(args)})'
        if k == 4:
            tt = r.choice(self.basic_types())
            if tt == 'timestamptz' and not self.bug('to_jsonb_timestamptz'):
                tt = 'timestamp'
            if tt in FLT_T:
                tt = self.jflt()
            return f'to_jsonb({self.expr(tt, c, d - 1)})'
        if k == 5:
            jz = self.data_operand(c, ['jsonb']) if c.risky else None
            if jz is not None and self.bug('jsonb_set_scalar') and self.risk(c, '22023', 0.5):
                if self.bug('jsonb_set_path'):
                    c.st.risks.add('22P02')
                    return f"jsonb_set({jz}, {self.qc('{a}', '{0}', '{b,x}')}, {j()})"
                return f"jsonb_set({jz}, {self.qc('{a}', '{0}', '{b}')}, {j()})"
            x = j()
            return (f"jsonb_set(CASE WHEN jsonb_typeof({x}) = 'object' THEN {x} ELSE '{{}}'::jsonb END, "
                    f"{self.qc('{a}', '{k}', '{b,x}' if self.bug('jsonb_set_path') else '{b}')}, {j()}{r.choice(['', ', false', ', true'])})")
        if k == 6:
            return f"jsonb_extract_path({j()}, {self.qc('a', 'b')}{self.r.choice(PATH_TAIL)})"
        tz = self.data_operand(c, ['text']) if c.risky else None
        if k == 7 and tz is not None and self.on('numeric') and self.risk(c, '22P02', 0.5):
            # (pending feature numeric: '1e5'::jsonb prints 100000 in PostgreSQL)
            return f'({tz})::jsonb'
        if k == 8 and c.agg_ok and not c.in_agg:
            return self.agg('jsonb', c, d)
        return self.leaf(t, c)

    def e_json(self, t, c, d):
        return self.leaf(t, c)

    # -- booleans ------------------------------------------------------------------------
    def cmp_type(self, c):
        r = self.r
        ts = [x for x in self.scope_types(c) if x != 'json' and not x.endswith('[]')]
        if ts and r.random() < 0.8:
            return r.choice(ts)
        return r.choice(self.basic_types())

    def boolexpr(self, c, d, t=None):
        r = self.r
        inj = self.inject(c, 'bool')
        if inj is not None:
            return inj
        if d <= 0:
            k = self.w([(5, 'cmp'), (1, 'isnull'), (1, 'boolcol'), (0.2, 'const')])
        else:
            k = self.w([(5, 'cmp'), (2, 'andor'), (1, 'not'), (1, 'isnull'), (1, 'boolcol'),
                        (1, 'between'), (1, 'inlist'), (1, 'like'), (0.5, 'similar'),
                        (0.8, 'distinct'), (1, 'jsonop'), (1.5, 'subq'), (0.3, 'const'),
                        (0.5, 'istrue'), (0.3, 'starts')] +
                       ([(2, 'aggcmp')] if c.agg_ok and not c.in_agg else []))
        if k == 'cmp':
            t = self.cmp_type(c)
            op = r.choice(['=', '<>', '<', '<=', '>', '>=', '!='])
            if t in ('bool', 'jsonb', 'bytea') and r.random() < 0.5 or not self.ordok(t):
                op = r.choice(['=', '<>'])
            return f'{self.expr(t, c, d - 1)} {op} {self.expr(t, c, d - 1)}'
        if k == 'andor':
            return f'({self.boolexpr(c, d - 1)} {r.choice(["AND", "OR"])} {self.boolexpr(c, d - 1)})'
        if k == 'not':
            return f'NOT ({self.boolexpr(c, d - 1)})'
        if k == 'isnull':
            t = self.cmp_type(c)
            return f'{self.expr(t, c, d - 1)} IS {r.choice(["", "NOT "])}NULL'
        if k == 'boolcol':
            return self.leaf('bool', c)
        if k == 'const':
            return r.choice(['true', 'false', 'NULL::boolean', 'NULL' if self.bug('setop_null') else 'NULL::bool'])
        if k == 'between':
            t = self.cmp_type(c)
            if t in ('bool', 'jsonb', 'bytea') and r.random() < 0.7 or not self.ordok(t):
                t = 'int4'
            sym = r.choice(['', 'SYMMETRIC '])
            return f'{self.expr(t, c, d - 1)} {r.choice(["", "NOT "])}BETWEEN {sym}{self.expr(t, c, d - 1)} AND {self.expr(t, c, d - 1)}'
        if k == 'inlist':
            t = self.cmp_type(c)
            items = ', '.join(self.expr(t, c, 0) for _ in range(r.randint(1, 4)))
            return f'{self.expr(t, c, d - 1)} {r.choice(["IN", "NOT IN"])} ({items})'
        if k == 'like':
            s = self.expr(r.choice(['text', 'text', 'varchar'] + (['bpchar'] if self.bug('like_bpchar') else [])), c, d - 1)
            if not self.bug('like_bpchar'):
                s = f'({s})::text'     # a char(n) value may hide in any string expression
            op = r.choice(['LIKE', 'NOT LIKE', 'ILIKE', 'NOT ILIKE', '~~', '~~*', '!~~'])
            pat = q(r.choice(LIKE_PATTERNS)) if r.random() < 0.8 else self.expr('text', c, 0)
            if not pat.startswith("'"):
                c.st.risks.add('22025') if c.risky else None
                if not c.risky:
                    pat = q(r.choice(LIKE_PATTERNS))
            esc = f" ESCAPE {self.qc('#', '', BACKSLASH)}" if 'LIKE' in op and r.random() < 0.1 else ''
            return f'{s} {op} {pat}{esc}'
        if k == 'similar':
            s = self.expr("text", c, d - 1)
            if not self.bug('like_bpchar'):
                s = f'({s})::text'
            return f'{s} {r.choice(["SIMILAR TO", "NOT SIMILAR TO"])} {q(r.choice(SIMILAR_PATTERNS))}'
        if k == 'distinct':
            t = self.cmp_type(c)
            return f'{self.expr(t, c, d - 1)} IS {r.choice(["", "NOT "])}DISTINCT FROM {self.expr(t, c, d - 1)}'
        if k == 'jsonop':
            j = self.expr('jsonb', c, d - 1)
            op = r.choice(['@>', '<@', '?', '?|', '?&'])
            if op in ('@>', '<@'):
                return f'{j} {op} {self.expr("jsonb", c, d - 1)}'
            if op == '?':
                return f'{j} ? {self.r.choice(JSON_KEYS[:4] + [self.expr("text", c, 0)])}'
            return f"{j} {op} {self.r.choice(TEXT_ARRAYS)}"
        if k == 'subq':
            return self.bool_subq(c, d)
        if k == 'istrue':
            return f'({self.boolexpr(c, d - 1)}) IS {r.choice(["", "NOT "])}{r.choice(["TRUE", "FALSE", "UNKNOWN"])}'
        if k == 'starts':
            return f'starts_with({self.expr("text", c, d - 1)}, {self.expr("text", c, 0)})'
        if k == 'aggcmp':
            t = r.choice(['int8', 'int4', 'text', 'bool'])
            if t == 'bool':
                return self.agg('bool', c, d)
            return f'{self.agg(t, c, d)} {r.choice(["=", "<>", "<", ">", ">="])} {self.expr(t, c, 0) if t != "int8" else r.choice(["0", "1", "2", "3"])}'
        return 'true'

    # -- aggregates ------------------------------------------------------------------------
    def agg(self, t, c, d, item=False):
        """An aggregate call returning (about) type t. With item=True (a whole select
        item) float sums/variances are allowed; they mark the statement item fuzzy."""
        r = self.r
        a = c.child()
        a.group = None
        a.agg_ok = False
        a.in_agg = True
        a.no_outer = True
        a.risky = c.risky
        if not self.bug('grouped_correlation'):
            a.no_corr = True     # subqueries in aggregate arguments/FILTER: not correlated
        d1 = max(d - 1, 0)
        flt = self.w([(1, None)])
        filt = ''
        if r.random() < 0.15:
            filt = f' FILTER (WHERE {self.boolexpr(a, 1)})'
        dist = 'DISTINCT ' if r.random() < 0.15 else ''
        if t == 'int8':
            k = r.randint(0, 3)
            if k == 0:
                return f'count(*){filt}'
            if k == 1:
                return f'count({dist}{self.expr(self.cmp_type(a), a, d1)}){filt}'
            return f'sum({dist}{self.expr(r.choice(["int2", "int4"]), a, d1)}){filt}'
        if t in ('int4', 'int2'):
            k = r.randint(0, 2)
            if k == 0:
                return f'{r.choice(["min", "max"])}({dist}{self.expr(t, a, d1)}){filt}'
            return f'count(*)::int4' if r.random() < 0.5 else f'{r.choice(["min", "max"])}({self.expr(t, a, d1)}){filt}'
        if t in FLT_T:
            if item and r.random() < 0.6:
                c.st.fuzzy_item = True
                f = r.choice(['sum', 'sum'] + (['stddev', 'variance', 'stddev_pop', 'var_pop',
                              'stddev_samp', 'var_samp'] if self.bug('variance_precision') else [])
                             + (['avg'] if self.on('avg') else []))
                arg = self.expr(t, a, d1)
                if f != 'sum':
                    return f'{f}({dist}{arg}){filt}' if t == 'float8' else f'{f}({arg}::float8){filt}'
                return f'sum({dist}{arg}){filt}'
            return f'{r.choice(["min", "max"])}({dist}{self.expr(t, a, d1)}){filt}'
        if t == 'numeric':
            f = r.choice(['sum', 'avg', 'min', 'max'])
            return f'{f}({self.expr(r.choice(["int8", "numeric", "int4"]), a, d1)}){filt}'
        if t in STR_T:
            k = r.randint(0, 2)
            if k == 0 and t == 'text':
                x = self.expr('text', a, d1)
                sep = r.choice(["','", "''", "' | '", 'NULL'])
                if dist:
                    return f'string_agg(DISTINCT {x}, {sep} ORDER BY {x}{r.choice(["", " DESC"])}){filt}'
                return f'string_agg({x}, {sep} ORDER BY {x}{r.choice(["", " DESC", " NULLS FIRST"])}){filt}'
            return f'{r.choice(["min", "max"])}({dist}{self.expr(t, a, d1)}){filt}'
        if t == 'bool':
            return f'{r.choice(["bool_and", "bool_or", "every"])}({self.boolexpr(a, d1)}){filt}'
        if t in DT_T:
            return f'{r.choice(["min", "max"])}({dist}{self.expr(t, a, d1)}){filt}'
        if t == 'jsonb':
            tt = r.choice(['int4', 'text', 'jsonb', 'bool', self.jflt(), 'date'])
            x = self.expr(tt, a, d1)
            ox = x if self.ordok(tt) else f'({x})::text'
            return f'jsonb_agg({x} ORDER BY {ox}{r.choice(["", " DESC NULLS LAST"])}){filt}'
        if t == 'json':
            tt = r.choice(['int4', 'text', 'jsonb', 'bool', 'float8', 'date', 'timestamp'])
            x = self.expr(tt, a, d1)
            ox = x if self.ordok(tt) else f'({x})::text'
            return f'json_agg({x} ORDER BY {ox}){filt}'
        if t.endswith('[]'):
            et = t[:-2]
            if et in INT_T and not self.bug('array_cross_type_eq'):
                x = self.leaf(et, a)   # exactly the element type the generator assumes
            elif et == 'text' and not self.bug('array_cross_type_eq'):
                x = f'({self.expr(et, a, d1)})::text'
            else:
                x = self.expr(et, a, d1)
            return f'array_agg({dist}{x} ORDER BY {x}){filt}'
        return f'count(*){filt}'

    # -- subqueries ------------------------------------------------------------------------
    def sub_ctx(self, c):
        """Context for the body of a subquery nested in c (correlation via outer)."""
        s = Ctx(c.st, [], outer=c)
        s.subq = c.subq + 1
        s.risky = False
        s.no_outer = c.no_corr
        s.no_corr = c.no_corr
        return s

    def scalar_subq(self, t, c):
        r = self.r
        sc = self.sub_ctx(c)
        frm, scope = self.from_clause(sc, simple=True)
        sc.scope = scope
        where = f' WHERE {self.boolexpr(sc, 1)}' if r.random() < 0.7 else ''
        k = r.randint(0, 2)
        if k == 0 or t in ('json',):
            sc.agg_ok = True
            sc.group = []
            e = self.agg(t, sc, 1)
            return f'(SELECT {e} FROM {frm}{where})'
        if k == 1 and self.ordok(t):
            e = self.expr(t, sc, 1)
            return f'(SELECT {e} FROM {frm}{where} ORDER BY 1 {r.choice(["ASC", "DESC"])} {r.choice(["NULLS FIRST", "NULLS LAST", ""])} LIMIT 1)'
        if c.risky and c.subq == 0 and r.random() < 0.5:
            c.st.risks.add('21000')
            e = self.expr(t, sc, 1)
            return f'(SELECT {e} FROM {frm}{where})'
        if r.random() < 0.2:
            return f'(SELECT {self.expr(t, sc, 1)} FROM {frm}{where} LIMIT 0)'
        sc.no_outer = True    # inside max(): an outer reference would make it an outer aggregate
        e = self.expr(t, sc, 1)
        return \
            f'(SELECT max({e}) FROM {frm}{where})' if t not in ('bool', 'bytea', 'jsonb') else \
            f'(SELECT {e} FROM {frm}{where} ORDER BY ({e})::text LIMIT 1)'

    def bool_subq(self, c, d):
        r = self.r
        if c.subq >= 2:
            return self.boolexpr(c, 0)
        sc = self.sub_ctx(c)
        frm, scope = self.from_clause(sc, simple=True)
        sc.scope = scope
        where = f' WHERE {self.boolexpr(sc, 1)}' if r.random() < 0.75 else ''
        k = r.randint(0, 3)
        if k == 0:
            return f'{r.choice(["", "NOT "])}EXISTS (SELECT {r.choice(["1", "*", "NULL"])} FROM {frm}{where})'
        t = self.cmp_type(c)
        if t in ('json',) or t.endswith('[]'):
            t = 'int4'
        e = self.expr(t, sc, 1)
        lhs = self.expr(t, c, max(d - 1, 0))
        if k == 1:
            return f'{lhs} {r.choice(["IN", "NOT IN"])} (SELECT {e} FROM {frm}{where})'
        op = r.choice(['=', '<>', '<', '>=']) if t not in ('bool', 'jsonb', 'bytea') and self.ordok(t) else '='
        return f'{lhs} {op} {r.choice(["ANY", "ALL", "SOME"])} (SELECT {e} FROM {frm}{where})'

    # -- FROM ------------------------------------------------------------------------------
    def table_item(self, c, tb=None):
        r = self.r
        tb = tb or r.choice(self.tables)
        al = self.alias(c.st)
        scope = [ColRef(al, col.name, col.t, base=True) for col in tb.cols]
        return f'{tb.name} {"AS " if r.random() < 0.3 else ""}{al}', scope

    def from_item(self, c, allow_lateral=False, left_scope=None):
        r = self.r
        opts = [(6, 'table'), (1.2, 'derived'), (0.5, 'values'), (0.4, 'series')]
        if allow_lateral and left_scope:
            if any(cr.t == 'jsonb' for cr in left_scope):
                opts.append((0.5, 'jsonfn'))
            opts.append((0.6, 'lateral'))
        if getattr(c, 'ctes', None):
            opts.append((3, 'cte'))
        k = self.w(opts)
        if k == 'table' or c.subq >= 2 and k in ('derived', 'lateral'):
            return self.table_item(c)
        if k == 'cte':
            name, cols = r.choice(c.ctes)
            al = self.alias(c.st)
            return f'{name} {al}', [ColRef(al, n, t) for n, t in cols]
        if k == 'derived' or k == 'lateral':
            sc = Ctx(c.st, [], outer=None)
            if k == 'lateral':
                # the lateral body sees the columns on the left of it
                oc = Ctx(c.st, left_scope)
                sc = Ctx(c.st, [], outer=oc)
            sc.subq = c.subq + 1
            sel = self.select(sc, top=False)
            al = self.alias(c.st, 's')
            names = [f'{al}c{i}' for i in range(len(sel.cols))]
            collist = f'({", ".join(names)})' if r.random() < 0.5 else ''
            if not collist:
                names = [n for n, _ in sel.cols]
                if len(set(names)) != len(names) or any(n is None for n in names):
                    names = [f'{al}c{i}' for i in range(len(sel.cols))]
                    collist = f'({", ".join(names)})'
            scope = [ColRef(al, n, t) for n, (_, t) in zip(names, sel.cols)]
            lat = 'LATERAL ' if k == 'lateral' else ''
            return f'{lat}({sel.sql}) AS {al}{collist}', scope
        if k == 'values':
            al = self.alias(c.st, 'v')
            ncol = r.randint(1, 3)
            types = [r.choice(['int4', 'text', 'int4', 'float8', 'bool', 'date', 'int8', 'jsonb'])
                     for _ in range(ncol)]
            rows = []
            for _ in range(r.randint(1, 4)):
                vals = []
                for t in types:
                    if r.random() < 0.15:
                        vals.append(f'NULL::{self.tname(t)}')
                    elif t == 'int4':
                        vals.append(self.raw_value('int4') if r.random() < 0.3 else str(r.randint(0, 10)))
                    elif t == 'text':
                        vals.append(self.raw_value('text'))
                    else:
                        vals.append(self.lit(t).replace('NULL::', 'NULL::'))
                rows.append('(' + ', '.join(vals) + ')')
            names = [f'{al}c{i}' for i in range(ncol)]
            scope = [ColRef(al, n, t) for n, t in zip(names, types)]
            return f'(VALUES {", ".join(rows)}) AS {al}({", ".join(names)})', scope
        if k == 'series':
            al = self.alias(c.st, 'g')
            a, b = r.randint(-2, 3), r.randint(0, 8)
            step = f', {r.choice([1, 2, 3, -1])}' if r.random() < 0.3 else ''
            return f'generate_series({a}, {b}{step}) AS {al}(n)', [ColRef(al, 'n', 'int4')]
        if k == 'jsonfn':
            jc = r.choice([cr for cr in left_scope if cr.t == 'jsonb'])
            al = self.alias(c.st, 'j')
            if r.random() < 0.5:
                return (f"jsonb_array_elements(CASE WHEN jsonb_typeof({jc.sql}) = 'array' THEN {jc.sql} "
                        f"ELSE '[]'::jsonb END) AS {al}(elem)"), [ColRef(al, 'elem', 'jsonb')]
            f = r.choice(['jsonb_each', 'jsonb_each_text'])
            vt = 'jsonb' if f == 'jsonb_each' else 'text'
            return (f"{f}(CASE WHEN jsonb_typeof({jc.sql}) = 'object' THEN {jc.sql} "
                    f"ELSE '{{}}'::jsonb END) AS {al}(key, value)"), [ColRef(al, 'key', 'text'), ColRef(al, 'value', vt)]
        return self.table_item(c)

    def join_cond(self, c, left, right):
        """An ON condition relating left and right scopes (mostly equalities)."""
        r = self.r
        pairs = [(a, b) for a in left for b in right if cat(a.t) == cat(b.t)
                 and ((a.t == 'bpchar') == (b.t == 'bpchar') or self.bug('bpchar_varchar_compare'))
                 and self.refok(a, left + right) and self.refok(b, left + right)
                 and a.t not in ('json',) and not a.t.endswith('[]') and cat(a.t) not in ('jsonb', 'bytea', 'bool')]
        conds = []
        if pairs:
            same = [(a, b) for a, b in pairs if a.name == b.name]
            pa, pb = r.choice(same if same and r.random() < 0.6 else pairs)
            conds.append(f'{pa.sql} = {pb.sql}')
        if not conds or r.random() < 0.3:
            jc = c.child(left + right)
            conds.append(self.boolexpr(jc, 1))
        return ' AND '.join(conds)

    def from_clause(self, c, simple=False):
        """Returns (sql, scope). simple: at most two items (subqueries). A comma binds less
        tightly than JOIN, so ON/USING after a comma only see the items after it."""
        r = self.r
        if simple:
            n = 1 if r.random() < 0.7 else 2
        else:
            n = self.w([(4, 1), (4, 2), (1.2, 3)])
        sql, scope = self.from_item(c)
        vis = list(scope)
        for _ in range(n - 1):
            jt = self.w([(4, 'JOIN'), (2, 'LEFT JOIN'), (1, 'RIGHT JOIN'), (1, 'FULL JOIN'),
                         (0.7, 'CROSS JOIN'), (0.7, ','), (1, 'INNER JOIN'),
                         (0.7, 'LEFT OUTER JOIN'), (0.5, 'NATURAL'), (0.8, 'USING')])
            if len(scope) > 12 and jt in ('CROSS JOIN', ','):
                jt = 'JOIN'
            lateral = jt in ('JOIN', 'LEFT JOIN', ',', 'CROSS JOIN') and r.random() < 0.3
            left_for_lateral = scope if jt == ',' else vis
            isql, iscope = self.from_item(c, allow_lateral=lateral, left_scope=left_for_lateral)
            if isql.startswith('LATERAL') or isql.startswith('jsonb_'):
                if jt == 'LEFT JOIN':
                    sql = f'{sql} LEFT JOIN {isql} ON {r.choice(["true", self.join_cond(c, vis, iscope)])}'
                elif jt == ',':
                    sql = f'{sql}, {isql}'
                    vis = []
                elif jt == 'CROSS JOIN':
                    sql = f'{sql} CROSS JOIN {isql}'
                else:
                    sql = f'{sql} JOIN {isql} ON {self.join_cond(c, vis, iscope)}'
                scope = scope + iscope
                vis = vis + iscope
                continue
            if jt in ('CROSS JOIN', ','):
                sql = f'{sql}{"," if jt == "," else " CROSS JOIN"} {isql}'
                if jt == ',':
                    vis = []
                scope = scope + iscope
                vis = vis + iscope
                continue
            if jt in ('NATURAL', 'USING'):
                lnames = {}
                for cr in vis:
                    if cr.unq:
                        lnames[cr.name] = lnames.get(cr.name, 0) + 1
                lmap = {cr.name: cr for cr in vis if cr.unq}
                common = [cr for cr in iscope if lnames.get(cr.name) == 1 and
                          sum(1 for x in iscope if x.name == cr.name) == 1]
                common = [cr for cr in common if (cat(lmap[cr.name].t) == cat(cr.t)
                          and cr.t != 'json' and cat(cr.t) not in ('jsonb',))
                          or (r.random() < 0.02 and self.bug('using_sqlstate'))]
                kind = r.choice(['', 'LEFT ', 'RIGHT ', 'FULL ', 'INNER '])
                names = None
                if jt == 'USING' and common:
                    use = r.sample(common, r.randint(1, min(2, len(common))))
                    names = [u.name for u in use]
                    sql = f'{sql} {kind}JOIN {isql} USING ({", ".join(names)})'
                elif jt == 'NATURAL':
                    allc = [cr for cr in iscope if lnames.get(cr.name, 0) >= 1]
                    if common and len(allc) == len(common):
                        names = [u.name for u in common]
                        sql = f'{sql} NATURAL {kind}JOIN {isql}'
                if names is None:
                    sql = f'{sql} CROSS JOIN {isql}'
                    scope = scope + iscope
                    vis = vis + iscope
                    continue
                merged = []
                for nme in names:
                    lt = lmap[nme].t
                    rt = [x for x in iscope if x.name == nme][0].t
                    mt = lt
                    if lt != rt and cat(lt) == 'num':
                        order = ['int2', 'int4', 'int8', 'float4', 'float8', 'numeric']
                        mt = order[max(order.index(lt), order.index(rt))]
                    elif lt != rt and cat(lt) == 'str':
                        mt = 'text'
                    elif lt != rt and cat(lt) == 'dt':
                        mt = 'timestamptz' if 'timestamptz' in (lt, rt) else 'timestamp'
                    merged.append(ColRef(None, nme, mt))
                for cr in vis + iscope:
                    if cr.name in names:
                        cr.unq = False
                scope = scope + iscope + merged
                vis = vis + iscope + merged
                continue
            if jt == 'FULL JOIN':
                # PostgreSQL only supports hash/merge-joinable FULL JOIN conditions
                pairs = [(a, b) for a in vis for b in iscope if a.t == b.t and self.refok(a, vis + iscope)
                         and a.t not in ('json', 'jsonb', 'bytea') and not a.t.endswith('[]')]
                if pairs:
                    pa, pb = r.choice(pairs)
                    cond = f'{pa.sql} = {pb.sql}'
                    if self.bug('full_join_nonequi') and r.random() < 0.3:
                        cond = self.join_cond(c, vis, iscope)
                else:
                    cond = 'true' if r.random() < 0.5 else '1 = 1'
                sql = f'{sql} FULL JOIN {isql} ON {cond}'
            else:
                sql = f'{sql} {jt} {isql} ON {self.join_cond(c, vis, iscope)}'
            scope = scope + iscope
            vis = vis + iscope
        return sql, scope

    # -- SELECT ----------------------------------------------------------------------------
    def item_name(self, e, i, st, force=False):
        alias = self.r.random() < 0.7
        if not self.bug('column_names'):
            # PostgreSQL names a cast of a cast after the outer type and a CASE after its
            # ELSE result; DriftDB does not (known bug column_names): alias such items
            if '::' in e or 'CAST(' in e or 'CASE' in e or TYPED_LITERAL.search(e):
                alias = True
        if force or alias:
            return f'{e} AS o{i}', f'o{i}'
        return e, None

    def select(self, c, top=False, want=None, single=False, no_order=False):
        """A SELECT block. c: a Ctx whose scope is empty (filled here) and whose outer is the
        enclosing query for correlation. want: required output types."""
        r = self.r
        st = c.st
        mode = self.w([(5, 'plain'), (3, 'agg'), (1.5 if c.subq < 1 else 0.5, 'window')])
        saved = c.no_corr
        if mode == 'agg' and not self.bug('grouped_correlation'):
            c.no_corr = True      # no correlated subquery in the ON conditions
        frm, scope = self.from_clause(c)
        c.no_corr = saved
        c.scope = scope
        where = ''
        if r.random() < 0.6:
            wc = c.child()
            wc.risky = False
            wc.in_where = True
            if mode == 'agg' and not self.bug('grouped_correlation'):
                wc.no_corr = True
            where = f' WHERE {self.boolexpr(wc, 2)}'
        if want is not None and mode == 'window' and r.random() < 0.5:
            mode = 'plain'
        ncols = len(want) if want else (1 if single else r.randint(1, 4))
        items, cols, fuzzy = [], [], set()
        group_sql = ''
        having = ''
        distinct = ''
        ic = c.child()
        ic.risky = top and c.subq == 0 and self.riskable(st)
        ic.extremes = ic.risky
        stypes = [cr.t for cr in scope if cr.t != 'json']
        if mode == 'agg':
            nkeys = self.w([(1.5, 0), (3, 1), (2, 2), (0.5, 3)])
            keys = []
            for _ in range(nkeys):
                e, t = self.group_key(scope)
                if e is not None and e not in [k for k, _ in keys]:
                    keys.append((e, t))
            ic.group = list(keys)
            ic.agg_ok = True
            # select list: some keys, some aggregates
            for i in range(ncols):
                t = want[i] if want else None
                if t is None:
                    if keys and r.random() < 0.45:
                        kk = r.choice(keys)
                        e, t = kk[0], kk[1]
                    else:
                        t = r.choice(['int8', 'int8', 'int4', 'text', 'bool', 'float8', 'date', 'jsonb',
                                      'timestamp', 'float4', 'int4[]', 'text[]']
                                     + (['json'] if top else []) + (['numeric'] if self.on('numeric') else []))
                        st.fuzzy_item = False
                        e = self.agg(t, ic, 2, item=top) if r.random() < 0.7 else self.expr(t, ic, 2)
                        if st.fuzzy_item:
                            fuzzy.add(i)
                else:
                    e = self.expr(t, ic, 2)
                s, name = self.item_name(e, i, st, force=bool(want))
                items.append(s)
                cols.append((name, t))
            if keys or (r.random() < 0.3 and self.bug('group_by_empty')):
                ktexts = [k for k, _ in keys] or ['()']
                form = self.w([(6, 'plain'), (1, 'rollup'), (1, 'cube'), (1, 'sets'), (1, 'ordinal')])
                if form in ('rollup', 'cube', 'sets') and any(k in where for k, _ in keys):
                    # PostgreSQL before 18 replaces a grouping key that WHERE equates to a
                    # constant with that constant, also in the rows where grouping sets make
                    # it NULL (WHERE a = 1 GROUP BY ROLLUP (a) shows 1 in the total row).
                    # DriftDB answers NULL, as PostgreSQL 18 does: such queries group plainly.
                    form = 'plain'
                if form == 'rollup' and keys:
                    group_sql = f' GROUP BY ROLLUP ({", ".join(ktexts)})'
                elif form == 'cube' and keys:
                    group_sql = f' GROUP BY CUBE ({", ".join(ktexts)})'
                elif form == 'sets' and keys:
                    sets = ['(' + ', '.join(r.sample(ktexts, r.randint(0, len(ktexts)))) + ')' for _ in range(r.randint(0, 2))]
                    sets.insert(r.randint(0, len(sets)), '(' + ', '.join(ktexts) + ')')
                    group_sql = f' GROUP BY GROUPING SETS ({", ".join(sets)})'
                elif form == 'ordinal' and keys:
                    # group by output ordinal where the key is a select item
                    parts = []
                    for k, _ in keys:
                        idx = next((i for i, s in enumerate(items) if s == k or s.startswith(k + ' AS o')), None)
                        parts.append(str(idx + 1) if idx is not None and r.random() < 0.7 else k)
                    group_sql = f' GROUP BY {", ".join(parts)}'
                else:
                    group_sql = f' GROUP BY {", ".join(ktexts)}'
            if r.random() < 0.35:
                hc = ic.child()
                hc.risky = False
                having = f' HAVING {self.boolexpr(hc, 2)}'
        else:
            for i in range(ncols):
                t = want[i] if want else (r.choice(stypes) if stypes and r.random() < 0.5 else
                                          r.choice(self.basic_types()))
                if t == 'json' and not top:
                    t = 'jsonb'
                st.fuzzy_item = False
                if mode == 'window' and r.random() < 0.6:
                    e, t2 = self.window_item(ic, scope, t if want else None, top)
                    t = t2
                else:
                    e = self.expr(t, ic, 3 if top else 2)
                if st.fuzzy_item:
                    fuzzy.add(i)
                s, name = self.item_name(e, i, st, force=bool(want))
                items.append(s)
                cols.append((name, t))
            if r.random() < 0.05 and not single and want is None:
                items.append('*')
                cols.extend(self.star_cols(scope))
        if r.random() < 0.12 and all(orderable(t) for _, t in cols):
            distinct = 'DISTINCT '
        sql = f'SELECT {distinct}{", ".join(items)} FROM {frm}{where}{group_sql}{having}'
        order_keys = None
        if not no_order and (top or r.random() < 0.1) and not fuzzy and all(self.ordok(t) for _, t in cols) and r.random() < 0.45:
            n = len(cols)
            full = r.random() < 0.75
            keys = list(range(n)) if full else list(range(r.randint(1, n)))
            parts = []
            for k in keys:
                ref = str(k + 1) if (r.random() < 0.6 or cols[k][0] is None
                                     or [x[0] for x in cols].count(cols[k][0]) > 1) else cols[k][0]
                if items[0] == '*' or '*' in items:
                    ref = str(k + 1)
                parts.append(ref + r.choice(['', ' ASC', ' DESC']) + r.choice(['', '', ' NULLS FIRST', ' NULLS LAST']))
            sql += ' ORDER BY ' + ', '.join(parts)
            if full:
                order_keys = keys
                if r.random() < 0.5:
                    sql += f' LIMIT {r.choice([0, 1, 2, 3, 5, 10])}'
                if r.random() < 0.25:
                    sql += f' OFFSET {r.choice([0, 1, 2, 4])}'
            else:
                order_keys = keys
            if not top:
                order_keys = None
        return Sel(sql, cols, order_keys, fuzzy)

    def group_key(self, scope):
        """A GROUP BY key: a column of the scope or a simple expression over one."""
        r = self.r
        cands = [cr for cr in scope if orderable(cr.t) and not cr.t.endswith('[]')
                 and (cr.qual is not None or sum(1 for x in scope if x.unq and x.name == cr.name) == 1)]
        if not cands:
            return None, None
        cr = r.choice(cands)
        if r.random() < 0.75:
            return cr.sql, cr.t
        x = cr.sql
        if cr.t in INT_T:
            if cr.t == 'int8':
                return f'({x} % 3)', 'int8'
            return r.choice([(f'({x} % 3)', 'int4'), (f'abs({x}::int8)', 'int8')])
        if cr.t in STR_T:
            return r.choice([(f'lower({x})', 'text'), (f'length({x})', 'int4'), (f'left({x}, 1)', 'text')])
        if cr.t == 'date':
            return f'({x} + 1)', 'date'
        if cr.t in FLT_T:
            return f'floor({x})', 'float8' if cr.t == 'float8' else 'float8'
        if cr.t == 'bool':
            return f'(NOT {x})', 'bool'
        if cr.t == 'jsonb':
            return f"({x} ->> 'a')", 'text'
        return x, cr.t

    def star_cols(self, scope):
        # SELECT * expands merged USING columns first, then the others (not hidden)
        merged = [cr for cr in scope if cr.qual is None]
        mnames = {m.name for m in merged}
        rest = [cr for cr in scope if cr.qual is not None and not (cr.name in mnames and not cr.unq)]
        return [(m.name, m.t) for m in merged] + [(cr.name, cr.t) for cr in rest]

    def refok(self, cr, scope):
        """May cr be referenced here? A merged USING column is referenced unqualified: only
        when no other visible column has its name (known bug ambiguous_using)."""
        if cr.qual is not None or self.bug('ambiguous_using'):
            return True
        return sum(1 for x in scope if x.unq and x.name == cr.name) == 1

    def total_order(self, scope):
        # every column of the scope, so that window functions see a total order (rows that
        # tie are equal in every column); jsonb (unordered while jsonb_ordering is a known
        # bug) goes in as its text
        out = []
        for cr in scope:
            if not self.refok(cr, scope) or cr.t == 'json':
                continue
            out.append(cr.sql if self.ordok(cr.t) else f'({cr.sql})::text')
        return out

    def window_item(self, c, scope, want, top):
        r = self.r
        part = ''
        pcols = [cr for cr in scope if orderable(cr.t) and cr.t not in ('jsonb',) and self.refok(cr, scope)]
        if pcols and r.random() < 0.5:
            part = 'PARTITION BY ' + ', '.join(cr.sql for cr in r.sample(pcols, min(len(pcols), r.randint(1, 2))))
        ocols = [cr for cr in scope if self.ordok(cr.t) and self.refok(cr, scope)]
        okey = r.choice(ocols).sql if ocols else '1'
        odir = r.choice(['', ' DESC', ' NULLS FIRST', ' DESC NULLS LAST'])
        total = ', '.join([okey + odir] + self.total_order(scope))
        k = self.w([(1, 'rownum'), (1.5, 'rank'), (1, 'ntile'), (1.5, 'laglead'), (1, 'nth'),
                    (3, 'aggw')])

        def over(order, frame=''):
            inner = ' '.join(x for x in [part, f'ORDER BY {order}' if order else '', frame] if x)
            return f'OVER ({inner})'
        if want is not None:
            # a window value of the wanted type
            if want == 'int8':
                k = r.choice(['rownum', 'rank'])
            elif want in ('int4', 'int2', 'text', 'date', 'bool', 'float8', 'timestamp', 'timestamptz', 'varchar', 'bpchar', 'jsonb', 'bytea', 'float4'):
                k = 'laglead'
            else:
                return self.expr(want, c, 2), want
        # Only one window function per query may depend on the order among rows that are
        # equal in every column (row_number, ntile, lag/lead, first/last/nth_value, ROWS
        # frames): two such functions sort duplicate rows independently, so which values
        # end up in the same output row would not be defined.
        if k in ('rownum', 'ntile', 'laglead', 'nth'):
            if c.st.os_window:
                if want is None or want == 'int8':
                    k = 'rank'
                else:
                    return self.expr(want, c, 2), want
            else:
                c.st.os_window = True
        if k == 'rownum':
            return f'row_number() {over(total)}', 'int8'
        if k == 'rank':
            f = r.choice(['rank', 'dense_rank'] + (['percent_rank', 'cume_dist'] if want is None else []))
            return f'{f}() {over(okey + odir)}', 'int8' if f in ('rank', 'dense_rank') else 'float8'
        if k == 'ntile':
            return f'ntile({r.randint(1, 4)}) {over(total)}', 'int4'
        if k in ('laglead', 'nth'):
            t = want or r.choice([cr.t for cr in scope] or ['int4'])
            if t == 'json':
                t = 'int4'
            x = self.expr(t, c, 1)
            if k == 'laglead' or want is not None:
                f = r.choice(['lag', 'lead'])
                args = x
                if r.random() < 0.5:
                    args += f', {r.randint(0, 3)}'
                    if r.random() < 0.5:
                        args += f', {self.expr(t, c, 0)}'
                return f'{f}({args}) {over(total)}', t
            f = r.choice(['first_value', 'last_value', 'nth_value'])
            frame = r.choice(['', 'ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING',
                              'ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING', 'ROWS 2 PRECEDING',
                              'ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING'])
            args = x + (f', {r.randint(1, 3)}' if f == 'nth_value' else '')
            return f'{f}({args}) {over(total, frame)}', t
        # aggregate over a window
        t = r.choice(['int8', 'int4', 'float8', 'text', 'bool', 'date'])
        a = c.child()
        a.agg_ok, a.group, a.in_agg, a.no_outer = False, None, True, True
        a.risky = c.risky
        if t == 'int8':
            f = r.choice(['count(*)', 'sum', 'count'])
            if f == 'count(*)':
                call = 'count(*)'
            else:
                call = f'{f}({self.expr(r.choice(["int4", "int2"]), a, 1)})'
        elif t == 'int4':
            call = f'{r.choice(["min", "max"])}({self.expr("int4", a, 1)})'
        elif t == 'float8':
            if top and r.random() < 0.5:
                c.st.fuzzy_item = True
                call = f'sum({self.expr("float8", a, 1)})'
            else:
                call = f'{r.choice(["min", "max"])}({self.expr("float8", a, 1)})'
        elif t == 'text':
            call = f'{r.choice(["min", "max"])}({self.expr("text", a, 1)})'
        elif t == 'bool':
            call = f'{r.choice(["bool_and", "bool_or", "every"])}({self.boolexpr(a, 1)})'
        else:
            call = f'{r.choice(["min", "max"])}({self.expr("date", a, 1)})'
        if r.random() < 0.1:
            call += f' FILTER (WHERE {self.boolexpr(a, 1)})'
        fk = self.w([(2, 'none'), (1, 'default'), (1.5, 'rows'), (1, 'range'), (0.7, 'groups'),
                     (0.7, 'rangeoff')])
        if fk == 'none':
            return f'{call} {over("")}', t
        if fk == 'default':
            return f'{call} {over(okey + odir)}', t
        bounds = ['UNBOUNDED PRECEDING', '2 PRECEDING', '1 PRECEDING', '0 PRECEDING',
                  'CURRENT ROW', '0 FOLLOWING', '1 FOLLOWING', '3 FOLLOWING',
                  'UNBOUNDED FOLLOWING']
        i = r.randint(0, 7)
        j = r.randint(max(i, 1), 8)
        if r.random() < 0.03 and self.bug('frame_error_sqlstate'):
            i, j = r.randint(0, 8), r.randint(0, 8)   # maybe an invalid frame (42P20)
        excl = r.choice(['', '', '', ' EXCLUDE CURRENT ROW', ' EXCLUDE TIES', ' EXCLUDE GROUP', ' EXCLUDE NO OTHERS'])
        if fk == 'rows' and not c.st.os_window:
            c.st.os_window = True
            return f'{call} {over(total, f"ROWS BETWEEN {bounds[i]} AND {bounds[j]}" + excl)}', t
        if fk == 'rows':
            fk = 'groups'
        if fk == 'groups':
            return f'{call} {over(okey + odir, f"GROUPS BETWEEN {bounds[i]} AND {bounds[j]}" + excl)}', t
        if fk == 'range':
            b1 = r.choice(['UNBOUNDED PRECEDING', 'CURRENT ROW'])
            b2 = r.choice(['CURRENT ROW', 'UNBOUNDED FOLLOWING'])
            return f'{call} {over(okey + odir, f"RANGE BETWEEN {b1} AND {b2}" + excl)}', t
        ncols = [cr for cr in scope if cr.t in ('float8',) + (('int2',) if self.bug('range_offset_int2') else ())
                 + (('int8', 'int4') if self.bug('range_offset_overflow') else ())
                 and self.refok(cr, scope)]
        if not ncols:
            return f'{call} {over(okey + odir)}', t
        oc = r.choice(ncols)
        off = r.choice(['1', '2', '0', '5']) if oc.t != 'float8' else r.choice(["1.5", "'0.5'", "10"])
        b1 = r.choice([f'{off} PRECEDING', 'UNBOUNDED PRECEDING', 'CURRENT ROW'])
        b2 = r.choice([f'{off} FOLLOWING', 'CURRENT ROW', 'UNBOUNDED FOLLOWING'])
        if b1 == 'CURRENT ROW' and 'PRECEDING' in b2:
            b2 = 'CURRENT ROW'
        return f'{call} {over(oc.sql + r.choice(["", " DESC"]), f"RANGE BETWEEN {b1} AND {b2}" + excl)}', t

    # -- whole statements -------------------------------------------------------------------
    def query(self):
        r = self.r
        st = StmtState(bad=r.random() < 0.07)
        c = Ctx(st, [])
        k = self.w([(10, 'select'), (2, 'setop'), (1.5, 'with'), (0.6, 'recursive'),
                    (1.5, 'scalar'), (0.4, 'values')])
        ctes_sql = ''
        if k in ('with', 'recursive'):
            c.ctes = []
            defs = []
            if k == 'recursive':
                d, cols = self.recursive_cte(st)
                defs.append(d)
                c.ctes.append(('r', cols))
            for i in range(r.randint(1 if k == 'with' else 0, 2)):
                sc = Ctx(st, [])
                sc.subq = 1
                sel = self.select(sc, top=False)
                nm = f'w{i}'
                names = [f'{nm}c{j}' for j in range(len(sel.cols))]
                defs.append(f'{nm}({", ".join(names)}) AS ({sel.sql})')
                c.ctes.append((nm, list(zip(names, [t for _, t in sel.cols]))))
            ctes_sql = ('WITH RECURSIVE ' if k == 'recursive' else 'WITH ') + ', '.join(defs) + ' '
            k = 'select'
        if k == 'select':
            sel = self.select(c, top=True)
            sql = ctes_sql + sel.sql
            return Stmt(sql, 'query', sel.order_keys, sel.fuzzy, self.alt(st), st=st)
        if k == 'scalar':
            ic = Ctx(st, [])
            ic.risky = self.riskable(st)
            ic.extremes = ic.risky
            items = []
            for i in range(r.randint(1, 4)):
                t = r.choice(self.basic_types())
                e = self.expr(t, ic, 3)
                items.append(self.item_name(e, i, st)[0])
            return Stmt('SELECT ' + ', '.join(items), 'query', None, (), self.alt(st), st=st)
        if k == 'values':
            ncol = r.randint(1, 3)
            types = [r.choice(['int4', 'text', 'float8', 'bool', 'date', 'int8']) for _ in range(ncol)]
            rows = ['(' + ', '.join(self.lit(t) if r.random() < 0.9 else 'NULL' for t in types) + ')'
                    for _ in range(r.randint(1, 5))]
            sql = 'VALUES ' + ', '.join(rows)
            ok = None
            if r.random() < 0.5:
                sql += ' ORDER BY ' + ', '.join(str(i + 1) for i in range(ncol))
                ok = list(range(ncol))
            return Stmt(sql, 'query', ok, (), self.alt(st), st=st)
        # set operation
        c1 = Ctx(st, [])
        s1 = self.select(c1, top=True)
        while s1.fuzzy or not all(orderable(t) or t == 'json' for _, t in s1.cols) or \
                any(t == 'json' for _, t in s1.cols):
            c1 = Ctx(st, [])
            s1 = self.select(c1, top=True)
        parts = [self.strip_order(s1.sql)]
        nb = r.randint(1, 2)
        for _ in range(nb):
            c2 = Ctx(st, [])
            want = [t for _, t in s1.cols]
            if st.bad and not st.injected and r.random() < 0.3:
                st.injected = True
                want = want + ['int4'] if r.random() < 0.5 else [('text' if cat(t) != 'str' else 'int4') for t in want]
            s2 = self.select(c2, top=True, want=want)
            parts.append(self.strip_order(s2.sql))
        ops = [r.choice(['UNION', 'UNION ALL', 'INTERSECT', 'INTERSECT ALL', 'EXCEPT', 'EXCEPT ALL'])
               for _ in range(nb)]
        sql = parts[0]
        for op, p in zip(ops, parts[1:]):
            sql = f'({sql}) {op} ({p})' if r.random() < 0.5 else f'{sql} {op} ({p})'
        if sql.startswith('(') is False and r.random() < 0.5:
            sql = f'({parts[0]})' + sql[len(parts[0]):]
        ok = None
        if r.random() < 0.5 and all(self.ordok(t) for _, t in s1.cols):
            n = len(s1.cols)
            sql += ' ORDER BY ' + ', '.join(f'{i + 1}{r.choice(["", " DESC", " NULLS FIRST"])}' for i in range(n))
            ok = list(range(n))
            if r.random() < 0.5:
                sql += f' LIMIT {r.randint(0, 6)}'
        return Stmt(sql, 'query', ok, (), self.alt(st), st=st)

    def strip_order(self, sql):
        # set operation branches: drop their own ORDER BY/LIMIT (top-level ones only)
        i = sql.rfind(' ORDER BY ')
        if i >= 0 and sql.count('(', i) == sql.count(')', i):
            return sql[:i]
        return sql

    def recursive_cte(self, st):
        r = self.r
        k = r.randint(0, 2)
        lim = r.randint(1, 12)
        if k == 0:
            start, step, t = r.choice([('1::int8', 'x * 2', 'int8'), ('1::int8', 'x + n', 'int8'),
                                       ("'a'::text", "x || 'b'", 'text'),
                                       ("'0.5'::float8", 'x * 3', 'float8'),
                                       ("'2020-01-01'::date", 'x + 7', 'date')])
            return (f'r(n, x) AS (SELECT 1, {start} UNION ALL SELECT n + 1, {step} FROM r '
                    f'WHERE n < {lim})'), [('n', 'int4'), ('x', t)]
        if k == 1:
            return (f'r(n, a, b) AS (SELECT 1, 0::int8, 1::int8 UNION ALL SELECT n + 1, b, a + b FROM r '
                    f'WHERE n < {lim + 20})'), [('n', 'int4'), ('a', 'int8'), ('b', 'int8')]
        # walk a table: ints reachable from a seed by +1 steps present in a table column
        tb = r.choice(self.tables)
        ic = [c for c in tb.cols if c.t in ('int4', 'int2')]
        if not ic:
            return f'r(n) AS (VALUES (1) UNION SELECT n + 1 FROM r WHERE n < {lim})', [('n', 'int4')]
        col = r.choice(ic).name
        u = r.choice(['UNION', 'UNION ALL'])
        return (f'r(n, depth) AS (SELECT {col}, 0 FROM {tb.name} WHERE {col} IS NOT NULL AND {col} < 5 {u} '
                f'SELECT t.{col}, r.depth + 1 FROM r JOIN {tb.name} t ON t.{col} = r.n + 1 WHERE r.depth < 4)'), \
            [('n', 'int4'), ('depth', 'int4')]

    def alt(self, st):
        """Codes accepted interchangeably when both sides fail (order-dependent errors)."""
        if len(st.risks) > 1:
            return set(st.risks)
        return set()

    # -- DML -------------------------------------------------------------------------------
    def returning(self, c, tb, al, joined=False):
        r = self.r
        if r.random() < 0.6:
            return ''
        if r.random() < 0.4:
            # with FROM/USING, * would include the other table's row: which of its matching
            # rows is returned is not defined
            return f' RETURNING {al}.*' if joined or r.random() < 0.5 else ' RETURNING *'
        items = []
        for i in range(r.randint(1, 3)):
            t = r.choice([cr.t for cr in c.scope])
            e = self.expr(t, c, 1)
            items.append(self.item_name(e, i, c.st)[0])
        return ' RETURNING ' + ', '.join(items)

    def set_value(self, col, v, al):
        """PostgreSQL folds the assignment cast of a constant SET value at plan time (an
        error even when no row is updated); DriftDB does not (known bug
        const_assignment_fold): cast such values to the column's type."""
        if col.length is None or self.bug('const_assignment_fold') or v in ('DEFAULT', 'NULL'):
            return v
        if f'{al}.' in v or 'EXCLUDED.' in v:
            return v
        return f'CAST({v} AS {col.decl})'

    def dml_value(self, col, c, allow_bad):
        r = self.r
        if col.default is not None and r.random() < 0.05:
            return 'DEFAULT'
        if r.random() < 0.07:
            return 'NULL' if not col.notnull or (allow_bad and r.random() < 0.2) \
                else self.raw_value(col.t, col.length)
        if allow_bad and r.random() < 0.02:
            # possibly too long / out of range / wrong type
            return self.raw_value(r.choice(['text', 'int8', 'int4', 'float8']))
        if col.t in INT_T and r.random() < 0.6:
            return str(r.randint(0, 14))
        if r.random() < 0.15 and c is not None:
            return self.expr(col.t, c, 1)
        return self.raw_value(col.t, col.length)

    def dml(self):
        r = self.r
        st = StmtState(bad=r.random() < 0.04)
        tb = r.choice(self.tables)
        st.table = tb.name
        k = self.w([(5, 'insert'), (3, 'update'), (2, 'delete'), (1, 'insert_select'),
                    (0.3, 'insert_default')])
        al = self.alias(st, 'x')
        scope = [ColRef(al, col.name, col.t, base=True) for col in tb.cols]
        c = Ctx(st, scope)
        rc = c.child()
        # a data-dependent error in DML hides behind known bug null_short_circuit and the
        # tables would differ afterwards: DML expressions are error-free unless allowed
        rc.risky = self.riskable(st) and self.bug('null_short_circuit')
        if k == 'insert' or k == 'insert_default':
            ec = Ctx(st, [])
            ec.risky = self.riskable(st) and self.bug('null_short_circuit')
            if k == 'insert_default':
                sql = f'INSERT INTO {tb.name} AS {al} DEFAULT VALUES'
                nrows = 1
            else:
                cols = [col for col in tb.cols if r.random() < 0.85 or col.name in tb.pk]
                if not cols:
                    cols = tb.cols[:1]
                if r.random() < 0.5:
                    r.shuffle(cols)
                nrows = r.randint(1, 4)
                rows = ['(' + ', '.join(self.dml_value(col, ec, True) for col in cols) + ')'
                        for _ in range(nrows)]
                collist = f' ({", ".join(col.name for col in cols)})' if (r.random() < 0.9 or len(cols) != len(tb.cols)) else ''
                if not collist and [x.name for x in cols] != [x.name for x in tb.cols]:
                    collist = f' ({", ".join(col.name for col in cols)})'
                sql = f'INSERT INTO {tb.name} AS {al}{collist} VALUES {", ".join(rows)}'
            if (tb.pk or tb.uniques) and r.random() < 0.5:
                tgt = tb.pk or r.choice(tb.uniques)
                if r.random() < 0.4:
                    sql += f' ON CONFLICT DO NOTHING' if r.random() < 0.5 else f' ON CONFLICT ({", ".join(tgt)}) DO NOTHING'
                else:
                    upd = [col for col in tb.cols if col.name not in tgt]
                    if upd:
                        sets = []
                        for col in r.sample(upd, r.randint(1, min(2, len(upd)))):
                            v = self.w([(2, f'EXCLUDED.{col.name}'), (1, self.expr(col.t, rc, 1)),
                                        (1, self.raw_value(col.t, col.length))])
                            sets.append(f'{col.name} = {self.set_value(col, v, al)}')
                        sql += f' ON CONFLICT ({", ".join(tgt)}) DO UPDATE SET {", ".join(sets)}'
                        if r.random() < 0.3:
                            wc = c.child()
                            sql += f' WHERE {self.boolexpr(wc, 1)}'
                        if nrows > 1:
                            st.risks.add('21000')
            sql += self.returning(rc, tb, al)
            alt = self.alt(st) if nrows > 1 else set()
            if not self.bug('insert_error_order'):
                alt |= INSERT_CODES
            return Stmt(sql, 'dml', None, (), alt, dml=True, st=st)
        if k == 'insert_select':
            src = r.choice(self.tables)
            sc = Ctx(st, [])
            sc.subq = 1
            sel = self.select(sc, top=False, want=[col.t for col in tb.cols], no_order=True)
            n = len(tb.cols)
            names = ', '.join(col.name for col in tb.cols)
            if any(col.length for col in tb.cols) and not self.bug('const_assignment_fold'):
                # cast values of char(n)/varchar(n) columns (known bug const_assignment_fold)
                outs = [f'CAST(q.q{i} AS {col.decl})' if col.length else f'q.q{i}'
                        for i, col in enumerate(tb.cols)]
                body = (f'SELECT {", ".join(outs)} FROM ({sel.sql}) AS q('
                        f'{", ".join(f"q{i}" for i in range(n))})')
            else:
                body = sel.sql
            sql = f'INSERT INTO {tb.name} ({names}) {body}'
            ordered = all(self.ordok(col.t) for col in tb.cols)
            if ordered and r.random() < 0.8:
                # a total order: which rows LIMIT keeps and which of two rows with the same
                # key ON CONFLICT DO NOTHING keeps are then fixed
                sql += f' ORDER BY {", ".join(str(i + 1) for i in range(n))}'
                if r.random() < 0.7:
                    sql += f' LIMIT {r.randint(0, 4)}'
            else:
                ordered = False
            if (tb.pk or tb.uniques) and ordered and r.random() < 0.5:
                sql += ' ON CONFLICT DO NOTHING'
            # rows go in an unspecified order: any of the constraint errors may come first
            alt = {'23505', '23502', '23514', '22001', '22003', '22P02', '22012', '21000'} | st.risks
            return Stmt(sql, 'dml', None, (), alt, dml=True, st=st)
        if k == 'update':
            # key columns only get constants: with expressions PostgreSQL's row-at-a-time
            # unique check makes the outcome depend on the order rows are updated in
            ukeys = set(tb.pk) | {u[0] for u in tb.uniques}
            upd = [col for col in tb.cols if col.name not in tb.pk]
            if not upd:
                upd = tb.cols
            sets = []
            joined = False
            for col in r.sample(upd, r.randint(1, min(3, len(upd)))):
                v = self.w([(3, self.expr(col.t, rc, 2)), (1, self.raw_value(col.t, col.length)),
                            (0.3, 'DEFAULT'), (0.3, 'NULL')])
                if col.name in ukeys:
                    v = self.raw_value(col.t, col.length)
                sets.append(f'{col.name} = {self.set_value(col, v, al)}')
            sql = f'UPDATE {tb.name} AS {al} SET {", ".join(sets)}'
            wc = c.child()
            if r.random() < 0.25:
                other = r.choice(self.tables)
                oal = self.alias(st, 'y')
                oscope = [ColRef(oal, col.name, col.t, base=True) for col in other.cols]
                jc = self.join_cond(c, scope, oscope)
                wc2 = Ctx(st, scope + oscope)
                sql += f' FROM {other.name} {oal} WHERE {jc}'
                if r.random() < 0.5:
                    sql += f' AND {self.boolexpr(wc2, 1)}'
                joined = True
            elif r.random() < 0.9:
                sql += f' WHERE {self.boolexpr(wc, 2)}'
            sql += self.returning(rc, tb, al, joined)
            alt = {'23505', '23502', '23514', '22001', '22003', '22P02', '22012'} | st.risks
            return Stmt(sql, 'dml', None, (), alt, dml=True, st=st)
        # delete
        wc = c.child()
        joined = False
        sql = f'DELETE FROM {tb.name} AS {al}'
        if r.random() < 0.2:
            other = r.choice(self.tables)
            oal = self.alias(st, 'y')
            oscope = [ColRef(oal, col.name, col.t, base=True) for col in other.cols]
            sql += f' USING {other.name} {oal} WHERE {self.join_cond(c, scope, oscope)}'
            joined = True
        else:
            sql += f' WHERE {self.boolexpr(wc, 2)}'
        sql += self.returning(rc, tb, al, joined)
        return Stmt(sql, 'dml', None, (), self.alt(st) | ({'22003', '22012'} & st.risks), dml=True, st=st)

    def workload(self, nqueries, dml_frac=0.12):
        out = []
        nq = 0
        while nq < nqueries:
            if self.r.random() < dml_frac:
                s = self.dml()
                out.append(s)
                # read the table back so that a DML statement that changed different rows
                # (with the same command tag) is caught where it happened
                chk = Stmt(f'SELECT * FROM {s.table}', 'check', dml=True)
                out.append(chk)
            else:
                out.append(self.query())
                nq += 1
        return out


def generate(seed, nqueries, enabled, allowed):
    g = Gen(seed, enabled, allowed)
    stmts = g.schema()
    stmts += g.data()
    stmts += g.workload(nqueries)
    return stmts


# ---------------------------------------------------------------------------------------
# PostgreSQL server (started and stopped by this script)
# ---------------------------------------------------------------------------------------

class PgServer:
    def __init__(self, log):
        self.log = log
        self.dir = None
        self.port = None
        self.started = False
        self.as_user = []

    def _run(self, args, **kw):
        return subprocess.run(self.as_user + args, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, **kw)

    def start(self):
        if os.geteuid() == 0:
            self.as_user = ['runuser', '-u', 'postgres', '--']
        self.dir = tempfile.mkdtemp(prefix='difftest-pg-')
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, 'postgres', 'postgres')
        data = os.path.join(self.dir, 'data')
        os.mkdir(data, 0o700)
        if os.geteuid() == 0:
            shutil.chown(data, 'postgres', 'postgres')
        try:
            self._run(['initdb', '-D', data, '--locale=C', '-E', 'UTF8', '-A', 'trust',
                       '-U', 'postgres', '--no-sync', '--no-instructions'])
        except subprocess.CalledProcessError as e:
            raise RuntimeError('initdb failed:\n' + e.stdout.decode(errors='replace'))
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        self.port = s.getsockname()[1]
        s.close()
        opts = (f'-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c timezone=UTC '
                f'-c fsync=off -c synchronous_commit=off -c full_page_writes=off '
                f'-c shared_buffers=32MB -c max_connections=10 -c log_min_messages=fatal '
                f'-c autovacuum=off')
        try:
            self._run(['pg_ctl', '-D', data, '-w', '-t', '60', '-l',
                       os.path.join(self.dir, 'log'), '-o', opts, 'start'])
        except subprocess.CalledProcessError as e:
            logtxt = ''
            try:
                logtxt = open(os.path.join(self.dir, 'log')).read()
            except OSError:
                pass
            raise RuntimeError('pg_ctl start failed:\n' + e.stdout.decode(errors='replace') + logtxt)
        self.started = True
        return f'host=127.0.0.1 port={self.port} user=postgres dbname=postgres'

    def stop(self):
        if self.started:
            self.started = False
            try:
                self._run(['pg_ctl', '-D', os.path.join(self.dir, 'data'), '-m', 'fast', '-w',
                           'stop'], timeout=60)
            except Exception as e:  # noqa: BLE001 - best effort at exit
                self.log(f'warning: pg_ctl stop failed: {e}')
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def pg_connect(dsn):
    import psycopg2
    import psycopg2.extensions as ext
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET statement_timeout = '20s'")
    cur.execute('SELECT oid, format_type(oid, NULL) FROM pg_type')
    typ = {}
    for oid, name in cur.fetchall():
        typ[int(oid)] = name
    # Every value as PostgreSQL's text output: a caster returning the raw string.
    raw = ext.new_type(tuple(typ.keys()), 'DIFFTEST_RAW', lambda v, c: v)
    ext.register_type(raw, conn)
    return conn, typ


def pg_type_name(typ, desc):
    name = typ.get(desc.type_code, str(desc.type_code))
    if name in ('character varying', 'character') and desc.display_size and desc.display_size > 0:
        name = f'{name}({desc.display_size})'
    elif name == 'numeric' and desc.precision is not None and desc.precision > 0 \
            and desc.precision < 1000:
        name = f'numeric({desc.precision},{desc.scale})'
    return name


def run_pg(conn, typ, stmts, progress=None):
    import psycopg2
    out = []
    cur = conn.cursor()
    for i, s in enumerate(stmts):
        t0 = time.time()
        try:
            cur.execute(s.sql)
            if cur.description is not None:
                cols = [(d.name, pg_type_name(typ, d)) for d in cur.description]
                rows = [list(r) for r in cur.fetchall()]
                out.append({'tag': cur.statusmessage, 'columns': cols, 'rows': rows})
            else:
                out.append({'tag': cur.statusmessage})
        except psycopg2.Error as e:
            if e.pgcode is None:
                raise
            out.append({'error': e.pgcode, 'message': (e.pgerror or '').strip()})
            if conn.closed:
                raise RuntimeError('PostgreSQL connection lost at statement %d' % i)
        out[-1]['secs'] = time.time() - t0
    return out


# ---------------------------------------------------------------------------------------
# DriftDB (one `driftdb sql --jsonl -f FILE` process for the whole run)
# ---------------------------------------------------------------------------------------

class DriftRun:
    """Runs the statements through `driftdb sql --jsonl -f FILE` in a background thread.

    stdout is a pseudo-terminal so that DriftDB's output is line buffered: the number of
    lines read tells exactly which statement a crash or a hang happened in. After a crash
    (or a statement that produces no output for `stall` seconds) the statement gets a
    CRASH/TIMEOUT result and a new process goes on with the next statement on the same
    data directory (everything committed before stays)."""

    def __init__(self, binary, stmts, workdir, timeout, stall=60.0):
        self.binary, self.stmts, self.workdir = binary, stmts, workdir
        self.timeout, self.stall = timeout, stall
        self.results = []
        self.events = []      # (statement index, 'crash'|'timeout', detail)
        self.proc = None
        self.thread = None
        self.stopped = False
        self.ddir = os.path.join(self.workdir, 'drift')

    def start(self):
        subprocess.run([self.binary, 'init', self.ddir], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        deadline = time.time() + self.timeout
        n = len(self.stmts)
        part = 0
        while len(self.results) < n and not self.stopped:
            first = len(self.results)
            fn = os.path.join(self.workdir, f'statements{part}.sql')
            part += 1
            with open(fn, 'w', encoding='utf-8') as f:
                for s in self.stmts[first:]:
                    f.write(s.sql + ';\n')
            kind, detail = self._one(fn, deadline)
            got = len(self.results)
            if kind == 'done':
                if got < n:   # exited early without a crash signal: count as a crash
                    kind = 'crash'
                else:
                    break
            if got >= n:
                break
            self.events.append((got, kind, detail))
            self.results.append({'error': kind.upper(), 'message': detail})
            if kind == 'timeout' and time.time() >= deadline:
                while len(self.results) < n:
                    self.results.append({'error': 'TIMEOUT', 'message': 'run deadline passed'})
                break

    def _one(self, fn, deadline):
        import pty
        import tty
        master, slave = pty.openpty()
        tty.setraw(slave)
        errf = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([self.binary, 'sql', '-d', self.ddir, '--jsonl', '-f', fn],
                                     stdout=slave, stderr=errf, stdin=subprocess.DEVNULL)
        os.close(slave)
        buf = b''
        last = time.time()
        kind = 'done'
        import select as sel
        while True:
            now = time.time()
            if now > deadline or now - last > self.stall:
                kind = 'timeout'
                self.proc.kill()
                break
            r, _, _ = sel.select([master], [], [], 0.5)
            if not r:
                if self.proc.poll() is not None:
                    # drain whatever is left
                    try:
                        while True:
                            r2, _, _ = sel.select([master], [], [], 0.05)
                            if not r2:
                                break
                            d = os.read(master, 1 << 16)
                            if not d:
                                break
                            buf += d
                    except OSError:
                        pass
                    break
                continue
            try:
                d = os.read(master, 1 << 16)
            except OSError:
                break
            if not d:
                break
            buf += d
            last = time.time()
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                line = line.strip()
                if line:
                    try:
                        self.results.append(json.loads(line.decode('utf-8', errors='replace')))
                    except ValueError:
                        self.results.append({'error': 'BADJSON', 'message': line[:500].decode(errors='replace')})
        line = buf.strip()
        if line:
            try:
                self.results.append(json.loads(line.decode('utf-8', errors='replace')))
            except ValueError:
                pass
        status = self.proc.wait()
        os.close(master)
        errf.seek(0)
        err = errf.read().decode('utf-8', errors='replace')
        errf.close()
        detail = ''
        for ln in err.splitlines():
            if 'runtime failure' in ln or 'Fatal error' in ln or 'fatal' in ln.lower():
                detail = ln.strip()
                break
        if kind == 'timeout':
            return 'timeout', f'no result within {self.stall:.0f}s'
        if status < 0 or status > 3:
            return 'crash', detail or f'exit status {status}: {err.strip()[-300:]}'
        return 'done', detail

    def wait(self):
        self.thread.join()

    def kill(self):
        self.stopped = True
        if self.proc and self.proc.poll() is None:
            self.proc.kill()


def normalize_drift(res):
    if 'error' in res:
        e = res['error']
        if isinstance(e, dict):
            return {'error': e.get('code'), 'message': e.get('message', '')}
        return {'error': str(e), 'message': res.get('message', '')}
    out = {'tag': res.get('tag')}
    if 'columns' in res:
        out['columns'] = [(c.get('name'), c.get('type')) for c in res['columns']]
        out['rows'] = res.get('rows', [])
    return out


# ---------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------

def float_close(a, b, real):
    if a == b:
        return True
    if a is None or b is None:
        return False
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    rel, ab = (REL_TOL_REAL, ABS_TOL_REAL) if real else (REL_TOL, ABS_TOL)
    return abs(x - y) <= rel * max(abs(x), abs(y)) + ab


def zero(v):
    """0 and -0 are one value to DISTINCT, GROUP BY and set operations, and which of the
    two such a step keeps depends on the order rows arrive in: they compare as equal."""
    return '0' if v == '-0' else v


def row_key(row, fuzzy):
    key = []
    for i, v in enumerate(row):
        v = zero(v)
        if v is None:
            key.append((0, ''))
        elif i in fuzzy:
            try:
                f = float(v)
                key.append((1, '%.6g' % f if not math.isnan(f) else 'nan'))
            except ValueError:
                key.append((1, v))
        else:
            key.append((1, v))
    return key


def rows_equal(a, b, fuzzy, realcols):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if len(x) != len(y):
            return False
        for i, (u, v) in enumerate(zip(x, y)):
            if zero(u) == zero(v):
                continue
            if i in fuzzy and float_close(u, v, i in realcols):
                continue
            return False
    return True


def multiset_equal(a, b, fuzzy, realcols):
    sa = sorted(a, key=lambda r: row_key(r, fuzzy))
    sb = sorted(b, key=lambda r: row_key(r, fuzzy))
    if rows_equal(sa, sb, fuzzy, realcols):
        return True
    if not fuzzy or len(a) != len(b):
        return False
    # fuzzy values near a rounding boundary of the sort key: match greedily
    used = [False] * len(sb)
    for x in sa:
        for j, y in enumerate(sb):
            if not used[j] and rows_equal([x], [y], fuzzy, realcols):
                used[j] = True
                break
        else:
            return False
    return True


def base_type(name, opts):
    """A column type for comparison: without modifiers unless --typmods; with the known bug
    string_result_types avoided, text/varchar/char compare as one type."""
    if not name:
        return name
    if not opts.typmods:
        import re
        name = re.sub(r'\(\d+(,\d+)?\)', '', name)
    if 'string_result_types' not in opts.allow:
        for s in ('character varying', 'character'):
            if name == s or name == s + '[]' or name.startswith(s + '('):
                name = 'text' + name[len(s):]
                break
    return name


class FakeOpts:
    typmods = False
    allow = {'string_result_types'}


def same_error(pcode, dcode, opts, stmt=None):
    if pcode == dcode:
        return True
    # known bug operator_resolution_sqlstate
    if pcode in ('42883', '42846') and dcode in ('42883', '42804', '42846', '0A000') and \
            'operator_resolution_sqlstate' not in opts.allow:
        return True
    # known bug analysis_order
    if stmt is not None and stmt.bad and pcode.startswith('42') and dcode.startswith('42') \
            and 'analysis_order' not in opts.allow:
        return True
    # known bug error_precedence: DriftDB folds a constant (22xxx) before PostgreSQL's
    # analysis error (42xxx) elsewhere in the statement is found
    if pcode[:2] == '42' and dcode[:2] == '22' and 'error_precedence' not in opts.allow:
        return True
    # known bug int_input_sqlstate
    if pcode == '22P02' and dcode == '22003' and 'int_input_sqlstate' not in opts.allow:
        return True
    # known bug date_input_sqlstate
    if pcode in ('22007', '22008', '22009') and dcode in ('22007', '22008', '22009') \
            and 'date_input_sqlstate' not in opts.allow:
        return True
    return False


def compare(stmt, pg, dr, opts):
    """None when equal, else a short reason."""
    if 'error' in pg or 'error' in dr:
        if 'error' in pg and 'error' in dr:
            if same_error(pg['error'], dr['error'], opts, stmt):
                return None
            if stmt.bad and pg['error'][:2] == '22' and 'error_precedence' not in opts.allow:
                return None    # an injected value that fails at run time in PostgreSQL
            if pg['error'] in stmt.alt_codes and dr['error'] in stmt.alt_codes:
                return None
            return f'SQLSTATE differs: PostgreSQL {pg["error"]}, DriftDB {dr["error"]}'
        if 'error' in pg:
            if stmt.dml and pg['error'] == '22001' and (dr.get('tag') or '').endswith(' 0') \
                    and 'const_assignment_fold' not in opts.allow:
                return None    # known bug const_assignment_fold
            if pg['error'] in stmt.risks and not stmt.dml and 'null_short_circuit' not in opts.allow:
                return None    # known bug null_short_circuit
            if stmt.bad and pg['error'][:2] == '22' and 'error_precedence' not in opts.allow:
                return None    # an injected wrong value PostgreSQL folded at plan time
            return f'PostgreSQL failed ({pg["error"]}) but DriftDB did not'
        if stmt.bad and dr['error'][:2] == '22' and 'error_precedence' not in opts.allow:
            return None    # an injected wrong value that PostgreSQL never evaluated
        if dr['error'] in stmt.risks and 'pruned_evaluation' not in opts.allow and \
                (not stmt.dml or (pg.get('tag') or '').endswith(' 0')):
            return None     # known bug pruned_evaluation
        return f'DriftDB failed ({dr["error"]}) but PostgreSQL did not'
    if pg.get('tag') != dr.get('tag'):
        # a SELECT's row count difference shows in the rows; the tag is checked anyway
        return f'command tag differs: {pg.get("tag")!r} vs {dr.get("tag")!r}'
    pc, dc = pg.get('columns'), dr.get('columns')
    if (pc is None) != (dc is None):
        return 'one side returned rows, the other did not'
    if pc is None:
        return None
    if len(pc) != len(dc):
        return f'column count differs: {len(pc)} vs {len(dc)}'
    for i, ((pn, pt), (dn, dt)) in enumerate(zip(pc, dc)):
        if pn != dn:
            return f'column {i + 1} name differs: {pn!r} vs {dn!r}'
        if opts.compare_types:
            if base_type(pt, opts) != base_type(dt, opts):
                return f'column {i + 1} ({pn}) type differs: {pt!r} vs {dt!r}'
    if 'bpchar_padding' not in opts.allow:
        # known bug bpchar_padding: compare character values without their padding
        bp = [i for i, (_, t) in enumerate(pc) if base_type(t, FakeOpts) == 'character']
        if bp:
            strip = lambda rows: [[(v.rstrip(' ') if (i in bp and v is not None) else v)
                                   for i, v in enumerate(row)] for row in rows]
            pg = dict(pg, rows=strip(pg['rows']))
            dr = dict(dr, rows=strip(dr['rows']))
    # A float printed two ways that parse to the same double (or real) is one value: the
    # shortest round-trip string can sit on a rounding boundary, where PostgreSQL prints one
    # digit more (-2.4691357802469128e+16 for DriftDB's -2.469135780246913e+16).
    fcols = [i for i, (_, t) in enumerate(pc) if t in ('double precision', 'real')]
    if fcols:
        def canon(v, real):
            try:
                f = float(v)
            except (TypeError, ValueError):
                return v
            if not math.isfinite(f):
                return v
            if f == 0:
                return '0'    # 0 and -0, as zero() treats them
            if real:
                f = struct.unpack('f', struct.pack('f', f))[0]
            return repr(f)

        def fnorm(rows):
            return [[canon(v, pc[i][1] == 'real') if (i in fcols and v is not None) else v
                     for i, v in enumerate(row)] for row in rows]
        pg = dict(pg, rows=fnorm(pg['rows']))
        dr = dict(dr, rows=fnorm(dr['rows']))
    fuzzy = {i for i in stmt.fuzzy if i < len(pc) and pc[i][1] in FLOAT_TYPE_NAMES}
    realcols = {i for i in fuzzy if pc[i][1] == 'real'}
    prow, drow = pg['rows'], dr['rows']
    grouped = any(w in stmt.sql for w in ('DISTINCT', 'UNION', 'INTERSECT', 'EXCEPT', 'GROUP BY'))
    limited = bool(stmt.order_keys) and any(w in stmt.sql for w in (' LIMIT ', ' FETCH '))
    if grouped or limited:
        # Numerics of one value in different scales (0, 0.0000) are one group there, and
        # which of them the group shows depends on the order rows arrive in; a LIMIT that
        # cuts through sort keys tied that way may keep either (only the keys are relaxed).
        ncols = [i for i, c in enumerate(pc) if c[1] == 'numeric' and (grouped or i in stmt.order_keys)]
        if ncols:
            def norm(rows):
                out = []
                for row in rows:
                    row = list(row)
                    for i in ncols:
                        if i < len(row) and row[i] is not None:
                            try:
                                d = decimal.Decimal(row[i])
                                if d.is_finite():
                                    row[i] = str(d.normalize())
                            except decimal.InvalidOperation:
                                pass
                    out.append(row)
                return out
            prow, drow = norm(prow), norm(drow)
    if len(prow) != len(drow):
        return f'row count differs: {len(prow)} vs {len(drow)}'
    if not multiset_equal(prow, drow, fuzzy, realcols):
        return 'rows differ'
    ok = stmt.order_keys
    if ok and len(prow) > 1:
        # 0 and -0 are equal when sorting, so either may come first
        # and numerics of one value in different scales (1.5, 1.50) are ties too
        numeric_keys = {k for k in ok if k < len(pc) and pc[k][1] == 'numeric'}

        def z(v, k):
            if v == '-0':
                return '0'
            if k in numeric_keys and v is not None:
                try:
                    return str(decimal.Decimal(v).normalize()) if decimal.Decimal(v).is_finite() else v
                except decimal.InvalidOperation:
                    return v
            return v
        pk = [[z(r[k], k) for k in ok] for r in prow]
        dk = [[z(r[k], k) for k in ok] for r in drow]
        if not rows_equal(pk, dk, {j for j, k in enumerate(ok) if k in fuzzy},
                          {j for j, k in enumerate(ok) if k in realcols}):
            return 'row order differs (ORDER BY)'
    return None


def fmt_result(res, limit=30):
    if 'error' in res:
        return f'ERROR {res["error"]}: {res.get("message", "")}'
    s = f'tag={res.get("tag")!r}'
    if 'columns' in res:
        s += '\n    columns: ' + ', '.join(f'{n} {t}' for n, t in res['columns'])
        rows = res['rows']
        for r in rows[:limit]:
            s += '\n    ' + ' | '.join('NULL' if v is None else repr(v) if v == '' else str(v)
                                     for v in r)
        if len(rows) > limit:
            s += f'\n    ... {len(rows) - limit} more rows'
    return s


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------

def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    p = argparse.ArgumentParser(description='Differential SQL test: PostgreSQL 15 vs DriftDB.')
    p.add_argument('--seed', type=int, default=None,
                   help='generator seed (default: $SEED, else random; printed at start)')
    p.add_argument('--queries', type=int, default=int(os.environ.get('QUERIES', 2000)),
                   help='random queries to run (plus random DML between them); default 2000')
    p.add_argument('--driftdb', default=os.environ.get('DRIFTDB') or
                   os.path.join(repo, '.build', 'release', 'driftdb'),
                   help='DriftDB binary (default: $DRIFTDB, else .build/release/driftdb)')
    p.add_argument('--keep-going', action='store_true',
                   help='report every mismatch, not only the first')
    p.add_argument('--enable', action='append', default=[], metavar='FEATURE',
                   help='turn on a pending feature (repeatable; "all"): ' +
                   ', '.join(sorted(PENDING_FEATURES)))
    p.add_argument('--allow', action='append', default=[], metavar='BUG',
                   help='let the generator produce a known DriftDB bug (repeatable; "all"): ' +
                   ', '.join(sorted(KNOWN_BUGS)))
    p.add_argument('--no-types', dest='compare_types', action='store_false',
                   help='do not compare column types')
    p.add_argument('--typmods', action='store_true',
                   help='compare column types with their modifiers (varchar(n) ...)')
    p.add_argument('--mismatch-file', metavar='FILE',
                   help='write every mismatch as JSON to FILE (for triage)')
    p.add_argument('--dump', metavar='FILE', help='write the generated statements to FILE')
    p.add_argument('--pg-dsn', default=os.environ.get('DIFFTEST_PG_DSN'),
                   help='use this running PostgreSQL 15 instead of starting one (development)')
    p.add_argument('--timeout', type=float, default=300,
                   help='seconds DriftDB may take for the whole run (default 300)')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='print the slowest statements and the error codes seen')
    p.add_argument('--list', action='store_true', help='list pending features and known bugs')
    p.add_argument('--max-report', type=int, default=50,
                   help='with --keep-going, print at most this many mismatches in full')
    a = p.parse_args(argv)
    if a.seed is None:
        env = os.environ.get('SEED')
        a.seed = int(env) if env else random.SystemRandom().randrange(1, 2 ** 31)
    for name in a.enable:
        if name != 'all' and name not in PENDING_FEATURES:
            p.error(f'unknown feature {name!r}; known: {", ".join(sorted(PENDING_FEATURES))}')
    for name in a.allow:
        if name != 'all' and name not in KNOWN_BUGS:
            p.error(f'unknown bug {name!r}; known: {", ".join(sorted(KNOWN_BUGS))}')
    a.enable = (set(PENDING_FEATURES) if 'all' in a.enable else set(a.enable)) | BUILT_FEATURES
    a.allow = (set(KNOWN_BUGS) if 'all' in a.allow else set(a.allow)) | FIXED_BUGS
    return a


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    log = lambda m: print(m, flush=True)   # noqa: E731
    if opts.list:
        print('pending features (off by default; --enable NAME):')
        for k, v in sorted(PENDING_FEATURES.items()):
            print(f'  {k:16} {v}')
        print('known DriftDB bugs (avoided by default; --allow NAME):')
        for k, v in sorted(KNOWN_BUGS.items()):
            print(f'  {k:28} {v.splitlines()[0]}')
        return 0
    t0 = time.time()
    log(f'difftest: seed={opts.seed} queries={opts.queries} (replay: SEED={opts.seed})'
        + (f' enable={",".join(sorted(opts.enable - BUILT_FEATURES))}' if opts.enable - BUILT_FEATURES else '')
        + (f' allow={",".join(sorted(opts.allow - FIXED_BUGS))}' if opts.allow - FIXED_BUGS else ''))
    if not os.path.exists(opts.driftdb):
        log(f'difftest: DriftDB binary not found: {opts.driftdb}')
        return 2

    server = PgServer(log)
    work = tempfile.mkdtemp(prefix='difftest-', dir='/dev/shm' if os.path.isdir('/dev/shm') else None)
    drift = None
    cleaned = []

    def cleanup():
        if cleaned:
            return
        cleaned.append(1)
        if drift is not None:
            drift.kill()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    atexit.register(cleanup)

    def on_signal(signum, frame):
        cleanup()
        sys.exit(128 + signum)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    try:
        # start PostgreSQL while the statements are generated
        pg_box = {}

        def start_pg():
            try:
                pg_box['dsn'] = opts.pg_dsn or server.start()
            except Exception as e:  # noqa: BLE001
                pg_box['err'] = e
        th = threading.Thread(target=start_pg)
        th.start()
        stmts = generate(opts.seed, opts.queries, opts.enable, opts.allow)
        if opts.dump:
            with open(opts.dump, 'w', encoding='utf-8') as f:
                for s in stmts:
                    f.write(s.sql + ';\n')
        drift = DriftRun(opts.driftdb, stmts, work, opts.timeout)
        drift.start()
        th.join()
        if 'err' in pg_box:
            raise pg_box['err']
        dsn = pg_box['dsn']
        if opts.pg_dsn:
            # a shared development server: start from an empty schema
            import psycopg2
            cn = psycopg2.connect(dsn)
            cn.autocommit = True
            cn.cursor().execute('DROP SCHEMA IF EXISTS difftest CASCADE; CREATE SCHEMA difftest')
            cn.close()
            dsn += ' options=-csearch_path=difftest'
        conn, typ = pg_connect(dsn)
        t1 = time.time()
        pg_res = run_pg(conn, typ, stmts)
        conn.close()
        t2 = time.time()
        drift.wait()
        t3 = time.time()
        dres = [normalize_drift(x) for x in drift.results]
        mismatches = 0
        reported = 0
        compared = 0
        n = len(stmts)
        mm_out = []
        diverged = None
        after_divergence = 0
        for idx, kind, detail in drift.events:
            log(f'difftest: DriftDB {kind} at statement #{idx}: {detail}')
        for i, s in enumerate(stmts):
            if i >= len(dres):
                mismatches += 1
                log(f'\nMISMATCH seed={opts.seed} statement #{i} ({s.kind}): DriftDB gave no '
                    f'result\n  SQL: {s.sql}')
                break
            p, d = pg_res[i], dres[i]
            if p.get('error') == '57014':      # PostgreSQL statement timeout: not comparable
                continue
            compared += 1
            why = compare(s, p, d, opts)
            if why is None:
                continue
            if diverged is not None:
                after_divergence += 1
                continue
            if s.dml:
                # the tables now differ: later differences may only be consequences
                diverged = i
            mismatches += 1
            if opts.mismatch_file:
                mm_out.append({'seed': opts.seed, 'index': i, 'why': why, 'sql': s.sql,
                               'pg': p, 'drift': d})
            if reported < opts.max_report:
                reported += 1
                log(f'\nMISMATCH seed={opts.seed} statement #{i} ({s.kind}): {why}\n'
                    f'  SQL: {s.sql}\n'
                    f'  PostgreSQL: {fmt_result(p)}\n'
                    f'  DriftDB:    {fmt_result(d)}')
            if not opts.keep_going:
                break
        if opts.verbose:
            slow = sorted(range(n), key=lambda i: -pg_res[i]['secs'])[:8]
            for i in slow:
                log(f'  slow on PostgreSQL: #{i} {pg_res[i]["secs"]:.3f}s {stmts[i].sql[:300]}')
            codes = {}
            for x in pg_res:
                if 'error' in x:
                    codes[x['error']] = codes.get(x['error'], 0) + 1
            log('  PostgreSQL error codes: ' + ', '.join(f'{k}:{v}' for k, v in sorted(codes.items(), key=lambda kv: -kv[1])))
        log(f'difftest: PostgreSQL {t2 - t1:.1f}s, DriftDB {t3 - t1:.1f}s (overlapping), '
            f'total {time.time() - t0:.1f}s')
        nq = sum(1 for s in stmts if s.kind == 'query')
        nd = sum(1 for s in stmts if s.kind == 'dml')
        log(f'difftest: {nq} queries, {nd} random DML, {len(stmts) - nq - nd} setup statements; '
            f'PostgreSQL errors: {sum(1 for x in pg_res if "error" in x)}')
        if opts.mismatch_file:
            with open(opts.mismatch_file, 'w', encoding='utf-8') as f:
                json.dump(mm_out, f, indent=1)
        if after_divergence:
            log(f'difftest: {after_divergence} more differences after the data diverged at '
                f'statement #{diverged} (not counted)')
        log(f'{compared} statements compared, {mismatches} mismatches'
            + ('' if mismatches == 0 else f' (replay: SEED={opts.seed})'))
        return 1 if mismatches else 0
    finally:
        cleanup()


if __name__ == '__main__':
    sys.exit(main())
