#!/usr/bin/env bash
# Roxy at scale, one command: bash bench/scale.sh
#
# Builds Release once, starts the fake OpenAI upstream (no recording) and a bench-only PostgreSQL under
# .roxy/scale-pg, then two Roxys (single process, co-hosted silo, each with its own database and ports):
# "roxy-1" with one tenant and "roxy-N" with BENCH_TENANTS runtime tenants, every tenant created through the admin
# REST API with a key of its own and a member token (bench/Roxy.Bench --create-tenants). Then:
#   cpu   one run of bench/Roxy.Bench, targets interleaved per cell: roxy-1 (its one token) and roxy-N (cycling over
#         all N tokens, so every tenant is active), with the proxy's CPU time per request read from /proc/PID/stat
#         (utime + stime over each measured window, divided by its requests; the peer harness's method). Requests
#         carry Cache-Control: no-store (runtime tenants have the cache on): the proxied path, as bench/run.sh has it.
#   soak  BENCH_SOAK seconds of mixed traffic on roxy-N (chat and streaming at random, BENCH_PROMPTS distinct prompts
#         spread over the tenants, entries kept BENCH_SOAK_TTL s so prompts both hit and miss) at BENCH_RATE req/s,
#         sampling roxy-N's RSS every BENCH_SAMPLE seconds.
# Writes bench/results/scale.md. Everything listens on 127.0.0.1 and is stopped on exit, whatever happens.
#
# Environment (all optional):
#   BENCH_PARTS     cpu,soak (default both)
#   BENCH_TENANTS   tenants of roxy-N (default 1000)
#   BENCH_DURATION  seconds measured per cpu cell (default 10); BENCH_WARMUP (default 15; it also warms every tenant)
#   BENCH_CONCURRENCY levels of the cpu cells (default 16); BENCH_STREAM both|true|false (default both)
#   BENCH_SOAK      soak seconds (default 600); BENCH_RATE req/s (default 200); BENCH_PROMPTS (default 10000);
#   BENCH_SOAK_TTL  seconds a soak entry stays cached (default 120); BENCH_SAMPLE (default 30)
#   ROXY_BENCH_PG_PORT  port naming the bench PostgreSQL's Unix socket (default 55434)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
source scripts/pg.sh

parts="${BENCH_PARTS:-cpu,soak}"
tenants="${BENCH_TENANTS:-1000}"
duration="${BENCH_DURATION:-10}"
warmup="${BENCH_WARMUP:-15}"
concurrency="${BENCH_CONCURRENCY:-16}"
stream="${BENCH_STREAM:-both}"
soak="${BENCH_SOAK:-600}"
rate="${BENCH_RATE:-200}"
prompts="${BENCH_PROMPTS:-10000}"
soak_ttl="${BENCH_SOAK_TTL:-120}"
sample="${BENCH_SAMPLE:-30}"
pg_port="${ROXY_BENCH_PG_PORT:-55434}"
pg_dir="$root/.roxy/scale-pg"
work="$root/.roxy/scale"
results="$root/bench/results"

say() { echo "scale: $*" >&2; }
die() { echo "scale: error: $*" >&2; exit 1; }
case "$tenants$duration$warmup$soak$rate$prompts$soak_ttl$sample" in *[!0-9.]*) die "the BENCH_* numbers must be numbers";; esac
[ "$tenants" -ge 1 ] 2>/dev/null || die "BENCH_TENANTS must be >= 1"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -a taken_ports=()
pick_port() { # VAR
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    [[ " ${taken_ports[*]-} " == *" $p "* ]] && continue
    if ! port_in_use "$p"; then taken_ports+=("$p"); printf -v "$1" '%s' "$p"; return 0; fi
  done
  die "no free loopback port found"
}

# --- clean-up, always ----------------------------------------------------------------------------------
declare -a pids=()
pg_started=""
pg_bin="$(roxy_pg_bin)" || exit 1
stop_pid() { # PID SECONDS
  local pid="$1" i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $(( $2 * 10 ))); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM HUP PIPE
  for pid in "${pids[@]}"; do stop_pid "$pid" 15; done
  if [ -n "$pg_started" ]; then roxy_as_pg "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w -t 30 stop >/dev/null 2>&1 || true; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE
mkdir -p "$work" "$results"
if [ -f "$pg_dir/postmaster.pid" ]; then roxy_as_pg "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w -t 30 stop >/dev/null 2>&1 || true; fi

# --- build once ------------------------------------------------------------------------------------------
say "building Release (Roxy.Api, Roxy.FakeUpstream, bench/Roxy.Bench)"
for project in Roxy.Api Roxy.FakeUpstream bench/Roxy.Bench; do
  dotnet build "$project" -c Release --nologo -v quiet -clp:ErrorsOnly >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; die "build of $project failed (log: $work/build.log)"; }
done
roxy_dll="$root/Roxy.Api/bin/Release/net10.0/Roxy.Api.dll"
upstream_dll="$root/Roxy.FakeUpstream/bin/Release/net10.0/Roxy.FakeUpstream.dll"
bench_dll="$root/bench/Roxy.Bench/bin/Release/net10.0/Roxy.Bench.dll"
bench() { dotnet "$bench_dll" "$@"; }

# --- fake upstream and PostgreSQL ------------------------------------------------------------------------
pick_port upstream_port
dotnet "$upstream_dll" --port "$upstream_port" --no-record >"$work/upstream.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$upstream_port/v1/models" 2>/dev/null && break
  [ "$i" = 100 ] && die "the fake upstream did not answer within 20 s"
  sleep 0.2
done
say "starting the bench PostgreSQL (socket port $pg_port, data in .roxy/scale-pg)"
pg_started=1
roxy_pg_start "$pg_dir" "$pg_port" || die "the bench PostgreSQL did not start (see $pg_dir/server.log)"
sock="$(roxy_pg_socket_dir "$pg_dir")"

# --- the Roxys ---------------------------------------------------------------------------------------------
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(OPENAI|ANTHROPIC|OPENROUTER|CHUTES)_API_KEY(_|$)' || true)
unset ROXY_LISTEN_ADDR ROXY_SILO_PORT ROXY_GATEWAY_PORT ROXY_CLUSTER_MODE ROXY_ADVERTISE_ADDRESS ROXY_CLUSTER_ID ROXY_CONFIG ROXY_SERVICE_ID ROXY_POSTGRES
ROXY_ADMIN_TOKEN="scale-admin-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
ROXY_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
export ROXY_ADMIN_TOKEN ROXY_MASTER_KEY
export Logging__LogLevel__Default=Warning

start_roxy() { # NAME TENANTS: a fresh database, a config, Roxy, its tenants; sets <NAME>_pid, <NAME>_port, <NAME>_tokens
  local name="$1" count="$2" db="roxy_scale_$1" port silo gateway dir="$work/$1" pid code
  mkdir -p "$dir"
  roxy_as_pg "$pg_bin/dropdb" -h "$sock" -p "$pg_port" -U postgres --if-exists "$db" >/dev/null
  roxy_as_pg "$pg_bin/createdb" -h "$sock" -p "$pg_port" -U postgres "$db"
  pick_port port; pick_port silo; pick_port gateway
  cat >"$dir/config.yaml" <<EOF
# Generated by bench/scale.sh; rewritten on every run. Tenants are created at run time through the admin API.
listen_addr: "127.0.0.1:$port"
api_keys: []
model_rules: []
providers:
  openai: { base_url: "http://127.0.0.1:$upstream_port/v1", kind: openai }
cache: { enabled: false }
server: { drain_timeout_sec: 5 }
cluster: { mode: single, silo_port: $silo, gateway_port: $gateway, cluster_id: roxy-scale-$name, service_id: roxy-scale-$name }
EOF
  ROXY_POSTGRES="Host=$sock;Port=$pg_port;Username=postgres;Database=$db" dotnet "$roxy_dll" --config "$dir/config.yaml" >"$dir/roxy.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for i in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$dir/roxy.log" >&2; die "$name exited before becoming ready"; }
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port/readyz" 2>/dev/null || true)"
    [ "$code" = 200 ] && break
    [ "$i" = 120 ] && { tail -n 40 "$dir/roxy.log" >&2; die "$name did not report ready within 60 s"; }
    sleep 0.5
  done
  say "$name is up on 127.0.0.1:$port (pid $pid); creating $count tenant(s) through the admin API"
  bench --target "$name=http://127.0.0.1:$port/v1" --create-tenants "$count" --admin-token "$ROXY_ADMIN_TOKEN" \
    --tenant-prefix "$name" --tokens-out "$dir/tokens.txt"
  printf -v "${name//-/_}_pid" '%s' "$pid"
  printf -v "${name//-/_}_port" '%s' "$port"
}

big="roxy-$tenants"
[[ ",$parts," == *,cpu,* ]] && start_roxy roxy-1 1
start_roxy "$big" "$tenants"
big_var="${big//-/_}"
big_pid="${big_var}_pid"; big_port="${big_var}_port"
out="$results/scale.md"
: >"$out"

if [[ ",$parts," == *,cpu,* ]]; then
  say "cpu: roxy-1 and $big interleaved per cell (concurrency $concurrency, stream $stream, ${duration}s after ${warmup}s warm-up)"
  bench --target "roxy-1=http://127.0.0.1:$roxy_1_port/v1" --target "$big=http://127.0.0.1:${!big_port}/v1" \
    --tokens "roxy-1=$work/roxy-1/tokens.txt" --tokens "$big=$work/$big/tokens.txt" \
    --pid "roxy-1=$roxy_1_pid" --pid "$big=${!big_pid}" --header "Cache-Control: no-store" \
    --concurrency "$concurrency" --duration "$duration" --warmup "$warmup" --stream "$stream" \
    --markdown "$work/cpu.md" >/dev/null
  { echo "CPU per proxied request, one tenant (roxy-1) vs $tenants active tenants ($big, requests cycling over every tenant's token):"; echo; cat "$work/cpu.md"; echo; } >>"$out"
  # The small Roxy is done: it would only compete for the CPUs during the soak.
  stop_pid "$roxy_1_pid" 15
fi

if [[ ",$parts," == *,soak,* ]]; then
  say "soak: ${soak}s at $rate req/s over $tenants tenants and $prompts prompts; RSS of $big (pid ${!big_pid}) every ${sample}s"
  bench --target "$big=http://127.0.0.1:${!big_port}/v1" --tokens "$big=$work/$big/tokens.txt" --pid "$big=${!big_pid}" \
    --soak "$soak" --rate "$rate" --prompts "$prompts" --sample-every "$sample" --header "x-roxy-cache-ttl: $soak_ttl" \
    --markdown "$work/soak.md" >/dev/null || say "soak: more than 1 % of requests failed (the table counts them)"
  { echo "RSS of $big under mixed traffic:"; echo; cat "$work/soak.md"; } >>"$out"
fi

echo
cat "$out"
say "wrote bench/results/scale.md"
