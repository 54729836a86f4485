#!/usr/bin/env bash
# `make e2e`: build (cached), bring up a local single-node Kubernetes cluster, deploy TechCommerce,
# run the live-cluster suite (tests/cluster_e2e), tear everything down and check nothing is left.
#
# Usage: hack/e2e/run.sh
# Environment:
#   E2E_KEEP=1          keep the cluster after the suite (prints how to use it; tear down with
#                       hack/e2e/cluster-down.sh)
#   E2E_PYTEST_ARGS     extra pytest arguments for the suite (e.g. "-k policy")
#   TECHCOMMERCE_CACHE  cache root (default ~/.cache/techcommerce): binaries, images, Go caches
# One progress line per stage with its time; a failed stage names its log and shows its end.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=hack/e2e/lib.sh
source hack/e2e/lib.sh

LOGS=${E2E_LOGS:-/tmp/techcommerce-e2e-logs}
rm -rf "$LOGS"
mkdir -p "$LOGS"
START=$SECONDS
KEEP=${E2E_KEEP:-0}

elapsed() { printf '%4ds' $((SECONDS - $1)); }
# stage NAME CMD...: run CMD with its output in $LOGS/NAME.log; stop the run if it fails.
stage() {
  local name=$1 began=$SECONDS rc
  shift
  printf 'e2e: %-16s ...\n' "$name"
  "$@" >"$LOGS/$name.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    printf 'e2e: %-16s FAILED after %s (exit %d). Read %s\n' "$name" "$(elapsed "$began")" "$rc" "$LOGS/$name.log"
    tail -n 25 "$LOGS/$name.log" | sed 's/^/    | /'
    if [ -n "$(cat "$E2E_STATE/run-dir" 2>/dev/null)" ]; then
      echo "e2e: component logs: $(cat "$E2E_STATE/run-dir")/logs/ (kept in $E2E_STATE/last-logs after teardown)"
    fi
    if [ "$KEEP" = 1 ]; then
      echo "e2e: E2E_KEEP=1: the cluster is left up for inspection (hack/e2e/kubectl; hack/e2e/cluster-down.sh)"
    elif [ "$name" != teardown ]; then
      hack/e2e/cluster-down.sh >"$LOGS/teardown.log" 2>&1
      echo "e2e: torn down (log $LOGS/teardown.log)"
    fi
    printf 'e2e: FAILED at stage %s, total %s\n' "$name" "$(elapsed "$START")"
    exit 1
  fi
  printf 'e2e: %-16s ok   %s  (total %s)\n' "$name" "$(elapsed "$began")" "$(elapsed "$START")"
}

[ "$(id -u)" -eq 0 ] || die "make e2e needs root (network namespace, mounts, cgroups)"

install_deps() {
  hack/dev/deps/apt-install.sh containerd runc containernetworking-plugins docker-registry skopeo \
    podman buildah debootstrap conntrack iptables ipset curl openssl chromium chromium-driver \
    busybox-static
  hack/setup.sh
}
# The suite runs inside the cluster's network namespace: port-forwards, Services and the load
# generators' targets are the cluster's own addresses, and nothing it sends can leave.
run_suite() {
  # shellcheck disable=SC2086 # E2E_PYTEST_ARGS is a list of words on purpose
  nsenter --net="/run/netns/$E2E_NETNS" env TECHCOMMERCE_E2E_CLUSTER="$(cat "$E2E_STATE/run-dir")" \
    TECHCOMMERCE_E2E_KUBECTL="$KUBE_BIN/kubectl" TECHCOMMERCE_E2E_REPORT="$LOGS/report.txt" \
    TECHCOMMERCE_E2E_TKN="$(e2e_bin "tkn-$TKN_VERSION")/tkn" \
    TECHCOMMERCE_E2E_APPROVALTASK="$(e2e_bin "manual-approval-gate-$MANUAL_APPROVAL_GATE_VERSION")/tkn-approvaltask" \
    TECHCOMMERCE_E2E_TRIVY="$(e2e_bin "trivy-$TRIVY_VERSION")/trivy" \
    TECHCOMMERCE_E2E_TRIVY_DB="$(e2e_trivy_db_bin)/trivy-db" \
    .venv/bin/python -m pytest tests/cluster_e2e -v -p no:cacheprovider ${E2E_PYTEST_ARGS:-}
}
check_clean() {
  env TECHCOMMERCE_E2E_TORN_DOWN=1 .venv/bin/python -m pytest tests/cluster_e2e/test_teardown.py \
    -v -p no:cacheprovider
}

echo "e2e: logs in $LOGS; cache in $E2E_CACHE"
if [ -n "$E2E_RUN" ] || ip netns list 2>/dev/null | grep -qw "$E2E_NETNS"; then
  stage previous-down hack/e2e/cluster-down.sh
fi
stage deps install_deps
stage build-binaries hack/e2e/build-binaries.sh
stage build-images hack/e2e/build-images.sh
stage build-dashboard hack/e2e/build-dashboard.sh
stage cluster-up hack/e2e/cluster-up.sh
stage deploy hack/e2e/deploy.sh
stage suite run_suite
grep -E '^(=+ .*(passed|failed|error).* =+)$' "$LOGS/suite.log" | tail -n1 | sed 's/^/e2e: suite: /'
[ -f "$LOGS/report.txt" ] && sed 's/^/e2e: measured: /' "$LOGS/report.txt"
if [ "$KEEP" = 1 ]; then
  cat <<EOF
e2e: E2E_KEEP=1: the cluster stays up (total $(elapsed "$START")).
  kubectl:     hack/e2e/kubectl get pods -A
  tkn:         hack/e2e/tkn pipeline list -n techcommerce-ci
  shop:        hack/e2e/kubectl -n techcommerce-staging port-forward svc/frontend 3000:80
               then, in the cluster's network namespace:
               ip netns exec $E2E_NETNS curl -s http://127.0.0.1:3000/
  API server:  https://$E2E_NODE_IP:6443 (kubeconfig $(cat "$E2E_STATE/run-dir")/admin.kubeconfig,
               reachable only inside netns $E2E_NETNS)
  registry:    http://$E2E_REGISTRY/v2/_catalog (inside the netns)
  logs:        $(cat "$E2E_STATE/run-dir")/logs/
  tear down:   hack/e2e/cluster-down.sh
EOF
  exit 0
fi
stage teardown hack/e2e/cluster-down.sh
stage check-clean check_clean
echo "e2e: passed, total $(elapsed "$START")"
