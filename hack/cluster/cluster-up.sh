#!/usr/bin/env bash
# From laptop to cluster: one command brings up the whole TechCommerce platform on a local kind
# cluster with a local registry. See hack/cluster/README.md.
#
# Usage: hack/cluster-up [--dry-run] [--skip-images] [--help]
#   --dry-run      print every command (one per line, prefixed "+ ") and run none of them, not
#                  even the prerequisite checks
#   --skip-images  do not build and push the service images (use what the registry has)
# Environment:
#   CLUSTER_NAME      kind cluster name (default: techcommerce; kubectl context kind-NAME)
#   CONTAINER_ENGINE  docker or podman (default: docker if installed, else podman; dry-run: docker)
#
# What it does, in order (each step waits until what it installed is ready):
#   prerequisites -> local registry -> kind cluster wired to the registry -> Tekton Pipelines,
#   Triggers + core interceptors, Dashboard, manual approval gate, metrics-server (versions:
#   hack/versions.env) -> namespaces with Pod Security labels -> generated secrets (never
#   printed) -> service images -> monitoring -> staging -> Tekton tasks, pipelines, RBAC,
#   triggers (their registry patched to the local one) -> next steps.
# Idempotent: it checks before it creates (cluster, registry, secrets) and uses `kubectl apply`
# (and one `kubectl patch` to fixed values) for everything else, so a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=common.sh source-path=SCRIPTDIR
source hack/cluster/common.sh
# shellcheck source=project-steps.sh source-path=SCRIPTDIR
source hack/cluster/project-steps.sh

SKIP_IMAGES=0
while [ $# -gt 0 ]; do
  case $1 in
    --skip-images) SKIP_IMAGES=1 ;;
    *) common_option "$1" ;;
  esac
  shift
done

load_versions hack/versions.env

read_cluster_name
CONTEXT=kind-$CLUSTER_NAME
NODE=$CLUSTER_NAME-control-plane # kind's name for the single node of a default cluster
REGISTRY_NAME=kind-registry      # kind's local-registry guide: container name ...
REGISTRY_PORT=5001               # ... and host port (127.0.0.1 only)
IN_CLUSTER_REGISTRY=$REGISTRY_NAME:5000 # where pipelines push; plain HTTP (hack/cluster/registry-hosts.toml)
STATE_DIR=.cluster               # generated, gitignored: webhook secret, registry credentials
STAGING=manifests/overlays/staging
PRODUCTION=manifests/overlays/production
TEKTON_RELEASES=https://infra.tekton.dev/tekton-releases

kubectl_() { run kubectl --context "$CONTEXT" "$@"; }
kubectl_probe() { probe kubectl --context "$CONTEXT" "$@"; }
# Wait until every Deployment of a namespace is Available.
wait_deployments() {
  kubectl_ wait --namespace "$1" --for=condition=Available deployment --all --timeout="${2:-300s}"
}

# install_hint TOOL: the command that installs TOOL, at the version hack/versions.env pins where
# the tool has one, on this platform (Homebrew on macOS, `go install` elsewhere).
install_hint() {
  local on_mac=0
  [ "$(uname -s)" = Darwin ] && on_mac=1
  case "$1" in
    kind)
      if [ $on_mac = 1 ]; then echo "brew install kind"; else echo "go install sigs.k8s.io/kind@$KIND_VERSION"; fi ;;
    tkn)
      if [ $on_mac = 1 ]; then echo "brew install tektoncd-cli"; else echo "go install github.com/tektoncd/cli/cmd/tkn@$TKN_VERSION"; fi ;;
    tkn-approvaltask)
      echo "go install github.com/openshift-pipelines/manual-approval-gate/cmd/tkn-approvaltask@$MANUAL_APPROVAL_GATE_VERSION" ;;
  esac
}

check_prerequisites() {
  step "Prerequisites"
  pick_engine
  need "$ENGINE" "Install Docker (https://docs.docker.com/engine/install/) or Podman (https://podman.io/docs/installation), or set CONTAINER_ENGINE."
  need kind "Install kind $KIND_VERSION: $(install_hint kind) (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
  need kubectl "Install kubectl: https://kubernetes.io/docs/tasks/tools/#kubectl"
  probe "$ENGINE" info || [ "$DRY_RUN" = 1 ] || die "$ENGINE is installed but not running (start Docker Desktop, or the docker/podman service)"
  local kind_says
  kind_says=$(probe_output kind version)
  if [ "$DRY_RUN" != 1 ] && [[ $kind_says != "kind $KIND_VERSION "* ]]; then
    warn "kind is '$kind_says'; the node image in hack/versions.env is built for kind $KIND_VERSION"
  fi
  if ! probe command -v tkn && [ "$DRY_RUN" != 1 ]; then
    note "tkn (optional) is not installed; the next steps use it: $(install_hint tkn) (https://tekton.dev/docs/cli/)"
  fi
  if ! probe command -v tkn-approvaltask && [ "$DRY_RUN" != 1 ]; then
    note "tkn-approvaltask (optional) approves production: $(install_hint tkn-approvaltask)"
  fi
}

start_registry() {
  step "Local registry $REGISTRY_NAME on 127.0.0.1:$REGISTRY_PORT ($REGISTRY_IMAGE)"
  local running
  running=$(probe_output "$ENGINE" inspect --format '{{.State.Running}}' "$REGISTRY_NAME")
  if [ "$running" = true ]; then
    note "already running"
  elif [ "$running" = false ]; then
    run "$ENGINE" start "$REGISTRY_NAME"
  else
    run "$ENGINE" run --detach --restart=always --name "$REGISTRY_NAME" \
      --publish "127.0.0.1:$REGISTRY_PORT:5000" --network bridge "$REGISTRY_IMAGE"
  fi
}

create_cluster() {
  step "kind cluster $CLUSTER_NAME ($KIND_NODE_IMAGE)"
  if probe_output kind get clusters | grep -qx "$CLUSTER_NAME"; then
    note "already exists"
  else
    run kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" --wait 180s
  fi
  # Let the node pull localhost:5001/... and kind-registry:5000/... from the registry container.
  local host
  for host in "localhost:$REGISTRY_PORT" "$REGISTRY_NAME:5000"; do
    run "$ENGINE" exec "$NODE" mkdir -p "/etc/containerd/certs.d/$host"
    run "$ENGINE" cp hack/cluster/registry-hosts.toml "$NODE:/etc/containerd/certs.d/$host/hosts.toml"
  done
  local networks
  networks=$(probe_output "$ENGINE" inspect --format '{{json .NetworkSettings.Networks}}' "$REGISTRY_NAME")
  if [[ $networks == *'"kind"'* ]]; then
    note "registry already on the kind network"
  else
    run "$ENGINE" network connect kind "$REGISTRY_NAME"
  fi
  kubectl_ apply -f hack/cluster/local-registry-hosting.yaml
  kubectl_ wait --for=condition=Ready node --all --timeout=180s
}

# Upstream components: official release manifests at pinned versions. Server-side apply, because
# Tekton's CRDs carry schemas too large for the last-applied annotation of a client-side apply.
install_tekton() {
  step "Tekton Pipelines $TEKTON_PIPELINES_VERSION"
  kubectl_ apply --server-side --force-conflicts \
    -f "$TEKTON_RELEASES/pipeline/previous/$TEKTON_PIPELINES_VERSION/release.yaml"
  kubectl_ wait --for=condition=Established --timeout=120s \
    crd/tasks.tekton.dev crd/pipelines.tekton.dev crd/pipelineruns.tekton.dev crd/customruns.tekton.dev
  wait_deployments tekton-pipelines
  wait_deployments tekton-pipelines-resolvers

  step "Tekton Triggers $TEKTON_TRIGGERS_VERSION and core interceptors"
  kubectl_ apply --server-side --force-conflicts \
    -f "$TEKTON_RELEASES/triggers/previous/$TEKTON_TRIGGERS_VERSION/release.yaml"
  # The interceptors are ClusterInterceptor objects: their CRD must be established first.
  kubectl_ wait --for=condition=Established --timeout=120s \
    crd/clusterinterceptors.triggers.tekton.dev crd/eventlisteners.triggers.tekton.dev
  kubectl_ apply --server-side --force-conflicts \
    -f "$TEKTON_RELEASES/triggers/previous/$TEKTON_TRIGGERS_VERSION/interceptors.yaml"
  wait_deployments tekton-pipelines

  step "Tekton Dashboard $TEKTON_DASHBOARD_VERSION (read-only)"
  kubectl_ apply --server-side --force-conflicts \
    -f "$TEKTON_RELEASES/dashboard/previous/$TEKTON_DASHBOARD_VERSION/release.yaml"
  wait_deployments tekton-pipelines

  step "Manual approval gate $MANUAL_APPROVAL_GATE_VERSION (without the all-users RBAC binding)"
  kubectl_ apply --server-side --force-conflicts -k hack/cluster/manual-approval-gate
  kubectl_ wait --for=condition=Established --timeout=120s crd/approvaltasks.openshift-pipelines.org
  wait_deployments tekton-pipelines
}

install_metrics_server() {
  step "metrics-server $METRICS_SERVER_VERSION (with --kubelet-insecure-tls for kind)"
  kubectl_ apply -k hack/cluster/metrics-server
  kubectl_ rollout status --namespace kube-system deployment/metrics-server --timeout=180s
}

create_secrets() {
  generate_environment_secrets
  create_pipeline_secrets "$STATE_DIR" "$REGISTRY_NAME:5000" "localhost:$REGISTRY_PORT"
}

build_images() {
  if [ "$SKIP_IMAGES" = 1 ]; then
    step "Service images: skipped (--skip-images)"
    return
  fi
  step "Service images -> localhost:$REGISTRY_PORT (tag $TECHCOMMERCE_IMAGE_TAG)"
  local tls=()
  [ "$ENGINE" = podman ] && tls=(--tls-verify=false) # the local registry speaks plain HTTP
  local service image
  for service in product_api order_api frontend; do
    image=localhost:$REGISTRY_PORT/techcommerce/${service//_/-}:$TECHCOMMERCE_IMAGE_TAG
    run "$ENGINE" build --build-arg "SERVICE=$service" --tag "$image" --file services/Dockerfile services
    run "$ENGINE" push "${tls[@]}" "$image"
  done
}

install_monitoring() {
  step "Monitoring (Prometheus, Alertmanager, Grafana, kube-state-metrics $KUBE_STATE_METRICS_VERSION, node-exporter $NODE_EXPORTER_VERSION)"
  kubectl_ apply -k monitoring/kubernetes
  kubectl_ rollout status --namespace monitoring statefulset/prometheus --timeout=300s
  kubectl_ rollout status --namespace monitoring statefulset/alertmanager --timeout=300s
  kubectl_ rollout status --namespace monitoring deployment/grafana --timeout=300s
  kubectl_ rollout status --namespace monitoring deployment/kube-state-metrics --timeout=300s
  kubectl_ rollout status --namespace node-exporter daemonset/node-exporter --timeout=300s
}

deploy_staging() {
  step "Staging (manifests/overlays/staging, images from the local registry)"
  apply_staging manifests/deploy/kind # manifests/overlays/kind + the staging Secrets
}


install_tekton_resources() {
  apply_tekton_resources "$IN_CLUSTER_REGISTRY"
}

next_steps() {
  cat >&2 <<EOF

==> Done: cluster kind-$CLUSTER_NAME is up. Next steps (more in hack/cluster/README.md):

  Shop (staging):     kubectl --context $CONTEXT -n techcommerce-staging port-forward svc/frontend 3000:80
                      -> http://localhost:3000
  Tekton Dashboard:   kubectl --context $CONTEXT -n tekton-pipelines port-forward svc/tekton-dashboard 9097:9097
                      -> http://localhost:9097
  Grafana:            kubectl --context $CONTEXT -n monitoring port-forward svc/grafana 3001:3000
                      -> http://localhost:3001
  Prometheus:         kubectl --context $CONTEXT -n monitoring port-forward svc/prometheus 9090:9090
  Alertmanager:       kubectl --context $CONTEXT -n monitoring port-forward svc/alertmanager 9093:9093
  Webhooks:           kubectl --context $CONTEXT -n techcommerce-ci port-forward svc/el-techcommerce-github 8080:8080
                      -> POST http://localhost:8080 (GitHub needs a public URL: a tunnel, or
                      tekton/triggers/examples/ingress.yaml on a real cluster); the shared secret GitHub
                      must sign with is in .cluster/webhook-secret (never printed here)

  kind made kind-$CLUSTER_NAME the current kubectl context; tkn and tkn-approvaltask use it.
  First CD run (builds, pushes to the in-cluster registry, deploys staging, waits for approval):
    tkn -n techcommerce-ci pipeline start cd --serviceaccount techcommerce-cd --timeout 27h \\
      --param repo-url=<clone URL the cluster can reach> --param revision=<commit SHA> \\
      --param registry=$IN_CLUSTER_REGISTRY --param insecure-registry=true \\
      --param force-all=true --param approvers=kubernetes-admin \\
      --workspace name=shared,volumeClaimTemplateFile=tekton/runs/pvc.yaml \\
      --workspace name=docker-config,secret=techcommerce-registry,item=.dockerconfigjson=config.json \\
      --workspace name=staging-secrets,secret=techcommerce-staging-overlay \\
      --workspace name=production-secrets,secret=techcommerce-production-overlay \\
      --pod-template hack/cluster/pod-template.yaml --showlog
  Approve production:  tkn-approvaltask -n techcommerce-ci list
                       tkn-approvaltask -n techcommerce-ci approve <name>   (or: reject <name>)
  Roll back:           kubectl create -f tekton/runs/rollback-run.yaml   (or: tkn pipeline start rollback)
  Tear down:           hack/cluster-down
EOF
}

main() {
  [ "$DRY_RUN" = 1 ] && step "Dry run: printing the plan, running nothing"
  check_prerequisites
  start_registry
  create_cluster
  install_tekton
  install_metrics_server
  create_namespaces
  create_secrets
  build_images
  install_monitoring
  deploy_staging
  install_tekton_resources
  next_steps
}

main
