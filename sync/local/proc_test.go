package local

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// Field 22 (starttime) is 987654; the name holds spaces and parens.
	line := "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n"
	s, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := (procStat{PID: 4242, State: 'S', PPID: 1, PGRP: 4242, Start: 987654}); s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	for _, bad := range []string{"", "12", "12 (x)", "x (y) S 1 2", "12 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) accepted it", bad)
		}
	}
}

func TestAliveSelfAndGone(t *testing.T) {
	s, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !alive(s.PID, s.Start) {
		t.Fatal("this process is not alive")
	}
	if alive(s.PID, s.Start+1) {
		t.Fatal("a different start time counts as the same process (PID reuse)")
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 55 1 1 1"))
	f.Add([]byte("1 ()) S"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseProcStat(b)
	})
}

func TestProcessInfoRoundTrip(t *testing.T) {
	in := processInfo{PID: 99, ProcStart: 123, Started: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Isolation: IsolationBwrap, Workdir: "/data/runs/x/workspace/odd\nname", Deadline: 90 * time.Minute}
	out, err := parseProcessInfo(in.encode())
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	if _, err := parseProcessInfo([]byte("pid=12\n")); err == nil {
		t.Fatal("a pid file without procstart was accepted")
	}
}
