# shellcheck shell=bash
# shellcheck disable=SC2034 # DASHBOARD_BIN is for hack/e2e/build-dashboard.sh, which sources this
# The Tekton Dashboard of the e2e cluster (read-only, namespace tekton-pipelines). Its Go module is
# not served by the module proxy: it is built from the source tarball in ../shared/vendor (next to
# the clone's parent, as on the project's build machine) by hack/e2e/build-dashboard.sh. A checkout
# without that tarball skips the Dashboard, with that reason, and everything else still runs
# (tests/cluster_e2e/test_13_dashboard.py skips too).
#
# Source it after hack/e2e/lib.sh (in the repository root). It defines:
#   DASHBOARD_TARBALL  the source tarball;  DASHBOARD_BIN  the cached build (binary and assets)
#   DASHBOARD_IMAGE    the image build-dashboard.sh tags
#   dashboard_source_present  true when the tarball is there (else prints the skip note)
#   deploy_dashboard   push the image by digest and apply hack/e2e/addons/tekton-dashboard.yaml
#                      (in hack/e2e/deploy.sh: it uses deploy.sh's push)

# shellcheck source=hack/images/containers/env.sh
source hack/images/containers/env.sh

DASHBOARD_TARBALL=$(dirname "$PWD")/shared/vendor/tekton-dashboard-$E2E_TEKTON_DASHBOARD_VERSION.tar.gz
DASHBOARD_BIN=$(e2e_bin "tekton-dashboard-$E2E_TEKTON_DASHBOARD_VERSION")
DASHBOARD_IMAGE=localhost/techcommerce-e2e/tekton-dashboard:e2e

dashboard_source_present() {
  [ -f "$DASHBOARD_TARBALL" ] && return 0
  note "Dashboard skipped: ../shared/vendor/${DASHBOARD_TARBALL##*/} absent"
  return 1
}

# deploy_dashboard: the image to the in-cluster registry by digest (hack/e2e/deploy.sh's push,
# which records it in $E2E_RUN/images/), the add-on with it, then the rollout. Called by deploy.sh.
deploy_dashboard() {
  step "Tekton Dashboard $E2E_TEKTON_DASHBOARD_VERSION (read-only, built from ../shared/vendor)"
  dashboard_source_present || return 0
  local image
  if [ "$DRY_RUN" != 1 ]; then
    podman image exists "$DASHBOARD_IMAGE" ||
      die "no image $DASHBOARD_IMAGE: run hack/e2e/build-dashboard.sh first"
  fi
  image=$E2E_REGISTRY/techcommerce-e2e/tekton-dashboard@$(push "$DASHBOARD_IMAGE" techcommerce-e2e/tekton-dashboard)
  show "kctl apply -f hack/e2e/addons/tekton-dashboard.yaml (@IMAGE@: the pushed digest)"
  if [ "$DRY_RUN" != 1 ]; then
    sed -e "s|@IMAGE@|$image|" -e "s|@VERSION@|$E2E_TEKTON_DASHBOARD_VERSION|" \
      hack/e2e/addons/tekton-dashboard.yaml | kctl apply -f -
  fi
  run kctl rollout status --namespace tekton-pipelines deployment/tekton-dashboard --timeout=300s
}
