#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, broker and controller in one) on loopback,
# for development, tests and CI. The broker comes from Maven Central; nothing
# else is needed but Java 17 and Maven.
#
#   kafka.sh start [--port N] [--dir DIR] [--sasl]   start and wait until ready
#   kafka.sh stop [--dir DIR]                         stop the broker this DIR started
#   kafka.sh status [--dir DIR]                       exit 0 if running
#
# start prints the bootstrap address (PLAINTEXT) on stdout; with --sasl it also
# prints the SASL_SSL address on a second line. Settings may come from the
# environment instead: REFMON_KAFKA_PORT, REFMON_KAFKA_DIR, REFMON_KAFKA_CACHE.
# DIR (default ~/.local/state/refmon/kafka, under XDG_STATE_HOME if set) holds
# the data, logs, pid and TLS keys: it is made private (mode 0700), and one that
# is a symbolic link or belongs to another user is refused.
#
# --sasl adds a SASL_SSL listener on port+2 (SCRAM-SHA-512, TLS with a CA made
# on the spot in DIR/tls) and turns on ACLs. Users, each with password
# "<name>-secret": admin (super user), refmon-admin, refmon-worker, watchdog,
# and force-<CODE> for every force in schemas/forces.csv. The PLAINTEXT listener
# stays open on loopback for the tests' own set-up and authenticates as the
# broker's super user: for development only.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command="${1:-}"
if [ $# -gt 0 ]; then shift; fi
port="${REFMON_KAFKA_PORT:-9092}"
# Not a fixed path under /tmp, where another local user could create it first.
dir="${REFMON_KAFKA_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/refmon/kafka}"
cache="${REFMON_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/refmon/kafka}"
sasl=0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --sasl) sasl=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kafka.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# Absolute, so that the broker's command line names it the same from any directory.
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
lib="$cache/$version/lib"

fetch() {
  if [ -f "$lib/.complete" ]; then return; fi
  echo "kafka.sh: fetching Apache Kafka $version from Maven Central into $lib" >&2
  rm -rf "$lib" && mkdir -p "$lib"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -DincludeScope=runtime >&2
  touch "$lib/.complete"
}

java_cp() {
  # One class path for the broker and the storage tool.
  printf '%s' "$lib/*"
}

running() {
  # The pid file alone is not enough: after the broker died its pid may have
  # been reused by any process. It must still be this directory's broker.
  local pid
  [ -f "$dir/kafka.pid" ] || return 1
  pid="$(cat "$dir/kafka.pid")"
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  ps -ww -o args= -p "$pid" 2>/dev/null | grep -qF -- "kafka.Kafka $dir/server.properties"
}

private_dir() {
  # Holds the TLS keys and the broker's data: ours alone, or refuse.
  if [ -L "$dir" ]; then
    echo "kafka.sh: $dir is a symbolic link; refusing to use it" >&2; exit 2
  fi
  (umask 077 && mkdir -p "$dir")
  if [ ! -O "$dir" ]; then
    echo "kafka.sh: $dir belongs to another user; refusing to use it" >&2; exit 2
  fi
  chmod 700 "$dir"
}

make_tls() {
  local tls="$dir/tls" pass=refmon-store
  mkdir -p "$tls"
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

write_properties() {
  local ctrl=$((port + 1)) sasl_port=$((port + 2))
  local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl"
  local advertised="PLAINTEXT://127.0.0.1:$port"
  local protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if [ "$sasl" = 1 ]; then
    listeners="$listeners,SASL_SSL://127.0.0.1:$sasl_port"
    advertised="$advertised,SASL_SSL://127.0.0.1:$sasl_port"
    protocols="$protocols,SASL_SSL:SASL_SSL"
  fi
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  if [ "$sasl" = 1 ]; then
    cat >> "$dir/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/broker.p12
ssl.keystore.password=refmon-store
ssl.key.password=refmon-store
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# PLAINTEXT (loopback only) and the controller act as the broker itself.
super.users=User:ANONYMOUS;User:admin
allow.everyone.if.no.acl.found=false
PROPS
  fi
}

starts() {
  # How often the broker has logged that it started, in this DIR.
  if [ -f "$dir/logs/server.log" ]; then grep -c "Kafka Server started" "$dir/logs/server.log" || true
  else echo 0; fi
}

start() {
  if running; then
    echo "127.0.0.1:$(sed -n 's/^listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$dir/server.properties")"
    return
  fi
  private_dir
  umask 077
  fetch
  mkdir -p "$dir/logs"
  if [ "$sasl" = 1 ]; then make_tls; fi
  write_properties
  if [ ! -f "$dir/data/meta.properties" ]; then
    local id scram=()
    id="$(java -cp "$(java_cp)" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    if [ "$sasl" = 1 ]; then
      for user in admin refmon-admin refmon-worker watchdog $(forces | sed 's/^/force-/'); do
        scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$user-secret]")
      done
    fi
    java -cp "$(java_cp)" -Dlog4j.configuration="file:$here/log4j.properties" -Dkafka.logs.dir="$dir/logs" \
      kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" "${scram[@]}" >"$dir/logs/format.log" 2>&1
  fi
  # A restart on the same DIR finds the last start's line already in the log:
  # wait for one more than there were.
  local started
  started="$(starts)"
  nohup java -Xms256m -Xmx1g -cp "$(java_cp)" \
    -Dlog4j.configuration="file:$here/log4j.properties" -Dkafka.logs.dir="$dir/logs" \
    kafka.Kafka "$dir/server.properties" >"$dir/logs/stdout.log" 2>&1 &
  local pid=$!
  echo "$pid" > "$dir/kafka.pid"
  for _ in $(seq 1 120); do
    if [ "$(starts)" -gt "$started" ]; then
      echo "127.0.0.1:$port"
      if [ "$sasl" = 1 ]; then echo "127.0.0.1:$((port + 2))"; fi
      return 0
    fi
    # Our own child: its pid cannot have been reused yet (it may not have become java yet).
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "kafka.sh: the broker exited; see $dir/logs" >&2
      tail -n 20 "$dir/logs/stdout.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "kafka.sh: the broker did not start within 60 s; see $dir/logs" >&2
  exit 1
}

stop() {
  # Only this directory's broker: a stale pid file never kills another process.
  if ! running; then rm -f "$dir/kafka.pid"; return; fi
  local pid; pid="$(cat "$dir/kafka.pid")"
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/kafka.pid"; return; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/kafka.pid"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status)
    if running; then echo "running (pid $(cat "$dir/kafka.pid"), $dir)"; else echo "stopped ($dir)"; exit 1; fi ;;
  fetch) fetch ;;
  *) echo "usage: kafka.sh start|stop|status|fetch [--port N] [--dir DIR] [--sasl]" >&2; exit 2 ;;
esac
