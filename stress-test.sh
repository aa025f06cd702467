#!/usr/bin/env bash
# Load-test the task path: many tasks through a node's HTTP API, then throughput, latency, retries, failures.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./stress-test.sh [--tasks N] [--concurrency C] [--type T] [--payload P] [--requires a,b]
                        [--workers W] [--cluster [--context CTX]] [--api URL] [--json] [--keep-logs]

Submits N tasks, C at a time, with POST /api/v1/tasks?wait=true and prints throughput, latency
p50/p95/p99, retries (attempts beyond the first, and p2p_task_retries_total), duplicate results
and failures by status. Exit status 0 only when every task succeeded.

Targets:
  (default)   a local network started for the run: one process per node on 127.0.0.1 from
              config/local/*.yaml (1 bootstrap, 1 relay, W workers); tasks go in through the
              bootstrap, which has no capabilities, so each one crosses the network
  --cluster   the network in the current kube context: port-forwards svc/p2p-bootstrap to
              127.0.0.1 and reads the API token from the Secret p2p-api-token
  --api URL   a node already running on this machine (loopback only), e.g. http://127.0.0.1:8080

Options:
  --tasks N         tasks to submit (default 1000)
  --concurrency C   tasks in flight at once (default 32)
  --type T          task type (default compute); --payload P its payload (default hello)
  --requires a,b    capabilities the worker must have (default: the type)
  --workers W       workers in the local network (default 3)
  --context CTX     kube context for --cluster
  --deadline D      stop sending after D (default 10m); --request-timeout D per task (default 120s)
  --json            print the report as JSON
  --keep-logs       keep the local network's logs (the path is printed)
  -h, --help        show this help
EOF
}

die() { echo "stress-test.sh: $*" >&2; exit 1; }

cluster=0
context=""
driver_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tasks|--concurrency|--type|--payload|--requires|--workers|--api|--deadline|--request-timeout)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      driver_args+=("$1" "$2"); shift 2 ;;
    --json|--keep-logs) driver_args+=("$1"); shift ;;
    --cluster) cluster=1; shift ;;
    --context) [[ $# -ge 2 ]] || die "--context needs a value"; context="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
cd "$repo"

node="$(find_node)" || die "needs Node.js >= 22: run npm ci (the project pins it)"

if [[ $cluster -eq 0 ]]; then
  exec "$node" --import tsx test/hosts/stress.ts ${driver_args[@]+"${driver_args[@]}"}
fi

require_kubectl

port="$("$node" -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')"
k -n "$NAMESPACE" port-forward svc/p2p-bootstrap "$port:8080" >/dev/null 2>&1 &
pf_pid=$!
trap 'kill "$pf_pid" 2>/dev/null || true' EXIT

ready=0
for _ in $(seq 1 50); do
  if ! kill -0 "$pf_pid" 2>/dev/null; then die "kubectl port-forward svc/p2p-bootstrap exited (is the network deployed?)"; fi
  if "$node" -e "fetch('http://127.0.0.1:$port/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    ready=1
    break
  fi
  sleep 0.2
done
[[ $ready -eq 1 ]] || die "the port-forward to svc/p2p-bootstrap does not answer /healthz"

token="$(k -n "$NAMESPACE" get secret p2p-api-token -o 'jsonpath={.data.token}' 2>/dev/null | base64 -d 2>/dev/null || true)"
P2P_API_TOKEN="$token" "$node" --import tsx test/hosts/stress.ts --api "http://127.0.0.1:$port" ${driver_args[@]+"${driver_args[@]}"}
