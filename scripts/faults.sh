#!/usr/bin/env bash
# The fault drill (issue 13): a cluster from scripts/cluster.sh (private PostgreSQL, two silos, two frontends, free
# ports, a temp directory) in front of an in-process fake upstream that enforces and counts per-key limits; steady
# traffic through both frontends; faults one at a time; a table per fault (README, "Failure behaviour").
#   scripts/faults.sh           all five faults, PostgreSQL stopped 30 s (about 5 minutes)
#   scripts/faults.sh --short   CI's version: one silo kill and a 10 s PostgreSQL stop (about 2 minutes)
# Builds Release once, then runs the built dlls. Exit 0: every criterion holds; 1: one failed (printed); 2: the drill
# itself could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  ""|--short) ;;
  *) echo "usage: scripts/faults.sh [--short]" >&2; exit 2 ;;
esac
for project in Roxy.Silo Roxy.Api Roxy.Faults; do
  dotnet build "$project" -c Release -nologo -v quiet -clp:NoSummary
done
exec dotnet Roxy.Faults/bin/Release/net10.0/Roxy.Faults.dll "$@"
