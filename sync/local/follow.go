package local

import (
	"context"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/results"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// follower watches one run's process until it ends: it streams output.log
// to the sink, enforces the deadline, carries out a cancel, and finally
// reads the results and sends the terminal update. Its goroutine is owned
// by the Executor (started by follow, ended by the run's end or Close).
type follower struct {
	e        *Executor
	id       string
	attempt  int
	d        runDir
	sink     engine.Sink
	info     processInfo
	results  schema.Results
	isolated bool
	announce bool // send Running first (adopted runs)
	stopReq  chan stopReason
	log      *slog.Logger

	stopping bool
	killAt   time.Time
	// fullReason says how full the disk was when the run was stopped for
	// it (stopDiskFull); checkedFree is when free space was last looked at.
	fullReason  string
	checkedFree time.Time
	// sawAlive is set once the process was seen running. Only then are
	// leftovers of its group killed at the end: the group of a process
	// that ended long ago (adopted after a long downtime) may by now be an
	// unrelated one that reused the number.
	sawAlive bool
}

func (e *Executor) newFollower(l engine.Launch, sink engine.Sink, d runDir, info processInfo) *follower {
	f := &follower{
		e: e, id: l.Run.ID, attempt: max(l.Run.Attempt, 1), d: d, sink: sink, info: info,
		isolated: info.Isolation != IsolationNone,
		stopReq:  make(chan stopReason, 1),
		log:      e.log.With("run", l.Run.ID, "pid", info.PID),
	}
	if l.Job != nil {
		f.results = l.Job.Results
	}
	return f
}

// follow registers f and starts its goroutine; the caller holds e.mu.
func (e *Executor) follow(f *follower) {
	e.following[f.id] = f
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f.run(e.base)
		e.forget(f)
	}()
}

// forget unregisters f. A follower does this before its terminal update, so
// that a Start or Adopt that comes after the update finds the run ended.
func (e *Executor) forget(f *follower) {
	e.mu.Lock()
	if e.following[f.id] == f {
		delete(e.following, f.id)
	}
	e.mu.Unlock()
}

// requestStop asks the follower to stop the run; the first reason wins.
func (f *follower) requestStop(r stopReason) {
	select {
	case f.stopReq <- r:
	default:
	}
}

func (f *follower) run(ctx context.Context) {
	if f.announce && alive(f.info.PID, f.info.ProcStart) {
		f.e.update(ctx, f.sink, f.id, engine.Update{State: engine.StateRunning, Reason: "adopted after a restart (isolation: " + f.info.Isolation + ")"})
	}
	// Read and write: freeing the blocks of delivered output (punchHole)
	// needs a writable descriptor; nothing is written through it.
	out, err := os.OpenFile(f.d.Output(), os.O_RDWR, 0)
	if err != nil {
		out, err = os.Open(f.d.Output()) // the blocks then stay (see release)
	}
	if err != nil {
		f.log.Error("open run log", "err", err)
		out = nil
	}
	st := newStreamer(f, out)
	defer st.close()

	var watchWG sync.WaitGroup
	watchWG.Add(1)
	w := watchFile(f.d.Output(), watchWG.Done)
	defer watchWG.Wait()
	defer w.close()

	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var deadline <-chan time.Time
	if f.info.Deadline > 0 {
		t := time.NewTimer(time.Until(f.info.Started.Add(f.info.Deadline)))
		defer t.Stop()
		deadline = t.C
	}
	if r := f.d.readStop(); r != stopNone {
		// Stopped before a restart: finish the job off after its grace.
		f.stopping, f.killAt = true, time.Now().Add(f.e.opts.KillGrace)
	}

	for {
		st.pump(ctx, false)
		if f.exited() {
			break
		}
		select {
		case <-ctx.Done():
			return // the executor closes; the process runs on
		case <-w.C:
		case <-st.timer.C:
		case <-tick.C:
			if f.stopping && !time.Now().Before(f.killAt) {
				f.kill()
			}
			f.checkFree()
		case r := <-f.stopReq:
			f.stop(r)
		case <-deadline:
			f.stop(stopTimedOut)
		}
	}

	// Whatever the job left running dies with it, as in a container.
	if f.sawAlive {
		if err := killGroup(f.info.PID, killSignal); err != nil {
			f.log.Warn("kill leftovers", "err", err)
		}
		// SIGKILL is delivered asynchronously; report the end only once
		// the processes are gone, so the next run finds the GPU free.
		if err := waitGroupGone(f.info.PID, 5*time.Second); err != nil {
			f.log.Warn("processes outlived SIGKILL", "err", err)
		}
	}
	// The job's /tmp goes with it, as a container's does.
	if err := os.RemoveAll(f.d.Tmp()); err != nil {
		f.log.Warn("remove the job's /tmp", "err", err)
	}
	u := f.outcome()
	rr := &results.Reader{Workspace: f.d.Workspace(), Workdir: f.info.Workdir}
	u.Artifacts = rr.Artifacts(f.results.Artifacts)
	u.Metrics = results.MergeMetrics(st.scan.Values(), rr.MetricsFile(f.results.Metrics))
	f.note(rr.Notes...)
	st.pump(ctx, true)
	f.e.forget(f)
	f.e.update(ctx, f.sink, f.id, u)
	f.log.Info("local run ended", "state", u.State, "reason", u.Reason)
}

// freeEvery is how often a follower looks at the data directory's room.
const freeEvery = time.Second

// checkFree stops the run when the data directory's file system has less
// room than MinFree: its output, its workspace and the store share it, and
// a full disk fails them all. Every run there is stopped, as a kubelet
// evicts Pods under disk pressure; each ends in StateError saying so.
func (f *follower) checkFree() {
	if f.stopping || time.Since(f.checkedFree) < freeEvery {
		return
	}
	f.checkedFree = time.Now()
	if f.diskFull() {
		f.fullReason += "; the run was stopped"
		f.log.Error("data directory full: stopping the run", "reason", f.fullReason)
		f.stop(stopDiskFull)
	}
}

// diskFull reports whether the data directory has less room than MinFree,
// and if so sets fullReason.
func (f *follower) diskFull() bool {
	why, full := f.e.full(string(f.d))
	if full {
		f.fullReason = why
	}
	return full
}

// exited reports whether the wrapper process has ended, reaping it when it
// is our child.
func (f *follower) exited() bool {
	s, err := readProcStat(f.info.PID)
	if err != nil || s.Start != f.info.ProcStart {
		return true
	}
	if s.State != 'Z' && s.State != 'X' {
		f.sawAlive = true
		return false
	}
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(f.info.PID, &ws, syscall.WNOHANG, nil) // ECHILD when not ours
	return true
}

// stop records why the run is stopped, then gives the job's processes
// SIGTERM and KillGrace to end before SIGKILL.
func (f *follower) stop(r stopReason) {
	if f.stopping {
		return
	}
	f.stopping = true
	if err := f.d.writeStop(r); err != nil {
		f.log.Error("record stop", "err", err)
	}
	f.log.Info("stopping local run", "why", r, "grace", f.e.opts.KillGrace)
	if err := signalJob(f.info.PID, f.isolated, termSignal); err != nil {
		f.log.Warn("SIGTERM", "err", err)
	}
	f.killAt = time.Now().Add(f.e.opts.KillGrace)
}

func (f *follower) kill() {
	if err := killGroup(f.info.PID, killSignal); err != nil {
		f.log.Warn("SIGKILL", "err", err)
	}
}

// note appends gitlaunch's own lines to the run log, where they are
// streamed like the job's output.
func (f *follower) note(lines ...string) {
	if len(lines) == 0 {
		return
	}
	out, err := os.OpenFile(f.d.Output(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		f.log.Warn("run log note", "err", err)
		return
	}
	defer out.Close()
	for _, l := range lines {
		fmt.Fprintf(out, "gitlaunch: %s\n", l)
	}
}

// outcome turns the stop and exit files into the terminal update.
func (f *follower) outcome() engine.Update {
	u := engine.Update{At: f.e.now()}
	code, ok, err := f.d.readExit()
	if err != nil {
		f.log.Warn("exit file", "err", err)
	}
	if ok {
		u.ExitCode = &code
	}
	stop := f.d.readStop()
	// Stopped for a full disk, whose stop file found no room either; or
	// failed on a full disk, most likely for that (and the exit file the
	// wrapper could not write says nothing else).
	if stop == stopNone && (f.fullReason != "" || (!ok || code != 0) && f.diskFull()) {
		stop = stopDiskFull
	}
	switch {
	case stop == stopCancelled:
		u.State, u.Reason = engine.StateCancelled, "cancelled"
	case stop == stopTimedOut:
		u.State, u.Reason = engine.StateTimedOut, fmt.Sprintf("ran longer than activeDeadlineSeconds (%s)", f.info.Deadline)
	case stop == stopDiskFull:
		u.State, u.Reason = engine.StateError, f.fullReason
		if u.Reason == "" { // stopped before a restart
			u.Reason = "data directory full: the run was stopped because the syncer's data directory ran out of room"
		}
		if ok {
			u.Reason += " (" + exitReason(code) + ")"
		}
	case !ok:
		u.State, u.Retryable = engine.StateError, true
		u.Reason = "the job's process ended without an exit status (killed from outside gitlaunch?)"
	case code == 0:
		u.State = engine.StateSucceeded
	default:
		u.State, u.Reason = engine.StateFailed, exitReason(code)
	}
	return u
}

// exitReason describes an exit status; sh reports death by signal N as
// 128+N.
func exitReason(code int) string {
	if code > 128 && code < 128+65 {
		return fmt.Sprintf("exit code %d (killed by signal %d: %v)", code, code-128, syscall.Signal(code-128))
	}
	return fmt.Sprintf("exit code %d", code)
}
