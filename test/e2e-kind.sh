#!/usr/bin/env bash
# make e2e-kind: Asya on a real Kubernetes cluster, end to end, for a machine with Docker. It creates a kind
# cluster, installs KEDA (Helm chart kedacore/keda), builds the asya image and the example pipeline's images
# and loads them into the cluster, applies the platform (`asya synth --pattern standard --trial`) and the
# pipeline's AsyncActors, waits for the controller to report them ready, calls a tool through the gateway
# and checks the result. The CI machine has no Docker, so this script is not run there (docs/testing.md).
#   ASYA_E2E_CLUSTER  kind cluster name (default asya-e2e); an existing one is reused
#   ASYA_E2E_KEEP=1   keep the cluster afterwards (default: deleted, also on failure)
#   KEDA_VERSION      Helm chart version (default: the chart's latest)
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${ASYA_E2E_CLUSTER:-asya-e2e}
ns=asya-system
version=$(node -p 'require("./package.json").version')
asya_image=asya:$version
python_image=registry.example.com/asya-examples/pipeline-python:0.1.0
node_image=registry.example.com/asya-examples/pipeline-node:0.1.0
out=$(mktemp -d)
port_forward=

for tool in docker kind kubectl helm node; do
  command -v "$tool" >/dev/null || { echo "e2e-kind needs $tool on PATH" >&2; exit 2; }
done

cleanup() {
  [ -n "$port_forward" ] && kill "$port_forward" 2>/dev/null || true
  rm -rf "$out"
  if [ -z "${ASYA_E2E_KEEP:-}" ]; then kind delete cluster --name "$cluster"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "kind cluster $cluster"
kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 180s
kubectl config use-context "kind-$cluster"

step "images (built here, loaded into the node: no registry)"
make build
docker build -t "$asya_image" .
docker build -f examples/pipeline/python.Dockerfile -t "$python_image" examples/pipeline
docker build -f examples/pipeline/node.Dockerfile --build-arg "ASYA_IMAGE=$asya_image" -t "$node_image" examples/pipeline
kind load docker-image --name "$cluster" "$asya_image" "$python_image" "$node_image"

step "KEDA"
helm repo add kedacore https://kedacore.github.io/charts >/dev/null
helm repo update kedacore >/dev/null
helm upgrade --install keda kedacore/keda --namespace keda --create-namespace --wait --timeout 5m \
  ${KEDA_VERSION:+--version "$KEDA_VERSION"}

step "platform (standard, trial broker and database)"
node bin/asya.js synth --pattern standard --trial --image "$asya_image" --tools examples/pipeline/tools.yaml --out "$out"
kubectl apply -f "$out/00-asya-crd.k8s.yaml"
kubectl wait --for condition=established crd/asyncactors.asya.sh --timeout 60s
kubectl apply -f "$out"
kubectl -n "$ns" rollout status statefulset --timeout 5m
kubectl -n "$ns" rollout status deployment --timeout 5m

step "the example pipeline's actors"
# In the platform namespace: actors elsewhere would need a copy of the trial broker's Secret (docs/platform.md).
kubectl -n "$ns" apply -k examples/pipeline/actors
actors=$(kubectl -n "$ns" get asyncactors -o name)
deadline=$((SECONDS + 300))
for actor in $actors; do
  # Scaled to zero until work arrives, so Napping is as ready as Running.
  until status=$(kubectl -n "$ns" get "$actor" -o jsonpath='{.status.status}') && [[ $status == Running || $status == Napping ]]; do
    if ((SECONDS > deadline)); then
      kubectl -n "$ns" get asyncactors -o wide
      kubectl -n "$ns" describe "$actor"
      echo "$actor is ${status:-without status} after 5 minutes" >&2
      exit 1
    fi
    sleep 5
  done
  echo "$actor: $status"
done

step "a tool call through the gateway"
kubectl -n "$ns" port-forward svc/asya-gateway 18089:80 >/dev/null &
port_forward=$!
until curl -fs http://127.0.0.1:18089/health >/dev/null; do
  kill -0 "$port_forward" || { echo 'port-forward to the gateway ended' >&2; exit 1; }
  sleep 1
done
result=$(node bin/asya.js call score_text --gateway http://127.0.0.1:18089 --timeout 300 \
  --text 'The sidecar routes every envelope to the next actor in its route.')
echo "$result"
node -e '
  const r = JSON.parse(process.argv[1]);
  const score = r.score ?? r[0]?.score;
  if (typeof score !== "number") { console.error("no score in the result"); process.exit(1); }
' "$result"
step "e2e-kind passed"
