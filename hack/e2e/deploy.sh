#!/usr/bin/env bash
# Deploy TechCommerce on the e2e cluster the way hack/cluster-up deploys it on kind: the same
# namespace files (Pod Security labels enforced by the real API server), the same secrets
# generation (hack/gen-secrets.sh), the same staging overlay applied with `kubectl apply -k`, the
# same waits, in the same order. What differs is only what kind provides and this machine does
# not: images come from the in-cluster registry by digest (an overlay over the staging overlay,
# written to the run directory), PostgreSQL's image is a local stand-in, and its PVC binds to a
# pre-made local PersistentVolume (no dynamic provisioner).
#
# Usage: hack/e2e/deploy.sh [--dry-run]     (--dry-run prints the plan, one "+ " line per command)
# tests/cluster_e2e/test_shared_path.py compares this plan with `hack/cluster-up --dry-run`.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/e2e/lib.sh
source hack/e2e/lib.sh
[ "${1:-}" = --dry-run ] && DRY_RUN=1
REPO=$(pwd)
STAGING=manifests/overlays/staging
PRODUCTION=manifests/overlays/production
SERVICES=(product-api order-api frontend)
kubectl_() { run kctl "$@"; }

if [ "$DRY_RUN" = 1 ]; then
  # The plan, and the overlay written where E2E_DRY_RUN_DIR says (placeholder digests), so a
  # test can render it; nothing touches a cluster.
  E2E_RUN=${E2E_DRY_RUN_DIR:-$(mktemp -d)}
  mkdir -p "$E2E_RUN/staging"
  kctl() { :; }
else
  if [ -z "$E2E_RUN" ] || [ ! -d "$E2E_RUN" ]; then
    die "no e2e cluster is up: hack/e2e/cluster-up.sh"
  fi
  # shellcheck source=hack/images/containers/env.sh
  source hack/images/containers/env.sh
fi

# push IMAGE REPOSITORY: push a podman image to the in-cluster registry; prints the digest.
push() {
  local digest_file=$E2E_RUN/images/${2//\//_}.digest
  if [ "$DRY_RUN" = 1 ]; then
    show "$(quote_words podman push "$1" "docker://$E2E_REGISTRY/$2:e2e")"
    printf 'sha256:%064d\n' 0
    return
  fi
  nsenter --net="/run/netns/$E2E_NETNS" podman push --quiet --tls-verify=false \
    --digestfile "$digest_file" "$1" "docker://$E2E_REGISTRY/$2:e2e" >&2
  cat "$digest_file"
}

create_namespaces() {
  step "Namespaces with their Pod Security labels"
  kubectl_ apply -f "$STAGING/namespace.yaml"
  kubectl_ apply -f "$PRODUCTION/namespace.yaml"
  kubectl_ apply -f monitoring/kubernetes/namespaces.yaml
  kubectl_ apply -f tekton/rbac/namespace.yaml
}

create_secrets() {
  step "Secrets (generated once, never printed)"
  run hack/gen-secrets.sh "$STAGING" "$PRODUCTION"
}

# The overlay this cluster applies: the staging overlay with its Secrets (manifests/deploy/staging,
# as on kind) unchanged, images by digest.
push_images() {
  step "Images -> $E2E_REGISTRY (by digest)"
  local overlay=$E2E_RUN/staging service digest relative
  run mkdir -p "$overlay"
  relative=$(realpath --relative-to="$overlay" "$REPO/manifests/deploy/staging" 2>/dev/null ||
    echo "$REPO/manifests/deploy/staging")
  {
    echo "# Written by hack/e2e/deploy.sh: manifests/deploy/staging with the images of this e2e cluster."
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources:"
    echo "  - $relative"
    echo "images:"
    for service in "${SERVICES[@]}"; do
      digest=$(push "localhost/techcommerce/$service:e2e" "techcommerce/$service")
      echo "  - {name: techcommerce/$service, newName: $E2E_REGISTRY/techcommerce/$service, digest: $digest}"
    done
    digest=$(push localhost/techcommerce-e2e/postgres:e2e techcommerce-e2e/postgres)
    echo "  - {name: postgres, newName: $E2E_REGISTRY/techcommerce-e2e/postgres, digest: $digest}"
  } >"$overlay/kustomization.yaml"
}

# PostgreSQL's claim (StatefulSet postgres, volumeClaimTemplate data) binds to this local volume.
create_postgres_volume() {
  step "PersistentVolume for PostgreSQL (local, pre-bound to data-postgres-0)"
  local path=$E2E_RUN/volumes/postgres size
  size=$(kctl kustomize "$STAGING" 2>/dev/null |
    awk '/volumeClaimTemplates:/ {found = 1} found && /storage:/ {print $2; exit}')
  run mkdir -p "$path"
  run chown 10002:10002 "$path"
  run chmod 0700 "$path"
  local manifest
  manifest=$(
    cat <<EOF
apiVersion: v1
kind: PersistentVolume
metadata:
  name: techcommerce-staging-postgres
spec:
  capacity: {storage: ${size:-2Gi}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  claimRef: {namespace: techcommerce-staging, name: data-postgres-0}
  local: {path: $path}
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions:
            - {key: kubernetes.io/hostname, operator: In, values: [$E2E_NODE]}
EOF
  )
  show "kubectl apply -f - (PersistentVolume techcommerce-staging-postgres, $path)"
  [ "$DRY_RUN" = 1 ] || printf '%s\n' "$manifest" | kctl apply -f -
}

deploy_staging() {
  step "Staging ($STAGING, images from the in-cluster registry)"
  kubectl_ apply -k "$E2E_RUN/staging"
  kubectl_ rollout status --namespace techcommerce-staging statefulset/postgres --timeout=300s
  kubectl_ wait --namespace techcommerce-staging --for=condition=Complete job/migrate --timeout=300s
  local name
  for name in "${SERVICES[@]}"; do
    kubectl_ rollout status --namespace techcommerce-staging "deployment/$name" --timeout=300s
  done
}

create_namespaces
create_secrets
push_images
create_postgres_volume
deploy_staging
