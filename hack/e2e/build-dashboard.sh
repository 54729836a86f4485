#!/usr/bin/env bash
# Build the Tekton Dashboard (E2E_TEKTON_DASHBOARD_VERSION) for the e2e cluster from its source
# tarball in ../shared/vendor (its Go module is not served by the module proxy; see
# hack/e2e/dashboard.sh). Without the tarball it prints why the Dashboard is skipped and exits 0.
#   frontend  `npm ci --ignore-scripts` + `npm run build` (vite): assets in cmd/dashboard/kodata.
#             No install script runs and every telemetry switch is off, so nothing tries to send
#             usage data off this machine (Carbon's @ibm/telemetry-js postinstall would).
#   backend   `go build ./cmd/dashboard` with the pinned toolchain (e2e_go_env).
# Both land in $E2E_CACHE/bin/tekton-dashboard-VERSION/ (dashboard, kodata/, .complete): a second
# run builds nothing. The image is laid out as upstream's ko-built one (the binary at
# /ko-app/dashboard, the assets at /var/run/ko, where the Dashboard reads them), user 65532:
# localhost/techcommerce-e2e/tekton-dashboard:<content hash>, tagged e2e.
# A cold build takes 3-5 minutes on two cores and about 1.5 GB of disk while it runs (npm's cache
# and node_modules, removed at the end; Go's module cache stays in $E2E_CACHE/go): a node short of
# disk evicts pods (measured: an e2e cluster with ~5 GB free hit the kubelet's disk-pressure
# threshold during a cold build).
#
# Usage: hack/e2e/build-dashboard.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/e2e/lib.sh
source hack/e2e/lib.sh
# shellcheck source=hack/e2e/dashboard.sh
source hack/e2e/dashboard.sh

dashboard_source_present || exit 0
command -v npm >/dev/null || die "npm (Node.js) is needed to build the Dashboard's frontend"

build() {
  local src=$E2E_CACHE/src/tekton-dashboard-$E2E_TEKTON_DASHBOARD_VERSION began=$SECONDS
  step "Tekton Dashboard $E2E_TEKTON_DASHBOARD_VERSION (from ../shared/vendor)"
  rm -rf "$src" "$DASHBOARD_BIN"
  mkdir -p "$src" "$DASHBOARD_BIN"
  tar -xzf "$DASHBOARD_TARBALL" -C "$src" --strip-components=1
  (
    cd "$src"
    export CI=true IBM_TELEMETRY_DISABLED=true STORYBOOK_DISABLE_TELEMETRY=1
    # npm's cache goes with the source (500 MB; the finished build is what is kept). The package
    # asks for Node ^24 (engines, a warning only): the machine's Node 20 builds it.
    export npm_config_cache=$src/.npm-cache npm_config_update_notifier=false
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    note "npm ci: $((SECONDS - began)) s"
    npm run build
    note "frontend: $((SECONDS - began)) s"
  )
  e2e_go_env
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$DASHBOARD_BIN/dashboard" ./cmd/dashboard)
  cp -r "$src/cmd/dashboard/kodata" "$DASHBOARD_BIN/kodata"
  rm -rf "$src" # node_modules alone is hundreds of MB; the build is in $DASHBOARD_BIN
  touch "$DASHBOARD_BIN/.complete"
  note "built $(basename "$DASHBOARD_BIN") in $((SECONDS - began)) s: $(du -sh "$DASHBOARD_BIN" | cut -f1)"
}

# image: the cached build as a ko-style image, named by its content.
image() {
  local hash image root
  hash=$(cd "$DASHBOARD_BIN" && find dashboard kodata -type f -print0 | sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-16)
  image=localhost/techcommerce-e2e/tekton-dashboard:$hash
  if ! podman image exists "$image"; then
    root=$(mktemp -d)
    mkdir -p "$root/ko-app" "$root/var/run"
    cp "$DASHBOARD_BIN/dashboard" "$root/ko-app/dashboard"
    cp -r "$DASHBOARD_BIN/kodata" "$root/var/run/ko"
    chmod -R a+rX "$root"
    import_root "$root" "$image" 'ENTRYPOINT ["/ko-app/dashboard"]' "USER 65532" \
      "ENV KO_DATA_PATH=/var/run/ko"
  fi
  podman tag "$image" "$DASHBOARD_IMAGE"
  note "tekton-dashboard: $image"
}

[ -f "$DASHBOARD_BIN/.complete" ] || build
image
