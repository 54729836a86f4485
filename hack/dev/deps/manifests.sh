#!/usr/bin/env bash
# Tools for the image and manifest tests (tests/images, tests/manifests), installed only when missing:
# - Debian: podman/buildah (+ runc, slirp4netns, fuse-overlayfs, uidmap) to build and run the service
#   images, debootstrap to make the local base image (no registry is reachable here); kubectl (for
#   `kubectl kustomize`, kustomize v5) comes with the machine image and is installed only if missing.
# - .venv-tools/{kubernetes-validate,checkov,hadolint}: one venv each, every package pinned by
#   hack/dev/deps/<tool>.txt (the tool plus its transitive dependencies, from `pip freeze`).
#   Update: bump the pin, recreate the venv, `pip freeze` into the file, run the tests.
# Safe to run again: a second run changes nothing and takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/../../.."

hack/dev/deps/apt-install.sh \
  podman buildah skopeo runc slirp4netns fuse-overlayfs uidmap debootstrap
command -v kubectl >/dev/null 2>&1 || hack/dev/deps/apt-install.sh kubectl

PYTHON=${PYTHON:-python3}
for tool in kubernetes-validate checkov hadolint; do
  venv=.venv-tools/$tool
  pins=hack/dev/deps/$tool.txt
  stamp=$venv/.pins.sha256
  want=$(sha256sum "$pins" | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && continue
  echo "deps: installing $tool into $venv"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$pins"
  echo "$want" >"$stamp"
done
