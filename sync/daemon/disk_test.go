package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/internal/tmpfstest"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

// duBytes is `du -sk dir` in bytes: the disk the data directory holds.
func duBytes(t *testing.T, dir string) int64 {
	t.Helper()
	out, err := exec.Command("du", "-sk", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	kb, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return kb << 10
}

// walPeak is the store's fixed cost besides its tables: SQLite's WAL file
// grows to about 1,000 pages (4 MB) between checkpoints and keeps that size.
const walPeak = 5 << 20

// outputMB is how much output TestDiskPerMBOfOutput has a job write:
// 32 MB by default, GITLAUNCH_DISK_MB=100 for the figure in the README.
func outputMB(t *testing.T) int64 {
	if v := os.Getenv("GITLAUNCH_DISK_MB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("GITLAUNCH_DISK_MB=%q", v)
		}
		return n
	}
	return 32
}

// TestDiskPerMBOfOutput runs a job that writes N MB of output and measures
// the data directory with du, the empty syncer's size as the floor: under
// the log limit the output costs about its size once (it was twice: the
// output file and the store), and over it the limit and no more.
func TestDiskPerMBOfOutput(t *testing.T) {
	mb := outputMB(t)
	n := mb * 1_000_000
	job := fmt.Sprintf("apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: yes 'step 123 loss 0.5 and some more words to make a line' | head -c %d\n", n)
	for _, tt := range []struct {
		name  string
		limit string
		max   func(floor int64) int64
	}{
		{"under the limit", "1Gi", func(floor int64) int64 { return floor + n + n/32 + walPeak }},
		{"over the limit", "4Mi", func(floor int64) int64 { return floor + 4<<20 + 1<<20 + walPeak }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			remote := gittest.NewRemote(t)
			remote.Commit(t, "main", map[string]string{"loud/job.yaml": job}, "first")
			s := daemontest.Open(t, "", daemontest.Config+"sync: {logLimit: "+tt.limit+"}\n", daemon.Options{Repos: []string{remote.URL}})
			floor := duBytes(t, s.DataDir())
			runs, err := s.Once(context.Background())
			if err != nil || len(runs) != 1 || runs[0].State != engine.StateSucceeded {
				t.Fatalf("runs %v, %v", runs, err)
			}
			size, err := s.Store().LogSize(context.Background(), runs[0].ID)
			if err != nil || size < n {
				t.Fatalf("log size %d, %v; want at least %d", size, err, n)
			}
			used := duBytes(t, s.DataDir()) - floor
			t.Logf("%d MB of output (logLimit %s): the data directory grew by %.1f MB, %.2f bytes of disk per byte of output (empty syncer: %.1f MB)",
				mb, tt.limit, float64(used)/1e6, float64(used)/float64(n), float64(floor)/1e6)
			if out, err := exec.Command("sh", "-c", "du -sk "+s.DataDir()+"/* "+s.DataDir()+"/runs/*/*").Output(); err == nil {
				t.Logf("du -sk:\n%s", out)
			}
			if limit := tt.max(floor) - floor; used > limit {
				t.Errorf("the data directory grew by %d bytes for %d bytes of output; want at most %d", used, n, limit)
			}
		})
	}
}

// TestDataDirFull runs the syncer on a real 16 MiB file system and lets a
// job fill it: the run ends in error saying the data directory is full,
// the syncer keeps answering, the store passes SQLite's integrity check,
// and once there is room again the next commit runs.
func TestDataDirFull(t *testing.T) {
	dir := tmpfstest.Mount(t, 16<<20)
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"fill/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: echo filling; head -c 30000000 /dev/zero > big; sleep 30\n",
	}, "first")
	s := daemontest.Open(t, filepath.Join(dir, "data"), daemontest.Config+"sync: {pollInterval: 1h}\n",
		daemon.Options{Repos: []string{remote.URL}, Listen: "127.0.0.1:0"}).Start()
	base := "http://" + s.Addr().String()
	r := waitRun(t, s, engine.StateError)
	if !strings.HasPrefix(r.Reason, "data directory full: ") {
		t.Fatalf("run ended with %q", r.Reason)
	}
	t.Logf("reason: %s", r.Reason)
	if code, body := healthz(t, base); code != http.StatusOK {
		t.Errorf("/healthz on a full disk: %d %s", code, body)
	}
	if err := s.Store().IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The console hears of the end from the outbox, a moment after the store.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.Console.String(), "data directory full"); {
		if time.Now().After(deadline) {
			t.Errorf("console:\n%s", s.Console.String())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Room again (an admin removes the file), and the syncer goes on.
	if err := os.Remove(filepath.Join(s.DataDir(), "runs", r.ID, "workspace", "fill", "big")); err != nil {
		t.Fatal(err)
	}
	remote.Commit(t, "main", map[string]string{"fill/job.yaml": helloJob}, "quiet")
	s.Engine().PollNow(s.Repos()[0].Name)
	next := waitNewRun(t, s, r.ID)
	if next.State != engine.StateSucceeded {
		t.Errorf("the run after room came back: %s %q", next.State, next.Reason)
	}
}

// waitNewRun waits for a run other than old to end.
func waitNewRun(t *testing.T, s *daemontest.Syncer, old string) *engine.Run {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		runs, err := s.Store().ListRuns(context.Background(), engine.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.ID != old && r.State.Terminal() {
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no new run ended within a minute")
	return nil
}

// TestLimitAndRetentionOnThePages: a log over sync.logLimit keeps its head
// and tail (cut by whole chunks: at most one 64 KiB chunk over the limit)
// and its page says what was cut; once a newer run of the job
// exists (keepPerJob: 1), retention removes the old run's folder and log,
// its page says so, and the run list still has it.
func TestLimitAndRetentionOnThePages(t *testing.T) {
	remote := gittest.NewRemote(t)
	loud := "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: echo first line; seq 1 100000; echo last line\n"
	remote.Commit(t, "main", map[string]string{"loud/job.yaml": loud}, "first")
	s := daemontest.Open(t, "", daemontest.Config+"sync: {pollInterval: 1h, logLimit: 64Ki, retention: {keepPerJob: 1}}\n",
		daemon.Options{Repos: []string{remote.URL}, Listen: "127.0.0.1:0", RetentionEvery: 100 * time.Millisecond}).Start()
	base := "http://" + s.Addr().String()
	first := waitRun(t, s, engine.StateSucceeded)
	page := get(t, base+"/runs/"+first.ID)
	if !strings.Contains(page, "bytes (") || !strings.Contains(page, "lines) cut") {
		t.Errorf("the run page does not say what was cut:\n%s", page)
	}
	whole := get(t, base+"/runs/"+first.ID+"/log")
	if !strings.HasPrefix(whole, "gitlaunch: ") || !strings.Contains(whole, "first line\n1\n2\n") ||
		!strings.Contains(whole, "lines) cut") || !strings.HasSuffix(whole, "100000\nlast line\n") || len(whole) > 64<<10+64<<10+4<<10 {
		t.Errorf("whole log: %d bytes, head %q, tail %q", len(whole), whole[:min(len(whole), 200)], whole[max(0, len(whole)-100):])
	}

	remote.Commit(t, "main", map[string]string{"loud/job.yaml": loud + "# again\n"}, "second")
	s.Engine().PollNow(s.Repos()[0].Name)
	second := waitNewRun(t, s, first.ID)
	folder := func(r *engine.Run) bool {
		_, err := os.Stat(filepath.Join(s.DataDir(), "runs", r.ID))
		return err == nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for folder(first) {
		if time.Now().After(deadline) {
			t.Fatal("retention never removed the first run's folder")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !folder(second) {
		t.Error("retention removed the newest run's folder")
	}
	page = get(t, base+"/runs/"+first.ID)
	if !strings.Contains(page, "removed on") || !strings.Contains(page, "by the retention policy") {
		t.Errorf("the pruned run's page does not say its log was removed:\n%s", page)
	}
	if list := get(t, base+"/api/runs"); !strings.Contains(list, first.ID) || !strings.Contains(list, second.ID) {
		t.Errorf("the run list lost a run:\n%s", list)
	}
	if got, err := s.Store().GetRun(context.Background(), first.ID); err != nil || got.State != engine.StateSucceeded || got.FinishedAt.IsZero() {
		t.Errorf("the pruned run's summary: %+v, %v", got, err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
