package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/internal/tmpfstest"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// allocated is how many bytes of disk a file holds (holes excluded).
func allocated(t *testing.T, name string) (size, disk int64) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(name, &st); err != nil {
		t.Fatal(err)
	}
	return st.Size, st.Blocks * 512
}

// TestDeliveredOutputFreesItsBlocks: once the sink has a run's output, the
// output file keeps its size but not its disk blocks (the store holds the
// only copy), and metrics over all of it are still right.
func TestDeliveredOutputFreesItsBlocks(t *testing.T) {
	data := t.TempDir()
	e := newTestExecutor(t, IsolationAuto, data)
	l := testLaunch(t, `echo 'acc: 0.7'; yes 'loss: 0.5 and a line of some length' | head -c 20000000; echo`)
	l.Job.Results.Metrics = &schema.Metrics{Patterns: map[string]string{"acc": `acc: ([\d.]+)`, "loss": `loss: ([\d.]+)`}}
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	u := sink.wait(t)
	if u.State != engine.StateSucceeded || u.Metrics["acc"] != 0.7 || u.Metrics["loss"] != 0.5 {
		t.Fatalf("terminal update %+v", u)
	}
	size, disk := allocated(t, runDir(filepath.Join(data, "runs", l.Run.ID)).Output())
	if got := int64(len(sink.text())); got != size || size < 20_000_000 {
		t.Errorf("the sink got %d bytes of a %d-byte output file", got, size)
	}
	if disk > 64<<10 {
		t.Errorf("the output file holds %d bytes of disk for %d bytes of delivered output; want the blocks freed", disk, size)
	}
	t.Logf("output file: %d bytes, %d on disk", size, disk)
}

// TestAdoptAfterBlocksWereFreed: a restarted executor resumes the metric
// scan at the checkpoint, so a value printed before the restart (whose
// bytes are gone from the file) still counts, and no output is repeated
// or lost.
func TestAdoptAfterBlocksWereFreed(t *testing.T) {
	data := t.TempDir()
	e1 := newTestExecutor(t, IsolationAuto, data)
	l := testLaunch(t, `echo 'acc: 0.7'; yes 'padding padding padding padding' | head -c 3000000; echo; while [ ! -e gate ]; do sleep 0.05; done; echo 'loss: 0.1'; sleep 0.3`)
	l.Job.Results.Metrics = &schema.Metrics{Patterns: map[string]string{"acc": `acc: ([\d.]+)`, "loss": `loss: ([\d.]+)`}}
	sink1 := newRecSink()
	if err := e1.Start(context.Background(), l, sink1); err != nil {
		t.Fatal(err)
	}
	d := runDir(filepath.Join(data, "runs", l.Run.ID))
	deadline := time.Now().Add(30 * time.Second)
	for {
		size, disk := allocated(t, d.Output())
		if exists(d.Scanned()) && size >= 3_000_000 && disk < 1<<20 && len(sink1.text()) >= 3_000_000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("blocks never freed: %d bytes, %d on disk, checkpoint %v", size, disk, exists(d.Scanned()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := newTestExecutor(t, IsolationAuto, data)
	sink2 := newRecSink()
	if err := e2.Start(context.Background(), l, sink2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Workspace(), "mnist", "gate"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	u := sink2.wait(t)
	if u.State != engine.StateSucceeded || u.Metrics["acc"] != 0.7 || u.Metrics["loss"] != 0.1 {
		t.Fatalf("terminal update after adoption %+v", u)
	}
	size, _ := allocated(t, d.Output())
	log := sink1.text() + sink2.text()
	if int64(len(log)) != size || strings.Count(log, "acc: 0.7") != 1 || !strings.HasSuffix(log, "loss: 0.1\n") {
		t.Errorf("the two sinks got %d bytes of %d; acc %d times", len(log), size, strings.Count(log, "acc: 0.7"))
	}
	if strings.Contains(sink2.text(), "\x00") {
		t.Error("freed bytes reached the sink as zeros")
	}
}

// TestFullDataDirEndsTheRun fills a real 16 MiB data directory from a job:
// the run ends in StateError saying the data directory is full, whether
// the job waits on (it is stopped) or fails at once (its exit file may not
// even fit); a run started on the full disk is refused, not launched.
func TestFullDataDirEndsTheRun(t *testing.T) {
	for _, tt := range []struct{ name, cmd string }{
		{"job waits", `head -c 30000000 /dev/zero > big; sleep 30`},
		{"job fails", `head -c 30000000 /dev/zero > big || exit 3`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := tmpfstest.Mount(t, 16<<20)
			e := newTestExecutor(t, IsolationAuto, data)
			l := testLaunch(t, tt.cmd)
			sink := newRecSink()
			if err := e.Start(context.Background(), l, sink); err != nil {
				t.Fatal(err)
			}
			u := sink.wait(t)
			if u.State != engine.StateError || u.Retryable || !strings.HasPrefix(u.Reason, "data directory full: "+data+" has ") {
				t.Fatalf("terminal update %s %q (retryable %v); want error, data directory full", u.State, u.Reason, u.Retryable)
			}
			t.Logf("reason: %s", u.Reason)

			next := testLaunch(t, "echo never")
			s2 := newRecSink()
			if err := e.Start(context.Background(), next, s2); err == nil {
				t.Error("a run started on a full data directory")
			}
			if u := s2.wait(t); u.State != engine.StateError || !strings.Contains(u.Reason, "data directory full") || strings.Contains(s2.text(), "never") {
				t.Errorf("run started on a full disk: %s %q, log %q", u.State, u.Reason, s2.text())
			}
			if err := e.RemoveWorkspace(context.Background(), l.Run.ID); err != nil {
				t.Fatal(err)
			}
			if free, err := freeSpace(data); err != nil || free < 8<<20 {
				t.Errorf("free after removing the run's folder: %d, %v", free, err)
			}
		})
	}
}

// TestRemoveWorkspace deletes a finished run's folders, attempts included,
// also what the job made read-only, and refuses a run in progress.
func TestRemoveWorkspace(t *testing.T) {
	data := t.TempDir()
	e := newTestExecutor(t, IsolationAuto, data)
	l := testLaunch(t, `mkdir -p ro/sub && touch ro/sub/f && chmod 0500 ro/sub ro`)
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	if u := sink.wait(t); u.State != engine.StateSucceeded {
		t.Fatalf("%+v\n%s", u, sink.text())
	}
	d := filepath.Join(data, "runs", l.Run.ID)
	if err := os.MkdirAll(d+".attempt-1/workspace", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveWorkspace(context.Background(), l.Run.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d, d + ".attempt-1"} {
		if exists(p) {
			t.Errorf("%s is still there", p)
		}
	}
	if err := e.RemoveWorkspace(context.Background(), l.Run.ID); err != nil {
		t.Errorf("removing again: %v", err)
	}

	busy := testLaunch(t, `sleep 30`)
	if err := e.Start(context.Background(), busy, newRecSink()); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveWorkspace(context.Background(), busy.Run.ID); err == nil || !exists(filepath.Join(data, "runs", busy.Run.ID)) {
		t.Errorf("RemoveWorkspace of a running run: %v", err)
	}
	if err := e.RemoveWorkspace(context.Background(), "../etc"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("RemoveWorkspace of a bad id: %v", err)
	}
}
