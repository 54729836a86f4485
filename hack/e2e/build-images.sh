#!/usr/bin/env bash
# Images of the e2e cluster, all in the project's podman store (hack/images/containers/, outside the
# clone, so a second run or a fresh clone reuses them):
#   - the three services: hack/images/build-images.sh (services/Dockerfile + hack/images/make-base-image.sh),
#     tag e2e: exactly what users build;
#   - a PostgreSQL 15 stand-in for the official image (hack/e2e/images/postgres);
#   - the cluster's own Go binaries (pause, CoreDNS, metrics-server; monitoring with
#     `monitoring`): a single static binary on an empty filesystem, UID 65532.
# The pause image is also written as a docker-archive ($E2E_CACHE/images/pause.tar): containerd
# imports it before the registry runs. Everything else is pushed to the in-cluster registry by
# hack/e2e/deploy.sh (and cluster-up.sh for the add-ons).
#
# Usage: hack/e2e/build-images.sh [monitoring|tekton]   (no argument: every image)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/e2e/lib.sh
source hack/e2e/lib.sh
# shellcheck source=hack/images/containers/env.sh
source hack/images/containers/env.sh
mkdir -p "$E2E_CACHE/images"

# binary_image NAME DIR BINARY [PLACE]: import DIR/BINARY as /PLACE/BINARY (default bin, like the
# upstream images: the monitoring workloads mount volumes at /prometheus, /alertmanager; Tekton
# expects /ko-app) of localhost/techcommerce-e2e/NAME:<hash> (a rebuilt binary makes a new
# image), user 65532. Prints the image name.
binary_image() {
  local name=$1 dir=$2 binary=$3 place=${4:-bin} image
  image=localhost/techcommerce-e2e/$name:$( (sha256sum "$dir/$binary" && echo "$place") | sha256sum | cut -c1-16)
  if ! podman image exists "$image"; then
    tar --owner=0 --group=0 --numeric-owner --transform "s|^|$place/|" -C "$dir" -c "$binary" |
      podman import --quiet --change "ENTRYPOINT [\"/$place/$binary\"]" --change "USER 65532" - "$image" >/dev/null
  fi
  printf '%s\n' "$image"
}

# archive IMAGE NAME: a docker-archive of IMAGE at $E2E_CACHE/images/NAME.tar (rewritten only
# when IMAGE changed), for the add-ons cluster-up.sh pushes with skopeo.
archive() {
  local image=$1 name=$2 tar=$E2E_CACHE/images/$2.tar
  if [ "$(cat "$tar.image" 2>/dev/null)" != "$image" ]; then
    rm -f "$tar"
    podman save --quiet --format docker-archive --output "$tar" "$image"
    echo "$image" >"$tar.image"
  fi
  note "$name: $image"
}

monitoring_images() {
  local spec name dir binary image
  step "Monitoring images (Prometheus, Alertmanager, kube-state-metrics, node-exporter)"
  # tagged NAME:e2e; hack/e2e/deploy.sh pushes them to the in-cluster registry by digest.
  for spec in "prometheus prometheus-$E2E_PROMETHEUS_VERSION-kubernetes-sd prometheus" \
    "alertmanager alertmanager-$E2E_ALERTMANAGER_VERSION alertmanager" \
    "kube-state-metrics kube-state-metrics-$KUBE_STATE_METRICS_VERSION kube-state-metrics" \
    "node-exporter node-exporter-$NODE_EXPORTER_VERSION node_exporter"; do
    read -r name dir binary <<<"$spec"
    image=$(binary_image "$name" "$(e2e_bin "$dir")" "$binary")
    podman tag "$image" "localhost/techcommerce-e2e/$name:e2e"
    note "$name: $image"
  done
}
# Tekton Pipelines and Triggers: each command as /ko-app/COMMAND (the path their release images
# use and Tekton relies on), tagged tekton-REPO-COMMAND:e2e; the shell image Tekton's
# script-mode init container runs is the project's Debian base (hack/images/make-base-image.sh),
# tagged tekton-shell:e2e. hack/e2e/deploy.sh pushes them by digest.
tekton_images() {
  local name dir binary command image
  step "Tekton images (Pipelines $TEKTON_PIPELINES_VERSION, Triggers $TEKTON_TRIGGERS_VERSION, approval gate $MANUAL_APPROVAL_GATE_VERSION)"
  for name in pipeline triggers approval-gate; do
    case $name in
      pipeline) dir=$(e2e_bin "tekton-pipeline-$TEKTON_PIPELINES_VERSION") ;;
      triggers) dir=$(e2e_bin "tekton-triggers-$TEKTON_TRIGGERS_VERSION") ;;
      approval-gate) dir=$(e2e_bin "manual-approval-gate-$MANUAL_APPROVAL_GATE_VERSION") ;;
    esac
    for binary in "$dir"/*; do
      command=${binary##*/}
      [ "$command" = tkn-approvaltask ] && continue # a CLI, not an image
      image=$(binary_image "tekton-$name-$command" "$dir" "$command" ko-app)
      podman tag "$image" "localhost/techcommerce-e2e/tekton-$name-$command:e2e"
    done
  done
  podman tag "$(hack/images/make-base-image.sh | tail -n1)" localhost/techcommerce-e2e/tekton-shell:e2e
  note "Tekton images tagged localhost/techcommerce-e2e/tekton-*:e2e"
}

case "${1:-}" in
  monitoring) monitoring_images && exit 0 ;;
  tekton) tekton_images && exit 0 ;;
esac

step "Cluster images (pause, CoreDNS, metrics-server)"
pause_dir=$(e2e_bin "pause-$(sha256sum hack/e2e/src/pause/main.go | cut -c1-12)")
coredns_dir=$(e2e_bin "coredns-$E2E_COREDNS_VERSION-$(sha256sum hack/e2e/src/coredns/main.go | cut -c1-12)")
pause=$(binary_image pause "$pause_dir" pause)
# containerd's sandbox_image (cluster-up.sh) names it techcommerce-e2e/pause:local.
podman tag "$pause" localhost/techcommerce-e2e/pause:local
if [ "$(cat "$E2E_CACHE/images/pause.tar.image" 2>/dev/null)" != "$pause" ]; then
  rm -f "$E2E_CACHE/images/pause.tar"
  podman save --quiet --format docker-archive --output "$E2E_CACHE/images/pause.tar" \
    localhost/techcommerce-e2e/pause:local
  echo "$pause" >"$E2E_CACHE/images/pause.tar.image"
fi
archive "$(binary_image coredns "$coredns_dir" coredns)" coredns
archive "$(binary_image metrics-server "$(e2e_bin "metrics-server-$E2E_METRICS_SERVER_VERSION")" metrics-server)" metrics-server

step "Service images (hack/images/build-images.sh, tag e2e)"
TAG=e2e hack/images/build-images.sh

step "PostgreSQL 15 stand-in (hack/e2e/images/postgres)"
base=$(hack/images/make-base-image.sh | tail -n1)
recipe=$(cat hack/e2e/images/postgres/* | sha256sum | cut -c1-12)
postgres=localhost/techcommerce-e2e/postgres:15-$recipe
if ! podman image exists "$postgres"; then
  podman build --quiet --format docker --isolation chroot --layers --build-arg "BASE_IMAGE=$base" \
    --tag "$postgres" --file hack/e2e/images/postgres/Containerfile hack/e2e/images/postgres >/dev/null
fi
podman tag "$postgres" localhost/techcommerce-e2e/postgres:e2e
note "postgres: $postgres"

monitoring_images
tekton_images
