#!/usr/bin/env bash
# Build the e2e cluster's Go binaries from the Go module proxy, with the pinned toolchain
# (E2E_GO_TOOLCHAIN) and the versions of hack/versions.env. Each lands in
# $E2E_CACHE/bin/<component>-<version>/ and is skipped when already built, so a second run (or a
# fresh clone on the same machine) builds nothing.
#
# Usage: hack/e2e/build-binaries.sh [COMPONENT...]   (default: all)
#   kubernetes etcd pause coredns metrics-server kube-router monitoring tekton approval-gate tkn
#   local-path-provisioner kaniko trivy (with hack/e2e/src/trivy-db) kubectl
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/e2e/lib.sh
source hack/e2e/lib.sh
e2e_go_env

# built DIR: true when DIR holds a finished build.
built() { [ -f "$1/.complete" ]; }
finish() {
  touch "$1/.complete"
  note "built $(basename "$1"): $(du -sh "$1" | cut -f1)"
}
# module_dir MODULE VERSION: download a module and print where its source is (read-only).
module_dir() {
  go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}
# own_module_copy MODULE VERSION NAME: a writable copy of a module's source, built with its own
# go.mod and go.sum (exact upstream pins; a wrapper module plus `go mod tidy` would move them).
own_module_copy() {
  local src dst=$E2E_CACHE/src/$3
  if [ ! -f "$dst/go.mod" ]; then
    src=$(module_dir "$1" "$2")
    [ -n "$src" ] || die "cannot download $1@$2"
    rm -rf "$dst"
    mkdir -p "$(dirname "$dst")"
    cp -r "$src" "$dst"
    chmod -R u+w "$dst"
  fi
  printf '%s\n' "$dst"
}

# prepare NAME MODULE VERSION [DIR [TITLE]]: start building a module's own source. Sets OUT (the
# cache directory DIR, default NAME-VERSION) and SRC (a writable copy of the module) and prints
# the step TITLE (default "NAME VERSION"); returns 1 when OUT is already built (nothing to do).
prepare() {
  OUT=$(e2e_bin "${4:-$1-$3}")
  built "$OUT" && return 1
  step "${5:-$1 $3}"
  SRC=$(own_module_copy "$2" "$3" "$1-$3")
  mkdir -p "$OUT"
}

# wrapper_module NAME PACKAGE...: make the current directory a fresh module techcommerce/e2e/NAME
# whose tools.go imports PACKAGE... (so `go mod tidy` pins what building them needs).
wrapper_module() {
  local name=$1 package
  shift
  rm -f go.mod go.sum
  go mod init "techcommerce/e2e/$name" >/dev/null 2>&1
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for package in "$@"; do
      printf '\t_ "%s"\n' "$package"
    done
    printf ')\n'
  } >tools.go
}

# kubernetes_binaries OUT VERSION SRC COMMAND...: build k8s.io/kubernetes VERSION's COMMANDs into
# OUT, in the wrapper module SRC. k8s.io/kubernetes replaces its staging modules (k8s.io/api, ...)
# with ./staging paths, which do not exist in the module download; the wrapper replaces them by
# their published versions, v0.MINOR.PATCH of VERSION v1.MINOR.PATCH.
kubernetes_binaries() {
  local out=$1 version=$2 src=$3
  shift 3
  local commands=("$@") staging_version=v0.${version#v1.}
  mkdir -p "$src" "$out"
  (
    cd "$src"
    wrapper_module kubernetes "${commands[@]/#/k8s.io/kubernetes/cmd/}"
    go mod edit -require="k8s.io/kubernetes@$version"
    local kube staging
    kube=$(module_dir k8s.io/kubernetes "$version")
    sed -n '/^replace (/,/^)/p' "$kube/go.mod" | awk '/=>/ {print $1}' | while read -r staging; do
      go mod edit -replace="$staging=$staging@$staging_version"
    done
    go mod tidy
    # The version the binaries report (Tekton and kubectl check it): without these, v0.0.0.
    local minor ldflags="-s -w" pkg
    minor=$(echo "$version" | cut -d. -f2)
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
      ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    go build -trimpath -ldflags "$ldflags" -o "$out/" "${commands[@]/#/k8s.io/kubernetes/cmd/}"
  )
  finish "$out"
}

build_kubernetes() {
  built "$KUBE_BIN" && return 0
  step "Kubernetes $E2E_KUBERNETES_VERSION"
  kubernetes_binaries "$KUBE_BIN" "$E2E_KUBERNETES_VERSION" "$E2E_CACHE/src/kubernetes" \
    kube-apiserver kube-controller-manager kube-proxy kube-scheduler kubectl kubelet
}

# kubectl at the version the deploy and rollback Tasks' step image pins (KUBECTL_VERSION), for
# the e2e kubectl step image (hack/e2e/build-images.sh).
build_kubectl() {
  local out
  out=$(e2e_bin "kubectl-$KUBECTL_VERSION")
  built "$out" && return 0
  step "kubectl $KUBECTL_VERSION (the deploy Tasks' step image)"
  kubernetes_binaries "$out" "$KUBECTL_VERSION" "$E2E_CACHE/src/kubectl-$KUBECTL_VERSION" kubectl
}

build_etcd() {
  local out=$ETCD_BIN src=$E2E_CACHE/src/etcd
  built "$out" && return 0
  step "etcd $E2E_ETCD_VERSION"
  mkdir -p "$src" "$out"
  (
    cd "$src"
    wrapper_module etcd go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/server/v3
    go get "go.etcd.io/etcd/server/v3@$E2E_ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$E2E_ETCD_VERSION"
    go mod tidy
    go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
    go build -trimpath -ldflags "-s -w" -o "$out/etcdctl" go.etcd.io/etcd/etcdctl/v3
  )
  finish "$out"
}

build_pause() {
  local out
  out=$(e2e_bin "pause-$(sha256sum hack/e2e/src/pause/main.go | cut -c1-12)")
  built "$out" && return 0
  step "pause (hack/e2e/src/pause)"
  mkdir -p "$out"
  (cd hack/e2e/src/pause && go build -trimpath -ldflags "-s -w" -o "$out/pause" .)
  finish "$out"
}

build_coredns() {
  local out src=$E2E_CACHE/src/coredns-$E2E_COREDNS_VERSION
  out=$(e2e_bin "coredns-$E2E_COREDNS_VERSION-$(sha256sum hack/e2e/src/coredns/main.go | cut -c1-12)")
  built "$out" && return 0
  step "CoreDNS $E2E_COREDNS_VERSION (hack/e2e/src/coredns: the plugins the Corefile uses)"
  mkdir -p "$src" "$out"
  cp hack/e2e/src/coredns/main.go "$src/main.go"
  (
    cd "$src"
    if [ ! -f go.mod ]; then
      go mod init techcommerce/e2e/coredns >/dev/null 2>&1
      go mod edit -require="github.com/coredns/coredns@$E2E_COREDNS_VERSION"
    fi
    go mod tidy
    go build -trimpath -ldflags "-s -w" -o "$out/coredns" .
  )
  finish "$out"
}

build_metrics_server() {
  local out src
  out=$(e2e_bin "metrics-server-$E2E_METRICS_SERVER_VERSION")
  built "$out" && return 0
  step "metrics-server $E2E_METRICS_SERVER_VERSION"
  src=$(own_module_copy sigs.k8s.io/metrics-server "$E2E_METRICS_SERVER_VERSION" "metrics-server-$E2E_METRICS_SERVER_VERSION")
  mkdir -p "$out"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out/metrics-server" ./cmd/metrics-server)
  finish "$out"
}

build_kube_router() {
  local out src mod=github.com/cloudnativelabs/kube-router/v2
  out=$(e2e_bin "kube-router-$E2E_KUBE_ROUTER_VERSION")
  built "$out" && return 0
  step "kube-router $E2E_KUBE_ROUTER_VERSION (NetworkPolicy only)"
  src=$(own_module_copy "$mod" "$E2E_KUBE_ROUTER_VERSION" "kube-router-$E2E_KUBE_ROUTER_VERSION")
  mkdir -p "$out"
  (cd "$src" && go build -trimpath \
    -ldflags "-s -w -X $mod/pkg/version.Version=$E2E_KUBE_ROUTER_VERSION" \
    -o "$out/kube-router" ./cmd/kube-router)
  finish "$out"
}

# module_binary NAME MODULE VERSION BINARY PACKAGE: build one binary of a module's own source
# (its go.mod, its versions) into the cache, once.
module_binary() {
  prepare "$1" "$2" "$3" || return 0
  (cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$OUT/$4" "$5")
  finish "$OUT"
}

# Prometheus with only the service discovery monitoring/prometheus uses (kubernetes; file and
# http are always in). Upstream chooses the discovery plugins in plugins.yml and generates
# plugins/plugins.go from it (`make plugins`); this writes the file that would generate, which
# leaves out the cloud SDKs (AWS, Azure, GCE, ...): a third of the cold build time.
build_prometheus() {
  local version=$E2E_PROMETHEUS_VERSION
  prepare prometheus github.com/prometheus/prometheus "$version" \
    "prometheus-$version-kubernetes-sd" "prometheus $version (kubernetes service discovery only)" ||
    return 0
  cat >"$SRC/plugins/plugins.go" <<'GO'
// Written by hack/e2e/build-binaries.sh: the discovery plugins of monitoring/prometheus.

package plugins

import (
	// Register kubernetes plugin.
	_ "github.com/prometheus/prometheus/discovery/kubernetes"
)
GO
  (cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$OUT/prometheus" ./cmd/prometheus)
  finish "$OUT"
}

# Prometheus (the server, without web UI assets), Alertmanager, kube-state-metrics, node-exporter.
build_monitoring() {
  build_prometheus
  module_binary alertmanager github.com/prometheus/alertmanager "$E2E_ALERTMANAGER_VERSION" \
    alertmanager ./cmd/alertmanager
  module_binary kube-state-metrics k8s.io/kube-state-metrics/v2 "$KUBE_STATE_METRICS_VERSION" \
    kube-state-metrics .
  module_binary node-exporter github.com/prometheus/node_exporter "$NODE_EXPORTER_VERSION" \
    node_exporter .
}

# Tekton Pipelines and Triggers: the commands their release images hold, each built in a copy of
# its module (so the module's own go.mod, replace directives included, applies).
build_tekton() {
  local repo version commands command
  for repo in pipeline triggers; do
    if [ $repo = pipeline ]; then
      version=$TEKTON_PIPELINES_VERSION
      commands=(controller webhook entrypoint nop workingdirinit sidecarlogresults)
    else
      version=$TEKTON_TRIGGERS_VERSION
      commands=(controller webhook interceptors eventlistenersink)
    fi
    prepare "tekton-$repo" "github.com/tektoncd/$repo" "$version" "" \
      "Tekton $repo $version (${commands[*]})" || continue
    for command in "${commands[@]}"; do
      (cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$OUT/$command" "./cmd/$command")
    done
    finish "$OUT"
  done
}

# The manual approval gate (ApprovalTask custom task: controller, webhook, the tkn-approvaltask
# CLI). Its module zip carries only vendor/modules.txt, so it builds with -mod=mod.
build_approval_gate() {
  local command
  prepare manual-approval-gate github.com/openshift-pipelines/manual-approval-gate \
    "$MANUAL_APPROVAL_GATE_VERSION" || return 0
  for command in controller webhook tkn-approvaltask; do
    (cd "$SRC" && go build -mod=mod -trimpath -ldflags "-s -w" -o "$OUT/$command" "./cmd/$command")
  done
  finish "$OUT"
}

# tkn, the Tekton CLI. Its `tkn hub` subcommand needs github.com/tektoncd/hub, which the module
# proxy does not serve: the subcommand (two imports and one line of pkg/cmd/root.go) and the
# requirement are dropped; every other command is upstream's.
build_tkn() {
  local version=$TKN_VERSION
  prepare tkn github.com/tektoncd/cli "$version" "" "tkn $version (without tkn hub)" || return 0
  sed -i -e '/"github.com\/tektoncd\/hub\/api\/pkg\/cli\/app"/d' \
    -e '/"github.com\/tektoncd\/hub\/api\/pkg\/cli\/cmd"/d' \
    -e '/hub.Root(hubApp.New()),/d' "$SRC/pkg/cmd/root.go"
  (cd "$SRC" && go mod edit -droprequire github.com/tektoncd/hub)
  (cd "$SRC" && go build -mod=mod -trimpath \
    -ldflags "-s -w -X github.com/tektoncd/cli/pkg/cmd/version.clientVersion=$version" \
    -o "$OUT/tkn" ./cmd/tkn)
  finish "$OUT"
}

# kaniko's executor, the version the kaniko-build Task pins (KANIKO_VERSION): the Task's step image
# is the executor's "debug" variant, so hack/e2e/build-images.sh adds busybox to it.
build_kaniko() {
  local version=$KANIKO_VERSION
  prepare kaniko github.com/GoogleContainerTools/kaniko "$version" "" "kaniko $version (executor)" ||
    return 0
  (cd "$SRC" && go build -trimpath \
    -ldflags "-s -w -X github.com/GoogleContainerTools/kaniko/pkg/version.version=$version" \
    -o "$OUT/executor" ./cmd/executor)
  finish "$OUT"
}

# trivy, the release the trivy-fs and trivy-image Tasks pin (TRIVY_VERSION; their image tag is the
# version without its v), built as upstream's release is (goreleaser.yml: GOEXPERIMENT=jsonv2).
build_trivy() {
  local version=$TRIVY_VERSION
  if prepare trivy github.com/aquasecurity/trivy "$version"; then
    (cd "$SRC" && GOEXPERIMENT=jsonv2 go build -trimpath \
      -ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${version#v}" \
      -o "$OUT/trivy" ./cmd/trivy)
    finish "$OUT"
  fi
  build_trivy_db
}

# hack/e2e/src/trivy-db: writes the small vulnerability databases the e2e scans read (no database
# can be downloaded here), with trivy-db's own packages at the version trivy TRIVY_VERSION pins.
build_trivy_db() {
  local out src=$E2E_CACHE/src/trivy-db-$TRIVY_VERSION trivy_db
  out=$(e2e_trivy_db_bin)
  built "$out" && return 0
  step "trivy-db (hack/e2e/src/trivy-db, trivy-db as trivy $TRIVY_VERSION pins it)"
  trivy_db=$(sed -n 's|^\tgithub.com/aquasecurity/trivy-db \(v[^ ]*\)$|\1|p' \
    "$(module_dir github.com/aquasecurity/trivy "$TRIVY_VERSION")/go.mod")
  [ -n "$trivy_db" ] || die "no trivy-db requirement in trivy $TRIVY_VERSION's go.mod"
  mkdir -p "$src" "$out"
  cp hack/e2e/src/trivy-db/main.go "$src/main.go"
  (
    cd "$src"
    if [ ! -f go.mod ]; then
      go mod init techcommerce/e2e/trivy-db >/dev/null 2>&1
      go mod edit -require="github.com/aquasecurity/trivy-db@$trivy_db"
    fi
    go mod tidy
    go build -trimpath -ldflags "-s -w" -o "$out/trivy-db" .
  )
  finish "$out"
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kubernetes etcd pause coredns metrics-server kube-router monitoring tekton approval-gate tkn local-path-provisioner kaniko trivy kubectl)
for component in "${components[@]}"; do
  case $component in
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    pause) build_pause ;;
    coredns) build_coredns ;;
    metrics-server) build_metrics_server ;;
    kube-router) build_kube_router ;;
    monitoring) build_monitoring ;;
    tekton) build_tekton ;;
    approval-gate) build_approval_gate ;;
    tkn) build_tkn ;;
    local-path-provisioner) # its module zip carries an incomplete vendor/: build with -mod=mod
      GOFLAGS="$GOFLAGS -mod=mod" module_binary local-path-provisioner \
        github.com/rancher/local-path-provisioner "$E2E_LOCAL_PATH_PROVISIONER_VERSION" \
        local-path-provisioner .
      ;;
    kaniko) build_kaniko ;;
    trivy) build_trivy ;;
    kubectl) build_kubectl ;;
    *) die "unknown component '$component'" ;;
  esac
done
