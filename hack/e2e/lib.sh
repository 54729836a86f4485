# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this file
# Shared by the hack/e2e scripts: where things live, the cluster's fixed addresses, and helpers.
# Source it after `cd` to the repository root; it defines variables and functions only.
#
# Two places, both outside the clone:
#   E2E_CACHE  built binaries, images, Go caches, wheelhouse: kept between runs and clones
#              (${TECHCOMMERCE_CACHE:-~/.cache/techcommerce}/e2e), so a second run builds nothing.
#   E2E_RUN    this cluster's runtime state (PKI, etcd data, containerd, logs, PIDs): a fresh
#              directory per bring-up, removed by teardown (E2E_KEEP=1 keeps the cluster).

# shellcheck source=hack/cluster/common.sh
source hack/cluster/common.sh
load_versions hack/versions.env

E2E_CACHE=${TECHCOMMERCE_CACHE:-$HOME/.cache/techcommerce}/e2e
# The one pointer to the current cluster's runtime directory (its PIDs name what to stop).
E2E_STATE=${E2E_STATE:-/run/techcommerce-e2e}
E2E_RUN=$(cat "$E2E_STATE/run-dir" 2>/dev/null || true)

# Network: everything lives in one network namespace with no route out (default: blackhole).
E2E_NETNS=techcommerce-e2e
E2E_NODE=techcommerce-e2e-node
E2E_NODE_IP=10.201.0.2
E2E_POD_CIDR=10.89.0.0/24
E2E_SERVICE_CIDR=10.97.0.0/24
E2E_API_SERVICE_IP=10.97.0.1
E2E_DNS_SERVICE_IP=10.97.0.10
# The registry listens on the node's address inside the netns only: the kubelet pulls from it and
# Pods (kaniko in a TaskRun) push to it by this one name.
E2E_REGISTRY=$E2E_NODE_IP:5000
E2E_CGROUP=techcommerce-e2e

# Binaries, one directory per component and version (a finished build writes .complete).
e2e_bin() { printf '%s/bin/%s\n' "$E2E_CACHE" "$1"; }
# The local Python package index (hack/e2e/python_index.py), named by what it is built from.
e2e_python_index() {
  printf '%s/python-index/%s\n' "$E2E_CACHE" \
    "$(cat services/requirements.txt tests/requirements.txt hack/e2e/python_index.py | sha256sum | cut -c1-16)"
}
E2E_PYTHON_INDEX_PORT=8081
# The trivy database writer (hack/e2e/src/trivy-db), named by its source.
e2e_trivy_db_bin() {
  e2e_bin "trivy-db-$TRIVY_VERSION-$(sha256sum hack/e2e/src/trivy-db/main.go | cut -c1-12)"
}
KUBE_BIN=$(e2e_bin "kubernetes-$E2E_KUBERNETES_VERSION")
ETCD_BIN=$(e2e_bin "etcd-$E2E_ETCD_VERSION")

# import_root ROOT IMAGE CHANGE...: import the directory tree ROOT (owned by root) as IMAGE, with
# the Containerfile-style CHANGEs, into the podman store hack/images/containers/env.sh names;
# then remove ROOT.
import_root() {
  local root=$1 image=$2 change changes=()
  shift 2
  for change in "$@"; do changes+=(--change "$change"); done
  tar --owner=0 --group=0 --numeric-owner -C "$root" -c . |
    podman import --quiet "${changes[@]}" - "$image" >/dev/null
  rm -rf "$root"
}

# Go: own module and build caches under the e2e cache, the pinned patched toolchain.
e2e_go_env() {
  export GOMODCACHE=$E2E_CACHE/go/mod GOCACHE=$E2E_CACHE/go/build
  export GOTOOLCHAIN=$E2E_GO_TOOLCHAIN GOFLAGS=-modcacherw CGO_ENABLED=0 GOTELEMETRY=off
  mkdir -p "$GOMODCACHE" "$GOCACHE"
}

# The holder process owns the cluster's private mount namespace (inside its network namespace);
# every component is started through it, so all mounts vanish with it.
holder_pid() { cat "$E2E_RUN/pids/holder" 2>/dev/null; }
in_cluster() { nsenter -t "$(holder_pid)" -m -n --wd="$PWD" -- "$@"; }

# start_component NAME CMD...: run CMD inside the cluster's namespaces in the background,
# log to $E2E_RUN/logs/NAME.log, record its PID for teardown.
start_component() {
  local name=$1
  shift
  mkdir -p "$E2E_RUN/logs" "$E2E_RUN/pids"
  nsenter -t "$(holder_pid)" -m -n --wd="$PWD" -- "$@" >"$E2E_RUN/logs/$name.log" 2>&1 &
  echo $! >"$E2E_RUN/pids/$name"
  note "started $name (pid $!, log $E2E_RUN/logs/$name.log)"
}

# kctl ARGS...: kubectl as cluster admin, inside the cluster's namespaces.
kctl() { in_cluster "$KUBE_BIN/kubectl" --kubeconfig "$E2E_RUN/admin.kubeconfig" "$@"; }

# wait_until SECONDS WHAT CMD...: retry CMD (quietly) until it succeeds or time runs out.
wait_until() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt "$deadline" ] || die "timed out after ${limit}s waiting for $what"
    sleep 0.5
  done
}
