#!/usr/bin/env bash
# Builds local stand-ins for the compose stack's third-party images where no image
# registry is reachable (as on CI): Kafka, Prometheus and Alertmanager, from the Debian base
# of scripts/image-base.sh, with the entrypoints, users and paths deploy/compose.yaml
# expects of apache/kafka, prom/prometheus and prom/alertmanager (recipes in
# scripts/compose-images/). Grafana has no Debian package: there is no stand-in for it.
#
#   compose-images.sh
#
# Standard output: KAFKA_IMAGE=..., PROMETHEUS_IMAGE=..., ALERTMANAGER_IMAGE=..., the
# settings that point compose.yaml at the stand-ins (in deploy/.env, or the environment).
# Cached: the base as image-base.sh caches it, the Kafka jars as kafka.sh fetches them
# (~/.cache/refmon/kafka), the rest in podman's layer cache, so a second run takes seconds.
# Runs as root, with podman's settings for this machine (CONTAINERS_CONF, written by
# scripts/image-test.sh; that file is used when the variable is not set).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "compose-images.sh: unknown argument $1" >&2; exit 2 ;;
esac
if [ -z "${CONTAINERS_CONF:-}" ]; then
  conf="${XDG_CACHE_HOME:-$HOME/.cache}/refmon/podman/containers.conf"
  [ -f "$conf" ] || { echo "compose-images.sh: run scripts/image-test.sh first (podman settings)" >&2; exit 1; }
  export CONTAINERS_CONF="$conf"
fi

kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' deploy/kafka-local/pom.xml)"
cache="${REFMON_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/refmon/kafka}"
base="$(scripts/image-base.sh)"
bash deploy/kafka-local/kafka.sh fetch

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT

build() {  # name, tag: prints nothing; the image keeps the tag
  local name="$1" tag="$2" started=$SECONDS
  rm -rf "${context:?}"/*
  cp -r "scripts/compose-images/$name/." "$context/"
  if [ "$name" = kafka ]; then cp -r "$cache/$kafka_version/lib" "$context/libs"; fi
  # The host's network for apt-get: builds need Debian's mirror, and the engine's default
  # network is not what this script is here to test.
  podman build --quiet --format docker --network host --build-arg "BASE=$base" \
    -f "$context/Containerfile" -t "$tag" "$context" >/dev/null
  echo "compose-images.sh: built $tag in $((SECONDS - started)) s" >&2
}

# Named after what they stand in for, under localhost/ so no pull can mistake them for it.
kafka="localhost/refmon-compose-kafka:$kafka_version"
prometheus="localhost/refmon-compose-prometheus:debian"
alertmanager="localhost/refmon-compose-alertmanager:debian"
build kafka "$kafka"
build prometheus "$prometheus"
build alertmanager "$alertmanager"
echo "KAFKA_IMAGE=$kafka"
echo "PROMETHEUS_IMAGE=$prometheus"
echo "ALERTMANAGER_IMAGE=$alertmanager"
