#!/usr/bin/env bash
# Runs Roxy as one process (API + co-hosted silo). Without ROXY_POSTGRES it starts a private PostgreSQL
# under .roxy/pg, reachable only through a Unix socket in .roxy/pg-socket (ROXY_PG_PORT, default 55432, names
# the socket). Safe to run again: PostgreSQL and the schema are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh

if [ -z "${ROXY_POSTGRES:-}" ]; then
  port="${ROXY_PG_PORT:-55432}"
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

exec dotnet run --project Roxy.Api -c Release -- --config "$(realpath "$config")" "$@"
