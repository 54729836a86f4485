#!/usr/bin/env bash
# Remove what hack/cluster-up created: the kind cluster and the local registry container.
#
# Usage: hack/cluster-down [--dry-run] [--purge] [--help]
#   --dry-run  print every command (one per line, prefixed "+ ") and run none of them
#   --purge    also delete the generated secret files, all in .cluster/ (webhook secret, registry
#              credentials, the environments' Secrets in .cluster/secrets/). Without it
#              they are kept, so a new cluster-up reuses the same values.
# Environment: CLUSTER_NAME (default: techcommerce), CONTAINER_ENGINE (docker or podman).
# Safe to run again: what is already gone is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=common.sh source-path=SCRIPTDIR
source hack/cluster/common.sh

PURGE=0
while [ $# -gt 0 ]; do
  case $1 in
    --purge) PURGE=1 ;;
    *) common_option "$1" ;;
  esac
  shift
done

read_cluster_name
REGISTRY_NAME=kind-registry
pick_engine

[ "$DRY_RUN" = 1 ] && step "Dry run: printing the plan, running nothing"

step "Prerequisites"
need kind "Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need "$ENGINE" "Install Docker or Podman, or set CONTAINER_ENGINE."

step "kind cluster $CLUSTER_NAME"
if probe_output kind get clusters | grep -qx "$CLUSTER_NAME" || [ "$DRY_RUN" = 1 ]; then
  run kind delete cluster --name "$CLUSTER_NAME"
else
  note "no such cluster"
fi

step "Local registry $REGISTRY_NAME"
if probe "$ENGINE" inspect "$REGISTRY_NAME" || [ "$DRY_RUN" = 1 ]; then
  run "$ENGINE" rm --force "$REGISTRY_NAME"
else
  note "no such container"
fi

if [ "$PURGE" = 1 ]; then
  step "Generated secret files"
  run rm -rf .cluster
else
  note "kept the generated secrets in .cluster/ (remove them with --purge)"
fi
