#!/usr/bin/env bash
# Checks issue 6's acceptance end to end through simrun, for each planted bug:
#   1. `simrun -bug B -seeds 1-1000` finds a failure (the first failing seed is used);
#   2. `simrun -bug B -seed N -shrink` writes a schedule with at most 6 fault events;
#   3. replaying it with `simrun -schedule FILE` fails the same check;
#   4. a second shrink writes a byte-identical file.
# Prints a markdown table (bug, seed, check, faults and operations before and after, shrink wall
# time) and exits non-zero if any bug misses any of the four.
#   scripts/shrink-acceptance.sh [BUG...]          (default: every planted bug)
#   UPDATE_CORPUS=1 scripts/shrink-acceptance.sh   also copies each shrunk schedule that replays to
#                                                  scenarios/testdata/planted/<bug>--<check>.json
set -euo pipefail
cd "$(dirname "$0")/.."
maxFaults=6
bin=$(mktemp -d)/simrun
work=$(mktemp -d)
trap 'rm -rf "$work" "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/simrun
bugs=("$@")
if [ ${#bugs[@]} -eq 0 ]; then
  mapfile -t bugs < <("$bin" -list | awk '/^PLANTED/ {on=1; next} on && NF {print $1}')
fi
field() { grep -o "\"$1\":\"\?[^,\"}]*" | head -1 | sed 's/.*:"\?//'; }
status=0
echo "| bug | seed | check | fault events | operations | shrink wall | replay | identical |"
echo "|---|---|---|---|---|---|---|---|"
for bug in "${bugs[@]}"; do
  # Records arrive as runs finish; sorting on the seed (the first field) finds the first one.
  first=$("$bin" -bug "$bug" -seeds 1-1000 -parallel 2 -json | grep '"verdict":"fail"' | sort -t: -k2 -n | head -1 || true)
  if [ -z "$first" ]; then
    echo "| $bug | not found in 1-1000 | | | | | | |"; status=1; continue
  fi
  seed=$(field seed <<<"$first"); check=$(field check <<<"$first")
  for i in 1 2; do
    mkdir -p "$work/$bug-$i"
    "$bin" -bug "$bug" -seed "$seed" -shrink -out "$work/$bug-$i" >"$work/$bug-$i.log" || true
  done
  file=$(ls "$work/$bug-1"/*.json)
  faults=$(sed -n 's/^  fault events //p' "$work/$bug-1.log")
  ops=$(sed -n 's/^  operations *//p' "$work/$bug-1.log")
  wall=$(sed -n 's/^shrunk .* in \([^,]*\),.*/\1/p' "$work/$bug-1.log")
  replay=$("$bin" -schedule "$file" -json || true)
  replayCheck=$(field check <<<"$replay")
  identical=no
  cmp -s "$file" "$(ls "$work/$bug-2"/*.json)" && identical=yes
  after=${faults##*-> }
  ok=yes
  if [ "$replayCheck" != "$check" ] || [ "$identical" != yes ] || [ "${after:-99}" -gt $maxFaults ]; then ok=no; status=1; fi
  echo "| $bug | $seed | $check | $faults | $ops | $wall | $replayCheck | $identical |"
  if [ "${UPDATE_CORPUS:-}" = 1 ] && [ "$replayCheck" = "$check" ]; then
    cp "$file" "scenarios/testdata/planted/$bug--$check.json"
  fi
done
exit $status
