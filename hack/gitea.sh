#!/usr/bin/env bash
# Builds Gitea once from the Go module proxy and prints the path of the binary.
#
# The binary is the real GitHub-compatible server that sync/github/giteatest
# starts on loopback. It is keyed by version under
#   ${GITLAUNCH_CACHE:-$HOME/.cache/gitlaunch}/gitea/<version>/gitea
# so a warm run only checks that the binary answers --version (well under 1 s).
#
# How: the module source of code.gitea.io/gitea is copied out of the module
# cache into a temporary directory next to the target, the four bindata
# generators (options, public, templates, migration schemas; they only pack
# files, no node/npm) run, and the server is built as the main module with
# cgo SQLite. The frontend (JS/CSS, built by vite from web_src) is not in the
# module zip and not needed: the API, git over HTTP and webhooks work without
# it; the web pages render unstyled.
#
# Cost on 2 shared cores (hack/README-gitea.md has the figures): cold 675 s of
# CPU (32 min wall beside other builds), peak 1.6 GB; warm 0.4 s.
# Needs: go (GOTOOLCHAIN=local, Go >= 1.26.2), gcc (cgo for mattn/go-sqlite3), git.
set -euo pipefail

# All in a function, so bash has parsed the whole file before it runs: an edit
# during a long build cannot change what runs.
main() {
	version=v1.26.0
	cache_root=${GITLAUNCH_CACHE:-$HOME/.cache/gitlaunch}
	dest_dir=$cache_root/gitea/$version
	bin=$dest_dir/gitea

	log() { printf 'hack/gitea.sh: %s\n' "$*" >&2; }

	usable() { [[ -x $bin ]] && "$bin" --version >/dev/null 2>&1; }

	if usable; then
		printf '%s\n' "$bin"
		exit 0
	fi

	mkdir -p "$dest_dir"
	# One builder at a time: a second caller waits here and then finds the binary.
	exec 9>"$dest_dir/.lock"
	flock 9
	if usable; then
		printf '%s\n' "$bin"
		exit 0
	fi

	for tool in go gcc; do
		command -v "$tool" >/dev/null || { log "$tool is required to build Gitea"; exit 1; }
	done

	export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false
	work=$(mktemp -d "$dest_dir/build.XXXXXX")
	trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

	start=$SECONDS
	log "building Gitea $version in $work (cold: about 10 minutes on 2 cores)"

	# Outside any module, so the version is resolved through the proxy as given.
	src_dir=$(cd "$work" && go mod download -json "code.gitea.io/gitea@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[[ -n $src_dir && -d $src_dir ]] || { log "go mod download gave no source directory"; exit 1; }

	cp -R "$src_dir" "$work/src"
	chmod -R u+w "$work/src"
	cd "$work/src"

	# The generators are the //go:generate lines of the *_bindata.go files; they
	# run with the host toolchain and no cgo, as upstream's Makefile does.
	for pkg in options public templates migration; do
		(cd "modules/$pkg" && CGO_ENABLED=0 go generate -tags bindata . >&2)
	done

	tags="bindata sqlite sqlite_unlock_notify"
	nice -n 10 env CGO_ENABLED=1 go build -trimpath -tags "$tags" \
		-ldflags "-s -w -X 'main.Version=${version#v}' -X 'main.Tags=$tags'" \
		-o "$work/gitea" .

	"$work/gitea" --version >&2
	mv "$work/gitea" "$bin"
	log "built $bin in $((SECONDS - start)) s"
	printf '%s\n' "$bin"
}

main "$@"
