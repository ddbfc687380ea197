#!/usr/bin/env bash
# Apache Kafka (KRaft, broker and controller in one process) on loopback, for
# development, tests and CI: one node, or a cluster of combined nodes on one
# machine. The broker comes from Maven Central; nothing else is needed but
# Java 17 and Maven.
#
#   kafka.sh start [--port N] [--dir DIR] [--sasl] [--cluster K]
#                                          start and wait until every node is ready
#   kafka.sh stop [--dir DIR]              stop the node(s) this DIR started
#   kafka.sh status [--dir DIR]            exit 0 if every node is running
#   kafka.sh node kill|stop|pause|resume|start|pid ID [--dir DIR]
#                                          one node: kill -9, SIGTERM and wait, SIGSTOP,
#                                          SIGCONT, start again (and wait), print its pid
#   kafka.sh controller [--dir DIR] [--wait S]  print the node id of the active controller,
#                                          waiting up to S seconds (60) for an election
#   kafka.sh classpath                     print the Java class path of Kafka's own tools
#
# start prints the bootstrap address (PLAINTEXT) on stdout; with --sasl it also
# prints the SASL_SSL address on a second line. With --cluster K each line lists
# the K nodes' addresses, comma-separated. Settings may come from the
# environment instead: REFMON_KAFKA_PORT, REFMON_KAFKA_DIR, REFMON_KAFKA_CACHE.
# DIR (default ~/.local/state/refmon/kafka, under XDG_STATE_HOME if set) holds
# the data, logs, pid and TLS keys: it is made private (mode 0700), and one that
# is a symbolic link or belongs to another user is refused.
#
# One node uses ports N (PLAINTEXT), N+1 (controller), N+2 (SASL_SSL); node I of
# a cluster (I = 1..K, in DIR/node-I) uses N+3(I-1) .. N+3(I-1)+2. A cluster is
# formatted with one cluster id; topics and the internal offsets and transaction
# topics get replication factor min(3, K) and min.insync.replicas 2 (1 below
# three nodes), as a real cluster should (deploy/compose.yaml, the Helm values).
# The cluster's size is kept in DIR, so stop, status and node need no --cluster.
#
# --sasl adds a SASL_SSL listener (SCRAM-SHA-512, TLS with a CA made on the spot
# in DIR/tls) and turns on ACLs. Users, each with password "<name>-secret":
# admin (super user), refmon-admin, refmon-worker, watchdog, and force-<CODE>
# for every force in schemas/forces.csv. The controller listener then requires
# SASL (PLAIN, user "controller", a password made on the spot in DIR/tls): only
# the nodes themselves can change the cluster through it. The PLAINTEXT listener
# stays open on loopback for the tests' own set-up and authenticates as the
# broker's super user: for development only.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
help() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0; }
command="${1:-}"
case "$command" in -h|--help) help ;; esac
if [ $# -gt 0 ]; then shift; fi
action=""
target=""
if [ "$command" = node ]; then
  action="${1:-}"; target="${2:-}"
  if [ $# -ge 2 ]; then shift 2; else shift $#; fi
fi
port="${REFMON_KAFKA_PORT:-9092}"
# Not a fixed path under /tmp, where another local user could create it first.
dir="${REFMON_KAFKA_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/refmon/kafka}"
cache="${REFMON_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/refmon/kafka}"
sasl=0
size=0 # 0: the single-node layout, everything directly in DIR
wait_s=60 # how long `controller` waits for an election to end
while [ $# -gt 0 ]; do
  case "$1" in
    --port|--dir|--wait|--cluster)
      if [ $# -lt 2 ]; then echo "kafka.sh: $1 needs a value" >&2; exit 2; fi ;;
  esac
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --sasl) sasl=1; shift ;;
    --wait)
      wait_s="$2"; shift 2
      case "$wait_s" in ''|*[!0-9]*) echo "kafka.sh: --wait needs a number of seconds" >&2; exit 2 ;; esac
      wait_s=$((10#$wait_s)) ;; # "08" is eight, not a bad octal number
    --cluster)
      size="$2"; shift 2
      case "$size" in ''|*[!0-9]*|0) echo "kafka.sh: --cluster needs a number of nodes" >&2; exit 2 ;; esac ;;
    -h|--help) help ;;
    *) echo "kafka.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# Absolute, so that the broker's command line names it the same from any directory.
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
lib="$cache/$version/lib"

# A cluster started earlier in DIR: its size, first port and SASL setting win.
if [ "$command" != start ] && [ -f "$dir/cluster" ] && [ ! -L "$dir/cluster" ]; then
  size="$(sed -n 's/^nodes=//p' "$dir/cluster")"
  port="$(sed -n 's/^port=//p' "$dir/cluster")"
  sasl="$(sed -n 's/^sasl=//p' "$dir/cluster")"
fi

fetch() {
  if [ -f "$lib/.complete" ]; then return; fi
  echo "kafka.sh: fetching Apache Kafka $version from Maven Central into $lib" >&2
  rm -rf "$lib" && mkdir -p "$lib"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime >&2
  touch "$lib/.complete"
}

random_uuid() {
  # What `StorageTool random-uuid` prints (16 random bytes, URL-safe base64, no
  # padding, never starting with "-"), without starting a JVM for it.
  local id
  while :; do
    id="$(openssl rand 16 | base64 | tr '+/' '-_' | tr -d '=\n')"
    case "$id" in -*) ;; *) echo "$id"; return ;; esac
  done
}

java_cp() {
  # One class path for the broker and the storage tool.
  printf '%s' "$lib/*"
}

# The nodes: ids 1..size, or the single node (id 1) living in DIR itself.
ids() { if [ "$size" = 0 ]; then echo 1; else seq 1 "$size"; fi; }
node_dir() { if [ "$size" = 0 ]; then echo "$dir"; else echo "$dir/node-$1"; fi; }
node_port() { echo $((port + 3 * ($1 - 1))); }

running() {
  # The pid file alone is not enough: after the broker died its pid may have
  # been reused by any process. It must still be this directory's broker.
  local nd pid
  nd="$(node_dir "$1")"
  [ -f "$nd/kafka.pid" ] || return 1
  pid="$(cat "$nd/kafka.pid")"
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  ps -ww -o args= -p "$pid" 2>/dev/null | grep -qF -- "kafka.Kafka $nd/server.properties"
}

private_dir() {
  # Holds the TLS keys and the broker's data: ours alone, or refuse.
  local d="$1"
  if [ -L "$d" ]; then
    echo "kafka.sh: $d is a symbolic link; refusing to use it" >&2; exit 2
  fi
  (umask 077 && mkdir -p "$d")
  if [ ! -O "$d" ]; then
    echo "kafka.sh: $d belongs to another user; refusing to use it" >&2; exit 2
  fi
  chmod 700 "$d"
}

make_tls() {
  local tls="$dir/tls" pass=refmon-store
  mkdir -p "$tls"
  # The controller listener's password: the nodes' own, never a client's.
  [ -f "$tls/controller.secret" ] || openssl rand -hex 24 > "$tls/controller.secret"
  [ -f "$tls/broker.p12" ] && return
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=refmon-local-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls/broker.key" -out "$tls/broker.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$tls/san.ext"
  openssl x509 -req -in "$tls/broker.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 30 -extfile "$tls/san.ext" -out "$tls/broker.pem" 2>/dev/null
  openssl pkcs12 -export -in "$tls/broker.pem" -inkey "$tls/broker.key" \
    -name broker -passout "pass:$pass" -out "$tls/broker.p12"
}

forces() {
  tail -n +2 "$root/schemas/forces.csv" | cut -d, -f1
}

voters() {
  local id out=""
  for id in $(ids); do out="$out${out:+,}$id@127.0.0.1:$(($(node_port "$id") + 1))"; done
  echo "$out"
}

write_properties() {
  local id="$1" nd p ctrl sasl_port replicas isr ctrl_protocol=PLAINTEXT
  nd="$(node_dir "$id")"; p="$(node_port "$id")"; ctrl=$((p + 1)); sasl_port=$((p + 2))
  # Replication as a real cluster has it: three copies, two in sync before a write counts.
  replicas=1; isr=1
  if [ "$size" -gt 1 ]; then replicas=$((size < 3 ? size : 3)); fi
  if [ "$replicas" -ge 3 ]; then isr=2; fi
  if [ "$sasl" = 1 ]; then ctrl_protocol=SASL_PLAINTEXT; fi
  local listeners="PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$ctrl"
  local advertised="PLAINTEXT://127.0.0.1:$p"
  local protocols="CONTROLLER:$ctrl_protocol,PLAINTEXT:PLAINTEXT"
  if [ "$sasl" = 1 ]; then
    listeners="$listeners,SASL_SSL://127.0.0.1:$sasl_port"
    advertised="$advertised,SASL_SSL://127.0.0.1:$sasl_port"
    protocols="$protocols,SASL_SSL:SASL_SSL"
  fi
  cat > "$nd/server.properties" <<PROPS
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$(voters)
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$nd/data
num.partitions=1
default.replication.factor=$replicas
min.insync.replicas=$isr
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  if [ "$sasl" = 1 ]; then
    local secret; secret="$(cat "$dir/tls/controller.secret")"
    cat >> "$nd/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/broker.p12
ssl.keystore.password=refmon-store
ssl.key.password=refmon-store
# The controller listener takes no anonymous client: the nodes log in as "controller".
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$secret" user_controller="$secret";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# PLAINTEXT (loopback only, the tests' set-up and the nodes' own traffic) acts as
# the broker itself; "controller" is the nodes on the controller listener.
super.users=User:ANONYMOUS;User:admin;User:controller
allow.everyone.if.no.acl.found=false
PROPS
  fi
}

starts() {
  # How often the node has logged that it started, in its directory.
  local nd; nd="$(node_dir "$1")"
  if [ -f "$nd/logs/server.log" ]; then grep -c "Kafka Server started" "$nd/logs/server.log" || true
  else echo 0; fi
}

format() {
  local id="$1" nd scram=() user
  nd="$(node_dir "$id")"
  [ -f "$nd/data/meta.properties" ] && return
  if [ "$sasl" = 1 ]; then
    for user in admin refmon-admin refmon-worker watchdog $(forces | sed 's/^/force-/'); do
      scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$user-secret]")
    done
  fi
  java -cp "$(java_cp)" -Dlog4j.configuration="file:$here/log4j.properties" -Dkafka.logs.dir="$nd/logs" \
    kafka.tools.StorageTool format -t "$(cat "$dir/cluster-id")" -c "$nd/server.properties" \
    "${scram[@]}" >"$nd/logs/format.log" 2>&1
}

heap() {
  # Three nodes on a small machine: less each than one node alone.
  if [ "$size" -gt 1 ]; then echo "-Xms128m -Xmx768m"; else echo "-Xms256m -Xmx1g"; fi
}

launch() {
  # Start one node in the background; prints nothing. Its pid goes to its pid file.
  local id="$1" nd
  nd="$(node_dir "$id")"
  # shellcheck disable=SC2046 # the heap options are two words
  nohup java $(heap) -cp "$(java_cp)" \
    -Dlog4j.configuration="file:$here/log4j.properties" -Dkafka.logs.dir="$nd/logs" \
    kafka.Kafka "$nd/server.properties" >"$nd/logs/stdout.log" 2>&1 &
  echo "$!" > "$nd/kafka.pid"
}

wait_started() {
  # Each "ID:COUNT" waits for node ID to log its start once more than COUNT.
  local pending=("$@") left want id nd pid
  for _ in $(seq 1 240); do
    left=()
    for want in "${pending[@]}"; do
      id="${want%%:*}"
      if [ "$(starts "$id")" -le "${want#*:}" ]; then left+=("$want"); fi
    done
    if [ ${#left[@]} -eq 0 ]; then return 0; fi
    for want in "${left[@]}"; do
      id="${want%%:*}"; nd="$(node_dir "$id")"; pid="$(cat "$nd/kafka.pid")"
      # Our own child: its pid cannot have been reused yet (it may not have become java yet).
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "kafka.sh: node $id exited; see $nd/logs" >&2
        tail -n 20 "$nd/logs/stdout.log" >&2 || true
        exit 1
      fi
    done
    pending=("${left[@]}")
    sleep 0.5
  done
  echo "kafka.sh: node(s) ${pending[*]%%:*} did not start within 120 s; see $dir" >&2
  exit 1
}

addresses() {
  local offset="$1" id out=""
  for id in $(ids); do out="$out${out:+,}127.0.0.1:$(($(node_port "$id") + offset))"; done
  echo "$out"
}

print_bootstrap() {
  addresses 0
  if [ "$sasl" = 1 ]; then addresses 2; fi
}

start() {
  if [ "$size" = 0 ] && [ -f "$dir/cluster" ]; then
    echo "kafka.sh: $dir holds a cluster; start it with --cluster" >&2; exit 2
  fi
  local all=1 id want
  for id in $(ids); do running "$id" || all=0; done
  if [ "$all" = 1 ]; then
    if [ "$size" = 0 ]; then
      echo "127.0.0.1:$(sed -n 's/^listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$dir/server.properties")"
    else
      print_bootstrap
    fi
    return
  fi
  private_dir "$dir"
  umask 077
  fetch
  if [ "$sasl" = 1 ]; then make_tls; fi
  if [ "$size" != 0 ]; then
    printf 'nodes=%s\nport=%s\nsasl=%s\n' "$size" "$port" "$sasl" > "$dir/cluster"
  fi
  [ -f "$dir/cluster-id" ] || random_uuid > "$dir/cluster-id"
  local waits=() nd formats=()
  for id in $(ids); do
    if running "$id"; then continue; fi
    nd="$(node_dir "$id")"
    private_dir "$nd"
    mkdir -p "$nd/logs"
    write_properties "$id"
    # Side by side: each format is a JVM of its own, seconds to start.
    format "$id" & formats+=("$id:$!")
    # A restart on the same DIR finds the last start's line already in the log:
    # wait for one more than there were.
    waits+=("$id:$(starts "$id")")
  done
  for want in "${formats[@]}"; do
    if ! wait "${want#*:}"; then
      echo "kafka.sh: formatting node ${want%%:*} failed; see $(node_dir "${want%%:*}")/logs/format.log" >&2
      exit 1
    fi
  done
  # All formatted first: the nodes then elect a controller at once, not one per late start.
  for want in "${waits[@]}"; do launch "${want%%:*}"; done
  # A cluster's nodes start together: none is ready before a quorum of controllers is.
  wait_started "${waits[@]}"
  print_bootstrap
}

stop_node() {
  # Only this directory's broker: a stale pid file never kills another process.
  local id="$1" nd pid
  nd="$(node_dir "$id")"
  if ! running "$id"; then rm -f "$nd/kafka.pid"; return; fi
  pid="$(cat "$nd/kafka.pid")"
  kill -CONT "$pid" 2>/dev/null || true # a paused node cannot stop
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$nd/kafka.pid"; return; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$nd/kafka.pid"
}

stop() {
  local id pids=()
  # Together: a node stopping alone waits for the others to take over its partitions.
  for id in $(ids); do stop_node "$id" & pids+=("$!"); done
  wait "${pids[@]}"
}

status() {
  local id all=0
  for id in $(ids); do
    local nd; nd="$(node_dir "$id")"
    local label=""
    if [ "$size" != 0 ]; then label="node $id: "; fi
    if running "$id"; then echo "${label}running (pid $(cat "$nd/kafka.pid"), $nd)"
    else echo "${label}stopped ($nd)"; all=1; fi
  done
  return "$all"
}

node() {
  local id="$target" nd pid
  case "$id" in ''|*[!0-9]*) echo "kafka.sh: node needs a node id" >&2; exit 2 ;; esac
  if [ "$id" -lt 1 ] || [ "$id" -gt "$(ids | tail -n 1)" ]; then
    echo "kafka.sh: no node $id in $dir" >&2; exit 2
  fi
  nd="$(node_dir "$id")"
  if [ "$action" = start ]; then
    if running "$id"; then return; fi
    local before; before="$(starts "$id")"
    launch "$id"
    wait_started "$id:$before"
    return
  fi
  if [ "$action" = stop ]; then stop_node "$id"; return; fi
  if ! running "$id"; then echo "kafka.sh: node $id is not running" >&2; exit 1; fi
  pid="$(cat "$nd/kafka.pid")"
  case "$action" in
    kill) kill -9 "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; rm -f "$nd/kafka.pid" ;;
    pause) kill -STOP "$pid" ;;
    resume) kill -CONT "$pid" ;;
    pid) echo "$pid" ;;
    *) echo "kafka.sh: node kill|stop|pause|resume|start|pid ID" >&2; exit 2 ;;
  esac
}

elected() {
  # Every node persists the latest election it knows of; the highest epoch's
  # leader is the active controller. While an election is under way that
  # epoch has no leader (-1) yet; a node that is down keeps whatever it last
  # knew, so only running nodes count.
  local id best_epoch=-1 best=-1 state epoch leader
  for id in $(ids); do
    running "$id" || continue
    state="$(node_dir "$id")/data/__cluster_metadata-0/quorum-state"
    [ -f "$state" ] || continue
    epoch="$(sed -n 's/.*"leaderEpoch":\([0-9-]*\).*/\1/p' "$state")"
    leader="$(sed -n 's/.*"leaderId":\([0-9-]*\).*/\1/p' "$state")"
    [ -n "$epoch" ] && [ -n "$leader" ] || continue
    # At the same epoch a voter may not have heard the winner yet: one naming it wins.
    if [ "$epoch" -gt "$best_epoch" ] || { [ "$epoch" -eq "$best_epoch" ] && [ "$leader" -ge 1 ]; }; then
      best_epoch="$epoch"; best="$leader"
    fi
  done
  if [ "$best" -ge 1 ] && running "$best"; then echo "$best"; return 0; fi
  return 1
}

controller() {
  # A node resumed or restarted a moment ago may have started an election:
  # wait for its outcome rather than report none.
  local deadline=$((SECONDS + wait_s))
  until elected; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "kafka.sh: no running controller elected within ${wait_s} s" >&2; exit 1
    fi
    sleep 0.2
  done
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  node) node ;;
  controller) controller ;;
  fetch) fetch ;;
  classpath) fetch; java_cp; echo ;;
  *) echo "usage: kafka.sh start|stop|status|node|controller|fetch [--port N] [--dir DIR] [--sasl] [--cluster K]" >&2; exit 2 ;;
esac
