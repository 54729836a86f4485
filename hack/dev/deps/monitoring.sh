#!/usr/bin/env bash
# Tools for the monitoring tests (tests/monitoring): promtool + the prometheus server (Debian
# package prometheus) and amtool (Debian package prometheus-alertmanager). No-op when present.
# `kubectl kustomize` renders monitoring/kubernetes; when neither kubectl nor kustomize is on the
# PATH, kustomize is built from its Go module into .venv-tools/bin.
set -euo pipefail
cd "$(dirname "$0")/../../.."

missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ ${#missing[@]} -gt 0 ]; then
  hack/dev/deps/apt-install.sh "${missing[@]}"
fi

if ! command -v kubectl >/dev/null 2>&1 && ! command -v kustomize >/dev/null 2>&1 \
  && [ ! -x .venv-tools/bin/kustomize ]; then
  echo "deps: building kustomize v5.5.0 into .venv-tools/bin"
  GOBIN="$PWD/.venv-tools/bin" go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0
fi
