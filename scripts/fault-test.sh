#!/usr/bin/env bash
# Runs the Kafka fault test (a worker killed, a worker added, the broker
# restarted while events are published; the report must equal `refmon run`)
# RUNS times in a row, each on a fresh broker and a new simulated stream, and
# stops at the first failure. A fault that shows one run in two needs many.
#
#   scripts/fault-test.sh [RUNS]        default 5
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
case "$runs" in ''|*[!0-9]*) echo "fault-test.sh: RUNS must be a number" >&2; exit 2 ;; esac
python="${PYTHON:-.venv/bin/python}"
for n in $(seq 1 "$runs"); do
  started=$(date +%s)
  if REFMON_FAULT_SEED=$((20 + n)) "$python" -m pytest -q -p no:cacheprovider tests/kafka/test_faults.py >/tmp/refmon-fault-$n.log 2>&1; then
    echo "run $n of $runs: passed in $(( $(date +%s) - started )) s (seed $((20 + n)))"
  else
    echo "run $n of $runs: FAILED (seed $((20 + n))); see /tmp/refmon-fault-$n.log" >&2
    tail -n 40 "/tmp/refmon-fault-$n.log" >&2
    exit 1
  fi
done
