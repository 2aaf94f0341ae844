#!/usr/bin/env bash
# Aging on both stores side by side, in one run on this machine: the same generated snapshots
# (HOSTS PCs × HOURS hours at 5 s, 300 processes each) appended to a redb store and to a
# PostgreSQL store, then folded into minute and day rows by each store's aging; prints the
# fold time and rate, the bytes of minute and day rows, and what PostgreSQL's tables take on
# disk before and after (see bench/src/age_bench.rs).
#
# PostgreSQL is Debian's (apt-get install postgresql): a fresh cluster with its default
# durability, started by this script on loopback, as the postgres user when run as root.
#
#   bench/pg-age.sh [HOSTS] [HOURS]
#
# Build first: cargo build --release -p idlewatch-bench
set -euo pipefail
cd "$(dirname "$0")/.."
hosts="${1:-10}"
hours="${2:-26}"
bench=target/release/idlewatch-age-bench
[[ -x $bench ]] || { echo "build first: cargo build --release -p idlewatch-bench" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh
# shellcheck source=bench/pg.sh
source bench/pg.sh

work="$(mktemp -d)"
chmod 755 "$work"
cleanup() {
  pg_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

pg_start "$work/pg"
url="$(pg_database)"
mkdir "$work/redb"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$bench" --postgres "$url" --dir "$work/redb" --hosts "$hosts" --hours "$hours"
