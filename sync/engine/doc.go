// Package engine decides what runs and when: it turns git changes, pull
// requests, comments and cron slots into runs, launches them through an
// Executor within the concurrency limits, follows them to their end, and
// reports every state through the store's outbox.
//
// It declares the types the adapters speak (Run, Event, State) and the
// ports they implement, each by its consumer and narrow: ports.go holds
// Source, Executor, Sink, Reporter and the optional reporter contracts;
// store.go holds the store, split by the part of the engine that uses it.
// The adapters live beside it under sync/ (git, local, kube, github,
// console, store, web) and import this package, never each other.
//
// Where things are: engine.go (the Engine and its step loop), poll.go
// (polling as ordered steps), plan.go (an event's runs), cron.go
// (schedules), dispatch.go (launch and re-adoption), sink.go (executor
// progress and retries), cancel.go (cancellation), outbox.go (report
// delivery).
package engine
