#!/usr/bin/env bash
# Sweeps every scenario over a seed range with the correct build (no planted bug) and prints one
# summary line per scenario; exits non-zero if any seed failed or was inconclusive. The system
# under test is $SUT (default raftsim); scenarios that do not run on it are skipped and named.
#   scripts/sweep-all.sh [SEEDS] [PREFIX]     e.g.  scripts/sweep-all.sh 1-200   scripts/sweep-all.sh 1-1000 raft/
#   SUT=etcd scripts/sweep-all.sh 1-1000 kv/
# PARALLEL sets -parallel (default 2); SIMRUN_FLAGS adds flags, e.g. SIMRUN_FLAGS="-check-timeout 60s".
set -euo pipefail
seeds=${1:-1-200}
prefix=${2:-}
sut=${SUT:-raftsim}
cd "$(dirname "$0")/.."
bin=/tmp/raftsim-simrun-$$
go build -o "$bin" ./cmd/simrun
trap 'rm -f "$bin"' EXIT
status=0
# -list: "  NAME  SUTS  DESCRIPTION" rows between the SCENARIOS and PLANTED BUGS headers.
while read -r sc suts; do
  case "$sc" in "$prefix"*) ;; *) continue ;; esac
  if [ "$suts" != all ] && ! printf '%s\n' "${suts//,/ }" | tr ' ' '\n' | grep -qx "$sut"; then
    echo "$sc: skipped, does not run on $sut (runs on $suts)"
    continue
  fi
  if ! out=$("$bin" -sut "$sut" -scenario "$sc" -seeds "$seeds" -parallel "${PARALLEL:-2}" ${SIMRUN_FLAGS:-}); then status=1; fi
  printf '%s\n' "$out"
done < <("$bin" -list | awk '/^SCENARIOS/ {on=1; next} /^PLANTED/ {on=0} on && NF {print $1, $2}')
exit $status
