#!/usr/bin/env bash
# Cluster mode beside one server on its own, in one run on this machine, ROUNDS rounds of:
#   alone     one server, no cluster (its agents and dashboards on it)
#   redis     one server in a cluster: every snapshot also published to Redis and kept there
#   two       two servers in one cluster: agents on A, dashboards on B (telemetry crosses Redis)
# each measured as fast as acks allow (--rate 0) and at RATE snapshots/s (delay agent →
# dashboard). Redis is Debian's redis-server on loopback, without persistence.
#
#   bench/cluster.sh [ROUNDS] [RATE]
#
# Or the storm: AGENTS agents (default 10,000) spread over two servers of one cluster, one
# snapshot each every 5 s for a minute after they connected; 35 s into the run server A is killed (SIGKILL) and its agents move
# on to B (registered again there, the unacked snapshot sent again), measured by the bench:
#
#   bench/cluster.sh storm [AGENTS] [postgres]
#
# With "postgres", both servers store into one PostgreSQL (bench/pg.sh), and the end counts the
# rows stored against the distinct snapshots (host, capture time, agent seq): each once.
#
# Build first: cargo build --release -p idlewatch-bench -p idlewatch-server
set -euo pipefail
cd "$(dirname "$0")/.."
mode=rounds
if [[ ${1:-} == storm ]]; then
  mode=storm
  shift
fi
rounds="${1:-2}"
rate="${2:-1000}"
bench=target/release/idlewatch-bench
server=target/release/idlewatch-server
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
  wait 2>/dev/null || true
  [[ -d $work/pg ]] && pg_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

redis_start "$work/redis.log"
redis_port="$REDIS_PORT"
printf '[cluster]\nredis_url = "redis://127.0.0.1:%s/0"\n' "$redis_port" >"$work/cluster.toml"

# Tokens of the storm's servers: with `--open` every socket is a dashboard until it registers,
# and thousands of agents connecting at once would each be sent the whole fleet's telemetry.
agent_token="storm-agent-$RANDOM$RANDOM"
viewer_token="storm-viewer-$RANDOM$RANDOM"

# Starts a server in the cluster on a free port (`--open`, or with tokens when $2 is "tokens");
# prints "PID URL".
start_member() {
  local name="$1" port access=(--open)
  port="$(free_port)"
  [[ ${2:-} == tokens ]] && access=()
  IDLEWATCH_SNAPSHOT_RATE=0 IDLEWATCH_CONNECT_RATE=0 IDLEWATCH_IDLE_CONNECTIONS_PER_IP=0 \
    IDLEWATCH_MAX_CONNECTIONS=0 IDLEWATCH_CONNECTIONS_PER_TOKEN=0 IDLEWATCH_PENDING_HANDSHAKES=0 \
    IDLEWATCH_SHARED_AGENT_TOKEN=true IDLEWATCH_AGENT_TOKEN="$agent_token" \
    IDLEWATCH_VIEWER_TOKEN="$viewer_token" \
    IDLEWATCH_LOG=warn "$server" "${access[@]}" --listen "127.0.0.1:$port" --data-dir "$work/$name-$RANDOM" \
    --config "$work/cluster.toml" >"$work/$name.log" 2>&1 &
  local pid=$!
  wait_port "$port"
  echo "$pid http://127.0.0.1:$port"
}

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

summary() {
  awk '/^  sent/ {printf "%s snapshots/s  ", $2}
       /^  delay/ {sub(/^  delay +/, ""); printf "delay %s  ", $0}
       /^  server/ {printf "server %s", $0}' | sed 's/server   *server *//'
  echo
}

if [[ $mode == storm ]]; then
  agents="${1:-10000}"
  if [[ ${2:-} == postgres ]]; then
    pg_start "$work/pg"
    pg_url="$(pg_database)"
    printf 'postgres_url = "%s"\n' "$pg_url" >>"$work/cluster.toml"
  fi
  read -r pid_a url_a < <(start_member a tokens)
  read -r pid_b url_b < <(start_member b tokens)
  pids+=("$pid_a" "$pid_b")
  ( sleep 35; echo "$(date +%T) killing server A (SIGKILL)"; kill -9 "$pid_a" ) &
  pids+=($!)
  "$bench" connections --server "$url_a" --fail-over-to "$url_b" --server-pid "$pid_b" \
    --agent-token "$agent_token" \
    --agents "$agents" --connect-concurrency 2000 --interval 5 --duration 60
  echo "server B: $(curl -s -H "Authorization: Bearer $viewer_token" "$url_b/api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["store"]["snapshots"], "snapshots stored")')"
  if [[ -n ${pg_url:-} ]]; then
    db="${pg_url##*/}"
    echo "postgresql: $(pg_sql "$db" "SELECT count(*) || ' rows, ' || count(DISTINCT (host_id, captured_ms, agent_seq)) || ' distinct snapshots' FROM snapshots")"
    pg_bytes_per_snapshot "$db"
  fi
  exit 0
fi

for ((i = 1; i <= rounds; i++)); do
  for load in "--rate 0 --duration 15 --prerender 16" "--rate $rate --duration 10"; do
    # shellcheck disable=SC2086
    set -- --agents 50 --dashboards 2 --ack $load
    printf 'round %d  %-28s alone  ' "$i" "$load"
    "$bench" ingest --spawn-server "$server" "$@" 2>&1 | summary
    printf 'round %d  %-28s redis  ' "$i" "$load"
    "$bench" ingest --spawn-server "$server" --spawn-config "$work/cluster.toml" "$@" 2>&1 | summary
    read -r pid_a url_a < <(start_member a)
    read -r pid_b url_b < <(start_member b)
    pids+=("$pid_a" "$pid_b")
    printf 'round %d  %-28s two    ' "$i" "$load"
    cpu_b0="$(cpu_ticks "$pid_b")"
    "$bench" ingest --server "$url_a" --server-pid "$pid_a" --dashboards-on "$url_b" "$@" 2>&1 | summary
    cpu_b1="$(cpu_ticks "$pid_b")"
    got_b="$(curl -s "$url_b/metrics" | awk '/^idlewatch_cluster_events_received_total / {print $2}')"
    printf 'round %d  %-28s two    server B: %s events received, %s µs CPU per event received\n' \
      "$i" "$load" "$got_b" "$(python3 -c "print(round(($cpu_b1 - $cpu_b0) * 1e6 / $(getconf CLK_TCK) / max(1, $got_b)))")"
    kill "$pid_a" "$pid_b"
    wait "$pid_a" "$pid_b" 2>/dev/null || true
  done
done
# What Redis holds per host: each host's latest snapshot (as published, compressed).
keys="$(redis-cli -p "$redis_port" --scan --pattern 'idlewatch:host:*')"
# shellcheck disable=SC2086 # one argument per key
python3 - "$redis_port" $keys <<'PY'
import subprocess, sys
port, keys = sys.argv[1], sys.argv[2:]
sizes = [int(subprocess.check_output(["redis-cli", "-p", port, "memory", "usage", k]).strip()) for k in keys]
if sizes:
    print(f"redis-server: {len(sizes)} host keys, {sum(sizes) / len(sizes):.0f} B each on average (MEMORY USAGE)")
PY
