#!/usr/bin/env bash
# Roxy overhead benchmark, one command: bash bench/run.sh
#
# Builds Release once, starts the fake OpenAI and Anthropic upstreams (no recording), a bench-only PostgreSQL
# under .roxy/bench-pg and Roxy (single process, co-hosted silo) pointed at them, then drives with
# bench/Roxy.Bench: "direct" (the fake OpenAI upstream itself, the baseline) and "roxy" over OpenAI chat
# completions, then "direct-anthropic" and "roxy-anthropic" over Anthropic's /v1/messages (Roxy passing the
# request through to the Anthropic fake), and writes bench/results/latest.md. Everything listens on 127.0.0.1
# and is stopped on exit, whatever happens.
#
# Environment (all optional):
#   BENCH_DURATION      seconds measured per cell (default 10); BENCH_WARMUP (default 2)
#   BENCH_CONCURRENCY   concurrency levels (default 1,16,128); BENCH_STREAM both|true|false (default both)
#   BENCH_KEYS          number of provider keys Roxy rotates over (default 4)
#   BENCH_MODEL         model asked for (default gpt-4o-mini); BENCH_ANTHROPIC_MODEL (default claude-sonnet-4-5)
#   BENCH_ANTHROPIC     1 (default) also measures the Anthropic-inbound cells; 0 skips them
#   BENCH_CACHE         1 (default) also measures prompt cache cells: hits (one prompt, a tenant with the cache on)
#                       and misses (every prompt new, so every answer is looked up, fetched and stored); 0 skips them
#   ROXY_BENCH_PG_PORT  port of the bench PostgreSQL (default 55433; it names the Unix socket, no TCP listener)
#   ROXY_BENCH_PORT     Roxy's HTTP port; ROXY_BENCH_UPSTREAM_PORT the fake upstream's (default: free ports)
#   ROXY_TOKEN          tenant token used by the bench (default: a random one)
#   BENCH_LOG_LEVEL     Roxy's Logging__LogLevel__Default (default Warning, so per-request lines stay out)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
source scripts/pg.sh

duration="${BENCH_DURATION:-10}"
warmup="${BENCH_WARMUP:-2}"
concurrency="${BENCH_CONCURRENCY:-1,16,128}"
stream="${BENCH_STREAM:-both}"
keys="${BENCH_KEYS:-4}"
model="${BENCH_MODEL:-gpt-4o-mini}"
anthropic_model="${BENCH_ANTHROPIC_MODEL:-claude-sonnet-4-5}"
anthropic="${BENCH_ANTHROPIC:-1}"
cache="${BENCH_CACHE:-1}"
pg_port="${ROXY_BENCH_PG_PORT:-55433}"
pg_dir="$root/.roxy/bench-pg"
work="$root/.roxy/bench"
results="$root/bench/results"
config="$work/config.yaml"
roxy_log="$work/roxy.log"
upstream_log="$work/upstream.log"
anthropic_log="$work/upstream-anthropic.log"

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

case "$duration$warmup$keys" in *[!0-9.]*) die "BENCH_DURATION, BENCH_WARMUP and BENCH_KEYS must be numbers";; esac
[ "$keys" -ge 1 ] 2>/dev/null || die "BENCH_KEYS must be >= 1"

# --- ports -------------------------------------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -a taken_ports=()
pick_port() { # VAR: sets VAR to a free loopback port not handed out before
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    [[ " ${taken_ports[*]-} " == *" $p "* ]] && continue
    if ! port_in_use "$p"; then taken_ports+=("$p"); printf -v "$1" '%s' "$p"; return 0; fi
  done
  die "no free loopback port found"
}
want_port() { # NAME VALUE: a port given explicitly must be free
  case "$2" in ''|*[!0-9]*) die "$1: '$2' is not a port";; esac
  port_in_use "$2" && die "$1: port $2 on 127.0.0.1 is already in use; pick another ($1=...)"
  taken_ports+=("$2")
}

# --- clean-up, always ----------------------------------------------------------------------------------
roxy_pid=""
upstream_pid=""
anthropic_pid=""
bench_pid=""
pg_started=""
pg_bin="$(roxy_pg_bin)" || exit 1
stop_pid() { # PID NAME SECONDS
  local pid="$1" i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $(( $3 * 10 ))); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  say "$2 did not stop in $3 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP PIPE
  stop_pid "$bench_pid" "load generator" 5
  stop_pid "$roxy_pid" Roxy 15
  stop_pid "$upstream_pid" "fake upstream" 5
  stop_pid "$anthropic_pid" "fake Anthropic upstream" 5
  # Not roxy_pg_stop: inside a trap, a bare 'return' in scripts/pg.sh's roxy_pg_bin returns the failing
  # status that triggered the trap, so roxy_pg_stop would silently do nothing after an error.
  if [ -n "$pg_started" ] && [ -n "$pg_bin" ]; then
    roxy_as_pg "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

mkdir -p "$work" "$results"

# --- explicit ports must be free (checked before the build, to fail fast) -----------------------------------
# A bench PostgreSQL left running by an interrupted run is ours: stop it before checking its port.
if [ -f "$pg_dir/postmaster.pid" ]; then roxy_as_pg "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w -t 30 stop >/dev/null 2>&1 || true; fi
want_port ROXY_BENCH_PG_PORT "$pg_port"
[ -n "${ROXY_BENCH_PORT:-}" ] && want_port ROXY_BENCH_PORT "$ROXY_BENCH_PORT"
[ -n "${ROXY_BENCH_UPSTREAM_PORT:-}" ] && want_port ROXY_BENCH_UPSTREAM_PORT "$ROXY_BENCH_UPSTREAM_PORT"

# --- (a) build once ----------------------------------------------------------------------------------
say "building Release (Roxy.Api, Roxy.FakeUpstream, bench/Roxy.Bench)"
for project in Roxy.Api Roxy.FakeUpstream bench/Roxy.Bench; do
  dotnet build "$project" -c Release --nologo -v quiet -clp:ErrorsOnly >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; die "build of $project failed (log: $work/build.log)"; }
done
roxy_dll="$root/Roxy.Api/bin/Release/net10.0/Roxy.Api.dll"
upstream_dll="$root/Roxy.FakeUpstream/bin/Release/net10.0/Roxy.FakeUpstream.dll"
bench_dll="$root/bench/Roxy.Bench/bin/Release/net10.0/Roxy.Bench.dll"
for dll in "$roxy_dll" "$upstream_dll" "$bench_dll"; do [ -f "$dll" ] || die "build output missing: $dll"; done

# --- the other ports are picked free now, right before use -------------------------------------------------
if [ -n "${ROXY_BENCH_PORT:-}" ]; then roxy_port="$ROXY_BENCH_PORT"; else pick_port roxy_port; fi
if [ -n "${ROXY_BENCH_UPSTREAM_PORT:-}" ]; then upstream_port="$ROXY_BENCH_UPSTREAM_PORT"; else pick_port upstream_port; fi
pick_port anthropic_port
pick_port silo_port
pick_port gateway_port

# --- (b) fake upstream -------------------------------------------------------------------------------
say "starting the fake upstream on 127.0.0.1:$upstream_port"
dotnet "$upstream_dll" --port "$upstream_port" --no-record >"$upstream_log" 2>&1 &
upstream_pid=$!
for i in $(seq 1 100); do
  kill -0 "$upstream_pid" 2>/dev/null || { tail -n 20 "$upstream_log" >&2; die "the fake upstream exited"; }
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$upstream_port/v1/models" 2>/dev/null && break
  [ "$i" = 100 ] && { tail -n 20 "$upstream_log" >&2; die "the fake upstream did not answer within 20 s"; }
  sleep 0.2
done

if [ "$anthropic" = 1 ]; then
  say "starting the fake Anthropic upstream on 127.0.0.1:$anthropic_port"
  dotnet "$upstream_dll" --port "$anthropic_port" --protocol anthropic --no-record >"$anthropic_log" 2>&1 &
  anthropic_pid=$!
  for i in $(seq 1 100); do
    kill -0 "$anthropic_pid" 2>/dev/null || { tail -n 20 "$anthropic_log" >&2; die "the fake Anthropic upstream exited"; }
    # It answers 401 without a key, as Anthropic does: any status means it is up.
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$anthropic_port/v1/models" 2>/dev/null)" != 000 ] && break
    [ "$i" = 100 ] && { tail -n 20 "$anthropic_log" >&2; die "the fake Anthropic upstream did not answer within 20 s"; }
    sleep 0.2
  done
fi

# --- (c) bench PostgreSQL -------------------------------------------------------------------------------
say "starting the bench PostgreSQL on its Unix socket (port $pg_port, data in .roxy/bench-pg)"
pg_started=1
roxy_pg_start "$pg_dir" "$pg_port" || die "the bench PostgreSQL did not start (see $pg_dir/server.log)"

# --- (d) config and environment -------------------------------------------------------------------------
# Keys the environment would add with default limits (500 rpm) and overrides of this config must not leak in.
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(OPENAI|ANTHROPIC|OPENROUTER|CHUTES)_API_KEY(_|$)' || true)
unset ROXY_LISTEN_ADDR ROXY_SILO_PORT ROXY_GATEWAY_PORT ROXY_CLUSTER_MODE ROXY_ADVERTISE_ADDRESS ROXY_CLUSTER_ID ROXY_CONFIG ROXY_SERVICE_ID

ROXY_TOKEN="${ROXY_TOKEN:-bench-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')}"
export ROXY_TOKEN
export ROXY_BENCH_CACHE_TOKEN="bench-cache-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
export ROXY_POSTGRES="Host=$(roxy_pg_socket_dir "$pg_dir");Port=$pg_port;Username=postgres;Database=roxy"
export Logging__LogLevel__Default="${BENCH_LOG_LEVEL:-Warning}"

{
  echo "# Generated by bench/run.sh; rewritten on every run."
  echo "listen_addr: \"127.0.0.1:$roxy_port\""
  echo "tokens:"
  echo "  - { token_env: ROXY_TOKEN, role: admin }"
  echo "api_keys:"
  for i in $(seq 1 "$keys"); do
    export "BENCH_KEY_$i=sk-bench-$i-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "  - { key_env_var: BENCH_KEY_$i, provider: openai, max_rpm: 10000000, max_tpm: 2000000000, cooldown_sec: 1 }"
    export "BENCH_ANTHROPIC_KEY_$i=sk-ant-bench-$i-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "  - { key_env_var: BENCH_ANTHROPIC_KEY_$i, provider: anthropic, max_rpm: 10000000, max_tpm: 2000000000, cooldown_sec: 1 }"
  done
  echo "model_rules: []"
  echo "providers:"
  echo "  openai: { base_url: \"http://127.0.0.1:$upstream_port/v1\", kind: openai }"
  echo "  anthropic: { base_url: \"http://127.0.0.1:$anthropic_port/v1\", kind: anthropic }"
  echo "cache: { enabled: false }   # every bench request is the same prompt: measure the proxy path, not cache hits"
  echo "tenants:"
  echo "  - id: bench-cache   # the prompt cache cells"
  echo "    tokens: [{ token_env: ROXY_BENCH_CACHE_TOKEN, role: admin }]"
  echo "    cache: { enabled: true, ttl_sec: 3600 }"
  echo "    api_keys:"
  for i in $(seq 1 "$keys"); do
    export "BENCH_CACHE_KEY_$i=sk-bench-cache-$i-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "      - { key_env_var: BENCH_CACHE_KEY_$i, provider: openai, max_rpm: 10000000, max_tpm: 2000000000, cooldown_sec: 1 }"
  done
  echo "server: { drain_timeout_sec: 5 }"
  echo "cluster: { mode: single, silo_port: $silo_port, gateway_port: $gateway_port, cluster_id: roxy-bench, service_id: roxy-bench }"
} >"$config"

# --- (e) Roxy ----------------------------------------------------------------------------------------
say "starting Roxy on 127.0.0.1:$roxy_port (silo $silo_port, gateway $gateway_port; log: .roxy/bench/roxy.log)"
dotnet "$roxy_dll" --config "$config" >"$roxy_log" 2>&1 &
roxy_pid=$!
ready=""
deadline=$(( SECONDS + 60 ))
while [ "$SECONDS" -lt "$deadline" ]; do
  if ! kill -0 "$roxy_pid" 2>/dev/null; then
    wait "$roxy_pid" 2>/dev/null && rc=0 || rc=$?
    roxy_pid=""
    echo "----- tail of $roxy_log -----" >&2; tail -n 40 "$roxy_log" >&2
    die "Roxy exited with status $rc before becoming ready"
  fi
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$roxy_port/readyz" 2>/dev/null || true)"
  if [ "$code" = "200" ]; then ready=1; break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "----- tail of $roxy_log -----" >&2; tail -n 40 "$roxy_log" >&2
  die "Roxy did not report ready on /readyz within 60 s"
fi

# One request each way before measuring, so a broken proxy path fails here with its own words.
for s in false true; do
  body="$(curl -s --max-time 15 -w '\n%{http_code}' -H "Authorization: Bearer $ROXY_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}],\"stream\":$s}" \
    "http://127.0.0.1:$roxy_port/v1/chat/completions" 2>&1 || true)"
  code="${body##*$'\n'}"
  if [ "$code" != "200" ]; then
    echo "----- smoke request (stream=$s): HTTP $code -----" >&2; echo "${body%$'\n'*}" | head -c 2000 >&2; echo >&2
    echo "----- tail of $roxy_log -----" >&2; tail -n 40 "$roxy_log" >&2
    die "Roxy did not answer a chat completion (stream=$s)"
  fi
done
if [ "$anthropic" = 1 ]; then
  for s in false true; do
    body="$(curl -s --max-time 15 -w '\n%{http_code}' -H "x-api-key: $ROXY_TOKEN" -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' \
      -d "{\"model\":\"$anthropic_model\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello\"}],\"stream\":$s}" \
      "http://127.0.0.1:$roxy_port/v1/messages" 2>&1 || true)"
    code="${body##*$'\n'}"
    if [ "$code" != "200" ]; then
      echo "----- smoke request /v1/messages (stream=$s): HTTP $code -----" >&2; echo "${body%$'\n'*}" | head -c 2000 >&2; echo >&2
      echo "----- tail of $roxy_log -----" >&2; tail -n 40 "$roxy_log" >&2
      die "Roxy did not answer an Anthropic message (stream=$s)"
    fi
  done
fi
say "Roxy is ready and answers; measuring (duration ${duration}s, warm-up ${warmup}s, concurrency $concurrency, stream $stream)"

# --- (f) load ------------------------------------------------------------------------------------------
levels=$(( $(tr ',' '\n' <<<"$concurrency" | grep -c .) ))
modes=$([ "$stream" = both ] && echo 2 || echo 1)
limit=$(( levels * modes * 2 * ( ${duration%.*} + ${warmup%.*} + 35 ) + 60 ))
: >"$work/table-anthropic.md"
: >"$work/bench.log"
out="$results/latest.md"
drive() { # LABEL ARGS...: one run of the load generator, failing the bench with Roxy's log tail if it fails
  local label="$1"
  shift
  timeout --signal=TERM --kill-after=10 "$limit" dotnet "$bench_dll" "$@" \
    --concurrency "$concurrency" --duration "$duration" --warmup "$warmup" --stream "$stream" \
    >/dev/null 2> >(tee -a "$work/bench.log" >&2) &
  bench_pid=$!   # in the background so INT/TERM reach the trap at once, not after the run
  wait "$bench_pid" && rc=0 || rc=$?
  bench_pid=""
  [ "$rc" = 0 ] \
    || { echo "----- tail of $roxy_log -----" >&2; tail -n 20 "$roxy_log" >&2; die "the $label load generator failed (status $rc)"; }
}
drive OpenAI \
  --target "direct=http://127.0.0.1:$upstream_port/v1" --target "roxy=http://127.0.0.1:$roxy_port/v1" \
  --token "$ROXY_TOKEN" --model "$model" --markdown "$work/table.md"
if [ "$anthropic" = 1 ]; then
  # The Anthropic-inbound cells: an Anthropic client, Roxy passing the body through with only the model replaced.
  drive Anthropic --protocol anthropic \
    --target "direct-anthropic=http://127.0.0.1:$anthropic_port/v1" --target "roxy-anthropic=http://127.0.0.1:$roxy_port/v1" \
    --token "$ROXY_TOKEN" --model "$anthropic_model" --markdown "$work/table-anthropic.md"
fi
if [ "$cache" = 1 ]; then
  # Prompt cache cells, each run against its own direct baseline: hits (the same prompt every time, served from the
  # silo's memory after the first), then misses (every prompt new: lookup, one PostgreSQL read, upstream, store).
  : >"$work/table-cache-hit.md"; : >"$work/table-cache-miss.md"
  drive "prompt cache (hit)" \
    --target "direct=http://127.0.0.1:$upstream_port/v1" --target "roxy-cache-hit=http://127.0.0.1:$roxy_port/v1" \
    --token "$ROXY_BENCH_CACHE_TOKEN" --model "$model" --markdown "$work/table-cache-hit.md"
  drive "prompt cache (miss)" --unique-prompts \
    --target "direct=http://127.0.0.1:$upstream_port/v1" --target "roxy-cache-miss=http://127.0.0.1:$roxy_port/v1" \
    --token "$ROXY_BENCH_CACHE_TOKEN" --model "$model" --markdown "$work/table-cache-miss.md"
fi
{
  echo "Roxy (single process, co-hosted silo, Release, log level ${Logging__LogLevel__Default}, $keys keys, cache off) vs the fake upstream direct, loopback."
  echo
  cat "$work/table.md"
  if [ -s "$work/table-anthropic.md" ]; then
    echo
    echo "Anthropic inbound (\`/v1/messages\`, model \`$anthropic_model\`), Roxy passing through to the fake Anthropic upstream:"
    echo
    cat "$work/table-anthropic.md"
  fi
  if [ -s "$work/table-cache-hit.md" ]; then
    echo
    echo "Prompt cache hits (tenant with the cache on, the same prompt every request; after the first, every answer is a replay from the silo's memory, streamed or not):"
    echo
    cat "$work/table-cache-hit.md"
    echo
    echo "Prompt cache misses (every prompt new: a lookup, one indexed PostgreSQL read, the upstream call, the answer recorded and stored in the background):"
    echo
    cat "$work/table-cache-miss.md"
  fi
} >"$out"
echo
cat "$out"
say "wrote bench/results/latest.md"
# (g) cleanup runs from the EXIT trap.
