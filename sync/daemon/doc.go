// Package daemon is gitlaunch's one composition root: it turns the admin's
// config and a data directory into a working syncer. Open builds, in order,
// the run store, the git caches, the executor, the reporters, the engine,
// the webhook handler and the HTTP listener; Run drives them (under leader
// election when configured) until its context ends; Close releases them in
// reverse order. The CLI and every cross-adapter test use it, so what the
// tests exercise is exactly what `gitlaunch sync` runs.
//
// The adapters it wires (sync/git, sync/local, sync/kube, sync/github,
// sync/store, sync/web, sync/console) never import each other; this package
// is the only one that knows them all.
package daemon
