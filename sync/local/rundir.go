package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runDir is one run's folder, <DataDir>/runs/<run-id>/. Everything the
// executor needs to follow a run after a restart is kept here, so that a
// new executor can pick up where the old one stopped.
type runDir string

func (d runDir) path(name string) string { return filepath.Join(string(d), name) }

// Workspace is the repository at the commit, seen as /mnt/<repo> by the job.
func (d runDir) Workspace() string { return d.path("workspace") }

// Output is the job's stdout and stderr (merged), plus gitlaunch's own
// lines. The process writes it directly, not through a pipe held by the
// executor, so output survives an executor restart and can be tailed again.
func (d runDir) Output() string { return d.path("output.log") }

// Exit holds the exit status, written by the wrapper when the job ends.
func (d runDir) Exit() string { return d.path("exit") }

// PIDFile identifies the wrapper process; see processInfo.
func (d runDir) PIDFile() string { return d.path("pid") }

// Stop records why the executor stopped the run ("cancelled", "timed_out")
// before it signals the process, so the final state survives a restart.
func (d runDir) Stop() string { return d.path("stop") }

// Delivered holds how many bytes of Output the sink has accepted.
func (d runDir) Delivered() string { return d.path("delivered") }

// Scanned holds where the metric patterns' scan of Output may resume after
// a restart, and what it had found by then (see scanCheckpoint): the bytes
// before that were delivered and their disk blocks freed.
func (d runDir) Scanned() string { return d.path("scanned") }

// Attempt holds the run attempt this folder belongs to.
func (d runDir) Attempt() string { return d.path("attempt") }

// Stage is an empty folder the unshare wrapper mounts its /mnt tree on
// before it moves the tree over /mnt.
func (d runDir) Stage() string { return d.path("stage") }

// Tmp is the job's private /tmp (and HOME); removed when the run ends.
func (d runDir) Tmp() string { return d.path("tmp") }

// EmptyDir is the host folder for a Pod emptyDir volume.
func (d runDir) EmptyDir(volume string) string { return filepath.Join(d.path("volumes"), volume) }

// processInfo is the content of the pid file.
type processInfo struct {
	PID       int
	ProcStart uint64    // start time from /proc/<pid>/stat, against PID reuse
	Started   time.Time // wall clock, for the deadline after a restart
	Isolation string
	Workdir   string        // host path of the job's working directory
	Deadline  time.Duration // activeDeadlineSeconds; 0 = none
}

func (p processInfo) encode() []byte {
	return fmt.Appendf(nil, "pid=%d\nprocstart=%d\nstarted=%s\nisolation=%s\nworkdir=%s\ndeadline=%s\n",
		p.PID, p.ProcStart, p.Started.UTC().Format(time.RFC3339Nano), p.Isolation,
		strconv.Quote(p.Workdir), p.Deadline)
}

func parseProcessInfo(b []byte) (processInfo, error) {
	var p processInfo
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		var err error
		switch k {
		case "pid":
			p.PID, err = strconv.Atoi(v)
			seen++
		case "procstart":
			p.ProcStart, err = strconv.ParseUint(v, 10, 64)
			seen++
		case "started":
			p.Started, err = time.Parse(time.RFC3339Nano, v)
		case "isolation":
			p.Isolation = v
		case "workdir":
			p.Workdir, err = strconv.Unquote(v)
		case "deadline":
			p.Deadline, err = time.ParseDuration(v)
		}
		if err != nil {
			return p, fmt.Errorf("pid file: %s: %w", k, err)
		}
	}
	if seen != 2 || p.PID <= 1 {
		return p, fmt.Errorf("pid file: incomplete %q", truncate(b, 200))
	}
	return p, nil
}

func (d runDir) readProcessInfo() (processInfo, error) {
	b, err := os.ReadFile(d.PIDFile())
	if err != nil {
		return processInfo{}, err
	}
	return parseProcessInfo(b)
}

// writeFileAtomic replaces name so that readers see the old or the new
// content, never a part.
func writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// readExit returns the exit status the wrapper recorded; ok is false when
// there is none (the process still runs, or was killed with SIGKILL).
func (d runDir) readExit() (code int, ok bool, err error) {
	b, err := os.ReadFile(d.Exit())
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	code, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false, fmt.Errorf("exit file: %w", err)
	}
	return code, true, nil
}

// stopReason is why the executor stopped a run.
type stopReason string

const (
	stopNone      stopReason = ""
	stopCancelled stopReason = "cancelled"
	stopTimedOut  stopReason = "timed_out"
	// stopDiskFull: the data directory's file system ran out of room.
	stopDiskFull stopReason = "disk_full"
)

func (d runDir) readStop() stopReason {
	b, err := os.ReadFile(d.Stop())
	if err != nil {
		return stopNone
	}
	switch r := stopReason(strings.TrimSpace(string(b))); r {
	case stopCancelled, stopTimedOut, stopDiskFull:
		return r
	}
	return stopNone
}

// writeStop records the first stop reason; a later one does not replace it
// (a run cancelled while it times out stays cancelled).
func (d runDir) writeStop(r stopReason) error {
	f, err := os.OpenFile(d.Stop(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = f.WriteString(string(r) + "\n")
	return errors.Join(err, f.Close())
}

func (d runDir) readDelivered() int64 {
	b, err := os.ReadFile(d.Delivered())
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (d runDir) writeDelivered(n int64) error {
	return writeFileAtomic(d.Delivered(), strconv.AppendInt(nil, n, 10))
}

// scanCheckpoint is the content of the scanned file: Offset is a line end
// of Output, Metrics what the patterns found before it.
type scanCheckpoint struct {
	Offset  int64              `json:"offset"`
	Metrics map[string]float64 `json:"metrics"`
}

// readScanned returns the checkpoint; ok is false when there is none (or
// it cannot be read: the scan then starts from the beginning).
func (d runDir) readScanned() (c scanCheckpoint, ok bool) {
	b, err := os.ReadFile(d.Scanned())
	if err != nil || json.Unmarshal(b, &c) != nil || c.Offset < 0 {
		return scanCheckpoint{}, false
	}
	return c, true
}

func (d runDir) writeScanned(c scanCheckpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return writeFileAtomic(d.Scanned(), b)
}

func (d runDir) readAttempt() (int, error) {
	b, err := os.ReadFile(d.Attempt())
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("attempt file: %w", err)
	}
	return n, nil
}

func exists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}
