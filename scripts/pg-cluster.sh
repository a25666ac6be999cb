#!/usr/bin/env bash
# Local PostgreSQL servers for sg's tests and examples, listening on 127.0.0.1 only.
#   scripts/pg-cluster.sh start DIR N      # N servers; DIR/conninfo: one libpq string a line
#   scripts/pg-cluster.sh stop DIR         # stop every server and remove its data and DIR
#   scripts/pg-cluster.sh kill DIR I       # stop server I at once (pg_ctl stop -m immediate)
#   scripts/pg-cluster.sh restart DIR I    # start server I again, on its port
# PostgreSQL refuses to run as root: as root, the servers run as the system user
# sg-postgres (created when missing, no login, no home); otherwise as the caller. Data
# lives in a fresh directory under /tmp (DIR/datadir names it), with fsync off: these
# servers are for tests. Authentication is `trust` for local connections; nothing listens
# beyond loopback.
set -euo pipefail

usage() { sed -n '2,6p' "$0" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1 dir=$2

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n "$bin" && -x "$bin/initdb" ]] || { echo "pg-cluster: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }

as_user=()
if [[ $(id -u) -eq 0 ]]; then
  id sg-postgres >/dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sg-postgres
  as_user=(runuser -u sg-postgres --)
fi
run() { "${as_user[@]}" "$@"; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_node() {  # start_node I PORT
  local data; data=$(cat "$dir/datadir")
  run "$bin/pg_ctl" -D "$data/node$1" -l "$data/node$1.log" -w -t 60 -o \
    "-p $2 -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60 -c shared_buffers=16MB" \
    start >/dev/null
}

case $cmd in
  start)
    [[ $# -eq 3 && $3 -ge 1 ]] || usage
    n=$3
    [[ -f "$dir/datadir" ]] && "$0" stop "$dir"
    mkdir -p "$dir"
    data=$(mktemp -d /tmp/sg-pg.XXXXXX)
    chmod 755 "$data"
    [[ ${#as_user[@]} -gt 0 ]] && chown sg-postgres "$data"
    echo "$data" >"$dir/datadir"
    : >"$dir/ports"
    : >"$dir/conninfo"
    port=55432
    for ((i = 0; i < n; i++)); do
      while ! port_free "$port"; do port=$((port + 1)); done
      run "$bin/initdb" -D "$data/node$i" -U postgres -A trust --no-sync -E UTF8 --locale=C >/dev/null
      start_node "$i" "$port"
      echo "$port" >>"$dir/ports"
      echo "host=127.0.0.1 port=$port user=postgres dbname=postgres" >>"$dir/conninfo"
      port=$((port + 1))
    done
    echo "pg-cluster: $n servers up (ports $(paste -sd' ' "$dir/ports")); conninfo in $dir/conninfo"
    ;;
  stop)
    if [[ -f "$dir/datadir" ]]; then
      data=$(cat "$dir/datadir")
      for node in "$data"/node*/; do
        [[ -f "$node/postmaster.pid" ]] && run "$bin/pg_ctl" -D "$node" -m fast -w stop >/dev/null || true
      done
      rm -rf "$data"
    fi
    rm -rf "$dir"
    echo "pg-cluster: stopped"
    ;;
  kill)
    [[ $# -eq 3 ]] || usage
    data=$(cat "$dir/datadir")
    run "$bin/pg_ctl" -D "$data/node$3" -m immediate -w stop >/dev/null
    ;;
  restart)
    [[ $# -eq 3 ]] || usage
    start_node "$3" "$(sed -n "$(($3 + 1))p" "$dir/ports")"
    ;;
  *) usage ;;
esac
