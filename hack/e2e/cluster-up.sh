#!/usr/bin/env bash
# Bring up the e2e cluster: one Kubernetes node inside its own network namespace (no route out)
# and private mount namespace, from the binaries hack/e2e/build-binaries.sh built and the images
# hack/e2e/build-images.sh wrote. Every run starts from a fresh runtime directory (empty etcd).
#
# Usage: hack/e2e/cluster-up.sh            (hack/e2e/cluster-down.sh removes everything)
# Order: namespaces -> PKI + kubeconfigs -> etcd -> kube-apiserver -> controller-manager,
#   scheduler -> containerd -> kubelet, kube-proxy -> registry (node address :5000, in the netns)
#   -> kube-router (NetworkPolicy only) -> CoreDNS -> metrics-server.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/e2e/lib.sh
source hack/e2e/lib.sh

[ "$(id -u)" -eq 0 ] || die "the e2e cluster needs root (network namespace, mounts, cgroups)"
if [ -n "$E2E_RUN" ] && [ -d "$E2E_RUN" ]; then
  die "an e2e cluster is already up ($E2E_RUN): hack/e2e/cluster-down.sh first"
fi
for tool in containerd runc ipset conntrack docker-registry skopeo openssl; do
  command -v "$tool" >/dev/null || die "$tool is missing: hack/e2e/run.sh installs it (hack/dev/deps/apt-install.sh)"
done
if [ ! -f "$KUBE_BIN/.complete" ] || [ ! -f "$ETCD_BIN/.complete" ]; then
  die "binaries missing: hack/e2e/build-binaries.sh"
fi

mkdir -p "$E2E_STATE"
E2E_RUN=$(mktemp -d /tmp/techcommerce-e2e.XXXXXX)
chmod 0755 "$E2E_RUN"
echo "$E2E_RUN" >"$E2E_STATE/run-dir"
mkdir -p "$E2E_RUN"/{pids,logs,pki,images}
PKI=$E2E_RUN/pki

# --- what teardown must put back: global sysctls kubelet changes, host iptables, cgroups -----------
SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
for key in "${SYSCTLS[@]}"; do
  printf '%s=%s\n' "$key" "$(sysctl -n "$key")"
done >"$E2E_STATE/sysctl-before"
iptables-save 2>/dev/null | grep -v '^[#:]' | sort >"$E2E_STATE/iptables-before" || true

# --- network + mount namespaces -----------------------------------------------------------------
step "Network namespace $E2E_NETNS (node $E2E_NODE_IP on lo, default route blackholed)"
ip netns add "$E2E_NETNS"
ip -n "$E2E_NETNS" link set lo up
# No dummy device in this kernel: the node address is a /32 on lo. Nothing can leave: the
# default route is a blackhole. The service range routes to lo so kube-proxy's DNAT sees it.
ip -n "$E2E_NETNS" addr add "$E2E_NODE_IP/32" dev lo
ip -n "$E2E_NETNS" route add blackhole default
ip -n "$E2E_NETNS" route add "$E2E_SERVICE_CIDR" dev lo
ip netns exec "$E2E_NETNS" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$E2E_NETNS" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
# The holder owns a private mount namespace inside the netns; everything runs through it. Inside
# it, / is made rshared (as a kind node does): a hostPath with mountPropagation (node-exporter's
# root, HostToContainer) needs a shared or slave /. The peer groups exist only inside this
# namespace: its mounts are private copies, so nothing propagates to the host.
nsenter --net="/run/netns/$E2E_NETNS" unshare --mount --propagation private \
  sh -c 'mount --make-rshared / && exec sleep infinity' &
echo $! >"$E2E_RUN/pids/holder"
wait_until 10 "the namespace holder" sh -c \
  "nsenter -t $(holder_pid) -m findmnt -no PROPAGATION / | grep -qx shared"
sleep 0.3
# kubelet hard-codes /var/log/containers: a tmpfs in the private view (the directory itself is
# created on the host only when missing, and teardown removes it then).
[ -d /var/log/containers ] || { mkdir -p /var/log/containers && touch "$E2E_STATE/created-var-log-containers"; }
in_cluster mount -t tmpfs tmpfs /var/log/containers
in_cluster mount -t tmpfs tmpfs /run/netns # containerd's pod netns files live only in this view

# --- PKI --------------------------------------------------------------------------------------------
step "PKI and kubeconfigs (openssl)"
(
  cd "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 7 \
    -subj "/CN=techcommerce-e2e-ca" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout front-proxy-ca.key -out front-proxy-ca.crt \
    -days 7 -subj "/CN=techcommerce-e2e-front-proxy-ca" 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
)
# cert NAME CN ORG SAN [CA]: a key + certificate signed by CA (default: the cluster CA).
cert() {
  local name=$1 cn=$2 org=$3 san=$4 ca=${5:-ca} subject
  subject="/CN=$cn"
  [ -z "$org" ] || subject="/O=$org/CN=$cn"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$PKI/$name.ext"
  openssl req -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -out "$PKI/$name.csr" \
    -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -CAcreateserial -out "$PKI/$name.crt" -days 7 -extfile "$PKI/$name.ext" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}
cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$E2E_NODE_IP,IP:$E2E_API_SERVICE_IP"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters ""
cert front-proxy-client front-proxy-client "" "" front-proxy-ca
cert admin kubernetes-admin system:masters ""
cert controller-manager system:kube-controller-manager "" ""
cert scheduler system:kube-scheduler "" ""
cert kubelet "system:node:$E2E_NODE" system:nodes ""
cert kubelet-serving "$E2E_NODE" "" "DNS:$E2E_NODE,IP:$E2E_NODE_IP,IP:127.0.0.1"
cert kube-proxy system:kube-proxy "" ""
cert kube-router system:techcommerce-e2e:kube-router "" ""
# kubeconfig NAME: written directly (no kubectl needed), pointing at the API server in the netns.
kubeconfig() {
  cat >"$E2E_RUN/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: techcommerce-e2e
    cluster: {server: "https://$E2E_NODE_IP:6443", certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")}
users:
  - name: $1
    user: {client-certificate-data: $(base64 -w0 "$PKI/$1.crt"), client-key-data: $(base64 -w0 "$PKI/$1.key")}
contexts:
  - name: techcommerce-e2e
    context: {cluster: techcommerce-e2e, user: $1}
current-context: techcommerce-e2e
EOF
  chmod 0600 "$E2E_RUN/$1.kubeconfig"
}
for name in admin controller-manager scheduler kubelet kube-proxy kube-router; do kubeconfig "$name"; done

# --- control plane ------------------------------------------------------------------------------------
step "Control plane: etcd $E2E_ETCD_VERSION, kube-apiserver $E2E_KUBERNETES_VERSION, controller-manager, scheduler"
# A fresh, empty data directory every bring-up; fsync off (throwaway data, a slow shared disk).
start_component etcd "$ETCD_BIN/etcd" --name techcommerce-e2e --data-dir "$E2E_RUN/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster techcommerce-e2e=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
  --quota-backend-bytes 2147483648 --unsafe-no-fsync
start_component kube-apiserver "$KUBE_BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address="$E2E_NODE_IP" --secure-port=6443 --advertise-address="$E2E_NODE_IP" \
  --service-cluster-ip-range="$E2E_SERVICE_CIDR" --service-node-port-range=30000-32767 \
  --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" --kubelet-certificate-authority="$PKI/ca.crt" \
  --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --enable-aggregator-routing=true --allow-privileged=true --profiling=false --v=1
wait_until 120 "kube-apiserver /readyz (log: $E2E_RUN/logs/kube-apiserver.log)" kctl get --raw /readyz
start_component kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
  --kubeconfig="$E2E_RUN/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$E2E_RUN/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$E2E_RUN/controller-manager.kubeconfig" --bind-address=127.0.0.1 \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --use-service-account-credentials=true --cluster-signing-cert-file="$PKI/ca.crt" \
  --cluster-signing-key-file="$PKI/ca.key" --leader-elect=false \
  --service-cluster-ip-range="$E2E_SERVICE_CIDR" --horizontal-pod-autoscaler-sync-period=10s \
  --profiling=false --v=1
start_component kube-scheduler "$KUBE_BIN/kube-scheduler" --kubeconfig="$E2E_RUN/scheduler.kubeconfig" \
  --authentication-kubeconfig="$E2E_RUN/scheduler.kubeconfig" \
  --authorization-kubeconfig="$E2E_RUN/scheduler.kubeconfig" --bind-address=127.0.0.1 \
  --leader-elect=false --profiling=false --v=1

# --- node -------------------------------------------------------------------------------------------
step "Node: containerd $(containerd --version | awk '{print $3}'), kubelet, kube-proxy"
CONTAINERD=$E2E_RUN/containerd
mkdir -p "$CONTAINERD"/{root,state,opt} "$E2E_RUN"/cni/{net.d,ipam} "$E2E_RUN/podlogs"
cat >"$CONTAINERD/config.toml" <<EOF
version = 2
root = "$CONTAINERD/root"
state = "$CONTAINERD/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD/containerd.sock"
[ttrpc]
  address = "$CONTAINERD/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/techcommerce-e2e/pause:local"
  stream_server_address = "127.0.0.1"
  # No CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj below the parent's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$E2E_RUN/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$E2E_REGISTRY"]
    endpoint = ["http://$E2E_REGISTRY"]
EOF
cat >"$E2E_RUN/cni/net.d/10-techcommerce-e2e.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "techcommerce-e2e", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$E2E_RUN/cni/ipam",
            "ranges": [[{"subnet": "$E2E_POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
echo "nameserver $E2E_NODE_IP" >"$E2E_RUN/resolv.conf" # pods with dnsPolicy Default: unused
start_component containerd containerd --config "$CONTAINERD/config.toml"
CTR=(ctr -a "$CONTAINERD/containerd.sock" -n k8s.io)
wait_until 30 "containerd" in_cluster "${CTR[@]}" version
in_cluster "${CTR[@]}" images import --no-unpack=false "$E2E_CACHE/images/pause.tar" >/dev/null
# Pinned, as containerd pins the sandbox image it pulls itself: the kubelet's image garbage
# collection (disk pressure) would otherwise delete it, and no pod could start after.
in_cluster "${CTR[@]}" images label localhost/techcommerce-e2e/pause:local io.cri-containerd.pinned=pinned >/dev/null

for controller in /sys/fs/cgroup/*/; do
  case $controller in */unified/) continue ;; esac
  mkdir -p "$controller$E2E_CGROUP"
done
cat >"$E2E_RUN/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $E2E_NODE_IP
healthzBindAddress: 127.0.0.1
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $PKI/ca.crt}}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: /$E2E_CGROUP
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD/containerd.sock
imageServiceEndpoint: unix://$CONTAINERD/containerd.sock
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
podLogsDir: $E2E_RUN/podlogs
resolvConf: $E2E_RUN/resolv.conf
clusterDomain: cluster.local
clusterDNS: [$E2E_DNS_SERVICE_IP]
serializeImagePulls: false
maxPods: 60
evictionHard: {memory.available: "200Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
EOF
start_component kubelet "$KUBE_BIN/kubelet" --config="$E2E_RUN/kubelet-config.yaml" \
  --kubeconfig="$E2E_RUN/kubelet.kubeconfig" --hostname-override="$E2E_NODE" --node-ip="$E2E_NODE_IP" \
  --root-dir="$E2E_RUN/kubelet" --cert-dir="$E2E_RUN/kubelet-pki" --v=1
cat >"$E2E_RUN/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $E2E_RUN/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $E2E_POD_CIDR
hostnameOverride: $E2E_NODE
bindAddress: $E2E_NODE_IP
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: true}
EOF
start_component kube-proxy "$KUBE_BIN/kube-proxy" --config="$E2E_RUN/kube-proxy-config.yaml" --v=1
wait_until 120 "node $E2E_NODE Ready (log: $E2E_RUN/logs/kubelet.log)" \
  kctl wait --for=condition=Ready "node/$E2E_NODE" --timeout=5s
wait_until 60 "the default ServiceAccount" kctl get serviceaccount default

# --- registry -------------------------------------------------------------------------------------------
step "Registry on $E2E_REGISTRY (inside the netns only)"
mkdir -p "$E2E_RUN/registry"
cat >"$E2E_RUN/registry/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $E2E_RUN/registry/data}, delete: {enabled: true}}
http: {addr: $E2E_REGISTRY}
EOF
start_component registry docker-registry serve "$E2E_RUN/registry/config.yml"
wait_until 30 "the registry" in_cluster curl -sf "http://$E2E_REGISTRY/v2/"
echo "$E2E_REGISTRY" >"$E2E_RUN/registry/address" # for the suite

# --- git server ---------------------------------------------------------------------------------------
# A bare clone of this repository (the commit the run started from, every branch), served by
# `git daemon` on the node's address: git://$E2E_NODE_IP/techcommerce.git, reachable from pods and
# from the netns only. Pushes are enabled (no authentication: nothing outside the netns reaches it),
# so the CI/CD tests push commits to it and deliver webhooks for them.
step "Git server on git://$E2E_NODE_IP/techcommerce.git (inside the netns only)"
mkdir -p "$E2E_RUN/git"
git -c safe.directory="$PWD" clone --quiet --bare --no-local "$PWD" "$E2E_RUN/git/techcommerce.git"
git -C "$E2E_RUN/git/techcommerce.git" config receive.denyNonFastForwards false
start_component git-daemon git daemon --reuseaddr --export-all --enable=receive-pack \
  --base-path="$E2E_RUN/git" --listen="$E2E_NODE_IP" --port=9418 "$E2E_RUN/git"
wait_until 30 "the git server" in_cluster git ls-remote "git://$E2E_NODE_IP/techcommerce.git" HEAD

# --- Python package index ------------------------------------------------------------------------
# The wheels hack/e2e/build-images.sh collected on the host, as a PEP 503 index on the node's
# address: pods (kaniko builds, CI steps) install their pinned packages from it, never from outside.
python_index=$(e2e_python_index)
[ -f "$python_index/.complete" ] || die "no Python index at $python_index: hack/e2e/build-images.sh builds it"
step "Python package index on http://$E2E_NODE_IP:$E2E_PYTHON_INDEX_PORT/simple/ (inside the netns only)"
start_component python-index python3 -m http.server --bind "$E2E_NODE_IP" --directory "$python_index" \
  "$E2E_PYTHON_INDEX_PORT"
wait_until 30 "the Python index" in_cluster curl -sf "http://$E2E_NODE_IP:$E2E_PYTHON_INDEX_PORT/simple/"
echo "http://$E2E_NODE_IP:$E2E_PYTHON_INDEX_PORT/simple/" >"$E2E_RUN/python-index-url" # for the suite

# --- add-ons ------------------------------------------------------------------------------------------
# push_image ARCHIVE NAME: copy a docker-archive into the registry; prints NAME@DIGEST.
push_image() {
  local digest_file=$E2E_RUN/images/${2//\//_}.digest
  in_cluster skopeo copy -q --dest-tls-verify=false "docker-archive:$1" \
    "docker://$E2E_REGISTRY/$2:e2e" --digestfile "$digest_file"
  printf '%s/%s@%s\n' "$E2E_REGISTRY" "$2" "$(cat "$digest_file")"
}
# apply_addon FILE KEY=VALUE...: apply an add-on manifest with its @KEY@ placeholders filled.
apply_addon() {
  local file=$1 text pair
  shift
  text=$(cat "$file")
  for pair in "$@"; do text=${text//@${pair%%=*}@/${pair#*=}}; done
  printf '%s\n' "$text" | kctl apply -f -
}

step "kube-router $E2E_KUBE_ROUTER_VERSION: NetworkPolicy enforcement only"
kctl apply -f hack/e2e/addons/kube-router-rbac.yaml
start_component kube-router "$(e2e_bin "kube-router-$E2E_KUBE_ROUTER_VERSION")/kube-router" \
  --kubeconfig="$E2E_RUN/kube-router.kubeconfig" --run-firewall=true --run-router=false \
  --run-service-proxy=false --enable-cni=false --enable-pod-egress=false \
  --hostname-override="$E2E_NODE" --service-cluster-ip-range="$E2E_SERVICE_CIDR" \
  --health-port=20244 --metrics-port=0 --iptables-sync-period=1m --v=1
wait_until 60 "kube-router healthz (log: $E2E_RUN/logs/kube-router.log)" \
  in_cluster curl -sf http://127.0.0.1:20244/healthz

step "CoreDNS $E2E_COREDNS_VERSION (kube-dns at $E2E_DNS_SERVICE_IP)"
apply_addon hack/e2e/addons/coredns.yaml \
  "IMAGE=$(push_image "$E2E_CACHE/images/coredns.tar" techcommerce-e2e/coredns)" \
  "DNS_SERVICE_IP=$E2E_DNS_SERVICE_IP"

step "metrics-server $E2E_METRICS_SERVER_VERSION"
apply_addon hack/e2e/addons/metrics-server.yaml \
  "IMAGE=$(push_image "$E2E_CACHE/images/metrics-server.tar" techcommerce-e2e/metrics-server)"
step "local-path-provisioner $E2E_LOCAL_PATH_PROVISIONER_VERSION (default StorageClass standard, as on kind)"
mkdir -p "$E2E_RUN/local-path"
apply_addon hack/e2e/addons/local-path-storage.yaml \
  "IMAGE=$(push_image "$E2E_CACHE/images/local-path-provisioner.tar" techcommerce-e2e/local-path-provisioner)" \
  "BUSYBOX_IMAGE=$(push_image "$E2E_CACHE/images/busybox.tar" techcommerce-e2e/busybox)" \
  "VOLUME_DIR=$E2E_RUN/local-path"
kctl -n kube-system rollout status deployment/coredns --timeout=180s
kctl -n kube-system rollout status deployment/metrics-server --timeout=180s
kctl -n local-path-storage rollout status deployment/local-path-provisioner --timeout=180s
wait_until 120 "the metrics API" kctl top node
note "cluster up: hack/e2e/kubectl get pods -A"
