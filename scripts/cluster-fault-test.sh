#!/usr/bin/env bash
# Runs the cluster fault test (tests/kafka/test_cluster_faults.py: three KRaft
# nodes, two workers; while events are published the leader of the busiest input
# partition is killed, a broker paused past its session timeout, the active
# controller killed, a worker killed mid-batch and one restarted from its old
# state folder; the report and open findings must equal `refmon run`) RUNS times
# in a row, each on a fresh cluster and a new simulated stream, and stops at the
# first failure. Prints each run's events, repeated outputs and recovery times.
#
#   scripts/cluster-fault-test.sh [RUNS]        default 10
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
case "$runs" in ''|*[!0-9]*) echo "cluster-fault-test.sh: RUNS must be a number" >&2; exit 2 ;; esac
python="${PYTHON:-.venv/bin/python}"
logs="$(mktemp -d "${TMPDIR:-/tmp}/refmon-cluster-faults.XXXXXX")"
for n in $(seq 1 "$runs"); do
  started=$(date +%s)
  seed=$((30 + n))
  if REFMON_FAULT_SEED=$seed REFMON_CLUSTER_FIGURES="$logs/figures-$n.json" \
    "$python" -m pytest -q -p no:cacheprovider tests/kafka/test_cluster_faults.py >"$logs/run-$n.log" 2>&1; then
    echo "run $n of $runs: passed in $(( $(date +%s) - started )) s (seed $seed): $(cat "$logs/figures-$n.json")"
  else
    echo "run $n of $runs: FAILED (seed $seed); see $logs/run-$n.log" >&2
    tail -n 40 "$logs/run-$n.log" >&2
    exit 1
  fi
done
