# Private PostgreSQL for Roxy: sourced by run.sh. Data lives under .roxy/pg (git-ignored).
# PostgreSQL refuses to run as root, so as root the server runs as the 'postgres' user.

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

# roxy_pg_start DIR PORT: initialise (once) and start (unless running); prints nothing on success.
roxy_pg_start() {
  local dir="$1" port="$2" bin
  bin="$(roxy_pg_bin)" || return 1
  mkdir -p "$dir"
  if [ "$(id -u)" = "0" ]; then chown postgres:postgres "$dir"; chmod 700 "$dir"; fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    roxy_as_pg "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --no-sync >/dev/null || return 1
  fi
  if ! roxy_as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    roxy_as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null || {
        echo "roxy: PostgreSQL did not start; see $dir/server.log" >&2; return 1; }
  fi
  local i
  for i in $(seq 1 60); do
    if roxy_as_pg "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; then break; fi
    sleep 0.5
  done
  # The database may already exist; that is fine.
  roxy_as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='roxy'" | grep -q 1 \
    || roxy_as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres roxy
}

roxy_pg_stop() {
  local dir="$1" bin
  bin="$(roxy_pg_bin)" || return 1
  roxy_as_pg "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
}
