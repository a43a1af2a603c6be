#!/usr/bin/env bash
# PostgreSQL 15's durable single-row commit rate on this machine, for comparison with
# DriftBench's "durable commits/s" (same disk, same shape: one INSERT per transaction,
# synchronous_commit=on, fsync=on). Runs PostgreSQL as the `postgres` user on a free
# port in a temporary cluster under ./.bench-data, and stops it afterwards.
#
#     Benchmarks/postgres-commits.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
root=$(pwd)/.bench-data/postgres
rm -rf "$root" && mkdir -p "$root"
chown postgres "$root" 2>/dev/null || true
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "initdb -D '$root/data' -U postgres --auth=trust --no-sync >/dev/null"
as_pg "pg_ctl -D '$root/data' -l '$root/log' -w -o '-p $port -k $root -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=50' start >/dev/null"
trap 'as_pg "pg_ctl -D \"$root/data\" -m fast stop >/dev/null"' EXIT
psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE TABLE t (id bigserial PRIMARY KEY, v text, n bigint)"
echo "INSERT INTO t (v, n) VALUES ('row', 1);" > "$root/insert.sql"
for c in 1 8; do
  tps=$(pgbench -h 127.0.0.1 -p "$port" -U postgres -n -c "$c" -j "$c" -T "$secs" -f "$root/insert.sql" postgres 2>/dev/null \
        | awk '/^tps/ {print int($3)}')
  printf "%-42s %s commits/s\n" "PostgreSQL 15 durable commits/s, $c client(s)" "$tps"
done
