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
# Usage: hack/e2e/build-images.sh [monitoring|tekton|kaniko|trivy|kubectl]   (no argument: every image)
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

# recipe_image NAME [FILE...]: build hack/e2e/images/NAME/Containerfile on the project's Debian
# base image (hack/images/make-base-image.sh) as localhost/techcommerce-e2e/NAME:<recipe hash>,
# tagged e2e. FILEs (built binaries) join the build context beside the recipe.
recipe_image() {
  local name=$1 base image context
  shift
  base=$(hack/images/make-base-image.sh | tail -n1)
  image=localhost/techcommerce-e2e/$name:$( (echo "$base" && cat "hack/e2e/images/$name"/* "$@") | sha256sum | cut -c1-12)
  if ! podman image exists "$image"; then
    context=$(mktemp -d)
    cp "hack/e2e/images/$name"/* "$@" "$context/"
    podman build --quiet --format docker --isolation chroot --layers --build-arg "BASE_IMAGE=$base" \
      --tag "$image" --file "$context/Containerfile" "$context" >/dev/null
    rm -rf "$context"
  fi
  podman tag "$image" "localhost/techcommerce-e2e/$name:e2e"
  note "$name: $image"
}

# busybox_into DIR: the host's static busybox (Debian busybox-static) and a link per applet in DIR.
busybox_into() {
  local applet
  cp /bin/busybox "$1/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$1/$applet"
  done
}

# A busybox image (applets in /bin): the local-path provisioner's helper Pod runs its scripts in it.
busybox_image() {
  local image root
  image=localhost/techcommerce-e2e/busybox:$(sha256sum /bin/busybox | cut -c1-16)
  if ! podman image exists "$image"; then
    root=$(mktemp -d)
    mkdir -p "$root/bin" "$root/tmp"
    chmod 1777 "$root/tmp"
    busybox_into "$root/bin"
    import_root "$root" "$image" 'CMD ["/bin/sh"]'
  fi
  printf '%s\n' "$image"
}

# kaniko's debug image as upstream lays it out (deploy/Dockerfile_debug of the same release): the
# executor at /kaniko/executor, CA certificates at /kaniko/ssl/certs, a static busybox at /busybox
# (the Task's script runs under /busybox/sh), user root, workdir /workspace. Tagged
# kaniko:KANIKO_VERSION-debug: the version the kaniko-build Task pins, under the project's own name.
kaniko_image() {
  local bin image root
  bin=$(e2e_bin "kaniko-$KANIKO_VERSION")/executor
  image=localhost/techcommerce-e2e/kaniko:$( (sha256sum "$bin" /bin/busybox /etc/ssl/certs/ca-certificates.crt) | sha256sum | cut -c1-16)
  if ! podman image exists "$image"; then
    root=$(mktemp -d)
    mkdir -p "$root/kaniko/ssl/certs" "$root/kaniko/.docker" "$root/busybox" "$root/bin" \
      "$root/workspace" "$root/root" "$root/tmp"
    cp "$bin" "$root/kaniko/executor"
    cp /etc/ssl/certs/ca-certificates.crt "$root/kaniko/ssl/certs/"
    busybox_into "$root/busybox"
    ln -s /busybox/sh "$root/bin/sh"
    chmod 1777 "$root/tmp"
    import_root "$root" "$image" 'ENTRYPOINT ["/kaniko/executor"]' "USER 0" "WORKDIR /workspace" \
      "ENV PATH=/usr/local/bin:/kaniko:/busybox" "ENV HOME=/root" "ENV USER=root" \
      "ENV SSL_CERT_DIR=/kaniko/ssl/certs" "ENV DOCKER_CONFIG=/kaniko/.docker/"
  fi
  podman tag "$image" "localhost/techcommerce-e2e/kaniko:$KANIKO_VERSION-debug"
  note "kaniko: $image"
}

# trivy's image as upstream lays it out (an Alpine base there, a static busybox here): trivy at
# /usr/local/bin/trivy, CA certificates, a shell for the Tasks' scripts, ENTRYPOINT trivy. Tagged
# trivy:TRIVY_VERSION (without the v): the version the trivy Tasks pin, under the project's name.
trivy_image() {
  local bin image root
  bin=$(e2e_bin "trivy-$TRIVY_VERSION")/trivy
  image=localhost/techcommerce-e2e/trivy:$( (sha256sum "$bin" /bin/busybox /etc/ssl/certs/ca-certificates.crt) | sha256sum | cut -c1-16)
  if ! podman image exists "$image"; then
    root=$(mktemp -d)
    mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/bin" "$root/tmp"
    cp "$bin" "$root/usr/local/bin/trivy"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
    busybox_into "$root/bin"
    chmod 1777 "$root/tmp"
    import_root "$root" "$image" 'ENTRYPOINT ["trivy"]' "ENV PATH=/usr/local/bin:/bin"
  fi
  podman tag "$image" "localhost/techcommerce-e2e/trivy:${TRIVY_VERSION#v}"
  note "trivy: $image"
}

# The kubectl step image of the deploy and rollback Tasks (their default is alpine/k8s, kubectl
# with bash and jq): hack/e2e/images/kubectl, the Debian base with bash, jq and kubectl
# KUBECTL_VERSION. Tagged kubectl:KUBECTL_VERSION.
kubectl_image() {
  step "kubectl step image (hack/e2e/images/kubectl, kubectl $KUBECTL_VERSION)"
  recipe_image kubectl "$(e2e_bin "kubectl-$KUBECTL_VERSION")/kubectl"
  podman tag localhost/techcommerce-e2e/kubectl:e2e "localhost/techcommerce-e2e/kubectl:$KUBECTL_VERSION"
}

case "${1:-}" in
  monitoring) monitoring_images && exit 0 ;;
  tekton) tekton_images && exit 0 ;;
  kaniko) kaniko_image && exit 0 ;;
  trivy) trivy_image && exit 0 ;;
  kubectl) kubectl_image && exit 0 ;;
esac

step "Cluster images (pause, CoreDNS, metrics-server, local-path-provisioner, busybox)"
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
archive "$(binary_image local-path-provisioner \
  "$(e2e_bin "local-path-provisioner-$E2E_LOCAL_PATH_PROVISIONER_VERSION")" local-path-provisioner)" \
  local-path-provisioner
archive "$(busybox_image)" busybox

step "Service images (hack/images/build-images.sh, tag e2e)"
TAG=e2e hack/images/build-images.sh

step "PostgreSQL 15 stand-in (hack/e2e/images/postgres)"
recipe_image postgres

monitoring_images
tekton_images
kaniko_image
step "git step image (hack/e2e/images/git)"
recipe_image git
trivy_image
kubectl_image

# Every pinned package of tests/requirements.txt (which includes services/requirements.txt), as
# wheels behind a PEP 503 index: cluster-up.sh serves it to the image builds and CI steps in pods.
step "Python package index (tests/requirements.txt: services, tests, bandit)"
note "index: $(.venv/bin/python hack/e2e/python_index.py "$(e2e_python_index)" tests/requirements.txt)"
