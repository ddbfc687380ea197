#!/usr/bin/env bash
# Regenerates docs/bulletin.png, the README's picture of the national bulletin:
# the README's demo year, judged by `refmon run`, written by `refmon bulletin`,
# and photographed by Debian's headless chromium (scripts/install-test-deps.sh).
# Usage: scripts/bulletin-screenshot.sh [VENV] (default .venv, with the report extra).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$venv/bin/refmon" simulate --days 365 --under-refer DUR,LINCS --late NBR:0.4 \
  --under-categorise SUS:0.6 --deteriorate HERTS:2025-10-01:0.3 --over-refer NOTTS:0.1 --oversight -q \
  --output "$work/events.jsonl"
# A bulletin is cut at a month end (docs/disclosure.md): the month end after the year.
"$venv/bin/refmon" run --input "$work/events.jsonl" --as-of 2026-01-01T00:00:00Z \
  --report "$work/report.json" -q
"$venv/bin/refmon" bulletin --report "$work/report.json" --output "$work/bulletin" -q
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --disable-quic --hide-scrollbars \
  --user-data-dir="$work/profile" --window-size=1280,1500 \
  --screenshot="$work/bulletin.png" "file://$work/bulletin/index.html" >/dev/null 2>&1
mkdir -p docs
cp "$work/bulletin.png" docs/bulletin.png
echo "docs/bulletin.png: $(wc -c <docs/bulletin.png) bytes" >&2
