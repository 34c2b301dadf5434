#!/usr/bin/env bash
# Runs checker's BenchmarkPublished, which times on each of Porcupine's 108 published histories,
# side by side in one run, bare Porcupine (CheckOperations with the same KV model and the same
# operations) and raftsim's verdict (checker.Check with the explanation off); then
# BenchmarkPublishedExplained, raftsim's whole check (default explanation budget). Each reports
# wall time and the process's CPU time per check. Prints a markdown summary for BENCHMARKS.md:
# how many verdicts came within 2x of Porcupine's time (CPU and wall), the median and worst
# ratios, and the histories over 2x with their times.
#   scripts/checker-vs-porcupine.sh     (per history: BENCHTIME=1s of iterations, EXPLAIN_BENCHTIME=3x)
set -euo pipefail
cd "$(dirname "$0")/.."
raw=$(mktemp)
trap 'rm -f "$raw" "$raw.rows"' EXIT
go test ./checker -run '^$' -bench '^BenchmarkPublished$' -benchtime "${BENCHTIME:-1s}" -timeout 60m >"$raw"
go test ./checker -run '^$' -bench '^BenchmarkPublishedExplained$' -benchtime "${EXPLAIN_BENCHTIME:-3x}" -timeout 60m |
  sed 's|^BenchmarkPublishedExplained/\([^ ]*\)-[0-9]* |BenchmarkPublished/\1/explained |' >>"$raw"
# One line per history: name, wall ns of porcupine, verdict, whole check; CPU ns of the same;
# CPU ratio and wall ratio of verdict to porcupine. Sorted by CPU ratio.
awk '$1 ~ /^BenchmarkPublished\// && $4 == "ns/op" {
  split($1, part, "/"); sub(/-[0-9]+$/, "", part[3])
  wall[part[2], part[3]] = $3; cpu[part[2], part[3]] = $5; names[part[2]] = 1
}
END {
  for (h in names) printf "%s %.0f %.0f %.0f %.0f %.0f %.0f %.3f %.3f\n", h,
    wall[h, "porcupine"], wall[h, "verdict"], wall[h, "explained"],
    cpu[h, "porcupine"], cpu[h, "verdict"], cpu[h, "explained"],
    cpu[h, "verdict"] / cpu[h, "porcupine"], wall[h, "verdict"] / wall[h, "porcupine"]
}' "$raw" | sort -k8,8n >"$raw.rows"
wallMedian=$(sort -k9,9n "$raw.rows" | awk '{ w[NR] = $9 } END { print w[int((NR + 1) / 2)] }')
awk -v wallMedian="$wallMedian" '
function ms(ns) { return sprintf("%.3f", ns / 1e6) }
{ name[NR] = $1; pw[NR] = $2; vw[NR] = $3; ew[NR] = $4; pc[NR] = $5; vc[NR] = $6; ec[NR] = $7; rc[NR] = $8; rw[NR] = $9
  tpc += $5; tvc += $6; tec += $7; tpw += $2; tvw += $3; tew += $4
  if ($8 <= 2) withinCPU++
  if ($9 <= 2) withinWall++
  if ($4 > emax) { emax = $4; eworst = $1 } }
END {
  printf "| histories | verdict within 2x of Porcupine: CPU, wall | median ratio: CPU, wall | worst CPU ratio | total CPU ms: Porcupine, verdict, whole check | total wall ms: the same | slowest whole check (wall) |\n"
  printf "|---|---|---|---|---|---|---|\n"
  printf "| %d | %d, %d | %.2fx, %.2fx | %.2fx (%s) | %s, %s, %s | %s, %s, %s | %s ms (%s) |\n\n", NR, withinCPU, withinWall, rc[int((NR + 1) / 2)], wallMedian, rc[NR], name[NR], ms(tpc), ms(tvc), ms(tec), ms(tpw), ms(tvw), ms(tew), ms(emax), eworst
  printf "| over 2x in CPU time | Porcupine CPU ms | verdict CPU ms | Porcupine wall ms | verdict wall ms | whole check wall ms |\n|---|---|---|---|---|---|\n"
  for (i = 1; i <= NR; i++) if (rc[i] > 2) printf "| %s | %s | %s (%.2fx) | %s | %s | %s |\n", name[i], ms(pc[i]), ms(vc[i]), rc[i], ms(pw[i]), ms(vw[i]), ms(ew[i])
  printf "\n| largest histories | Porcupine CPU ms | verdict CPU ms | Porcupine wall ms | verdict wall ms | whole check wall ms |\n|---|---|---|---|---|---|\n"
  for (i = 1; i <= NR; i++) if (name[i] ~ /^c(10|50)-/ || pc[i] > 50e6) printf "| %s | %s | %s (%.2fx) | %s | %s | %s |\n", name[i], ms(pc[i]), ms(vc[i]), rc[i], ms(pw[i]), ms(vw[i]), ms(ew[i])
}' "$raw.rows"
