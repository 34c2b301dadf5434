#!/usr/bin/env bash
# Sweeps every scenario over a seed range with the correct build (no planted bug) and prints one
# summary line per scenario; exits non-zero if any seed failed or was inconclusive.
#   scripts/sweep-all.sh [SEEDS] [PREFIX]     e.g.  scripts/sweep-all.sh 1-200   scripts/sweep-all.sh 1-1000 raft/
set -euo pipefail
seeds=${1:-1-200}
prefix=${2:-}
cd "$(dirname "$0")/.."
go build -o /tmp/raftsim-simrun ./cmd/simrun
status=0
for sc in $(/tmp/raftsim-simrun -list | awk '/^SCENARIOS/ {on=1; next} /^PLANTED/ {on=0} on && NF {print $1}'); do
  case "$sc" in "$prefix"*) ;; *) continue ;; esac
  if ! out=$(/tmp/raftsim-simrun -scenario "$sc" -seeds "$seeds"); then status=1; fi
  printf '%s\n' "$out"
done
exit $status
