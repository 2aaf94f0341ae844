#!/usr/bin/env bash
# Durable snapshots per second through the server, in one run on this machine, ROUNDS rounds of:
#   redb      one server on its own redb store
#   pg        one server of a cluster on PostgreSQL (and Redis)
#   pg-two    two servers of one cluster on one PostgreSQL, half the agents on each (the two
#             bench processes' figures summed)
# each as fast as acks allow (50 agents, acks after commit, 300 processes per snapshot; for
# "pg", also the CPU time of PostgreSQL's processes per snapshot stored). Then
# the bytes each stored snapshot takes in PostgreSQL (tables and indexes of every day partition,
# divided by their rows).
#
# PostgreSQL is Debian's (apt-get install postgresql): a fresh cluster with its default
# durability (fsync and synchronous_commit on), started by this script on loopback, as the
# postgres user when run as root. Redis is Debian's redis-server, without persistence.
#
#   bench/postgres.sh [ROUNDS] [SECONDS]
#
# IDLEWATCH_SERVER_BIN=PATH measures another build of the server (an earlier version, to set
# beside this one).
#
# Build first: cargo build --release -p idlewatch-bench -p idlewatch-server
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
seconds="${2:-15}"
bench=target/release/idlewatch-bench
server="${IDLEWATCH_SERVER_BIN:-target/release/idlewatch-server}"
[[ -x $bench && -x $server ]] || { echo "build first: cargo build --release -p idlewatch-bench -p idlewatch-server" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh
# shellcheck source=bench/pg.sh
source bench/pg.sh

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  pg_stop "$work/pg"
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis_start "$work/redis.log"
redis_port="$REDIS_PORT"
pg_start "$work/pg"

# A fresh database per measurement, so that each starts from an empty store.
database() {
  local url name
  url="$(pg_database)"
  name="${url##*/}"
  printf '[cluster]\nredis_url = "redis://127.0.0.1:%s/0"\npostgres_url = "%s"\n' \
    "$redis_port" "$url" >"$work/$name.toml"
  echo "$name"
}

# Starts an open server with config $2 (empty: none) on a free port; prints "PID URL".
start_server() {
  local name="$1" config=() port
  [[ -n $2 ]] && config=(--config "$2")
  port="$(free_port)"
  IDLEWATCH_SNAPSHOT_RATE=0 IDLEWATCH_LOG=warn "$server" --open --listen "127.0.0.1:$port" \
    --data-dir "$work/$name-$RANDOM" "${config[@]}" >"$work/$name.log" 2>&1 &
  local pid=$!
  wait_port "$port"
  echo "$pid http://127.0.0.1:$port"
}

# utime + stime of every PostgreSQL process, in clock ticks.
pg_cpu_ticks() {
  local total=0 pid
  for pid in $(pgrep -x postgres); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# Snapshots per second one bench process measured against $1 with $2 agents.
measure() {
  "$bench" ingest --server "$1" --agents "$2" --dashboards 1 --ack --rate 0 \
    --duration "$seconds" --prerender 16 2>&1 | awk '/^  sent/ {print $2}'
}

last_db=""
for ((i = 1; i <= rounds; i++)); do
  read -r pid url < <(start_server redb "")
  pids+=("$pid")
  printf 'round %d  redb    %s snapshots/s\n' "$i" "$(measure "$url" 50)"
  kill "$pid"; wait "$pid" 2>/dev/null || true

  db="$(database)"
  read -r pid url < <(start_server pg "$work/$db.toml")
  pids+=("$pid")
  cpu0="$(pg_cpu_ticks)"; rows0="$(pg_sql "$db" "SELECT count(*) FROM snapshots")"
  got="$(measure "$url" 50)"
  cpu1="$(pg_cpu_ticks)"; rows1="$(pg_sql "$db" "SELECT count(*) FROM snapshots")"
  printf 'round %d  pg      %s snapshots/s, PostgreSQL CPU %s µs per snapshot stored\n' "$i" "$got" \
    "$(python3 -c "print(round(($cpu1 - $cpu0) * 1e6 / $(getconf CLK_TCK) / max(1, $rows1 - $rows0)))")"
  kill "$pid"; wait "$pid" 2>/dev/null || true

  db="$(database)"
  read -r pid_a url_a < <(start_server pg-a "$work/$db.toml")
  read -r pid_b url_b < <(start_server pg-b "$work/$db.toml")
  pids+=("$pid_a" "$pid_b")
  measure "$url_a" 25 >"$work/a.out" &
  measure "$url_b" 25 >"$work/b.out"
  wait %% 2>/dev/null || true
  sleep 1
  printf 'round %d  pg-two  %s snapshots/s (%s + %s)\n' "$i" \
    "$(python3 -c "print(round($(cat "$work/a.out") + $(cat "$work/b.out")))")" \
    "$(cat "$work/a.out")" "$(cat "$work/b.out")"
  kill "$pid_a" "$pid_b"; wait "$pid_a" "$pid_b" 2>/dev/null || true
  last_db="$db"
done

pg_bytes_per_snapshot "$last_db"
