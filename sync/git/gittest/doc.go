// Package gittest provides real git remotes for tests: bare repositories
// created with the git CLI and served by `git http-backend` over loopback
// HTTP (net/http/cgi), plus helpers that commit, force-push, delete
// branches and set arbitrary refs (such as refs/pull/7/head).
//
// Everything runs hermetically: the git CLI sees a temporary HOME,
// GIT_CONFIG_NOSYSTEM=1 and a fixed identity, and commit dates come from a
// per-remote counter so that runs are reproducible.
package gittest
