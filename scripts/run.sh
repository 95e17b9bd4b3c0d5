#!/usr/bin/env bash
# Runs Roxy as one process (API + co-hosted silo). Without ROXY_POSTGRES it starts a private PostgreSQL
# under .roxy/pg, reachable only through a Unix socket in .roxy/pg-socket (ROXY_PG_PORT, default 55432, names
# the socket), and stops it again when Roxy exits, unless another process still uses it or ROXY_PG_KEEP=1.
# Safe to run again: PostgreSQL and the schema are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh

private_pg=""
roxy_pid=""

# However the script ends (Roxy exiting, a failed build under set -e, Ctrl+C, SIGTERM or a hangup at any point), the
# private PostgreSQL it started is stopped, unless another process still uses it or ROXY_PG_KEEP=1.
cleanup() {
  local rc=$?
  trap '' INT TERM HUP
  trap - EXIT
  if [ -n "$roxy_pid" ] && kill -0 "$roxy_pid" 2>/dev/null; then
    # Only when the script itself failed while Roxy runs: Roxy must not outlive the database it uses.
    kill -TERM "$roxy_pid" 2>/dev/null || true
    wait "$roxy_pid" 2>/dev/null || true
  fi
  if [ -n "$private_pg" ] && [ "${ROXY_PG_KEEP:-0}" != "1" ]; then
    roxy_pg_stop_if_idle "$private_pg" "$port" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
# Until Roxy runs, a signal ends the script with the usual status, through cleanup; then they are forwarded to Roxy.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ -z "${ROXY_POSTGRES:-}" ]; then
  port="${ROXY_PG_PORT:-55432}"
  # Set before the start, so that a start failing half-way (the server up, createdb failed) is cleaned up too.
  private_pg="$PWD/.roxy/pg"
  roxy_pg_start "$PWD/.roxy/pg" "$port"
  export ROXY_POSTGRES="Host=$(roxy_pg_socket_dir "$PWD/.roxy/pg");Port=$port;Username=postgres;Database=roxy"
  echo "roxy: private PostgreSQL on the Unix socket in .roxy/pg-socket, no TCP (data in .roxy/pg)"
fi

config="${ROXY_CONFIG:-configs/config.yaml}"
if [ ! -f "$config" ]; then
  cp configs/config.example.yaml "$config"
  echo "roxy: created $config from configs/config.example.yaml"
fi

if [ -z "${ROXY_TOKEN:-}" ]; then
  mkdir -p .roxy
  if [ ! -s .roxy/token ]; then
    (umask 077; echo "roxy-$(head -c 24 /dev/urandom | base64 | tr -d '/+=' )" > .roxy/token)
  fi
  ROXY_TOKEN="$(cat .roxy/token)"
  export ROXY_TOKEN
  echo "roxy: ROXY_TOKEN was not set; using the admin token stored in .roxy/token"
fi

# Roxy runs as a child, not exec'd, so that the private PostgreSQL can be stopped after it. Built first and started
# from its dll, so the signal below reaches Roxy itself rather than a `dotnet run` wrapper.
dotnet build Roxy.Api -c Release -nologo -v quiet -clp:NoSummary
dotnet Roxy.Api/bin/Release/net10.0/Roxy.Api.dll --config "$(realpath "$config")" "$@" &
roxy_pid=$!

# A background child of a script ignores SIGINT, so Ctrl+C (and SIGTERM, and the hangup of a closed terminal) are
# passed on as SIGTERM: Roxy drains in-flight requests and streams, then exits, and cleanup stops PostgreSQL.
forward() { kill -TERM "$roxy_pid" 2>/dev/null || true; }
trap forward INT TERM HUP
status=0
while true; do
  wait "$roxy_pid" && status=0 || status=$?
  kill -0 "$roxy_pid" 2>/dev/null || break
done
roxy_pid=""
exit "$status"
