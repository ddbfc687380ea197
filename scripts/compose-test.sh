#!/usr/bin/env bash
# Readies this machine to run deploy/compose.yaml with podman-compose, as
# tests/container/test_compose_stack.py does (after scripts/image-test.sh built refmon's
# image and wrote podman's settings):
#   - podman's DNS for container names, when missing: compose's services find one another
#     by name (kafka:9092, worker-1:9464, alertmanager:9093) on the project's network, and
#     Debian's podman 4.3 (CNI) answers names only with the dnsname plugin
#     (golang-github-containernetworking-plugin-dnsname), which it does not install itself;
#   - the stand-ins for Kafka, Prometheus and Alertmanager (scripts/compose-images.sh).
#
#   compose-test.sh
#
# Standard output: compose-images.sh's KEY=VALUE settings. Runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "compose-test.sh: unknown argument $1" >&2; exit 2 ;;
esac

if [ ! -x /usr/lib/cni/dnsname ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "compose-test.sh: installing from Debian: golang-github-containernetworking-plugin-dnsname" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    golang-github-containernetworking-plugin-dnsname >/dev/null
fi
exec scripts/compose-images.sh
