#!/usr/bin/env bash
# Bring up the compose stack: settings from deploy/.env (made from .env.example
# on first use), a random Grafana admin password on first use, then build and start.
set -euo pipefail
cd "$(dirname "$0")"
[ -f .env ] || cp .env.example .env
secret="$(sed -n 's/^GRAFANA_ADMIN_PASSWORD_FILE=//p' .env)"
secret="${secret:-./secrets/grafana-admin-password}"
if [ ! -s "$secret" ]; then
  mkdir -p "$(dirname "$secret")"
  (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$secret")
  echo "Grafana admin password written to deploy/${secret#./}" >&2
fi
exec docker compose up -d --build "$@"
