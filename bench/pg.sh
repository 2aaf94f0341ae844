# Sourced by the bench scripts (after bench/lib.sh): a throwaway PostgreSQL cluster on loopback (Debian's server,
# apt-get install postgresql) with its default durability (fsync and synchronous_commit on), as
# the postgres user when run as root.
#
#   pg_start DIR     makes and starts a cluster in DIR (DIR must be reachable by postgres);
#                    sets PG_PORT
#   pg_database      creates a fresh database; prints its URL
#   pg_sql DB SQL    runs SQL in database DB, prints the rows
#   pg_stop DIR      stops it

pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
pg_as=()
[[ $(id -u) == 0 ]] && pg_as=(runuser -u postgres --)

pg_start() {
  local dir="$1"
  [[ -x $pg_bin/postgres ]] || { echo "PostgreSQL is missing: apt-get install postgresql" >&2; return 1; }
  PG_PORT="$(free_port)"
  mkdir -p "$dir"
  [[ ${#pg_as[@]} -gt 0 ]] && chown postgres: "$dir"
  "${pg_as[@]}" "$pg_bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C >/dev/null
  "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir -c max_connections=200" start >/dev/null
}

pg_sql() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -d "$1" -c "$2"; }

pg_database() {
  local name="bench$RANDOM$RANDOM"
  pg_sql postgres "CREATE DATABASE $name" >/dev/null
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$name"
}

pg_stop() { "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$1" -m fast stop >/dev/null 2>&1 || true; }

# What a stored snapshot takes in database $1: every day partition's heap, TOAST and indexes.
pg_bytes_per_snapshot() {
  pg_sql "$1" "SELECT 'postgresql: ' || sum(n) || ' snapshots, ' ||
      round(sum(bytes)::numeric / greatest(sum(n), 1)) || ' B each on disk (tables, TOAST and indexes), ' ||
      round(sum(record)::numeric / greatest(sum(n), 1)) || ' B of record bytes'
    FROM (SELECT (SELECT count(*) FROM snapshots) AS n, 0 AS bytes,
                 (SELECT sum(octet_length(record)) FROM snapshots) AS record
          UNION ALL
          SELECT 0, pg_total_relation_size(inhrelid), 0 FROM pg_inherits
           WHERE inhparent = 'snapshots'::regclass) t"
}
