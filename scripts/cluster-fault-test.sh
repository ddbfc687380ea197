#!/usr/bin/env bash
# Runs the cluster fault test (tests/kafka/test_cluster_faults.py: three KRaft
# nodes, two workers; while events and outlier actions are published the leader
# of the busiest input partition is killed, a broker paused past its session
# timeout, the active controller killed, a worker killed mid-batch and one
# restarted from its old state folder; the report and open findings, overdue
# outliers among them, must equal `refmon run`) RUNS times in a row, each on a
# fresh cluster and a new simulated stream (seeds S, S+1, ...), and stops at the
# first failure. Prints each run's events, messages read, repeated outputs,
# phase and recovery times, then one summary line over all runs.
#
#   scripts/cluster-fault-test.sh [--first-seed S] [RUNS]   default: S 31, RUNS 10
#
# A second batch on new streams: --first-seed 41 (the first batch took 31..40).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
bad() { echo "cluster-fault-test.sh: $1" >&2; echo "usage: cluster-fault-test.sh [--first-seed S] [RUNS]" >&2; exit 2; }
number() { case "$1" in ''|*[!0-9]*) return 1 ;; esac; }
runs=""
first=31
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --first-seed)
      [ $# -ge 2 ] || bad "--first-seed needs a number"
      number "$2" || bad "--first-seed must be a number, not '$2'"
      first="$2"; shift 2 ;;
    --first-seed=*)
      number "${1#*=}" || bad "--first-seed must be a number, not '${1#*=}'"
      first="${1#*=}"; shift ;;
    -*) bad "unknown option $1" ;;
    *)
      [ -z "$runs" ] || bad "one RUNS only"
      number "$1" || bad "RUNS must be a number, not '$1'"
      runs="$1"; shift ;;
  esac
done
runs="${runs:-10}"
python="${PYTHON:-.venv/bin/python}"
logs="$(mktemp -d "${TMPDIR:-/tmp}/refmon-cluster-faults.XXXXXX")"
summary() {
  # Over the runs that passed: each left its figures; a failed run left none.
  "$python" - "$logs" "$runs" <<'PY'
import json, sys
from pathlib import Path
figures = [json.loads(p.read_text()) for p in sorted(Path(sys.argv[1]).glob("figures-*.json"))]
repeats = sum(sum(f["repeats"].values()) for f in figures)
print(
    f"summary: {len(figures)} of {sys.argv[2]} runs passed, {sum(f['events'] for f in figures)} events,"
    f" {sum(f['outputs'] for f in figures)} messages read, {repeats} repeats"
)
PY
}
for n in $(seq 1 "$runs"); do
  started=$(date +%s)
  seed=$((first + n - 1))
  if REFMON_FAULT_SEED=$seed REFMON_CLUSTER_FIGURES="$logs/figures-$n.json" \
    "$python" -m pytest -q -p no:cacheprovider tests/kafka/test_cluster_faults.py >"$logs/run-$n.log" 2>&1; then
    echo "run $n of $runs: passed in $(( $(date +%s) - started )) s (seed $seed): $(cat "$logs/figures-$n.json")"
  else
    echo "run $n of $runs: FAILED (seed $seed); see $logs/run-$n.log" >&2
    tail -n 40 "$logs/run-$n.log" >&2
    rm -f "$logs/figures-$n.json" # written before the checks: this run did not pass
    summary
    exit 1
  fi
done
summary
