#!/usr/bin/env bash
# The compose stack's topology without containers, on one machine, on loopback:
# the local Kafka, topic creation, two refmon workers, Prometheus with the
# repository's rules and Alertmanager with the generated routing.
#
#   stack.sh up [--dir DIR] [--base-port N] [--demo]   start everything and wait until ready
#   stack.sh down [--dir DIR]                          stop everything
#   stack.sh status [--dir DIR]                        list what runs, exit 1 if anything is down
#
# Ports, from the base port N (default 19000): Kafka N (and N+1, its controller),
# workers' metrics N+10 and N+11, Prometheus N+20, Alertmanager N+30.
# --demo drops the alerts' `for` delays and evaluates every 5 s, so alerts show
# within seconds of the data (demos and the CI smoke test); without it, the
# committed rules run as they are. Settings may also come from the environment:
# REFMON (the refmon command), REFMON_CLOCK (wall or event; default wall),
# REFMON_TOPIC_PREFIX (default refmon), REFMON_PARTITIONS (default 6),
# ALERTMANAGER_CONFIG (default deploy/alertmanager/alertmanager.yml).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command="${1:-}"
if [ $# -gt 0 ]; then shift; fi
dir="${TMPDIR:-/tmp}/refmon-stack"
base=19000
demo=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --base-port) base="$2"; shift 2 ;;
    --demo) demo=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "stack.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

refmon="${REFMON:-}"
if [ -z "$refmon" ]; then
  if [ -x "$root/.venv/bin/refmon" ]; then refmon="$root/.venv/bin/refmon"; else refmon="refmon"; fi
fi
clock="${REFMON_CLOCK:-wall}"
prefix="${REFMON_TOPIC_PREFIX:-refmon}"
partitions="${REFMON_PARTITIONS:-6}"
am_config="${ALERTMANAGER_CONFIG:-$root/deploy/alertmanager/alertmanager.yml}"
kafka_port=$base
prometheus_port=$((base + 20))
alertmanager_port=$((base + 30))

find_binary() {
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null; then command -v "$name"; return; fi
  done
  echo "stack.sh: $1 not found (Debian: apt-get install prometheus prometheus-alertmanager)" >&2
  exit 1
}

start() {  # name, command...: run in the background, log and pid in $dir
  local name="$1"; shift
  "$@" >"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
}

alive() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

wait_http() {  # name, url
  local tries=120
  until python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$2" 2>/dev/null; do
    if ! alive "$1"; then echo "stack.sh: $1 exited; see $dir/$1.log" >&2; tail -n 20 "$dir/$1.log" >&2; exit 1; fi
    tries=$((tries - 1))
    if [ "$tries" -le 0 ]; then echo "stack.sh: $1 not ready at $2" >&2; exit 1; fi
    sleep 1
  done
}

rules() {  # the repository's rules, or with --demo their quick variant
  mkdir -p "$dir/rules"
  local file
  for file in rules.yml alerts.yml; do
    if [ "$demo" = 1 ]; then
      sed -E -e '/^[[:space:]]+for: /d' -e 's/^([[:space:]]+interval: ).*/\15s/' \
        "$root/deploy/prometheus/$file" >"$dir/rules/$file"
    else
      cp "$root/deploy/prometheus/$file" "$dir/rules/$file"
    fi
  done
}

up() {
  mkdir -p "$dir"
  bootstrap="$(bash "$root/deploy/kafka-local/kafka.sh" start --port "$kafka_port" --dir "$dir/kafka" | head -n 1)"
  "$refmon" topics create --bootstrap-server "$bootstrap" --topic-prefix "$prefix" \
    --partitions "$partitions" >"$dir/topics.log" 2>&1
  local n
  for n in 1 2; do
    if alive "worker-$n"; then continue; fi
    start "worker-$n" "$refmon" worker --bootstrap-server "$bootstrap" --topic-prefix "$prefix" \
      --partitions "$partitions" --clock "$clock" --data-dir "$dir/worker-$n" \
      --metrics-port $((base + 9 + n))
  done
  rules
  local interval=15s
  if [ "$demo" = 1 ]; then interval=5s; fi
  cat >"$dir/prometheus.yml" <<YAML
global:
  scrape_interval: $interval
  evaluation_interval: $interval
rule_files: ["$dir/rules/rules.yml", "$dir/rules/alerts.yml"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$alertmanager_port"]}]
scrape_configs:
  - job_name: refmon
    static_configs: [{targets: ["127.0.0.1:$((base + 10))", "127.0.0.1:$((base + 11))"]}]
YAML
  alive alertmanager || start alertmanager "$(find_binary alertmanager prometheus-alertmanager)" \
    --config.file="$am_config" --storage.path="$dir/alertmanager-data" \
    --web.listen-address="127.0.0.1:$alertmanager_port" --cluster.listen-address=
  alive prometheus || start prometheus "$(find_binary prometheus)" \
    --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus-data" \
    --web.listen-address="127.0.0.1:$prometheus_port"
  wait_http worker-1 "http://127.0.0.1:$((base + 10))/metrics"
  wait_http worker-2 "http://127.0.0.1:$((base + 11))/metrics"
  wait_http alertmanager "http://127.0.0.1:$alertmanager_port/-/ready"
  wait_http prometheus "http://127.0.0.1:$prometheus_port/-/ready"
  cat <<TEXT
kafka         $bootstrap
workers       http://127.0.0.1:$((base + 10))/metrics http://127.0.0.1:$((base + 11))/metrics
prometheus    http://127.0.0.1:$prometheus_port
alertmanager  http://127.0.0.1:$alertmanager_port
logs          $dir/*.log
TEXT
}

down() {
  local name pid
  for name in prometheus alertmanager worker-2 worker-1; do
    if alive "$name"; then
      pid="$(cat "$dir/$name.pid")"
      kill "$pid"
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$name.pid"
  done
  bash "$root/deploy/kafka-local/kafka.sh" stop --dir "$dir/kafka" || true
}

status() {
  local name failed=0
  for name in worker-1 worker-2 prometheus alertmanager; do
    if alive "$name"; then echo "$name running"; else echo "$name down"; failed=1; fi
  done
  if bash "$root/deploy/kafka-local/kafka.sh" status --dir "$dir/kafka" >/dev/null 2>&1; then
    echo "kafka running"
  else
    echo "kafka down"; failed=1
  fi
  return "$failed"
}

case "$command" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: stack.sh up|down|status [--dir DIR] [--base-port N] [--demo]" >&2; exit 2 ;;
esac
