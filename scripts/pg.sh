# Private PostgreSQL for Roxy: sourced by run.sh. Data lives under .roxy/pg (git-ignored).
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
  roxy_as_pg "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
}
