#!/usr/bin/env bash
# Tools the cluster bootstrap tests need (tests/cluster), installed only when missing; a second
# run is a quick no-op:
#   - shellcheck (Debian), run on every shell script of the repository;
#   - kubectl, for `kubectl kustomize` (renders the overlays the bootstrap applies; offline).
# The tests run `hack/cluster-up --dry-run` only: kind, Docker and a cluster are not needed.
set -euo pipefail
cd "$(dirname "$0")/../../.."
command -v shellcheck >/dev/null 2>&1 || hack/dev/deps/apt-install.sh shellcheck
command -v kubectl >/dev/null 2>&1 || hack/dev/deps/apt-install.sh kubectl
