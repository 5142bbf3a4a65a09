#!/usr/bin/env bash
# The local single-node Kubernetes (docs/cluster.md, recipe: shared spec cluster.md).
#
#   hack/cluster.sh up [--apiserver-only]   start (idempotent); waits for readiness
#   hack/cluster.sh down                    stop everything this dir started; clean up
#   hack/cluster.sh status                  print what runs (exit 1 if not up)
#   hack/cluster.sh restart-apiserver       stop and start kube-apiserver alone (watches expire)
#
# State lives in $KNPY_CLUSTER_DIR (default $KNPY_CACHE/cluster): pki/, pids/, logs/ and
# admin.kubeconfig. The full cluster is one per machine (it owns the cni0 bridge, port 53 on
# the bridge and iptables chains); API-server-only instances (etcd + kube-apiserver on
# 127.0.0.1) can run side by side, each in its own dir with its own ports
# (KNPY_ETCD_PORT, KNPY_ETCD_PEER_PORT, KNPY_APISERVER_PORT).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib/common.sh"
. "$HERE/lib/pki.sh"

DIR="${KNPY_CLUSTER_DIR:-$CACHE/cluster}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
PIDS="$DIR/pids"
LOGS="$DIR/logs"
KUBECONFIG_FILE="$DIR/admin.kubeconfig"
KUBECTL="$TOOLS_BIN/kubectl"
# KNPY_APISERVER_PROFILING=true serves kube-apiserver's /debug/pprof (e.g. with
# `restart-apiserver`) to profile it under a benchmark; off by default, as upstream advises.
PROFILING="${KNPY_APISERVER_PROFILING:-false}"
case "$PROFILING" in true|false) ;; *) die "KNPY_APISERVER_PROFILING must be true or false" ;; esac

# Full-cluster network plan (private ranges unused on these machines).
BRIDGE=cni0
NODE_IP=10.244.0.1            # the bridge's address: node IP, API server, cluster DNS
POD_SUBNET=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
NODE_NAME=knpy-node
RUN_DIR=/run/knpy             # containerd state + socket (tmpfs; gone after a reboot)
MACHINE_LOCK=/run/lock/knpy-cluster.lock
# sysctls the kubelet and kube-proxy change; restored by `down`.
SYSCTLS=(net.ipv4.ip_forward net.ipv4.conf.all.route_localnet
         net.bridge.bridge-nf-call-iptables vm.overcommit_memory vm.panic_on_oom
         kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

# ---------------------------------------------------------------- process helpers
# A recorded PID counts only while that process is still ours: every component gets a
# path under $DIR on its command line (PIDs get reused; interpreters may be shims).
pid_alive() {
  [ -f "$PIDS/$1.pid" ] || return 1
  local pid
  pid="$(cat "$PIDS/$1.pid")"
  kill -0 "$pid" 2>/dev/null || return 1
  local cmd
  cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
  [[ "$cmd" == *"$DIR/"* ]]
}

log_tail() {
  echo "---- last lines of $LOGS/$1.log ----" >&2
  tail -n 25 "$LOGS/$1.log" >&2 2>/dev/null || true
}

fail() {  # fail COMPONENT MESSAGE
  echo "cluster: $1 failed: $2" >&2
  log_tail "$1"
  exit 1
}

start() {  # start NAME BINARY ARGS...  (detached, own session, pid recorded)
  local name="$1"; shift
  if pid_alive "$name"; then return 0; fi
  mkdir -p "$PIDS" "$LOGS"
  [ -x "$1" ] || command -v "$1" >/dev/null || fail "$name" "binary $1 not found"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
  local pid=$!
  echo "$pid" >"$PIDS/$name.pid"
  echo "$1" >"$PIDS/$name.bin"
  # Until it execs, the background child is a copy of this shell, whose command line
  # pid_alive does not recognise: a wait_for right after start could then report "process
  # exited" for a component that is starting (seen once: kube-apiserver). Wait for the exec.
  local _
  for _ in $(seq 1 100); do
    pid_alive "$name" && return 0
    kill -0 "$pid" 2>/dev/null || return 0  # gone already: wait_for reports it with its log
    sleep 0.05
  done
}

stop() {  # stop NAME: SIGTERM, then SIGKILL after a grace period; by recorded PID only
  local name="$1" pid
  [ -f "$PIDS/$name.pid" ] || return 0
  pid="$(cat "$PIDS/$name.pid")"
  if pid_alive "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$PIDS/$name.pid" "$PIDS/$name.bin"
}

wait_for() {  # wait_for COMPONENT SECONDS CMD...: poll CMD until it succeeds
  local name="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    pid_alive "$name" || fail "$name" "process exited"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name" "not ready after ${secs}s"
    sleep 0.3
  done
}

kc() { timeout 60 "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- control plane
need_binaries() {
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    [ -x "$K8S_BIN/$b" ] || die "no $K8S_BIN/$b: run 'make cluster-prereqs' (builds the Kubernetes binaries)"
  done
  [ -x "$KUBECTL" ] || die "no $KUBECTL: run 'make kube-tools'"
}

# Ports: fixed for the full cluster, chosen once (and remembered) for an API-server-only dir.
load_ports() {
  if [ -f "$DIR/ports" ]; then . "$DIR/ports"; return; fi
  if [ "$MODE" = full ]; then
    ETCD_PORT="${KNPY_ETCD_PORT:-12379}"; ETCD_PEER_PORT="${KNPY_ETCD_PEER_PORT:-12380}"
    APISERVER_PORT="${KNPY_APISERVER_PORT:-6443}"; APISERVER_ADDR="$NODE_IP"
  else
    ETCD_PORT="${KNPY_ETCD_PORT:-$(free_port)}"; ETCD_PEER_PORT="${KNPY_ETCD_PEER_PORT:-$(free_port)}"
    APISERVER_PORT="${KNPY_APISERVER_PORT:-$(free_port)}"; APISERVER_ADDR=127.0.0.1
  fi
  printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\nAPISERVER_ADDR=%s\n' \
    "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$APISERVER_ADDR" >"$DIR/ports"
}

up_control_plane() {
  local pki="$DIR/pki"
  pki_init "$pki" "IP:$APISERVER_ADDR" IP:127.0.0.1 "IP:$KUBERNETES_SVC_IP" DNS:localhost \
    DNS:kubernetes DNS:kubernetes.default DNS:kubernetes.default.svc \
    DNS:kubernetes.default.svc.cluster.local
  pki_cert "$pki" admin kubernetes-admin system:masters
  pki_cert "$pki" apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  local server="https://$APISERVER_ADDR:$APISERVER_PORT"
  kubeconfig_write "$KUBECONFIG_FILE" "$server" "$pki/ca.crt" "$pki/admin.crt" "$pki/admin.key"

  start etcd "$(readlink -f "$(command -v etcd)")" --name knpy --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "knpy=http://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls "" --snapshot-count 5000 --log-level warn
  wait_for etcd 30 curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"

  local extra=()
  # Without a node, the `kubernetes` Service would point at a loopback address, which
  # Endpoints validation rejects (every 10 s, in the log); there is no one to reach it anyway.
  [ "$MODE" = apiserver ] && extra=(--endpoint-reconciler-type none)
  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$APISERVER_ADDR" --advertise-address "$APISERVER_ADDR" \
    --secure-port "$APISERVER_PORT" --insecure-port 0 \
    --cert-dir "$pki" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --authorization-mode Node,RBAC --allow-privileged=true \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --service-cluster-ip-range "$SERVICE_CIDR" --profiling="$PROFILING" "${extra[@]}" --v=1
  wait_for kube-apiserver 90 curl -sf --max-time 2 --cacert "$pki/ca.crt" \
    --cert "$pki/admin.crt" --key "$pki/admin.key" "$server/readyz"
}

# ---------------------------------------------------------------- node
# Host dirs the kubelet and CNI use at fixed paths; removed by `down` if `up` made them.
HOST_DIRS=(/var/log/pods /var/log/containers /var/lib/cni)
note_host_dirs() {
  [ -f "$DIR/hostdirs.created" ] && return 0
  for d in "${HOST_DIRS[@]}"; do [ -e "$d" ] || echo "$d"; done >"$DIR/hostdirs.created"
}

save_sysctls() {
  [ -f "$DIR/sysctl.saved" ] && return 0
  for k in "${SYSCTLS[@]}"; do
    v="$(sysctl -n "$k" 2>/dev/null)" && echo "$k=$v"
  done >"$DIR/sysctl.saved"
}

up_network() {
  mkdir -p "$DIR/cni/net.d" "$DIR/cni/ipam"
  # The bridge exists with its address before the first pod, so that the API server, the
  # kubelet and the DNS responder can bind to it; the bridge plugin reuses it.
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    echo created >"$DIR/bridge.created"
  elif [ ! -f "$DIR/bridge.created" ]; then
    die "cluster: $BRIDGE already exists but $DIR did not create it: is another local cluster up (another KNPY_CACHE)? Take that one down first"
  fi
  # (No `| grep -q` under pipefail: grep quitting early fails the pipeline with SIGPIPE.)
  local addrs
  addrs="$(ip -4 addr show dev "$BRIDGE")"
  [[ "$addrs" == *"inet $NODE_IP/"* ]] || ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # The Service range is routed onto the bridge, never out of the machine. kube-proxy's DNAT
  # (nat OUTPUT/PREROUTING) rewrites a ClusterIP to a pod after the first route lookup, so
  # until it has written a new Service's rules, the host's default route would carry that
  # packet off the machine, where the network's gateway answered it: that was the e2e's
  # "404 with an empty body" from a fresh ClusterIP (docs/cluster.md). On the bridge, an
  # unprogrammed ClusterIP finds no neighbour and fails locally (EHOSTUNREACH), which the
  # harness retries like "connection refused". The route goes with the bridge on `down`.
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
  modprobe br_netfilter 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
  cat >"$DIR/cni/net.d/10-knpy.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "knpy",
  "plugins": [{
    "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true,
    "hairpinMode": true,
    "ipam": {"type": "host-local", "dataDir": "$DIR/cni/ipam",
             "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$NODE_IP"}]],
             "routes": [{"dst": "0.0.0.0/0"}]}
  }]
}
EOF
}

up_containerd() {
  local conf="$DIR/containerd.toml"
  mkdir -p "$RUN_DIR" "$CACHE/containerd"
  containerd config default | python3 "$HERE/lib/containerd_conf.py" \
    --root "$CACHE/containerd/root" --state "$RUN_DIR/containerd" --socket "$CONTAINERD_SOCK" \
    --cni-conf-dir "$DIR/cni/net.d" --sandbox-image "$PAUSE_IMAGE" >"$conf"
  start containerd "$(readlink -f "$(command -v containerd)")" --config "$conf"
  wait_for containerd 30 timeout 5 ctr --address "$CONTAINERD_SOCK" version
}

up_node() {
  local pki="$DIR/pki" server="https://$NODE_IP:$APISERVER_PORT" name
  local cn org
  # name|certificate CN|O: the identities the Node authorizer and the default RBAC expect.
  for spec in "kubelet|system:node:$NODE_NAME|system:nodes" \
              "kube-controller-manager|system:kube-controller-manager|" \
              "kube-scheduler|system:kube-scheduler|" "kube-proxy|system:kube-proxy|"; do
    IFS='|' read -r name cn org <<<"$spec"
    pki_cert "$pki" "$name" "$cn" "$org"
    kubeconfig_write "$DIR/$name.kubeconfig" "$server" "$pki/ca.crt" "$pki/$name.crt" "$pki/$name.key"
  done

  start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$DIR/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$DIR/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "$DIR/kube-controller-manager.kubeconfig" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --use-service-account-credentials=true --leader-elect=false --controllers '*,-nodeipam' \
    --bind-address 127.0.0.1 --port 0 --service-cluster-ip-range "$SERVICE_CIDR" --v=1
  start kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --port 0 --v=1

  mkdir -p "$DIR/kubelet"
  cat >"$DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
# Kubernetes 1.27+ defaults (1.20's are 5 and 10): at 5 requests/s the kubelet's pod status
# updates queued behind each other, and 10 pods starting at once took 10.6 s to Ready
# instead of 4.5 s (docs/cluster.md).
kubeAPIQPS: 50
kubeAPIBurst: 100
EOF
  start kubelet "$K8S_BIN/kubelet" --config "$DIR/kubelet/config.yaml" \
    --kubeconfig "$DIR/kubelet.kubeconfig" --root-dir "$DIR/kubelet/root" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --container-runtime=remote --container-runtime-endpoint "unix://$CONTAINERD_SOCK" \
    --network-plugin=cni --cni-bin-dir=/usr/lib/cni --cni-conf-dir "$DIR/cni/net.d" \
    --v=1
  start kube-proxy "$K8S_BIN/kube-proxy" --kubeconfig "$DIR/kube-proxy.kubeconfig" \
    --proxy-mode=iptables --cluster-cidr "$CLUSTER_CIDR" --hostname-override "$NODE_NAME" \
    --bind-address "$NODE_IP" --metrics-bind-address 127.0.0.1:10249 \
    --healthz-bind-address 127.0.0.1:10256 \
    --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 \
    --conntrack-tcp-timeout-close-wait=0 --v=1
  # Cluster DNS: a small responder on the bridge address that watches Services.
  # The system python3 (standard library only): a real binary, so its PID check holds
  # (a pyenv shim on PATH would exec another file).
  start cluster-dns /usr/bin/python3 "$HERE/cluster_dns.py" --listen "$NODE_IP" \
    --kubeconfig "$KUBECONFIG_FILE"
}

wait_node_ready() {
  wait_for kubelet 90 kc get node "$NODE_NAME"
  wait_for kubelet 120 kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s
  # Pods need their namespace's default ServiceAccount (made by the controller-manager).
  wait_for kube-controller-manager 60 kc -n default get serviceaccount default
  wait_for cluster-dns 30 /usr/bin/python3 "$HERE/cluster_dns.py" --query kubernetes.default.svc.cluster.local --server "$NODE_IP"
}

cmd_up() {
  MODE=full
  [ "${1:-}" = "--apiserver-only" ] && MODE=apiserver
  if [ -f "$DIR/mode" ] && [ "$(cat "$DIR/mode")" != "$MODE" ] && pid_alive kube-apiserver; then
    die "$DIR already runs a '$(cat "$DIR/mode")' cluster; run 'hack/cluster.sh down' first"
  fi
  need_binaries
  echo "$MODE" >"$DIR/mode"
  load_ports
  local t0=$SECONDS
  if [ "$MODE" = full ]; then
    [ "$(id -u)" = 0 ] || die "the full cluster needs root (bridge, iptables, containers)"
    command -v containerd >/dev/null || die "containerd missing: run 'make cluster-prereqs'"
    # Test sessions hold this lock while they use the one full cluster (tests/support).
    if [ "${KNPY_MACHINE_LOCK_HELD:-}" != 1 ] && ! flock -n "$MACHINE_LOCK" true; then
      die "cluster: a test session is using the local cluster ($MACHINE_LOCK is held)"
    fi
    save_sysctls
    note_host_dirs
    up_network
    up_containerd
    "$HERE/images.sh" import-system   # the pause image must be there before the first pod
  fi
  up_control_plane
  if [ "$MODE" = full ]; then
    up_node
    wait_node_ready
    "$HERE/images.sh" import
  fi
  log "cluster: $MODE up in $((SECONDS - t0))s; KUBECONFIG=$KUBECONFIG_FILE"
}

# Stop and start kube-apiserver alone (etcd, the node and the pods keep running): every
# watch breaks, and a client resuming from a resourceVersion the new watch cache does not
# hold gets 410 Gone; the e2e tier uses it to force watch expiry (tests/e2e/stack).
cmd_restart_apiserver() {
  [ -f "$DIR/mode" ] && pid_alive kube-apiserver || die "cluster: no API server runs in $DIR"
  MODE="$(cat "$DIR/mode")"
  load_ports
  local t0=$SECONDS
  stop kube-apiserver
  up_control_plane
  log "cluster: kube-apiserver restarted in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- teardown
own_mounts() {  # mounts under our dirs, deepest first
  awk '{print $2}' /proc/self/mounts | sed 's/\\040/ /g' \
    | grep -E "^($DIR|$RUN_DIR|$CACHE/containerd|/run/netns/cni-|/var/run/netns/cni-)" \
    | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-
}

remove_pods() {
  # Stop pods through the kubelet so the CNI plugin releases their netns, veths and rules.
  pid_alive kubelet && pid_alive kube-apiserver || return 0
  kc delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ -z "$(timeout 20 ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null)" ] && break
    sleep 1
  done
}

kill_shims() {
  # containerd-shim processes outlive containerd; they carry our socket path in argv.
  local p
  for p in /proc/[0-9]*; do
    local cmd
    cmd="$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" || continue
    [[ "$cmd" == *containerd-shim*"-address $CONTAINERD_SOCK"* ]] \
      && kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
}

clean_iptables() {
  # Drop every KUBE-* / CNI-* chain and each rule that jumps to one; keep all else.
  local cmd
  for cmd in iptables ip6tables; do
    command -v "$cmd-save" >/dev/null || continue
    local dump
    dump="$("$cmd-save" 2>/dev/null)" || continue
    [[ "$dump" == *KUBE-* || "$dump" == *CNI-* ]] || continue
    echo "$dump" | python3 "$HERE/lib/iptables_filter.py" | "$cmd-restore" \
      || echo "cluster: warning: $cmd-restore failed; KUBE-/CNI- chains may remain" >&2
  done
}

cmd_down() {
  [ -f "$DIR/mode" ] || { echo "cluster: nothing to stop in $DIR"; return 0; }
  MODE="$(cat "$DIR/mode")"
  if [ "$MODE" = full ]; then
    stop kube-controller-manager; stop kube-scheduler; stop cluster-dns
    remove_pods
    stop kubelet
    # Stop what still runs, then containerd.
    for id in $(timeout 20 ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      timeout 20 ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s KILL "$id" >/dev/null 2>&1 || true
    done
    stop kube-proxy
    [ -x "$K8S_BIN/kube-proxy" ] && timeout 30 "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
  stop kube-apiserver
  stop etcd
  if [ "$MODE" = full ]; then
    stop containerd
    kill_shims
    local m
    while read -r m; do
      [ -n "$m" ] && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
    done < <(own_mounts)
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^cni-' || true); do
      ip netns delete "$ns" 2>/dev/null || true
    done
    if [ -f "$DIR/bridge.created" ]; then
      ip link delete "$BRIDGE" 2>/dev/null || true
      rm -f "$DIR/bridge.created"
    fi
    clean_iptables
    if [ -f "$DIR/sysctl.saved" ]; then
      while IFS='=' read -r k v; do sysctl -qw "$k=$v" 2>/dev/null || true; done <"$DIR/sysctl.saved"
      rm -f "$DIR/sysctl.saved"
    fi
    if [ -f "$DIR/hostdirs.created" ]; then
      while read -r d; do [ -n "$d" ] && rm -rf "$d"; done <"$DIR/hostdirs.created"
      rm -f "$DIR/hostdirs.created"
    fi
    rm -rf "$RUN_DIR" "$DIR/kubelet" "$DIR/cni"
  fi
  rm -rf "$DIR/etcd" "$DIR/pids" "$DIR/mode" "$DIR/ports" "$DIR/pki" "$DIR"/*.kubeconfig
  echo "cluster: $MODE cluster in $DIR is down"
}

cmd_status() {
  [ -f "$DIR/mode" ] || { echo "down"; return 1; }
  local ok=0
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    n="$(basename "$f" .pid)"
    if pid_alive "$n"; then echo "$n running (pid $(cat "$f"))"; else echo "$n DEAD"; ok=1; fi
  done
  echo "kubeconfig: $KUBECONFIG_FILE"
  return $ok
}

# One up/down at a time per directory. (Children never inherit fd 9: see start().) `down`
# goes ahead after a short wait: stopping by recorded PIDs is safe to repeat, and an
# instance started by an older harness may still hold the lock through its processes.
exec 9>"$DIR/.lock"
lock_for() {
  flock -w "$1" 9 && return 0
  [ "$2" = soft ] || die "cluster: $DIR is locked by another up/down for $1s"
  echo "cluster: warning: $DIR still locked after $1s; going ahead" >&2
}

case "${1:-}" in
  up) shift; lock_for 600 hard; cmd_up "$@" ;;
  down) lock_for 20 soft; cmd_down ;;
  status) cmd_status ;;
  restart-apiserver) lock_for 600 hard; cmd_restart_apiserver ;;
  *) echo "usage: $0 up [--apiserver-only] | down | status | restart-apiserver" >&2; exit 2 ;;
esac
