#!/usr/bin/env bash
# Deploy TechCommerce on the e2e cluster the way hack/cluster-up deploys it on kind: the same
# namespace files (Pod Security labels enforced by the real API server), the same secrets
# generation (hack/gen-secrets.sh), the same staging overlay applied with `kubectl apply -k`, the
# same waits, in the same order: both call hack/cluster/project-steps.sh for them. What differs
# is only what kind provides and this machine does not: images come from the in-cluster registry
# by digest (an overlay over the staging overlay, written to the run directory) and PostgreSQL's
# image is a local stand-in. Volumes come, as on kind, from local-path-provisioner's default
# StorageClass (hack/e2e/cluster-up.sh).
#
# Usage: hack/e2e/deploy.sh [--dry-run]     (--dry-run prints the plan, one "+ " line per command)
# tests/cluster_e2e/test_shared_path.py compares this plan with `hack/cluster-up --dry-run`.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/e2e/lib.sh
source hack/e2e/lib.sh
# shellcheck source=hack/cluster/project-steps.sh
source hack/cluster/project-steps.sh
# shellcheck source=hack/e2e/dashboard.sh
source hack/e2e/dashboard.sh
[ "${1:-}" = --dry-run ] && DRY_RUN=1
REPO=$(pwd)
STAGING=manifests/overlays/staging
PRODUCTION=manifests/overlays/production
SERVICES=(product-api order-api frontend)
kubectl_() { run kctl "$@"; }
kubectl_probe() { probe kctl "$@"; }

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

# pushed_digest REPOSITORY: the digest push() recorded for REPOSITORY in this run.
pushed_digest() {
  if [ "$DRY_RUN" = 1 ]; then printf 'sha256:%064d\n' 0; else cat "$E2E_RUN/images/${1//\//_}.digest"; fi
}

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

# render_tekton MODULE NAME FILE...: the YAML of FILE... (a module's config/) with every
# ko://MODULE/cmd/COMMAND image replaced by this cluster's image tekton-NAME-COMMAND by digest
# (what `ko resolve` does for a release), and Tekton's default shell image by the local one.
render_tekton() {
  local module=$1 name=$2 file command digest sed_args=()
  shift 2
  while read -r command; do
    digest=$(push "localhost/techcommerce-e2e/tekton-$name-$command:e2e" "techcommerce-e2e/tekton-$name-$command")
    sed_args+=(-e "s|\"\\?ko://$module/cmd/$command\\b\"\\?|$E2E_REGISTRY/techcommerce-e2e/tekton-$name-$command@$digest|g")
  done < <(grep -ho "ko://$module/cmd/[a-z]*" "$@" | sort -u | sed 's|.*/||')
  # the shell image once for all calls (this function runs in the deploy's own shell)
  SHELL_DIGEST=${SHELL_DIGEST:-$(push localhost/techcommerce-e2e/tekton-shell:e2e techcommerce-e2e/tekton-shell)}
  sed_args+=(-e "s|cgr.dev/chainguard/busybox@sha256:[0-9a-f]*|$E2E_REGISTRY/techcommerce-e2e/tekton-shell@$SHELL_DIGEST|g")
  for file in "$@"; do
    printf -- '---\n'
    sed "${sed_args[@]}" "$file"
    printf '\n'
  done
}

interceptors_have_ca() {
  [ -n "$(kctl get clusterinterceptor cel -o jsonpath='{.spec.clientConfig.caBundle}' 2>/dev/null)" ]
}

# Tekton Pipelines and Triggers (with the core interceptors) from their modules' config/, as the
# release files the kind path applies are made from it, and the manual approval gate; without
# the remote resolvers and the Dashboard (not built here yet).
install_tekton() {
  step "Tekton Pipelines $TEKTON_PIPELINES_VERSION and Triggers $TEKTON_TRIGGERS_VERSION (built here)"
  local pipeline=$E2E_CACHE/src/tekton-pipeline-$TEKTON_PIPELINES_VERSION/config
  local triggers=$E2E_CACHE/src/tekton-triggers-$TEKTON_TRIGGERS_VERSION/config
  local out=$E2E_RUN/tekton
  mkdir -p "$out"
  # (a dry run prints the plan only: the modules' sources may not be downloaded yet)
  [ "$DRY_RUN" = 1 ] || render_tekton github.com/tektoncd/pipeline pipeline "$pipeline"/100-namespace/*.yaml "$pipeline"/200-*.yaml \
    "$pipeline"/201-*.yaml "$pipeline"/300-crds/*.yaml "$pipeline"/clusterrole-*.yaml \
    "$pipeline"/config-*.yaml "$pipeline"/controller.yaml "$pipeline"/webhook.yaml \
    "$pipeline"/500-webhooks.yaml >"$out/pipeline.yaml"
  [ "$DRY_RUN" = 1 ] || render_tekton github.com/tektoncd/triggers triggers "$triggers"/200-*.yaml "$triggers"/201-*.yaml \
    "$triggers"/300-*.yaml "$triggers"/clusterrole-*.yaml "$triggers"/config-*.yaml \
    "$triggers"/*-service.yaml "$triggers"/controller.yaml "$triggers"/webhook.yaml \
    "$triggers"/500-webhooks.yaml >"$out/triggers.yaml"
  [ "$DRY_RUN" = 1 ] || render_tekton github.com/tektoncd/triggers triggers "$triggers"/interceptors/*.yaml >"$out/interceptors.yaml"
  kubectl_ apply --server-side --force-conflicts -f "$out/pipeline.yaml"
  kubectl_ wait --for=condition=Established --timeout=120s \
    crd/tasks.tekton.dev crd/pipelines.tekton.dev crd/pipelineruns.tekton.dev crd/customruns.tekton.dev
  kubectl_ rollout status --namespace tekton-pipelines deployment/tekton-pipelines-controller --timeout=300s
  kubectl_ rollout status --namespace tekton-pipelines deployment/tekton-pipelines-webhook --timeout=300s
  kubectl_ apply --server-side --force-conflicts -f "$out/triggers.yaml"
  kubectl_ wait --for=condition=Established --timeout=120s \
    crd/clusterinterceptors.triggers.tekton.dev crd/eventlisteners.triggers.tekton.dev
  kubectl_ rollout status --namespace tekton-pipelines deployment/tekton-triggers-controller --timeout=300s
  kubectl_ rollout status --namespace tekton-pipelines deployment/tekton-triggers-webhook --timeout=300s
  kubectl_ apply --server-side --force-conflicts -f "$out/interceptors.yaml"
  kubectl_ rollout status --namespace tekton-pipelines deployment/tekton-triggers-core-interceptors --timeout=300s

  # The manual approval gate with the kind path's fix to its RBAC (the same patch file).
  local gate=$E2E_CACHE/src/manual-approval-gate-$MANUAL_APPROVAL_GATE_VERSION/config/kubernetes
  mkdir -p "$out/approval-gate"
  [ "$DRY_RUN" = 1 ] || render_tekton github.com/openshift-pipelines/manual-approval-gate approval-gate \
    "$gate"/*.yaml >"$out/approval-gate/release.yaml"
  cp hack/cluster/manual-approval-gate/controller-binding.yaml "$out/approval-gate/"
  cat >"$out/approval-gate/kustomization.yaml" <<EOF
# Written by hack/e2e/deploy.sh: the approval gate built here, patched like hack/cluster/manual-approval-gate.
resources: [release.yaml]
patches:
  - target: {kind: ClusterRoleBinding, name: manual-approval-gate-controller-cluster-access}
    path: controller-binding.yaml
EOF
  kubectl_ apply --server-side --force-conflicts -k "$out/approval-gate"
  kubectl_ wait --for=condition=Established --timeout=120s crd/approvaltasks.openshift-pipelines.org
  kubectl_ rollout status --namespace tekton-pipelines deployment/manual-approval-gate-controller --timeout=300s
  kubectl_ rollout status --namespace tekton-pipelines deployment/manual-approval-gate-webhook --timeout=300s
  # EventListeners fail until the core interceptors have published their CA bundle.
  show "wait for the cel ClusterInterceptor's caBundle"
  [ "$DRY_RUN" = 1 ] || wait_until 120 "the core interceptors' CA bundle" interceptors_have_ca
}

# The project's Tekton resources, as the kind path applies them (hack/cluster/project-steps.sh),
# after the webhook secret the EventListener's GitHub interceptor reads (made the kind way). The
# cluster settings (tekton/triggers/cluster.yaml) name this cluster's own step images, built here
# at the versions the Tasks pin and pushed by digest (no local image takes an upstream name), the
# Python index cluster-up.sh serves, and the project's Debian base for the service images.
install_tekton_resources() {
  local base python_base git kaniko trivy kubectl postgres
  create_pipeline_secrets "$E2E_RUN" "$E2E_REGISTRY"
  step "Step images -> $E2E_REGISTRY (the Tasks' images in this cluster)"
  base=localhost/techcommerce/python-base
  [ "$DRY_RUN" = 1 ] || base=$(hack/images/make-base-image.sh | tail -n1)
  python_base=$E2E_REGISTRY/techcommerce-e2e/python-base@$(push "$base" techcommerce-e2e/python-base)
  git=$E2E_REGISTRY/techcommerce-e2e/git@$(push localhost/techcommerce-e2e/git:e2e techcommerce-e2e/git)
  kaniko=$E2E_REGISTRY/techcommerce-e2e/kaniko@$(push "localhost/techcommerce-e2e/kaniko:$KANIKO_VERSION-debug" techcommerce-e2e/kaniko)
  trivy=$E2E_REGISTRY/techcommerce-e2e/trivy@$(push "localhost/techcommerce-e2e/trivy:${TRIVY_VERSION#v}" techcommerce-e2e/trivy)
  kubectl=$E2E_REGISTRY/techcommerce-e2e/kubectl@$(push "localhost/techcommerce-e2e/kubectl:$KUBECTL_VERSION" techcommerce-e2e/kubectl)
  # No vulnerability database can be downloaded here: the trivy Tasks of this cluster read an
  # empty one written with trivy-db's own packages (hack/e2e/trivy_db_artifact.py), and the checks
  # built into trivy.
  run nsenter --net="/run/netns/$E2E_NETNS" .venv/bin/python hack/e2e/trivy_db_artifact.py \
    "$(e2e_trivy_db_bin)/trivy-db" "$E2E_REGISTRY" techcommerce-e2e/trivy-db:2
  postgres=$E2E_REGISTRY/techcommerce-e2e/postgres@$(pushed_digest techcommerce-e2e/postgres)
  # The deploy Tasks render the overlays with the same PostgreSQL stand-in this cluster's staging
  # runs (push_images), through the cluster setting image-overrides.
  apply_tekton_resources "$E2E_REGISTRY" "git-step-image=$git" "python-step-image=$python_base" \
    "postgres-step-image=$postgres" "image-overrides=postgres=$postgres" \
    "kaniko-step-image=$kaniko" "trivy-step-image=$trivy" "kubectl-step-image=$kubectl" \
    "service-base-image=$python_base" "pip-index-url=http://$E2E_NODE_IP:$E2E_PYTHON_INDEX_PORT/simple/" \
    "trivy-db-repository=$E2E_REGISTRY/techcommerce-e2e/trivy-db:2" trivy-skip-check-update=true
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

# monitoring/kubernetes as the kind path installs it, minus Grafana (no image of it is built
# here), with the images of this cluster, and every notification delivered to an in-cluster
# receiver (hack/e2e/addons/alert-receiver.yaml): the Secret alertmanager-receivers names it for
# Slack, and a copy of monitoring/alertmanager/alertmanager.yml sets global.pagerduty_url to it
# (routes and receivers unchanged). Nothing is notified outside the cluster.
deploy_monitoring() {
  step "Monitoring (Prometheus, Alertmanager, kube-state-metrics, node-exporter; no Grafana)"
  local overlay=$E2E_RUN/monitoring relative name digest
  local receiver=http://alert-receiver.monitoring.svc:8080
  mkdir -p "$overlay" # written in a dry run too, so a test can render it
  relative=$(realpath --relative-to="$overlay" "$REPO/monitoring/kubernetes" 2>/dev/null || echo "$REPO/monitoring/kubernetes")
  cp hack/e2e/addons/alert-receiver.yaml "$overlay/alert-receiver.yaml"
  {
    echo "# Written by hack/e2e/deploy.sh from monitoring/alertmanager/alertmanager.yml."
    sed "s|^global:|global:\n  pagerduty_url: $receiver/pagerduty|" monitoring/alertmanager/alertmanager.yml
  } >"$overlay/alertmanager.yml"
  {
    echo "# Written by hack/e2e/deploy.sh: monitoring/kubernetes with this e2e cluster's images."
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources:"
    echo "  - $relative"
    echo "  - alert-receiver.yaml"
    echo "patches:"
    echo "  - patch: '{\$patch: delete, apiVersion: apps/v1, kind: Deployment, metadata: {name: grafana, namespace: monitoring}}'"
    echo "  - patch: '{\$patch: delete, apiVersion: v1, kind: Service, metadata: {name: grafana, namespace: monitoring}}'"
    echo "configMapGenerator:"
    echo "  - {name: alertmanager-config, namespace: monitoring, behavior: replace, files: [alertmanager.yml]}"
    echo "images:"
    for name in prometheus alertmanager node-exporter; do
      digest=$(push "localhost/techcommerce-e2e/$name:e2e" "techcommerce-e2e/$name")
      echo "  - {name: prom/$name, newName: $E2E_REGISTRY/techcommerce-e2e/$name, digest: $digest}"
    done
    digest=$(push localhost/techcommerce-e2e/kube-state-metrics:e2e techcommerce-e2e/kube-state-metrics)
    echo "  - {name: registry.k8s.io/kube-state-metrics/kube-state-metrics, newName: $E2E_REGISTRY/techcommerce-e2e/kube-state-metrics, digest: $digest}"
    digest=$(pushed_digest techcommerce/product-api) # pushed by push_images
    echo "  - {name: techcommerce/product-api, newName: $E2E_REGISTRY/techcommerce/product-api, digest: $digest}"
  } >"$overlay/kustomization.yaml"
  show "kubectl create secret generic alertmanager-receivers (Slack URL: the in-cluster receiver)"
  if [ "$DRY_RUN" != 1 ] && ! kctl get secret --namespace monitoring alertmanager-receivers >/dev/null 2>&1; then
    kctl create secret generic alertmanager-receivers --namespace monitoring \
      --from-literal=slack-webhook-url="$receiver/slack" \
      --from-literal=pagerduty-routing-key=e2e-unused >/dev/null
  fi
  kubectl_ apply -k "$overlay"
  kubectl_ rollout status --namespace monitoring statefulset/prometheus --timeout=300s
  kubectl_ rollout status --namespace monitoring statefulset/alertmanager --timeout=300s
  kubectl_ rollout status --namespace monitoring deployment/kube-state-metrics --timeout=300s
  kubectl_ rollout status --namespace node-exporter daemonset/node-exporter --timeout=300s
  kubectl_ rollout status --namespace monitoring deployment/alert-receiver --timeout=300s
}

deploy_staging() {
  step "Staging ($STAGING, images from the in-cluster registry)"
  apply_staging "$E2E_RUN/staging"
}

install_tekton
deploy_dashboard
create_namespaces
generate_environment_secrets
push_images
deploy_monitoring
deploy_staging
install_tekton_resources
