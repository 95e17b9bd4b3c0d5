#!/usr/bin/env bash
# Runs every test. The tests start their own private PostgreSQL (as the 'postgres' user when root),
# fake upstreams on loopback and Orleans test clusters; nothing reaches the internet.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet test Roxy.Tests/Roxy.Tests.csproj -c Release --logger "console;verbosity=normal" "$@"
