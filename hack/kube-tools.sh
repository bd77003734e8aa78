#!/usr/bin/env bash
# kube-tools.sh builds, once, the Kubernetes control-plane binaries that the
# tests in sync/kube/kubetest run: kube-apiserver, kube-scheduler, etcd and
# kwok (plus kubectl when the machine has none). Everything is built from the
# Go module proxy into a cache directory outside the repository, keyed by the
# Kubernetes version, and skipped when it is already there.
#
# Usage: hack/kube-tools.sh            # build what is missing, print the dir
#        eval "$(hack/kube-tools.sh --export)"   # also export KUBEBUILDER_ASSETS
#
# Environment:
#   GITLAUNCH_CACHE   cache root (default $HOME/.cache/gitlaunch)
#   KUBE_VERSION      k8s.io/kubernetes version (default v1.37.2)
#   ETCD_VERSION      go.etcd.io/etcd/server/v3 version (default v3.7.0)
#   KWOK_VERSION      sigs.k8s.io/kwok version (default v0.8.0)
#   BUILD_KUBECTL=1   build kubectl too, even when one is on PATH
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.0}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE_ROOT="${GITLAUNCH_CACHE:-$HOME/.cache/gitlaunch}"
BIN_DIR="${CACHE_ROOT}/kube/${KUBE_VERSION}/bin"

export_mode=false
if [[ "${1:-}" == "--export" ]]; then
	export_mode=true
fi

log() { printf 'kube-tools: %s\n' "$*" >&2; }

export GOFLAGS=-buildvcs=false
export GOWORK=off
export CGO_ENABLED=0
BUILD_FLAGS=(-trimpath "-ldflags=-s -w")

# A recipe tag is part of every stamp; bump one when the way those binaries
# are built changes, so that cached ones are rebuilt.
KUBE_RECIPE=r2 # r2: version stamped with -X
ETCD_RECIPE=r1
KWOK_RECIPE=r1

mkdir -p "$BIN_DIR"

# Each binary records how it was built (version and recipe) in a stamp file
# next to it, so that a version bump of etcd or kwok (which do not key the
# directory) rebuilds only that binary.
# have NAME STAMP: NAME is built and was built as STAMP says.
have() {
	[[ -x "$BIN_DIR/$1" && -f "$BIN_DIR/.$1.version" && "$(cat "$BIN_DIR/.$1.version")" == "$2" ]]
}

stamp() { printf '%s\n' "$2" >"$BIN_DIR/.$1.version"; }

# WORK holds the throwaway wrapper modules and logs; it goes away on exit.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gitlaunch-kube-tools.XXXXXX")"
cleanup() {
	chmod -R u+w "$WORK" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# quiet CMD...: runs CMD with its output in a file, shown only if it fails.
quiet() {
	if "$@" >"$WORK/quiet.log" 2>&1; then
		return 0
	fi
	cat "$WORK/quiet.log" >&2
	return 1
}

# new_wrapper NAME MODULE VERSION: makes $WORK/NAME a throwaway module that
# requires MODULE@VERSION.
new_wrapper() {
	mkdir -p "$WORK/$1"
	(cd "$WORK/$1" && quiet go mod init gitlaunch.local/kubetools &&
		go mod edit -require="$2@$3")
}

kube_wrapper=""
kube_build_date=""
# kube_wrapper_dir prepares (once) the wrapper for k8s.io/kubernetes: its
# go.mod pins every staging module that k8s.io/kubernetes requires at v0.0.0
# to the matching v0.X.Y tag.
kube_wrapper_dir() {
	if [[ -n "$kube_wrapper" ]]; then
		return
	fi
	local info gomod staging_version mods m
	# (Run outside any module, so that no go.sum is touched.)
	if ! info="$(cd "$WORK" && go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" 2>&1)"; then
		log "cannot download k8s.io/kubernetes@${KUBE_VERSION}:"
		printf '%s\n' "$info" >&2
		exit 1
	fi
	gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$info")"
	# The release's date, for a reproducible build date in /version.
	kube_build_date="$(sed -n 's/^[[:space:]]*"Time": "\(.*\)",$/\1/p' \
		"$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p' <<<"$info")" 2>/dev/null || true)"
	kube_build_date="${kube_build_date:-1970-01-01T00:00:00Z}"
	if [[ -z "$gomod" || ! -f "$gomod" ]]; then
		log "cannot find go.mod of k8s.io/kubernetes@${KUBE_VERSION}"
		exit 1
	fi
	staging_version="v0.${KUBE_VERSION#v1.}"
	mapfile -t mods < <(sed -nE 's/^[[:space:]]*(k8s\.io\/[^[:space:]]+) v0\.0\.0([[:space:]].*)?$/\1/p' "$gomod" | sort -u)
	if ((${#mods[@]} == 0)); then
		log "no staging modules found in $gomod"
		exit 1
	fi
	kube_wrapper="$WORK/kubernetes"
	new_wrapper kubernetes k8s.io/kubernetes "$KUBE_VERSION"
	local args=()
	for m in "${mods[@]}"; do
		args+=("-replace=${m}=${m}@${staging_version}")
	done
	(cd "$kube_wrapper" && go mod edit "${args[@]}")
	log "k8s.io/kubernetes ${KUBE_VERSION}: pinned ${#mods[@]} staging modules to ${staging_version}"
}

# build_kube NAME: builds k8s.io/kubernetes/cmd/NAME, stamping the version
# that /version and "kubectl version" report, as the Kubernetes release
# build does.
build_kube() {
	local name="$1"
	if have "$name" "$KUBE_VERSION $KUBE_RECIPE"; then
		return
	fi
	kube_wrapper_dir
	local start=$SECONDS minor ldflags pkg
	log "building $name ${KUBE_VERSION}"
	minor="${KUBE_VERSION#v1.}"
	minor="${minor%%.*}"
	ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
		ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${kube_build_date}"
	done
	(cd "$kube_wrapper" &&
		quiet go get "k8s.io/kubernetes/cmd/${name}@${KUBE_VERSION}" &&
		go build -trimpath "-ldflags=${ldflags}" -o "$BIN_DIR/$name.tmp" "k8s.io/kubernetes/cmd/${name}")
	mv "$BIN_DIR/$name.tmp" "$BIN_DIR/$name"
	stamp "$name" "$KUBE_VERSION $KUBE_RECIPE"
	log "built $name in $((SECONDS - start)) s"
}

# build_etcd: go install refuses go.etcd.io/etcd/server/v3 because its go.mod
# has replace directives, so it is built through a wrapper module as well.
build_etcd() {
	if have etcd "$ETCD_VERSION $ETCD_RECIPE"; then
		return
	fi
	local start=$SECONDS
	log "building etcd ${ETCD_VERSION}"
	new_wrapper etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
	(cd "$WORK/etcd" &&
		quiet go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" &&
		go build "${BUILD_FLAGS[@]}" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3)
	mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
	stamp etcd "$ETCD_VERSION $ETCD_RECIPE"
	log "built etcd in $((SECONDS - start)) s"
}

build_kwok() {
	if have kwok "$KWOK_VERSION $KWOK_RECIPE"; then
		return
	fi
	local start=$SECONDS
	log "building kwok ${KWOK_VERSION}"
	mkdir -p "$WORK/kwok"
	(cd "$WORK/kwok" && GOBIN="$WORK/kwok" go install "${BUILD_FLAGS[@]}" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}")
	mv "$WORK/kwok/kwok" "$BIN_DIR/kwok.tmp"
	mv "$BIN_DIR/kwok.tmp" "$BIN_DIR/kwok"
	stamp kwok "$KWOK_VERSION $KWOK_RECIPE"
	log "built kwok in $((SECONDS - start)) s"
}

total_start=$SECONDS
build_etcd
build_kwok
build_kube kube-apiserver
build_kube kube-scheduler
if [[ "${BUILD_KUBECTL:-}" == 1 ]] || ! command -v kubectl >/dev/null 2>&1; then
	build_kube kubectl
fi
log "done in $((SECONDS - total_start)) s"

if $export_mode; then
	printf 'export KUBEBUILDER_ASSETS=%q\n' "$BIN_DIR"
else
	printf 'KUBEBUILDER_ASSETS=%s\n' "$BIN_DIR"
fi
