#!/usr/bin/env bash
# Cross-checks every metric of the demo catalogue against DuckDB: the same
# Parquet files, hand-written SQL, another engine. Usage: run.sh QUARRY_BIN
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:?usage: run.sh path/to/quarry}"
data="${QUARRY_DATA_DIR:-.quarry}"
py="$data/venv/bin/python"
if [ ! -x "$py" ]; then
  echo "crosscheck: $py is missing; run scripts/setup.sh (make setup) first" >&2
  exit 1
fi
exec "$py" eval/crosscheck/crosscheck.py --quarry "$bin" --dir "$data/crosscheck"
