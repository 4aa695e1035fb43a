#!/usr/bin/env bash
# Benchmarks behind the README's figures: generating the scale-1 demo
# warehouse, then compiling and running every metric of the catalogue on it.
# Usage: eval/bench.sh QUARRY_BIN  (SCALE=1 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: eval/bench.sh path/to/quarry}"
scale="${SCALE:-1}"
data="${QUARRY_DATA_DIR:-.quarry}"
out="$data/bench/warehouse-$scale"
mkdir -p "$data/bench"
rm -rf "$out"
echo "== generate scale $scale"
/usr/bin/time -v "$bin" demo generate --scale "$scale" --seed 42 --out "$out" 2> "$data/bench/generate.time"
grep -E "Elapsed|Maximum resident" "$data/bench/generate.time"
du -sh "$out"
echo "== every metric of the catalogue, by network, last 30 days"
"$bin" --warehouse "$out" bench --repeat 5 --json "$data/bench/catalogue-$scale.json"
