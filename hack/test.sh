#!/usr/bin/env bash
# Runs every test of gitlaunch on a fresh machine: installs what the tests
# need (Debian packages when root, binaries built from the Go module proxy
# and cached outside the repository), then vets, tests, fuzzes briefly and
# validates the examples. Safe to re-run; a warm run takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

step() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }

step "packages"
need=()
command -v git >/dev/null || need+=(git)
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v gcc >/dev/null || need+=(gcc)
if ((${#need[@]})); then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	else
		echo "missing ${need[*]}: tests that need them will say so" >&2
	fi
fi

step "real servers for tests (built once, cached in ${GITLAUNCH_CACHE:-$HOME/.cache/gitlaunch})"
# kube-apiserver, kube-scheduler, etcd and kwok from the Go module proxy.
eval "$(./hack/kube-tools.sh --export)"
# Gitea, a real GitHub-compatible server.
GITLAUNCH_GITEA="$(./hack/gitea.sh)"
export GITLAUNCH_GITEA

step "build"
go build ./...
go vet ./...
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "examples"
go run ./cmd/gitlaunch validate examples

step "tests"
go test -count=1 ./...

step "fuzz (short)"
go test ./schema -run '^$' -fuzz '^FuzzLoad$' -fuzztime "${FUZZTIME:-20s}" -fuzzminimizetime 50x
