#!/usr/bin/env bash
# Measures how fast timeline pages open: sweeps 1000 seeds of the default scenario with a
# planted bug, writes the artifacts of every failing run, then loads each failing run's
# timeline.html in headless Chromium, the ten slowest three more times, and reports the median
# load of the slowest page (BenchmarkTimelineLoad, max-load-ms; first-pass-max-ms is the slowest
# single load). Needs chromium on PATH (apt-get install -y chromium).
#
#   scripts/timeline-load.sh [BUG] [SEEDS]     (defaults: no-dedup 1-1000)
set -euo pipefail
cd "$(dirname "$0")/.."
bug=${1:-no-dedup}
seeds=${2:-1-1000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go run ./cmd/simrun -bug "$bug" -seeds "$seeds" -parallel 2 -out "$out" | grep -E '^[0-9]+ seeds' || true
go test ./internal/simrun -run '^$' -bench BenchmarkTimelineLoad -benchtime 5x -timeout 60m -args -timeline.dir "$out"
