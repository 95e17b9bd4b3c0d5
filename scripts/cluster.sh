#!/usr/bin/env bash
# A Roxy cluster on one machine: PostgreSQL, two Roxy.Silo processes and two Roxy.Api frontends (Orleans clients),
# all from one config file. Builds once (Release) and runs the built dlls; PIDs (with each process's start time, so a
# reused PID is never taken for ours) and logs go to .roxy/cluster/.
#   scripts/cluster.sh start    build, start whatever is not running, wait until both frontends are ready
#   scripts/cluster.sh status   what runs, and whether each frontend answers /readyz
#   scripts/cluster.sh stop     frontends first (they drain), then silos, then the private PostgreSQL
#   scripts/cluster.sh kill NAME      SIGKILL one process (silo1, silo2, api1, api2), no goodbye; waits until it is gone
#   scripts/cluster.sh restart NAME   graceful stop of one process (SIGTERM, as halt), then start (all ready again)
#   scripts/cluster.sh pg-stop|pg-start   stop or start the private PostgreSQL only (data kept; the fault drill's outage)
# Environment (defaults in brackets): ROXY_CONFIG [configs/config.yaml], ROXY_POSTGRES [a private PostgreSQL in
# .roxy/cluster/pg on the Unix socket ROXY_PG_PORT, 55434], ROXY_API1_PORT/ROXY_API2_PORT [8080/8081],
# ROXY_LISTEN_HOST [all interfaces, like listen_addr ":8080"], ROXY_SILO1_PORT/ROXY_SILO2_PORT [11111/11112],
# ROXY_GATEWAY1_PORT/ROXY_GATEWAY2_PORT [30000/30001], ROXY_CLUSTER_ID [roxy], ROXY_DASHBOARD [false] with
# ROXY_DASHBOARD1_PORT/ROXY_DASHBOARD2_PORT [8090/8091], ROXY_CLUSTER_DIR [.roxy/cluster],
# ROXY_CLUSTER_BUILD [1; 0 runs what is already built, from bin/ROXY_CLUSTER_CONFIGURATION, Release],
# ROXY_CLUSTER_WAIT_SEC [120].
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg.sh

dir="$(realpath -m "${ROXY_CLUSTER_DIR:-.roxy/cluster}")"
api_ports=("${ROXY_API1_PORT:-8080}" "${ROXY_API2_PORT:-8081}")
silo_ports=("${ROXY_SILO1_PORT:-11111}" "${ROXY_SILO2_PORT:-11112}")
gateway_ports=("${ROXY_GATEWAY1_PORT:-30000}" "${ROXY_GATEWAY2_PORT:-30001}")
dashboard_ports=("${ROXY_DASHBOARD1_PORT:-8090}" "${ROXY_DASHBOARD2_PORT:-8091}")
pg_port="${ROXY_PG_PORT:-55434}"
wait_sec="${ROXY_CLUSTER_WAIT_SEC:-120}"
bin="bin/${ROXY_CLUSTER_CONFIGURATION:-Release}/net10.0"

say() { echo "roxy-cluster: $*"; }

# identity_of PID: what tells that process from a later one given the same PID (after a reboot, say): the boot's id
# and the process's start time (field 22 of /proc/PID/stat, clock ticks since boot; it survives exec).
identity_of() {
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # Field 2 (the command name, in parentheses) may hold spaces: count from after its closing parenthesis (field 3).
  read -ra fields <<<"${stat##*) }"
  [ -n "${fields[19]:-}" ] || return 1
  echo "$(cat /proc/sys/kernel/random/boot_id) ${fields[19]}"
}

# pid_of NAME: the PID in NAME.pid if that process is still the one we started: same boot, same start time (NAME.started)
# and a Roxy dll, so a stale file never names another process, not even another Roxy (a benchmark's, say).
pid_of() {
  local file="$dir/$1.pid" pid identity
  [ -s "$file" ] && [ -s "$dir/$1.started" ] || return 1
  pid="$(cat "$file")"
  identity="$(identity_of "$pid")" || return 1
  if [ "$identity" = "$(cat "$dir/$1.started")" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "Roxy\.\(Api\|Silo\)\.dll"; then
    echo "$pid"
  else
    return 1
  fi
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz" 2>/dev/null; }

# launch NAME VAR=VALUE... -- DLL ARGS...: runs the dll detached (own session, no terminal), output to NAME.log.
launch() {
  local name="$1" pid
  shift
  local vars=()
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  if pid="$(pid_of "$name")"; then
    say "$name already running (pid $pid)"
    return 0
  fi
  # No job control here, so the child is no group leader and setsid execs in place: $! is dotnet's own PID.
  env "${vars[@]}" setsid dotnet "$@" </dev/null >>"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
  # Exited already: no identity, and wait_for reports the exit with the log.
  identity_of $! >"$dir/$name.started" || true
  say "$name started (pid $!, log ${dir#"$PWD"/}/$name.log)"
}

# wait_for NAME CHECK ARG: until CHECK ARG succeeds; fails if the process exits or time runs out.
wait_for() {
  local name="$1" check="$2" arg="$3" deadline=$((SECONDS + wait_sec))
  until "$check" "$arg"; do
    if ! pid_of "$name" >/dev/null; then
      say "$name exited; last lines of its log:"; tail -n 20 "$dir/$name.log" >&2; return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$name not ready after ${wait_sec} s; see $dir/$name.log"; return 1
    fi
    sleep 0.5
  done
}

start() {
  mkdir -p "$dir"
  if [ -z "${ROXY_POSTGRES:-}" ]; then
    roxy_pg_start "$dir/pg" "$pg_port"
    export ROXY_POSTGRES="Host=$(roxy_pg_socket_dir "$dir/pg");Port=$pg_port;Username=postgres;Database=roxy"
    touch "$dir/pg.private"
    say "private PostgreSQL on the Unix socket in ${dir#"$PWD"/}/pg-socket, no TCP"
  fi

  config="${ROXY_CONFIG:-configs/config.yaml}"
  if [ ! -f "$config" ]; then
    cp configs/config.example.yaml "$config"
    say "created $config from configs/config.example.yaml"
  fi
  config="$(realpath "$config")"

  if [ -z "${ROXY_TOKEN:-}" ]; then
    mkdir -p .roxy
    if [ ! -s .roxy/token ]; then
      (umask 077; echo "roxy-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" >.roxy/token)
    fi
    ROXY_TOKEN="$(cat .roxy/token)"
    export ROXY_TOKEN
    say "ROXY_TOKEN was not set; using the admin token stored in .roxy/token"
  fi

  if [ "${ROXY_CLUSTER_BUILD:-1}" != "0" ]; then
    say "building (Release)"
    dotnet build Roxy.Silo -c Release -nologo -v quiet -clp:NoSummary
    dotnet build Roxy.Api -c Release -nologo -v quiet -clp:NoSummary
  fi

  local cluster_id="${ROXY_CLUSTER_ID:-roxy}" i
  for i in 0 1; do
    launch "silo$((i + 1))" \
      ROXY_CLUSTER_ID="$cluster_id" ROXY_SILO_PORT="${silo_ports[$i]}" ROXY_GATEWAY_PORT="${gateway_ports[$i]}" \
      ROXY_DASHBOARD="${ROXY_DASHBOARD:-false}" ROXY_DASHBOARD_PORT="${dashboard_ports[$i]}" \
      -- "Roxy.Silo/$bin/Roxy.Silo.dll"
  done
  for i in 0 1; do wait_for "silo$((i + 1))" tcp_open "${gateway_ports[$i]}"; done

  for i in 0 1; do
    # Frontends are Orleans clients; their silo and gateway ports are unused but must not clash with the silos'.
    launch "api$((i + 1))" \
      ROXY_CLUSTER_MODE=cluster ROXY_CLUSTER_ID="$cluster_id" ROXY_LISTEN_ADDR="${ROXY_LISTEN_HOST:-}:${api_ports[$i]}" \
      ROXY_SILO_PORT="$((silo_ports[1] + 1 + i))" ROXY_GATEWAY_PORT="$((gateway_ports[1] + 1 + i))" ROXY_DASHBOARD=false \
      -- "Roxy.Api/$bin/Roxy.Api.dll" --config "$config"
  done
  for i in 0 1; do wait_for "api$((i + 1))" ready "${api_ports[$i]}"; done

  say "ready: http://127.0.0.1:${api_ports[0]}/v1 and http://127.0.0.1:${api_ports[1]}/v1"
  if [ "${ROXY_DASHBOARD:-false}" = "true" ] || [ "${ROXY_DASHBOARD:-}" = "1" ]; then
    say "Orleans dashboards: http://127.0.0.1:${dashboard_ports[0]}/dashboard/ and http://127.0.0.1:${dashboard_ports[1]}/dashboard/"
  fi
}

# halt NAME: SIGTERM, wait for a graceful exit (frontends drain), then SIGKILL.
halt() {
  local name="$1" pid deadline
  if ! pid="$(pid_of "$name")"; then
    rm -f "$dir/$name.pid" "$dir/$name.started"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 40))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name did not stop in 40 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/$name.pid" "$dir/$name.started"
  say "$name stopped"
}

# kill_one NAME: SIGKILL, then wait until the process is gone (its socket and ports with it).
kill_one() {
  local name="$1" pid deadline
  if ! pid="$(pid_of "$name")"; then
    say "$name is not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  rm -f "$dir/$name.pid" "$dir/$name.started"
  say "$name killed (SIGKILL, pid $pid)"
}

# only_private: the PostgreSQL commands act only on the one start created, never on an ROXY_POSTGRES given from outside.
only_private() {
  if [ ! -f "$dir/pg.private" ]; then
    say "no private PostgreSQL in ${dir#"$PWD"/} (ROXY_POSTGRES was given, or the cluster never started)"
    exit 2
  fi
}

stop() {
  local name
  for name in api1 api2; do halt "$name" & done
  wait
  for name in silo1 silo2; do halt "$name" & done
  wait
  if [ -f "$dir/pg.private" ]; then
    roxy_pg_stop "$dir/pg"
    rm -f "$dir/pg.private"
    say "private PostgreSQL stopped (data kept in ${dir#"$PWD"/}/pg)"
  fi
}

status() {
  local name pid i rc=0
  for i in 0 1; do
    name="silo$((i + 1))"
    if pid="$(pid_of "$name")"; then say "$name running (pid $pid, gateway ${gateway_ports[$i]})"; else say "$name stopped"; rc=3; fi
  done
  for i in 0 1; do
    name="api$((i + 1))"
    if ! pid="$(pid_of "$name")"; then say "$name stopped"; rc=3
    elif ready "${api_ports[$i]}"; then say "$name ready (pid $pid, http://127.0.0.1:${api_ports[$i]})"
    else say "$name running but not ready (pid $pid, http://127.0.0.1:${api_ports[$i]})"; rc=3; fi
  done
  if [ -f "$dir/pg.private" ]; then
    if roxy_pg_running "$dir/pg"; then say "private PostgreSQL running"; else say "private PostgreSQL stopped"; rc=3; fi
  fi
  return "$rc"
}

usage() { echo "usage: scripts/cluster.sh start|stop|status|kill NAME|restart NAME|pg-stop|pg-start (NAME: silo1 silo2 api1 api2)" >&2; exit 2; }
process_name() {
  case "${1:-}" in silo1|silo2|api1|api2) ;; *) usage ;; esac
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill) process_name "${2:-}"; kill_one "$2" ;;
  restart)
    process_name "${2:-}"
    # A private PostgreSQL's connection string is set by start; a given ROXY_POSTGRES passes through unchanged.
    if [ -f "$dir/pg.private" ]; then unset ROXY_POSTGRES; fi
    halt "$2"
    start ;;
  pg-stop) only_private; roxy_pg_stop "$dir/pg"; say "private PostgreSQL stopped" ;;
  pg-start) only_private; roxy_pg_start "$dir/pg" "$pg_port"; say "private PostgreSQL started" ;;
  *) usage ;;
esac
