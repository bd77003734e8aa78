package git_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

// cpuTime is the CPU this process (who == RUSAGE_SELF) or its waited-for
// children (RUSAGE_CHILDREN) used so far.
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatus reads a "VmRSS"-style field of /proc/self/status in KiB.
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// benchRemote builds a small repository (a few branches and PR refs, like
// a typical ML repository's refs) and serves it from a child process, so
// that the server's CPU stays out of this process's rusage.
func benchRemote(b testing.TB) (root, name string) {
	rem := gittest.NewRemote(b)
	sha := rem.Commit(b, "main", map[string]string{"mnist/job.yaml": "name: mnist\n", "mnist/train.py": "print(1)\n"}, "one")
	for i := range 3 {
		rem.Commit(b, fmt.Sprintf("feature-%d", i), map[string]string{"f": strconv.Itoa(i)}, "f")
	}
	rem.SetRef(b, "refs/pull/1/head", sha)
	rem.SetRef(b, "refs/pull/2/head", sha)
	return rem.Server.Root, rem.Name
}

func BenchmarkPollUnchanged(b *testing.B) {
	root, name := benchRemote(b)
	url := gittest.StartServerProcess(b, root) + "/" + name
	r := open(b, url)
	if _, err := r.Poll(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime(syscall.RUSAGE_SELF)
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(syscall.RUSAGE_SELF)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkLsRemote is the yardstick: `git ls-remote` against the same
// server, CPU counted over the git processes it starts.
func BenchmarkLsRemote(b *testing.B) {
	root, name := benchRemote(b)
	url := gittest.StartServerProcess(b, root) + "/" + name
	env := gittest.Env(b.TempDir())
	cpu0 := cpuTime(syscall.RUSAGE_CHILDREN)
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command("git", "ls-remote", url)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ls-remote: %v %s", err, out)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(syscall.RUSAGE_CHILDREN)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkPollUnchangedLocal and BenchmarkLsRemoteLocal compare the same
// for a local-path remote (both start git-upload-pack).
func BenchmarkPollUnchangedLocal(b *testing.B) {
	root, name := benchRemote(b)
	r := open(b, filepath.Join(root, name))
	if _, err := r.Poll(context.Background()); err != nil {
		b.Fatal(err)
	}
	cpu0, kids0 := cpuTime(syscall.RUSAGE_SELF), cpuTime(syscall.RUSAGE_CHILDREN)
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cpuTime(syscall.RUSAGE_SELF) - cpu0 + cpuTime(syscall.RUSAGE_CHILDREN) - kids0
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

func BenchmarkLsRemoteLocal(b *testing.B) {
	root, name := benchRemote(b)
	env := gittest.Env(b.TempDir())
	cpu0 := cpuTime(syscall.RUSAGE_CHILDREN)
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command("git", "ls-remote", filepath.Join(root, name))
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ls-remote: %v %s", err, out)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(syscall.RUSAGE_CHILDREN)-cpu0)/float64(b.N), "cpu-ns/op")
}

// TestPoll1000Repos polls 1,000 repositories (copies of one bare
// repository, served by one http-backend in a child process) as 1,000
// Repo objects, the way the syncer would every 30 s, and reports this
// process's CPU share and memory. Run with GITLAUNCH_BENCH_1000=1;
// GITLAUNCH_BENCH_PACED=1 also spreads two full rounds over 2×30 s
// instead of extrapolating from back-to-back rounds.
func TestPoll1000Repos(t *testing.T) {
	if os.Getenv("GITLAUNCH_BENCH_1000") != "1" {
		t.Skip("set GITLAUNCH_BENCH_1000=1 to run")
	}
	const n, workers, interval = 1000, 8, 30 * time.Second
	setup := time.Now()
	srcRoot, name := benchRemote(t)
	root := t.TempDir()
	for i := range n {
		if err := gittest.CopyBare(filepath.Join(srcRoot, name), filepath.Join(root, fmt.Sprintf("r%04d.git", i))); err != nil {
			t.Fatal(err)
		}
	}
	base := gittest.StartServerProcess(t, root)
	caches := t.TempDir()
	repos := make([]*git.Repo, n)
	for i := range repos {
		url := fmt.Sprintf("%s/r%04d.git", base, i)
		r, err := git.Open(context.Background(), git.Options{URL: url, CacheDir: git.CacheDirFor(caches, fmt.Sprintf("r%04d", i), url), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		repos[i] = r
	}
	// round polls every repository once with a fixed pool of workers; pace
	// spreads the starts over the given duration.
	round := func(pace time.Duration) {
		var wg sync.WaitGroup
		next := make(chan *git.Repo)
		errs := make(chan error, n)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range next {
					if _, err := r.Poll(context.Background()); err != nil {
						errs <- err
					}
				}
			}()
		}
		start := time.Now()
		for i, r := range repos {
			if pace > 0 {
				time.Sleep(time.Until(start.Add(pace * time.Duration(i) / n)))
			}
			next <- r
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}

	t.Logf("setup: %v", time.Since(setup))
	start := time.Now()
	round(0) // first poll: fetches every repository into its cache
	t.Logf("first round (fetch %d repos): %v", n, time.Since(start))

	const rounds = 3
	runtime.GC()
	cpu0, wall0 := cpuTime(syscall.RUSAGE_SELF), time.Now()
	for range rounds {
		round(0)
	}
	cpu, wall := cpuTime(syscall.RUSAGE_SELF)-cpu0, time.Since(wall0)
	perRound := cpu / rounds
	t.Logf("unchanged rounds: %d × %d polls in %v (%v per round), CPU %v per round = %.1f µs per poll",
		rounds, n, wall, wall/rounds, perRound, float64(perRound.Microseconds())/n)
	t.Logf("CPU share at one poll per repository every %v: %.4f cores", interval, perRound.Seconds()/interval.Seconds())
	t.Logf("VmRSS %d KiB, VmHWM %d KiB", procStatus("VmRSS"), procStatus("VmHWM"))
	if share := perRound.Seconds() / interval.Seconds(); share > 0.2 {
		t.Errorf("CPU share %.3f cores exceeds the 0.2 target", share)
	}
	if rss := procStatus("VmRSS"); rss > 100*1024 {
		t.Errorf("RSS %d KiB exceeds the 100 MB target", rss)
	}

	if os.Getenv("GITLAUNCH_BENCH_PACED") == "1" {
		cpu0, wall0 = cpuTime(syscall.RUSAGE_SELF), time.Now()
		round(interval)
		round(interval)
		cpu, wall = cpuTime(syscall.RUSAGE_SELF)-cpu0, time.Since(wall0)
		t.Logf("paced: 2 rounds in %v, CPU %v = %.4f cores; VmRSS %d KiB", wall, cpu, cpu.Seconds()/wall.Seconds(), procStatus("VmRSS"))
	}
}
