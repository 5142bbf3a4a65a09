#!/usr/bin/env bash
# Knative's own test suites against knpy, built on the side from Knative's public source
# (docs/conformance.md). Nothing of theirs is committed: sources, binaries, images and
# results all live under $KNPY_CACHE/conformance. Every step is idempotent.
#
#   hack/conformance.sh toolchain          Go 1.23 from bookworm-backports; prints the go binary
#   hack/conformance.sh fetch              extract the release tags from the git dirs below
#   hack/conformance.sh build              serving suites + test images, then eventing (rekt)
#   hack/conformance.sh build-serving      only serving's suites and test images
#   hack/conformance.sh build-eventing     only rekt, eventshub, heartbeats and the readiness image
#   hack/conformance.sh import             import every built image into the running cluster
#   hack/conformance.sh run-serving [RE]   api/v1 and runtime against the cluster (-test.run RE)
#   hack/conformance.sh run-eventing [RE]  rekt against the cluster (-test.run RE)
#
# Environment: KNATIVE_SERVING_GIT / KNATIVE_EVENTING_GIT (git dirs with the tags, e.g. a
# `git clone --bare https://github.com/knative/serving`), KNATIVE_SERVING_TAG /
# KNATIVE_EVENTING_TAG, KUBECONFIG, KNPY_CONFORMANCE_INGRESS (the address the suites send
# route traffic to; found from the cluster when unset), KNPY_CONFORMANCE_PARALLEL,
# KNPY_CONFORMANCE_TIMEOUT, KNPY_NAMESPACE (knpy's system namespace).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib/common.sh"
use_buildah
. "$HERE/lib/containerd.sh"

CONF="$CACHE/conformance"
SRC="$CONF/src"
BIN="$CONF/bin"
IMAGES="$CONF/images"
RESULTS="${KNPY_CONFORMANCE_RESULTS:-$CONF/results}"
SERVING_TAG="${KNATIVE_SERVING_TAG:-knative-v1.17.2}"
EVENTING_TAG="${KNATIVE_EVENTING_TAG:-knative-v1.17.6}"
SERVING_GIT="${KNATIVE_SERVING_GIT:-/work/.mirror/knative+serving/repo}"
EVENTING_GIT="${KNATIVE_EVENTING_GIT:-/work/.mirror/knative+eventing/repo}"
SERVING_SRC="$SRC/serving-$SERVING_TAG"
EVENTING_SRC="$SRC/eventing-$EVENTING_TAG"
# Test images: {{.Repository}}/{{.Name}}:{{.Tag}} as the suites' --dockerrepo/--tag build them.
# dev.local is in Knative's registries-skipping-tag-resolving, and a non-latest tag makes
# Kubernetes default to imagePullPolicy IfNotPresent (nothing can be pulled here).
TEST_REPO=dev.local/knative
TEST_TAG=conformance
READINESS_IMAGE="$TEST_REPO/readiness-curl:$TEST_TAG"
# Own buildah storage: hack/images.sh's `buildah rm --all` must not hit a build of ours.
BUILDAH_CONF=(buildah --root "$CONF/buildah/$KNPY_BUILDAH_DRIVER/root"
              --runroot "$CONF/buildah/$KNPY_BUILDAH_DRIVER/run" --storage-driver "$KNPY_BUILDAH_DRIVER")
KNPY_NS="${KNPY_NAMESPACE:-knpy-system}"
export KUBECONFIG="${KUBECONFIG:-$CACHE/cluster/admin.kubeconfig}"
KUBECTL="$TOOLS_BIN/kubectl"
PARALLEL="${KNPY_CONFORMANCE_PARALLEL:-4}"
TIMEOUT="${KNPY_CONFORMANCE_TIMEOUT:-40m}"

GO_VERSION=1.23
GO_BIN="/usr/lib/go-$GO_VERSION/bin/go"
BACKPORTS_LIST=/etc/apt/sources.list.d/knpy-bookworm-backports.sources

cmd_toolchain() {
  if [ ! -x "$GO_BIN" ]; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "conformance: adding the bookworm-backports apt source ($BACKPORTS_LIST)"
      cat >"$BACKPORTS_LIST" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    # golang-1.23-go exists only in backports, so a plain install picks it from there.
    "$HERE/sysdeps.sh" "golang-$GO_VERSION-go"
  fi
  "$GO_BIN" version >&2
  echo "$GO_BIN"
}

# Offline builds: both trees commit vendor/, and the Go they name is not fetched.
gorun() {
  [ -x "$GO_BIN" ] || die "conformance: no $GO_BIN (run: $0 toolchain)"
  env GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--mod=vendor}" GOPROXY=off CGO_ENABLED=0 \
    GOCACHE="$CONF/gocache" PATH="$(dirname "$GO_BIN"):$PATH" timeout 1500 "$GO_BIN" "$@"
}

# extract GIT_DIR TAG DEST: the tag's tree into DEST, once (DEST/.extracted marks it whole).
extract() {
  local git="$1" tag="$2" dest="$3"
  [ -f "$dest/.extracted" ] && return 0
  [ -d "$git" ] || die "conformance: no git dir at $git (set KNATIVE_SERVING_GIT / KNATIVE_EVENTING_GIT; docs/conformance.md)"
  git --git-dir="$git" rev-parse -q --verify "refs/tags/$tag" >/dev/null \
    || die "conformance: $git has no tag $tag"
  log "conformance: extracting $tag from $git into $dest"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  git --git-dir="$git" archive "$tag" | tar -x -C "$dest.tmp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  git --git-dir="$git" rev-parse "$tag^{commit}" >"$dest/.extracted"
}

cmd_fetch() {
  extract "$SERVING_GIT" "$SERVING_TAG" "$SERVING_SRC"
  extract "$EVENTING_GIT" "$EVENTING_TAG" "$EVENTING_SRC"
}

need_src() { [ -f "$1/.extracted" ] || die "conformance: no source at $1 (run: $0 fetch)"; }

# test_binary TREE PKG OUT: `go test -c -tags e2e` of PKG, unless OUT was built from this
# very tree (the extracted commit, plus the hash of any patch applied to the side copy).
test_binary() {
  local tree="$1" pkg="$2" out="$3" stamp
  stamp="$(cat "$tree/.extracted"; cat "$tree/.patched" 2>/dev/null || true)"
  if [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then return 0; fi
  log "conformance: go test -c -tags e2e $pkg -> $out"
  mkdir -p "$(dirname "$out")"
  (cd "$tree" && gorun test -c -tags e2e -o "$out" "$pkg") || die "conformance: building $pkg failed"
  echo "$stamp" >"$out.stamp"
}

# image NAME DIR [ENTRYPOINT]: $TEST_REPO/NAME:$TEST_TAG from the files in DIR (its root
# filesystem; /tmp is added at mode 1777; DIR is removed afterwards), FROM scratch, run as ko's nonroot user 65532
# (the runtime suite checks that a USER of the image is respected), saved as an OCI
# archive for `import`. Rebuilt only when the files change.
image() {
  local name="$1" root="$2" entry="${3:-/ko-app/$1}" ref="$TEST_REPO/$1:$TEST_TAG"
  local ctx="$IMAGES/ctx/$name" oci="$IMAGES/oci/$name.tar" inputs
  mkdir -p "$ctx" "$IMAGES/oci"
  mkdir -p "$root/tmp" && chmod 1777 "$root/tmp"
  # numeric owner root for every file, whoever built it; the mode bits as they are
  tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$root" -cf "$ctx/rootfs.tar" .
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
USER 65532:65532
ENV PATH=/ko-app:/usr/local/bin:/usr/bin:/bin KO_DATA_PATH=/var/run/ko
ENTRYPOINT ["$entry"]
DOCKERFILE
  inputs="$(cat "$ctx/rootfs.tar" "$ctx/Dockerfile" | sha256sum | cut -c1-32)"
  if [ -f "$oci" ] && [ "$(cat "$IMAGES/oci/$name.inputs" 2>/dev/null)" = "$inputs" ] \
     && "${BUILDAH_CONF[@]}" inspect --type image "$ref" >/dev/null 2>&1; then
    rm -rf "$root" "$ctx/rootfs.tar"
    return 0
  fi
  log "conformance: building $ref"
  timeout 600 "${BUILDAH_CONF[@]}" bud --isolation chroot --pull=never -q -t "$ref" "$ctx" \
    >"$IMAGES/$name.build.log" 2>&1 \
    || { tail -20 "$IMAGES/$name.build.log" >&2; die "conformance: building $ref failed"; }
  rm -f "$oci"
  timeout 600 "${BUILDAH_CONF[@]}" push -q --disable-compression "$ref" "oci-archive:$oci:$ref" \
    || die "conformance: saving $ref failed"
  echo "$inputs" >"$IMAGES/oci/$name.inputs"
  "${BUILDAH_CONF[@]}" rm --all >/dev/null 2>&1 || true
  "${BUILDAH_CONF[@]}" rmi --prune >/dev/null 2>&1 || true   # the image this one replaced
  rm -rf "$root" "$ctx/rootfs.tar"   # made again from the binaries on the next run
}

# Every main package under test/test_images, named by its directory (as ko's -B does:
# multicontainer/servingcontainer -> servingcontainer), at /ko-app/<name> as ko puts it.
serving_images() {
  local out="$BIN/serving-images" b name root
  if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$(cat "$SERVING_SRC/.extracted")" ]; then
    log "conformance: go build serving's test images"
    rm -rf "$out" && mkdir -p "$out"
    (cd "$SERVING_SRC" && gorun build -trimpath -o "$out/" ./test/test_images/...) \
      || die "conformance: building the test images failed"
    cp "$SERVING_SRC/.extracted" "$out/.stamp"
  fi
  for b in "$out"/*; do
    name="$(basename "$b")"
    root="$IMAGES/root/$name"
    rm -rf "$root" && mkdir -p "$root/ko-app" "$root/var/run/ko"
    cp "$b" "$root/ko-app/$name"
    image "$name" "$root"
  done
}

cmd_build_serving() {
  need_src "$SERVING_SRC"
  test_binary "$SERVING_SRC" ./test/conformance/api/v1 "$BIN/serving-api-v1.test"
  test_binary "$SERVING_SRC" ./test/conformance/runtime "$BIN/serving-runtime.test"
  serving_images
}

# What reconciler-test's readiness Job runs: `curl --max-time 2 ... --retry 6
# --retry-connrefused URL && (curl -fsI -X POST http://localhost:15020/quitquitquit ||
# echo no-istio)`. This stand-in exits 0 on any HTTP answer, retries refused connections,
# and fails otherwise; with busybox's /bin/sh it replaces the ubi8 image nobody can pull here.
CURL_GO='package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	url, method, retries := "", "GET", 0
	for i := 1; i < len(os.Args); i++ {
		a := os.Args[i]
		switch {
		case a == "-X" && i+1 < len(os.Args):
			i++
			method = os.Args[i]
		case a == "--retry" && i+1 < len(os.Args):
			i++
			fmt.Sscan(os.Args[i], &retries)
		case a == "--max-time" || a == "--trace-ascii":
			i++
		case strings.HasPrefix(a, "http://"):
			url = a
		}
	}
	c := http.Client{Timeout: 2 * time.Second}
	for try := 0; ; try++ {
		req, err := http.NewRequest(method, url, nil)
		if err == nil {
			var resp *http.Response
			if resp, err = c.Do(req); err == nil {
				resp.Body.Close()
				fmt.Println(resp.Status)
				return
			}
		}
		if try >= retries {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(7)
		}
		time.Sleep(time.Second)
	}
}
'

cmd_build_eventing() {
  need_src "$EVENTING_SRC"
  "$HERE/sysdeps.sh" busybox-static
  local wait_go="$EVENTING_SRC/vendor/knative.dev/reconciler-test/pkg/k8s/wait.go"
  # The side copy only: the readiness Job's image becomes our local stand-in.
  if ! grep -qF "\"$READINESS_IMAGE\"" "$wait_go"; then
    sed -i "s#^const ubi8Image = .*#const ubi8Image = \"$READINESS_IMAGE\"#" "$wait_go"
    grep -qF "\"$READINESS_IMAGE\"" "$wait_go" || die "conformance: patching ubi8Image in $wait_go failed"
  fi
  sha256sum "$wait_go" | cut -c1-32 >"$EVENTING_SRC/.patched"
  test_binary "$EVENTING_SRC" ./test/rekt "$BIN/rekt.test"

  local root="$IMAGES/root/eventshub"
  rm -rf "$root" && mkdir -p "$root/ko-app"
  (cd "$EVENTING_SRC" && gorun build -trimpath -o "$root/ko-app/eventshub" \
     ./vendor/knative.dev/reconciler-test/cmd/eventshub) || die "conformance: building eventshub failed"
  image eventshub "$root"

  # the SinkBinding/PingSource features run Eventing's own heartbeats sender as the subject
  root="$IMAGES/root/heartbeats"
  rm -rf "$root" && mkdir -p "$root/ko-app"
  (cd "$EVENTING_SRC" && gorun build -trimpath -o "$root/ko-app/heartbeats" ./cmd/heartbeats) \
    || die "conformance: building heartbeats failed"
  image heartbeats "$root"

  root="$IMAGES/root/readiness-curl"
  rm -rf "$root" "$CONF/curl-src" && mkdir -p "$root/bin" "$root/usr/bin" "$CONF/curl-src"
  printf '%s' "$CURL_GO" >"$CONF/curl-src/main.go"
  printf 'module curl\n\ngo %s\n' "$GO_VERSION" >"$CONF/curl-src/go.mod"
  (cd "$CONF/curl-src" && GOFLAGS=-mod=mod gorun build -trimpath -o "$root/usr/bin/curl" .) \
    || die "conformance: building the curl stand-in failed"
  cp /bin/busybox "$root/bin/busybox" && ln -s busybox "$root/bin/sh"
  image readiness-curl "$root" /bin/sh
  printf 'knative.dev/reconciler-test/cmd/eventshub: %s/eventshub:%s\nknative.dev/eventing/cmd/heartbeats: %s/heartbeats:%s\n' \
    "$TEST_REPO" "$TEST_TAG" "$TEST_REPO" "$TEST_TAG" >"$CONF/eventing-images.yaml"
}

cmd_import() {
  containerd_up || die "conformance: the cluster's containerd is not running (make cluster-up)"
  local tar name
  for tar in "$IMAGES"/oci/*.tar; do
    [ -e "$tar" ] || die "conformance: no image built yet (run: $0 build)"
    name="$(basename "$tar" .tar)"
    ctr_import "$tar" "$TEST_REPO/$name:$TEST_TAG" "$IMAGES/oci/$name.inputs" \
      "$CACHE/containerd/imported/conformance-$name"
  done
}

kc() { timeout 60 "$KUBECTL" "$@"; }

# Where the suites send route traffic, into INGRESS_ENDPOINT. Their spoofing client dials
# --ingressendpoint at the request's port (80), unless the gateway Service they look up
# (istio-system/istio-ingressgateway, or $GATEWAY_NAMESPACE_OVERRIDE/$GATEWAY_OVERRIDE) has
# that port, in which case it dials that port's nodePort instead.
gateway_setup() {
  local np
  np="$(kc -n "$KNPY_NS" get svc knpy-ingress \
        -o jsonpath='{.spec.ports[?(@.port==80)].nodePort}' 2>/dev/null || true)"
  if [ -n "${KNPY_CONFORMANCE_INGRESS:-}" ]; then
    INGRESS_ENDPOINT="$KNPY_CONFORMANCE_INGRESS"
  elif [ -n "$np" ] && [ "$np" != 0 ]; then
    # knpy's gateway Service is a NodePort: the node address, port 80 mapped to its nodePort.
    export GATEWAY_NAMESPACE_OVERRIDE="$KNPY_NS" GATEWAY_OVERRIDE=knpy-ingress
    INGRESS_ENDPOINT="$(kc get nodes \
      -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
  else
    # The host reaches ClusterIPs directly on this cluster: port 80 of knpy-ingress.
    INGRESS_ENDPOINT="$(kc -n "$KNPY_NS" get svc knpy-ingress -o jsonpath='{.spec.clusterIP}')" \
      || die "conformance: no Service $KNPY_NS/knpy-ingress (make deploy first)"
  fi
  if [ -z "${GATEWAY_OVERRIDE:-}" ] \
     && ! kc -n istio-system get svc istio-ingressgateway >/dev/null 2>&1; then
    # The lookup must find a Service; one without port 80 leaves port 80 unmapped.
    log "conformance: creating the placeholder Service istio-system/istio-ingressgateway (no port 80)"
    kc apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  annotations: {knpy.dev/purpose: "placeholder for Knative's test suites (hack/conformance.sh)"}
spec:
  ports: [{name: status-port, port: 15021, protocol: TCP}]
YAML
  fi
  log "conformance: ingress endpoint $INGRESS_ENDPOINT, gateway Service" \
    "${GATEWAY_NAMESPACE_OVERRIDE:-istio-system}/${GATEWAY_OVERRIDE:-istio-ingressgateway}"
}

need_cluster() {
  kc get --raw /readyz >/dev/null \
    || die "conformance: no cluster at $KUBECONFIG (make cluster-up && make deploy)"
}

# count LOG: "N passed, N failed, N skipped" over the top-level tests of a -test.v log,
# then the same over every test and subtest (subtest result lines are indented).
count() {
  local scope re out=""
  for scope in '' '[[:space:]]*'; do
    re="^$scope--- "
    out+="$(grep -c "${re}PASS: " "$1" || true) passed, $(grep -c "${re}FAIL: " "$1" || true) failed,"
    out+=" $(grep -c "${re}SKIP: " "$1" || true) skipped"
    [ -z "$scope" ] && out+=" (with subtests: "
  done
  echo "$out)"
}

# run_suite NAME BINARY PKGDIR ARGS...: the binary from its package dir (as `go test` runs
# it), its -test.v output to NAME.log and, live, through test2json to NAME.json; prints and
# keeps the counts in NAME.summary. Returns the binary's exit status.
run_suite() {
  local name="$1" binary="$2" dir="$3" rc
  shift 3
  [ -x "$binary" ] || die "conformance: no $binary (run: $0 build)"
  mkdir -p "$RESULTS"
  log "conformance: running $name ($RESULTS/$name.log)"
  (cd "$dir" && "$binary" -test.v -test.count=1 -test.timeout "$TIMEOUT" \
     -test.parallel "$PARALLEL" "$@" 2>&1 && echo 0 >"$RESULTS/$name.rc" || echo $? >"$RESULTS/$name.rc") \
    | tee "$RESULTS/$name.log" | "$GO_BIN" tool test2json -t -p "$name" >"$RESULTS/$name.json"
  rc="$(cat "$RESULTS/$name.rc")"
  echo "$name: $(count "$RESULTS/$name.log"), exit $rc" | tee "$RESULTS/$name.summary"
  return "$rc"
}

cmd_run_serving() {
  local re="${1:-.*}" rc=0
  need_src "$SERVING_SRC"
  need_cluster
  gateway_setup
  # Knative's own test setup: namespaces serving-tests(-alt), a ConfigMap and a Secret.
  kc apply -f "$SERVING_SRC/test/config/cluster-resources.yaml" \
    -f "$SERVING_SRC/test/config/test-resources.yaml" >/dev/null
  local flags=(-test.run "$re" --kubeconfig "$KUBECONFIG" --ingressendpoint "$INGRESS_ENDPOINT"
               --dockerrepo "$TEST_REPO" --tag "$TEST_TAG" --resolvabledomain=false
               --disable-logstream)
  run_suite serving-api-v1 "$BIN/serving-api-v1.test" \
    "$SERVING_SRC/test/conformance/api/v1" "${flags[@]}" || rc=1
  run_suite serving-runtime "$BIN/serving-runtime.test" \
    "$SERVING_SRC/test/conformance/runtime" "${flags[@]}" || rc=1
  return "$rc"
}

cmd_run_eventing() {
  local re="${1:-.*}"
  need_src "$EVENTING_SRC"
  need_cluster
  # rekt reads config-logging, config-tracing and config-features from SYSTEM_NAMESPACE.
  # -test.parallel 32: rekt runs setup steps as parallel subtests, and with GOMAXPROCS (2)
  # of them at a time they starve each other.
  SYSTEM_NAMESPACE="$KNPY_NS" BROKER_CLASS="${BROKER_CLASS:-MTChannelBasedBroker}" \
    PARALLEL="${KNPY_CONFORMANCE_PARALLEL:-32}" \
    run_suite eventing-rekt "$BIN/rekt.test" "$EVENTING_SRC/test/rekt" \
    -test.run "$re" --images.producer.file="$CONF/eventing-images.yaml"
}

case "${1:-}" in
  toolchain) cmd_toolchain ;;
  fetch) cmd_fetch ;;
  build) cmd_build_serving; cmd_build_eventing ;;
  build-serving) cmd_build_serving ;;
  build-eventing) cmd_build_eventing ;;
  import) cmd_import ;;
  run-serving) shift; cmd_run_serving "$@" ;;
  run-eventing) shift; cmd_run_eventing "$@" ;;
  *) sed -n '6,13p' "$0" >&2; exit 2 ;;
esac
