#!/usr/bin/env bash
# Deploy the network to the current kube context: identity Secrets, the manifests, the rollouts.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./deploy.sh [--image IMAGE:TAG] [--dir DIR] [--context CTX] [--monitoring auto|yes|no]
                   [--timeout DURATION] [--no-wait]

Deploys p2p-network to the namespace net-test of the current kube context:
  1. applies the Namespace;
  2. creates the Secrets p2p-bootstrap-key and p2p-relay-key (Ed25519 identities made with
     `p2p-node keygen`, so the bootstrap and relay peer IDs survive restarts) and p2p-api-token
     (a random bearer token for POST/DELETE on the HTTP API), each only if it does not exist yet;
  3. kubectl apply -k DIR (and k8s/monitoring if the Prometheus Operator's CRDs are installed);
  4. waits for the Deployments to roll out and prints how to open the REPL.

Options:
  --image IMAGE:TAG     image to run (default: p2p-network:latest as set in k8s/kustomization.yaml)
  --dir DIR             kustomization to apply (default: k8s; e.g. k8s/overlays/relay-external,
                        or k8s/overlays/remote-workers in the other cluster's context)
  --context CTX         kube context to use (default: the current one)
  --monitoring MODE     auto (default): apply k8s/monitoring when the ServiceMonitor CRD exists;
                        yes: always; no: never
  --timeout DURATION    how long to wait for each rollout (default: 300s)
  --no-wait             do not wait for the rollouts
  -h, --help            show this help

Environment: KUBECTL (default: kubectl) is the kubectl binary to run.
EOF
}

die() { echo "deploy.sh: $*" >&2; exit 1; }

# The Secrets this script creates; the manifests reference exactly these (test/unit/k8s.test.ts).
readonly KEY_SECRETS=(p2p-bootstrap-key p2p-relay-key)
readonly API_TOKEN_SECRET=p2p-api-token

image=""
dir="k8s"
context=""
monitoring="auto"
timeout="300s"
wait_rollout=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --image) [[ $# -ge 2 ]] || die "--image needs a value"; image="$2"; shift 2 ;;
    --image=*) image="${1#--image=}"; shift ;;
    --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; dir="${2%/}"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; dir="${dir%/}"; shift ;;
    --context) [[ $# -ge 2 ]] || die "--context needs a value"; context="$2"; shift 2 ;;
    --context=*) context="${1#--context=}"; shift ;;
    --monitoring) [[ $# -ge 2 ]] || die "--monitoring needs a value"; monitoring="$2"; shift 2 ;;
    --monitoring=*) monitoring="${1#--monitoring=}"; shift ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; timeout="$2"; shift 2 ;;
    --timeout=*) timeout="${1#--timeout=}"; shift ;;
    --no-wait) wait_rollout=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$monitoring" in auto|yes|no) ;; *) die "--monitoring must be auto, yes or no" ;; esac
if [[ -n "$image" ]]; then
  [[ "$image" == *:* && "${image##*:}" != */* ]] || die "--image must be IMAGE:TAG (got $image)"
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
cd "$repo"
[[ -f "$dir/kustomization.yaml" ]] || die "$dir/kustomization.yaml not found"

require_kubectl

# The ConfigMaps are generated from k8s/<role>/config.yaml; deploying a stale copy would run a
# config nobody reviewed.
for role in bootstrap relay worker; do
  cmp -s "config/$role.yaml" "k8s/$role/config.yaml" \
    || die "k8s/$role/config.yaml differs from config/$role.yaml; run ./build.sh --sync-config"
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# keygen FILE: writes an Ed25519 identity key to FILE and prints the peer ID.
keygen() {
  local file="$1" node out
  if node="$(find_node)" && [[ -d "$repo/node_modules" ]]; then
    out="$("$node" "$repo/bin/p2p-node.js" keygen --out "$file")"
  elif command -v docker >/dev/null 2>&1; then
    out="$(docker run --rm --user "$(id -u):$(id -g)" -v "$(dirname "$file"):/out" \
      "${image:-p2p-network:latest}" keygen --out "/out/$(basename "$file")")"
  else
    die "cannot run p2p-node keygen: needs this checkout with npm ci done (Node.js 22), or docker"
  fi
  grep -oE '(12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]+' <<<"$out" | head -n 1
}

echo "context: $(k config current-context 2>/dev/null || echo '(none)'), namespace: $NAMESPACE"
k apply -f k8s/namespace/namespace.yaml

for secret in "${KEY_SECRETS[@]}"; do
  role="${secret#p2p-}"
  role="${role%-key}"
  if k -n "$NAMESPACE" get secret "$secret" >/dev/null 2>&1; then
    peer_id="$(k -n "$NAMESPACE" get secret "$secret" -o 'jsonpath={.metadata.annotations.p2p-network/peer-id}' 2>/dev/null || true)"
    echo "secret $secret exists (peer ID ${peer_id:-unknown}); kept"
    continue
  fi
  peer_id="$(keygen "$tmp/$role.key")"
  [[ -n "$peer_id" ]] || die "p2p-node keygen printed no peer ID"
  k -n "$NAMESPACE" create secret generic "$secret" --from-file=identity.key="$tmp/$role.key"
  k -n "$NAMESPACE" label secret "$secret" app=p2p-network "role=$role" >/dev/null
  k -n "$NAMESPACE" annotate secret "$secret" "p2p-network/peer-id=$peer_id" >/dev/null
  echo "created secret $secret: $role peer ID $peer_id"
done

if k -n "$NAMESPACE" get secret "$API_TOKEN_SECRET" >/dev/null 2>&1; then
  echo "secret $API_TOKEN_SECRET exists; kept"
else
  token="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
  k -n "$NAMESPACE" create secret generic "$API_TOKEN_SECRET" --from-literal=token="$token" >/dev/null
  k -n "$NAMESPACE" label secret "$API_TOKEN_SECRET" app=p2p-network >/dev/null
  echo "created secret $API_TOKEN_SECRET (the pods read it as P2P_API_TOKEN)"
fi

# relative_from DIR PATH: PATH (absolute) as a path relative to DIR (absolute), through the root;
# kustomize accepts only relative paths to a base (and this needs no GNU realpath).
relative_from() {
  local from="$1" up=""
  while [[ "$from" != "/" && "$from" != "." ]]; do
    up="../$up"
    from="$(dirname "$from")"
  done
  echo "$up${2#/}"
}

apply_dir="$dir"
if [[ -n "$image" ]]; then
  # A throw-away overlay that only sets the image; kustomize wants a relative path to the base.
  mkdir -p "$tmp/overlay"
  cat >"$tmp/overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(relative_from "$tmp/overlay" "$repo/$dir")
images:
  - name: p2p-network
    newName: ${image%:*}
    newTag: ${image##*:}
EOF
  apply_dir="$tmp/overlay"
fi
k apply -k "$apply_dir"

case "$monitoring" in
  yes) k apply -k k8s/monitoring ;;
  auto)
    if k get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then
      k apply -k k8s/monitoring
    else
      echo "no ServiceMonitor CRD (Prometheus Operator): skipped k8s/monitoring; pods carry prometheus.io/* annotations"
    fi
    ;;
  no) ;;
esac

if [[ $wait_rollout -eq 1 ]]; then
  for deployment in $(k -n "$NAMESPACE" get deployments -l app=p2p-network -o name); do
    k -n "$NAMESPACE" rollout status "$deployment" --timeout="$timeout"
  done
fi

cat <<EOF

p2p-network is deployed in $NAMESPACE. Open the REPL on a worker:
  kubectl exec -it -n $NAMESPACE deploy/p2p-worker -- p2p-node --config /app/config.yaml
and try: peers, status, capabilities, task compute hello
One-shot, from a script:
  kubectl exec -n $NAMESPACE deploy/p2p-worker -- p2p-node task compute hello --config /app/config.yaml --json
Smoke test: ./test.sh --cluster
EOF
