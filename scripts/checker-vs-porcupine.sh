#!/usr/bin/env bash
# Runs checker's BenchmarkPublished, which times on each of Porcupine's 108 published histories,
# side by side in one run, bare Porcupine (CheckOperations with the same KV model and the same
# operations) and raftsim's verdict (checker.Check with the explanation off); then
# BenchmarkPublishedExplained, raftsim's whole check (default explanation budget). Prints a
# markdown summary for BENCHMARKS.md: how many verdicts came within 2x of Porcupine's time, the
# median and worst ratios, and the histories over 2x with their times.
#   scripts/checker-vs-porcupine.sh     (iterations per history: BENCHTIME=20x, EXPLAIN_BENCHTIME=3x)
set -euo pipefail
cd "$(dirname "$0")/.."
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
go test ./checker -run '^$' -bench '^BenchmarkPublished$' -benchtime "${BENCHTIME:-20x}" -timeout 60m >"$raw"
go test ./checker -run '^$' -bench '^BenchmarkPublishedExplained$' -benchtime "${EXPLAIN_BENCHTIME:-3x}" -timeout 60m |
  sed 's|^BenchmarkPublishedExplained/\([^ ]*\)-[0-9]* |BenchmarkPublished/\1/explained |' >>"$raw"
# One line per history: name porcupine_ns verdict_ns explained_ns ratio, sorted by ratio.
awk '$1 ~ /^BenchmarkPublished\// {
  split($1, part, "/"); sub(/-[0-9]+$/, "", part[3])
  ns[part[2], part[3]] = $3; names[part[2]] = 1
}
END {
  for (h in names) printf "%s %d %d %d %.3f\n", h, ns[h, "porcupine"], ns[h, "verdict"], ns[h, "explained"], ns[h, "verdict"] / ns[h, "porcupine"]
}' "$raw" | sort -k5,5n >"$raw.rows"
awk '
function ms(ns) { return sprintf("%.3f ms", ns / 1e6) }
{ name[NR] = $1; p[NR] = $2; v[NR] = $3; e[NR] = $4; r[NR] = $5; tp += $2; tv += $3; te += $4
  if ($5 <= 2) within++
  if ($4 > emax) { emax = $4; eworst = $1 } }
END {
  printf "| histories | verdict within 2x of Porcupine | median ratio | worst ratio | total: Porcupine, verdict, whole check | slowest whole check |\n"
  printf "|---|---|---|---|---|---|\n"
  printf "| %d | %d | %.2fx | %.2fx (%s) | %s, %s, %s | %s (%s) |\n\n", NR, within, r[int((NR + 1) / 2)], r[NR], name[NR], ms(tp), ms(tv), ms(te), ms(emax), eworst
  if (within < NR) {
    printf "| over 2x | Porcupine | verdict | whole check |\n|---|---|---|---|\n"
    for (i = 1; i <= NR; i++) if (r[i] > 2) printf "| %s | %s | %s (%.2fx) | %s |\n", name[i], ms(p[i]), ms(v[i]), r[i], ms(e[i])
  }
}' "$raw.rows"
rm -f "$raw.rows"
