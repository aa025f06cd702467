# shellcheck shell=bash
# Shared by the operator scripts (deploy.sh, test.sh, stress-test.sh), which source it by their own
# directory: `source "$repo/scripts/lib.sh"`. The sourcing script defines die() and, before it
# calls k(), sets $context (a kube context, or empty for the current one).

# The namespace the manifests in k8s/ deploy into.
# shellcheck disable=SC2034 # used by the sourcing scripts
readonly NAMESPACE=net-test

# find_node: prints a Node.js >= 22 (libp2p v3 needs it), the project's pinned one first; fails
# when there is none.
find_node() {
  local candidate
  for candidate in "${repo:?}/node_modules/.bin/node" node; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# require_kubectl: the kubectl to run ($KUBECTL, default kubectl) into $kubectl_bin; dies when it
# is not installed.
require_kubectl() {
  kubectl_bin="${KUBECTL:-kubectl}"
  command -v "$kubectl_bin" >/dev/null 2>&1 || die "$kubectl_bin is not installed"
}

# k ARGS...: kubectl in $context (the current one when empty). Call require_kubectl first.
k() {
  if [[ -n "${context:-}" ]]; then
    "$kubectl_bin" --context "$context" "$@"
  else
    "$kubectl_bin" "$@"
  fi
}
