#!/usr/bin/env bash
# Load benchmark of POST /api/chat in JSON mode: 64 connections for 60 s with
# answers from the semantic cache, then 60 s with every answer worked out
# afresh. Prints throughput, p50, p99, errors and the server's peak memory.
# Usage: eval/load/run.sh QUARRY_BIN   (SECONDS=60 CONNECTIONS=64 by default)
# Needs the demo warehouse and index (make run or make demo makes them).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:?usage: eval/load/run.sh path/to/quarry}"
seconds="${SECONDS_PER_PHASE:-60}"
connections="${CONNECTIONS:-64}"
data="${QUARRY_DATA_DIR:-.quarry}"
mods="$data/load"

if ! command -v node >/dev/null; then
  echo "eval/load/run.sh needs Node.js 20 or later (apt-get install nodejs npm)" >&2
  exit 1
fi
mkdir -p "$mods"
if ! cmp -s eval/load/package-lock.json "$mods/package-lock.json"; then
  cp eval/load/package.json eval/load/package-lock.json "$mods/"
  (cd "$mods" && npm ci --no-audit --no-fund --loglevel=error)
fi
# ES modules resolve packages next to the script, not through NODE_PATH.
cp eval/load/load.mjs "$mods/"

# A scratch data directory sharing the warehouse, models and downloads, so
# the thousands of conversations the run makes stay out of the real one.
scratch="$data/load/data"
rm -rf "$scratch"
mkdir -p "$scratch"
for d in warehouse registry features models onnxruntime web; do
  if [ -e "$data/$d" ]; then ln -s "$(cd "$data/$d" && pwd)" "$scratch/$d"; fi
done
# Indexed beforehand, as `make run` does.
QUARRY_DATA_DIR="$scratch" "$bin" index >/dev/null
log="$data/load/server.log"
# The per-client rate limit would turn most of the load into 429s: off here.
QUARRY_DATA_DIR="$scratch" QUARRY__SERVER__RATE_LIMIT_PER_MINUTE=0 QUARRY__SERVER__REQUEST_TIMEOUT_SECS=300 \
  "$bin" serve --port 0 > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$scratch"' EXIT
url=""
for _ in $(seq 1 600); do
  url=$(grep -oE 'http://[^ ]+/' "$log" | head -1 || true)
  if [ -n "$url" ] && curl -fs "${url}readyz" >/dev/null; then break; fi
  if ! kill -0 $pid 2>/dev/null; then cat "$log" >&2; exit 1; fi
  sleep 0.5
done
curl -fs "${url}readyz" >/dev/null || { echo "the server did not get ready" >&2; cat "$log" >&2; exit 1; }
# Steady state: the server scores the model views once after it gets ready.
for _ in $(seq 1 360); do
  if curl -fs "${url}readyz" | grep -q '"scores_held":true'; then break; fi
  sleep 0.5
done
echo "server $url (pid $pid), $connections connections, $seconds s per phase"

peak() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
echo "ready: RSS $(rss) MiB"

# Fill the cache once, as a day of use would.
node "$mods/load.mjs" "$url" cached 5 1 >/dev/null
for mode in cached uncached; do
  node "$mods/load.mjs" "$url" "$mode" "$seconds" "$connections" \
    | tee "$data/load/$mode.json"
  echo "  peak RSS so far $(peak) MiB"
done
