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

mkdir -p "$BIN_DIR"

# Each binary records the version it was built from in a stamp file next to
# it, so a version bump of etcd or kwok (which do not key the directory)
# rebuilds only that binary.
have() {
	local name="$1" version="$2"
	[[ -x "$BIN_DIR/$name" && -f "$BIN_DIR/.$name.version" && "$(cat "$BIN_DIR/.$name.version")" == "$version" ]]
}

stamp() { printf '%s\n' "$2" >"$BIN_DIR/.$1.version"; }

tmp_dirs=()
cleanup() {
	local d
	for d in "${tmp_dirs[@]}"; do
		chmod -R u+w "$d" 2>/dev/null || true
		rm -rf "$d"
	done
}
trap cleanup EXIT

# new_wrapper MODULE VERSION: prints a temp dir holding a throwaway module that
# requires MODULE@VERSION.
new_wrapper() {
	local dir
	dir="$(mktemp -d "${TMPDIR:-/tmp}/gitlaunch-kube-tools.XXXXXX")"
	tmp_dirs+=("$dir")
	(cd "$dir" && go mod init gitlaunch.local/kubetools >/dev/null 2>&1 &&
		go mod edit -require="$1@$2")
	printf '%s\n' "$dir"
}

kube_wrapper=""
# kube_wrapper_dir prepares (once) the wrapper for k8s.io/kubernetes: its
# go.mod pins every staging module that k8s.io/kubernetes requires at v0.0.0
# to the matching v0.X.Y tag.
kube_wrapper_dir() {
	if [[ -n "$kube_wrapper" ]]; then
		return
	fi
	local gomod staging_version mods m
	gomod="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
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
	kube_wrapper="$(new_wrapper k8s.io/kubernetes "$KUBE_VERSION")"
	local args=()
	for m in "${mods[@]}"; do
		args+=("-replace=${m}=${m}@${staging_version}")
	done
	(cd "$kube_wrapper" && go mod edit "${args[@]}")
	log "k8s.io/kubernetes ${KUBE_VERSION}: pinned ${#mods[@]} staging modules to ${staging_version}"
}

# build_kube NAME: builds k8s.io/kubernetes/cmd/NAME.
build_kube() {
	local name="$1"
	if have "$name" "$KUBE_VERSION"; then
		return
	fi
	kube_wrapper_dir
	local start=$SECONDS
	log "building $name ${KUBE_VERSION}"
	(cd "$kube_wrapper" &&
		go get "k8s.io/kubernetes/cmd/${name}@${KUBE_VERSION}" >/dev/null &&
		go build "${BUILD_FLAGS[@]}" -o "$BIN_DIR/$name.tmp" "k8s.io/kubernetes/cmd/${name}")
	mv "$BIN_DIR/$name.tmp" "$BIN_DIR/$name"
	stamp "$name" "$KUBE_VERSION"
	log "built $name in $((SECONDS - start)) s"
}

# build_etcd: go install refuses go.etcd.io/etcd/server/v3 because its go.mod
# has replace directives, so it is built through a wrapper module as well.
build_etcd() {
	if have etcd "$ETCD_VERSION"; then
		return
	fi
	local dir start=$SECONDS
	log "building etcd ${ETCD_VERSION}"
	dir="$(new_wrapper go.etcd.io/etcd/server/v3 "$ETCD_VERSION")"
	(cd "$dir" &&
		go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >/dev/null &&
		go build "${BUILD_FLAGS[@]}" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3)
	mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
	stamp etcd "$ETCD_VERSION"
	log "built etcd in $((SECONDS - start)) s"
}

build_kwok() {
	if have kwok "$KWOK_VERSION"; then
		return
	fi
	local dir start=$SECONDS
	log "building kwok ${KWOK_VERSION}"
	dir="$(mktemp -d "${TMPDIR:-/tmp}/gitlaunch-kube-tools.XXXXXX")"
	tmp_dirs+=("$dir")
	(cd "$dir" && GOBIN="$dir" go install "${BUILD_FLAGS[@]}" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}")
	mv "$dir/kwok" "$BIN_DIR/kwok"
	stamp kwok "$KWOK_VERSION"
	log "built kwok in $((SECONDS - start)) s"
}

total_start=$SECONDS
build_etcd
build_kwok
build_kube kube-apiserver
build_kube kube-scheduler
if ! command -v kubectl >/dev/null 2>&1; then
	build_kube kubectl
fi
log "done in $((SECONDS - total_start)) s"

if $export_mode; then
	printf 'export KUBEBUILDER_ASSETS=%q\n' "$BIN_DIR"
else
	printf 'KUBEBUILDER_ASSETS=%s\n' "$BIN_DIR"
fi
