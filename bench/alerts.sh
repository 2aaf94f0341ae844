#!/usr/bin/env bash
# Ingest with 20 alert rules beside ingest without, side by side: ROUNDS rounds, each running
# the same load against a fresh server without rules, then one with bench/configs/alerts-20.toml,
# so both see the same machine state. Prints every run, then the mean and median of each.
#
#   bench/alerts.sh [ROUNDS] [idlewatch-bench ingest options...]
#
# Default load: as fast as acks allow (--rate 0), 50 agents, 2 dashboards, 15 s measured.
# Build first: cargo build --release -p idlewatch-bench -p idlewatch-server
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
shift || true
load=("$@")
if [[ ${#load[@]} -eq 0 ]]; then
  load=(--agents 50 --dashboards 2 --rate 0 --duration 15 --ack --prerender 16)
fi
bench=target/release/idlewatch-bench
server=target/release/idlewatch-server
[[ -x $bench && -x $server ]] || { echo "build first: cargo build --release -p idlewatch-bench -p idlewatch-server" >&2; exit 1; }

declare -A rates cpus
for ((i = 1; i <= rounds; i++)); do
  for setup in none alerts-20; do
    extra=()
    [[ $setup == alerts-20 ]] && extra=(--spawn-config bench/configs/alerts-20.toml)
    out="$("$bench" ingest --spawn-server "$server" "${extra[@]}" "${load[@]}" 2>&1)"
    rate="$(awk '/^  sent/ {print $2}' <<<"$out")"
    cpu="$(sed -n 's/.*CPU s ([0-9]*% of a core, \([0-9]*\) µs\/snapshot).*/\1/p' <<<"$out")"
    warnings="$(sed -n 's/.* \([0-9]*\) warnings\/errors after start-up.*/\1/p' <<<"$out")"
    printf 'round %d  %-9s  %8s snapshots/s  %5s µs server CPU/snapshot  %s warnings\n' \
      "$i" "$setup" "$rate" "$cpu" "$warnings"
    rates[$setup]+="$rate "
    cpus[$setup]+="$cpu "
  done
done
for setup in none alerts-20; do
  python3 - "$setup" "${rates[$setup]}" "${cpus[$setup]}" <<'PY'
import statistics, sys
name, rates, cpus = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
print(f"{name:9}  mean {statistics.mean(rates):7.0f}/s  median {statistics.median(rates):7.0f}/s  "
      f"server CPU mean {statistics.mean(cpus):5.0f} µs/snapshot")
PY
done
