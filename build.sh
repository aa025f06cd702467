#!/usr/bin/env bash
# Build the p2p-node container image, or (--local) only compile the TypeScript to dist/.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./build.sh [--tag IMAGE:TAG] [--push] [--local] [--sync-config]

Builds the p2p-node container image from the Dockerfile (multi-stage, node:22-bookworm-slim).

Options:
  --tag IMAGE:TAG   image reference to build (default: p2p-network:latest, or $IMAGE)
  --push            push the image after building it (docker push)
  --local           no image: type-check and bundle to dist/ as the image does (npm run build --
                    --noEmit, npm run bundle), e.g. to run dist/ directly
  --sync-config     copy config/{bootstrap,relay,worker}.yaml into k8s/<role>/config.yaml
                    (the ConfigMaps' sources; kustomize cannot read files outside k8s/)
  -h, --help        show this help

For a local cluster, load the image into it after building:
  kind load docker-image p2p-network:latest      # kind
  minikube image load p2p-network:latest         # minikube
then ./deploy.sh (see docs/kubernetes.md).
EOF
}

die() { echo "build.sh: $*" >&2; exit 1; }

tag="${IMAGE:-p2p-network:latest}"
push=0
local_only=0
sync_config=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; tag="$2"; shift 2 ;;
    --tag=*) tag="${1#--tag=}"; shift ;;
    --push) push=1; shift ;;
    --local) local_only=1; shift ;;
    --sync-config) sync_config=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")"
readonly ROLES=(bootstrap relay worker)

if [[ $sync_config -eq 1 ]]; then
  for role in "${ROLES[@]}"; do
    cp "config/$role.yaml" "k8s/$role/config.yaml"
    echo "copied config/$role.yaml -> k8s/$role/config.yaml"
  done
  exit 0
fi

for role in "${ROLES[@]}"; do
  if ! cmp -s "config/$role.yaml" "k8s/$role/config.yaml"; then
    echo "build.sh: warning: k8s/$role/config.yaml differs from config/$role.yaml; run ./build.sh --sync-config" >&2
  fi
done

if [[ $local_only -eq 1 ]]; then
  [[ $push -eq 0 ]] || die "--push needs an image; drop --local"
  [[ -d node_modules ]] || die "node_modules is missing: run npm ci first"
  npm run build -- --noEmit
  npm run bundle
  echo "built dist/; run it with: node bin/p2p-node.js --config config/worker.yaml"
  exit 0
fi

command -v docker >/dev/null 2>&1 || die "docker is not installed (use --local to build dist/ only)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (is the daemon running? docker info)"

version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -n 1)"
revision="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "building $tag (p2p-network ${version:-?}, revision $revision)"
docker build \
  --tag "$tag" \
  --label "org.opencontainers.image.title=p2p-network" \
  --label "org.opencontainers.image.version=${version:-unknown}" \
  --label "org.opencontainers.image.revision=$revision" \
  .

if [[ $push -eq 1 ]]; then
  docker push "$tag"
fi

cat <<EOF
built $tag
next:
  kind load docker-image $tag    # or: minikube image load $tag, or ./build.sh --tag <registry>/p2p-network:<tag> --push
  ./deploy.sh --image $tag
EOF
