#!/usr/bin/env bash
# Run the test suite, or smoke-test a deployed network (in a cluster, or in local network namespaces).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./test.sh                 typecheck, lint, unit and e2e tests (npm test)
       ./test.sh --cluster [--context CTX] [--timeout SECONDS]
       ./test.sh --local [--workers N] [--keep-logs]

  --cluster   smoke test of the network deployed in the current kube context (./deploy.sh):
              in a worker pod, `p2p-node peers` must list the bootstrap and relay roles and
              `p2p-node task compute hello` must answer sha256("hello")
  --local     the same smoke test against a bootstrap, a relay and worker(s) started from
              config/*.yaml, each its own host in a Linux network namespace (workers behind a
              NAT router), the Service names resolving through per-namespace /etc/hosts.
              Needs root, iproute2 and iptables.
  --context   kube context for --cluster (default: the current one)
  --timeout   seconds --cluster waits for the worker to see its peers (default: 120)
  --workers   workers behind the NAT for --local (default: 1)
  --keep-logs keep the --local nodes' logs (the path is printed)
  -h, --help  show this help
EOF
}

die() { echo "test.sh: $*" >&2; exit 1; }

readonly HELLO_DIGEST=2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824

mode=suite
context=""
timeout=120
local_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cluster) mode=cluster; shift ;;
    --local) mode=local; shift ;;
    --context) [[ $# -ge 2 ]] || die "--context needs a value"; context="$2"; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; timeout="$2"; shift 2 ;;
    --workers) [[ $# -ge 2 ]] || die "--workers needs a value"; local_args+=(--workers "$2"); shift 2 ;;
    --keep-logs) local_args+=(--keep-logs); shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
cd "$repo"

cluster_smoke() {
  local pod peers out deadline
  require_kubectl
  pod="$(k -n "$NAMESPACE" get pods -l app=p2p-network,role=worker --field-selector=status.phase=Running \
    -o 'jsonpath={.items[0].metadata.name}')"
  [[ -n "$pod" ]] || die "no running worker pod in $NAMESPACE (did ./deploy.sh finish?)"
  echo "smoke test in pod $pod"

  deadline=$((SECONDS + timeout))
  while :; do
    peers="$(k -n "$NAMESPACE" exec "$pod" -- p2p-node peers --config /app/config.yaml --json 2>&1 || true)"
    if grep -qE '"role": *"bootstrap"' <<<"$peers" && grep -qE '"role": *"relay"' <<<"$peers"; then
      break
    fi
    if [[ $SECONDS -ge $deadline ]]; then
      printf '%s\n' "$peers" >&2
      die "after ${timeout}s, p2p-node peers in $pod does not list both a bootstrap and a relay peer"
    fi
    sleep 3
  done
  echo "ok: peers in $pod include the bootstrap and the relay"

  out="$(k -n "$NAMESPACE" exec "$pod" -- p2p-node task compute hello --config /app/config.yaml --json 2>&1)" || {
    printf '%s\n' "$out" >&2
    die "p2p-node task compute hello failed in $pod"
  }
  if ! grep -q "$HELLO_DIGEST" <<<"$out" || ! grep -qE '"status": *"succeeded"' <<<"$out"; then
    printf '%s\n' "$out" >&2
    die "task compute hello did not answer sha256(\"hello\") = $HELLO_DIGEST"
  fi
  echo "ok: task compute hello -> $HELLO_DIGEST"
  echo "cluster smoke test passed"
}

case "$mode" in
  suite)
    exec npm test
    ;;
  cluster)
    cluster_smoke
    ;;
  local)
    [[ "$(id -u)" -eq 0 ]] || die "--local builds network namespaces and needs root (sudo ./test.sh --local)"
    command -v ip >/dev/null 2>&1 || die "ip (iproute2) is not installed: apt-get install -y iproute2 iptables"
    command -v iptables >/dev/null 2>&1 || die "iptables is not installed: apt-get install -y iptables"
    node="$(find_node)" || die "needs Node.js >= 22: run npm ci (the project pins it)"
    exec "$node" --import tsx test/hosts/local-smoke.ts ${local_args[@]+"${local_args[@]}"}
    ;;
esac
