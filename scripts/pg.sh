# Private PostgreSQL for Roxy: sourced by run.sh and cluster.sh, and runnable on its own:
#   bash scripts/pg.sh status|start|stop [DATA_DIR]    (DATA_DIR defaults to .roxy/pg, ROXY_PG_PORT to 55432)
# Data lives under .roxy/pg (git-ignored).
# PostgreSQL refuses to run as root, so as root the server runs as the 'postgres' user.
#
# No TCP listener: the server takes connections only on a Unix socket in .roxy/pg-socket, a directory only its
# owner may enter (mode 700), so no other local user and nothing on the network can reach it. Socket connections
# need no password for that reason; TCP ones, should anyone turn TCP on, would need one (scram-sha-256).

roxy_pg_bin() {
  local bin
  for bin in /usr/lib/postgresql/*/bin; do :; done
  if [ -x "${bin:-}/initdb" ]; then echo "$bin"; return 0; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  echo "roxy: PostgreSQL binaries (initdb, pg_ctl) not found; install them: apt-get install -y postgresql" >&2
  return 1
}

roxy_as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# roxy_pg_socket_dir DIR: where the server's socket lives (beside the data directory).
roxy_pg_socket_dir() { echo "$(dirname "$1")/pg-socket"; }

# roxy_pg_start DIR PORT: initialise (once) and start (unless running); prints nothing on success.
# PORT only names the socket file (.s.PGSQL.PORT), so several private servers can share the socket directory.
roxy_pg_start() {
  local dir="$1" port="$2" bin sock
  bin="$(roxy_pg_bin)" || return 1
  sock="$(roxy_pg_socket_dir "$dir")"
  mkdir -p "$dir" "$sock"
  chmod 700 "$dir" "$sock"
  if [ "$(id -u)" = "0" ]; then chown postgres:postgres "$dir" "$sock"; fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    roxy_as_pg "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >/dev/null || return 1
  fi
  if roxy_as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1 && [ ! -S "$sock/.s.PGSQL.$port" ]; then
    # Started by an older run.sh (TCP, trust) or on another port: restart it the current way.
    roxy_as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
  fi
  if ! roxy_as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    roxy_as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $sock -c listen_addresses= -c unix_socket_permissions=0700" start >/dev/null || {
        echo "roxy: PostgreSQL did not start; see $dir/server.log" >&2; return 1; }
  fi
  local i
  for i in $(seq 1 60); do
    if roxy_as_pg "$bin/pg_isready" -h "$sock" -p "$port" -q; then break; fi
    sleep 0.5
  done
  # The database may already exist; that is fine.
  roxy_as_pg "$bin/psql" -h "$sock" -p "$port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='roxy'" | grep -q 1 \
    || roxy_as_pg "$bin/createdb" -h "$sock" -p "$port" -U postgres roxy
}

roxy_pg_stop() {
  local dir="$1" bin
  bin="$(roxy_pg_bin)" || return 1
  roxy_as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

roxy_pg_running() {
  local dir="$1" bin
  bin="$(roxy_pg_bin)" || return 1
  [ -f "$dir/PG_VERSION" ] && roxy_as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1
}

# roxy_pg_clients DIR PORT: how many client connections the server has besides the one asking (0 when it is down).
roxy_pg_clients() {
  local dir="$1" port="$2" bin
  bin="$(roxy_pg_bin)" || return 1
  roxy_as_pg "$bin/psql" -h "$(roxy_pg_socket_dir "$dir")" -p "$port" -U postgres -d postgres -tAc \
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" 2>/dev/null || echo 0
}

# roxy_pg_stop_if_idle DIR PORT: stops the server unless another process (a second run.sh, a psql) still uses it.
roxy_pg_stop_if_idle() {
  local dir="$1" port="$2" clients
  roxy_pg_running "$dir" || return 0
  clients="$(roxy_pg_clients "$dir" "$port")"
  if [ "${clients:-0}" = "0" ]; then
    roxy_pg_stop "$dir"
    echo "roxy: stopped the private PostgreSQL (data kept in ${dir#"$PWD"/})"
  else
    echo "roxy: the private PostgreSQL still has $clients other connection(s); left running (bash scripts/pg.sh stop stops it)"
  fi
}

# Run directly (not sourced): a small command line over the functions above.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  pg_dir="$(realpath -m "${2:-.roxy/pg}")"
  pg_port="${ROXY_PG_PORT:-55432}"
  case "${1:-status}" in
    start) roxy_pg_start "$pg_dir" "$pg_port" && echo "roxy: PostgreSQL running on the Unix socket in $(roxy_pg_socket_dir "$pg_dir")" ;;
    stop)
      if roxy_pg_running "$pg_dir"; then roxy_pg_stop "$pg_dir"; echo "roxy: PostgreSQL stopped ($pg_dir)"; else echo "roxy: PostgreSQL not running ($pg_dir)"; fi ;;
    status)
      if roxy_pg_running "$pg_dir"; then echo "roxy: PostgreSQL running ($pg_dir)"; else echo "roxy: PostgreSQL not running ($pg_dir)"; exit 3; fi ;;
    *) echo "usage: bash scripts/pg.sh start|stop|status [DATA_DIR]" >&2; exit 2 ;;
  esac
fi
