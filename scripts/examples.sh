#!/usr/bin/env bash
# Generates the example warehouses (examples/shop, examples/telco) into
#   ${QUARRY_DATA_DIR:-.quarry}/examples/<name>/warehouse
# (<name>/ is a data directory of its own: quarry --data-dir .quarry/examples/<name>)
# with the Python in the data directory's venv (made by `make setup`).
# Idempotent: a domain is skipped when its manifest.json exists and the sha256
# of its generate.py matches the stamp written beside the warehouse
# (<name>/generate.sha256). Usage: scripts/examples.sh [name ...] (default: all).
# SEED (default 42) picks the seed; a different seed regenerates.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${QUARRY_DATA_DIR:-.quarry}"
py="$data/venv/bin/python"
seed="${SEED:-42}"

if [ ! -x "$py" ]; then
  echo "examples: $py is missing; run make setup first" >&2
  exit 1
fi
if ! "$py" -c 'import duckdb' 2>/dev/null; then
  echo "examples: duckdb is not installed in $data/venv; run make setup first" >&2
  exit 1
fi

if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=(shop telco)
fi

for name in "${names[@]}"; do
  gen="examples/$name/generate.py"
  if [ ! -f "$gen" ]; then
    echo "examples: no generator at $gen (known: shop, telco)" >&2
    exit 1
  fi
  dest="$data/examples/$name"
  wh="$dest/warehouse"
  stamp="$dest/generate.sha256"
  want="$(sha256sum "$gen" | cut -d' ' -f1) seed=$seed"
  # The example's data directory shares the embedding assets that setup
  # fetched, so `quarry --data-dir $dest index` works there.
  mkdir -p "$dest"
  for asset in models onnxruntime; do
    if [ -e "$data/$asset" ] && [ ! -e "$dest/$asset" ]; then
      ln -sfn "$(cd "$data" && pwd)/$asset" "$dest/$asset"
    fi
  done
  if [ -f "$wh/manifest.json" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "examples: $name is up to date in $wh (generate.py unchanged); skipping"
    continue
  fi
  echo "examples: generating $name into $wh (seed $seed)"
  rm -rf "$wh" "$stamp"
  mkdir -p "$dest"
  if ! "$py" "$gen" --out "$wh" --seed "$seed"; then
    echo "examples: generating $name failed; see the error above" >&2
    rm -rf "$wh"
    exit 1
  fi
  printf '%s\n' "$want" >"$stamp"
done
