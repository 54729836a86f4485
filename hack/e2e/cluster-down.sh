#!/usr/bin/env bash
# Remove the e2e cluster completely: every process it started (by recorded PID, then the
# containerd shims of this cluster's socket, one by one), the network namespace (and with it every
# iptables rule, route and pod interface), the private mount namespace (its holder), the cgroups,
# the runtime directory; the global sysctls kubelet changed are restored. Safe to run twice.
#
# Usage: hack/e2e/cluster-down.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=hack/e2e/lib.sh
source hack/e2e/lib.sh

# stop NAME: SIGTERM the recorded PID, SIGKILL after 10 s.
stop() {
  local pid
  pid=$(cat "$E2E_RUN/pids/$1" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    note "stopped $1 ($pid)"
  fi
  rm -f "$E2E_RUN/pids/$1"
}

if [ -n "$E2E_RUN" ] && [ -d "$E2E_RUN" ]; then
  step "Tear down the e2e cluster ($E2E_RUN)"
  holder=$(holder_pid)
  if [ -n "$holder" ] && kill -0 "$holder" 2>/dev/null; then
    socket=$E2E_RUN/containerd/containerd.sock
    stop kube-router
    stop kubelet
    stop kube-proxy
    if [ -S "$socket" ]; then
      # Every container of this cluster: kill, delete (their mounts are in the private namespace).
      CTR=(ctr -a "$socket" -n k8s.io)
      for task in $(in_cluster "${CTR[@]}" tasks ls -q 2>/dev/null); do
        in_cluster "${CTR[@]}" tasks kill -s SIGKILL "$task" >/dev/null 2>&1
      done
      sleep 1
      for task in $(in_cluster "${CTR[@]}" tasks ls -q 2>/dev/null); do
        in_cluster "${CTR[@]}" tasks delete -f "$task" >/dev/null 2>&1
      done
    fi
    stop containerd
    # Shims of this containerd outlive it; their command line names this cluster's socket.
    for pid in $(pgrep -f -- "-address $socket" 2>/dev/null); do
      kill "$pid" 2>/dev/null && note "stopped containerd shim ($pid)"
    done
    stop registry
    stop git-daemon
    stop kube-scheduler
    stop kube-controller-manager
    stop kube-apiserver
    stop etcd
    stop holder
  fi
  # Anything else still running from this cluster's runtime directory (none expected).
  for pid in $(pgrep -f -- "$E2E_RUN" 2>/dev/null); do
    [ "$pid" = $$ ] && continue
    kill -9 "$pid" 2>/dev/null && warn "killed leftover process $pid"
  done
  sleep 0.5
fi

if ip netns list 2>/dev/null | grep -qw "$E2E_NETNS"; then
  ip netns del "$E2E_NETNS" && note "deleted network namespace $E2E_NETNS"
fi

# cgroups: kubelet's hierarchy under /$E2E_CGROUP in every controller, deepest first.
for dir in /sys/fs/cgroup/*/"$E2E_CGROUP"; do
  [ -d "$dir" ] || continue
  find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null
  [ -d "$dir" ] && warn "cgroup left behind: $dir"
done

if [ -f "$E2E_STATE/sysctl-before" ]; then
  while IFS='=' read -r key value; do
    if [ "$(sysctl -n "$key" 2>/dev/null)" != "$value" ]; then
      sysctl -qw "$key=$value" && note "restored $key=$value"
    fi
  done <"$E2E_STATE/sysctl-before"
fi
if [ -f "$E2E_STATE/created-var-log-containers" ]; then
  rmdir /var/log/containers 2>/dev/null
fi

if [ -n "$E2E_RUN" ] && [ -d "$E2E_RUN" ]; then
  # Logs survive the cluster for a failed run's post-mortem: moved next to the state pointer.
  rm -rf "$E2E_STATE/last-logs"
  cp -r "$E2E_RUN/logs" "$E2E_STATE/last-logs" 2>/dev/null
  rm -rf "$E2E_RUN"
  note "removed $E2E_RUN (logs kept in $E2E_STATE/last-logs)"
fi
rm -f "$E2E_STATE/run-dir" "$E2E_STATE/created-var-log-containers"
true
