#!/usr/bin/env bash
# What the tests need beyond Python packages, installed only when missing:
# Java 17 and Maven (the real Kafka broker, fetched from Maven Central by
# deploy/kafka-local/kafka.sh), and Debian's prometheus (promtool) and
# prometheus-alertmanager (amtool) for the rule, routing and live tests, and
# Debian's chromium, in which the bulletin's test opens the page (headless).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v openssl >/dev/null || missing+=(openssl) # kafka.sh: cluster ids, TLS for --sasl
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing from Debian: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash deploy/kafka-local/kafka.sh fetch
