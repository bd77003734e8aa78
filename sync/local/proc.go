package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// procStat is what we read from /proc/<pid>/stat: enough to tell a process
// from a later one that reused its PID, and whom to signal.
type procStat struct {
	PID   int
	State byte // R, S, D, Z, X, ...
	PPID  int
	PGRP  int
	// Start is the process's start time in clock ticks after boot; with
	// the PID it identifies one process for the lifetime of the machine.
	Start uint64
}

// parseProcStat parses the content of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may itself hold spaces and parentheses,
// so the fields after it are found from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	var s procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return s, fmt.Errorf("proc stat: no command name in %q", truncate(b, 64))
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return s, fmt.Errorf("proc stat: pid: %w", err)
	}
	// Fields after ')': 3 state, 4 ppid, 5 pgrp, ..., 22 starttime.
	rest := bytes.Fields(b[end+1:])
	if len(rest) < 20 || len(rest[0]) != 1 {
		return s, fmt.Errorf("proc stat: %d fields after the command name, want at least 20", len(rest))
	}
	s.PID, s.State = pid, rest[0][0]
	if s.PPID, err = strconv.Atoi(string(rest[1])); err != nil {
		return s, fmt.Errorf("proc stat: ppid: %w", err)
	}
	if s.PGRP, err = strconv.Atoi(string(rest[2])); err != nil {
		return s, fmt.Errorf("proc stat: pgrp: %w", err)
	}
	if s.Start, err = strconv.ParseUint(string(rest[19]), 10, 64); err != nil {
		return s, fmt.Errorf("proc stat: starttime: %w", err)
	}
	return s, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// readProcStat reads one process's stat; an error wrapping os.ErrNotExist
// means there is no such process.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// alive reports whether the process that had this PID and start time still
// runs. A zombie has finished: it only waits for its parent to reap it.
func alive(pid int, start uint64) bool {
	s, err := readProcStat(pid)
	if err != nil {
		return false
	}
	return s.Start == start && s.State != 'Z' && s.State != 'X'
}

// groupMembers lists the live processes of process group pgid.
func groupMembers(pgid int) ([]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := readProcStat(pid)
		if err != nil || s.PGRP != pgid || s.State == 'Z' || s.State == 'X' {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// waitGroupGone waits until no live process is left in group pgid.
func waitGroupGone(pgid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		members, err := groupMembers(pgid)
		if err != nil || len(members) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d process(es) of group %d still alive after %s", len(members), pgid, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killGroup sends sig to every process in group pgid.
func killGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("refusing to signal process group %d", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to process group %d: %w", sig, pgid, err)
	}
	return nil
}

// signalJob sends sig to the job's own processes in group pgid, leaving out
// the wrapper chain: the leader (which records the exit status) and, when
// isolated, the bwrap or unshare process that waits for the sandbox. Those
// die on SIGTERM without waiting, which would end the sandbox (or report the
// run finished) before the job's grace period is over.
func signalJob(pgid int, isolated bool, sig syscall.Signal) error {
	members, err := groupMembers(pgid)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range members {
		if m.PID == pgid || (isolated && m.PPID == pgid) {
			continue
		}
		if err := syscall.Kill(m.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("signal %v to %d: %w", sig, m.PID, err))
		}
	}
	return errors.Join(errs...)
}

const (
	termSignal = syscall.SIGTERM
	killSignal = syscall.SIGKILL
)
