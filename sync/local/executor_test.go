package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

func TestSuccessStreamsOutputInOrder(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		e := newTestExecutor(t, mode, t.TempDir())
		l := testLaunch(t, `for i in 1 2 3; do echo out$i; echo err$i >&2; done`)
		sink := newRecSink()
		if err := e.Start(context.Background(), l, sink); err != nil {
			t.Fatal(err)
		}
		u := sink.wait(t)
		if u.State != engine.StateSucceeded || u.ExitCode == nil || *u.ExitCode != 0 {
			t.Fatalf("terminal update %+v; log:\n%s", u, sink.text())
		}
		if got, want := sink.states(), []engine.State{engine.StatePending, engine.StateRunning, engine.StateSucceeded}; !slices.Equal(got, want) {
			t.Errorf("states %v, want %v", got, want)
		}
		lines := strings.Split(strings.TrimSpace(sink.text()), "\n")
		if want := `gitlaunch: image "pytorch/pytorch:2.5.1" is not used by the local executor; running on this machine`; lines[0] != want {
			t.Errorf("first line %q, want %q", lines[0], want)
		}
		var job []string
		for _, l := range lines {
			if !strings.HasPrefix(l, "gitlaunch: ") {
				job = append(job, l)
			}
		}
		if want := []string{"out1", "err1", "out2", "err2", "out3", "err3"}; !slices.Equal(job, want) {
			t.Errorf("job output %q, want %q", job, want)
		}
		if e.Isolation() != mode {
			t.Errorf("Isolation() = %q, want %q", e.Isolation(), mode)
		}
	})
}

func TestFailureExitCode(t *testing.T) {
	e := newTestExecutor(t, IsolationAuto, t.TempDir())
	sink := newRecSink()
	if err := e.Start(context.Background(), testLaunch(t, "echo failing; exit 3"), sink); err != nil {
		t.Fatal(err)
	}
	u := sink.wait(t)
	if u.State != engine.StateFailed || u.ExitCode == nil || *u.ExitCode != 3 || u.Reason != "exit code 3" {
		t.Fatalf("terminal update %+v", u)
	}
}

func TestTimeout(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		e := newTestExecutor(t, mode, t.TempDir())
		l := testLaunch(t, "sleep 30")
		one := int64(1)
		l.Pod.Spec.ActiveDeadlineSeconds = &one
		sink := newRecSink()
		if err := e.Start(context.Background(), l, sink); err != nil {
			t.Fatal(err)
		}
		if u := sink.wait(t); u.State != engine.StateTimedOut {
			t.Fatalf("terminal update %+v", u)
		}
	})
}

func TestCancelKillsTheWholeTree(t *testing.T) {
	for _, tc := range []struct {
		name, command string
	}{
		{"term", "sleep %s & sleep %s; wait"},
		// TERM is ignored by the job and its children: SIGKILL after the grace.
		{"ignores-term", "trap '' TERM; sleep %s & sleep %s; wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forModes(t, func(t *testing.T, mode string) {
				e := newTestExecutor(t, mode, t.TempDir())
				marker := fmt.Sprintf("300.%d%d", os.Getpid(), time.Now().UnixNano()%1e6)
				sink := newRecSink()
				l := testLaunch(t, fmt.Sprintf(tc.command, marker, marker))
				if err := e.Start(context.Background(), l, sink); err != nil {
					t.Fatal(err)
				}
				waitFor(t, func() bool { return len(processesWith("sleep\x00"+marker)) == 2 })
				if err := e.Cancel(context.Background(), l.Run.ID); err != nil {
					t.Fatal(err)
				}
				if u := sink.wait(t); u.State != engine.StateCancelled {
					t.Fatalf("terminal update %+v", u)
				}
				if left := processesWith(marker); len(left) > 0 {
					t.Fatalf("processes left after cancel: %q", left)
				}
			})
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// layoutScript is what a job checks of its own view.
const layoutScript = `echo "mnt: $(ls /mnt | tr '\n' ' ')"
echo "repo: $(ls /mnt/demo | tr '\n' ' ')"
echo "cwd: $(pwd)"
echo "dataset: $(cat /mnt/datasets/mnist/train.txt)"
if (echo overwrite > /mnt/datasets/mnist/train.txt) 2>/dev/null; then echo "dataset-write: allowed"; else echo "dataset-write: refused"; fi
echo "ws: $GITLAUNCH_WORKSPACE"
echo "procs: $(ls /proc | grep -c '^[0-9]')"
echo "dev: $(ls /dev | wc -l)"
echo result > result.txt`

func TestMntLayoutIsolated(t *testing.T) {
	for _, mode := range []string{IsolationBwrap, IsolationUnshare} {
		t.Run(mode, func(t *testing.T) {
			data := t.TempDir()
			ds := datasetDir(t)
			e := newTestExecutor(t, mode, data, func(o *Options) { o.Datasets = map[string]string{"dataset-mnist": ds} })
			l := testLaunch(t, layoutScript)
			devs, err := os.ReadDir("/dev")
			if err != nil {
				t.Fatal(err)
			}
			sink := newRecSink()
			if err := e.Start(context.Background(), l, sink); err != nil {
				t.Fatal(err)
			}
			if u := sink.wait(t); u.State != engine.StateSucceeded {
				t.Fatalf("terminal update %+v; log:\n%s", u, sink.text())
			}
			log := sink.text()
			// The sandbox has its own /dev (the standard nodes, and GPUs
			// when there are any: TestSandboxDevices); unshare keeps the
			// machine's.
			dev := fmt.Sprintf("dev: %d\n", len(devs))
			if mode == IsolationBwrap {
				n := 14 // core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero
				for _, p := range gpuDevicePatterns {
					m, _ := filepath.Glob(p)
					n += len(m)
				}
				dev = fmt.Sprintf("dev: %d\n", n)
			}
			for _, want := range []string{
				"mnt: datasets demo \n",
				"repo: README.md mnist \n",
				"cwd: /mnt/demo/mnist\n",
				"dataset: digits\n",
				"dataset-write: refused\n",
				"ws: /mnt/demo\n",
				dev,
			} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q; log:\n%s", want, log)
				}
			}
			// The job has its own PID namespace and /proc: a handful of
			// processes, not the machine's.
			if m := regexp.MustCompile(`procs: (\d+)`).FindStringSubmatch(log); m == nil || len(m[1]) > 1 {
				t.Errorf("processes seen by the job: %q", m)
			}
			got, err := os.ReadFile(filepath.Join(data, "runs", l.Run.ID, "workspace", "mnist", "result.txt"))
			if err != nil || string(got) != "result\n" {
				t.Errorf("result.txt on the host: %q, %v", got, err)
			}
			if b, _ := os.ReadFile(filepath.Join(ds, "train.txt")); string(b) != "digits\n" {
				t.Errorf("dataset changed: %q", b)
			}
		})
	}
}

func TestNoIsolationSaysSoAndUsesRealPaths(t *testing.T) {
	data := t.TempDir()
	e := newTestExecutor(t, IsolationNone, data)
	l := testLaunch(t, `echo "cwd: $(pwd)"; echo "ws: $GITLAUNCH_WORKSPACE"; echo "ds: $(cat "$GITLAUNCH_MOUNT_MNT_DATASETS_MNIST/train.txt")"; echo "dev: $(ls /dev | wc -l)"
echo result > result.txt`)
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	if u := sink.wait(t); u.State != engine.StateSucceeded {
		t.Fatalf("terminal update %+v; log:\n%s", u, sink.text())
	}
	ws := filepath.Join(data, "runs", l.Run.ID, "workspace")
	log := sink.text()
	for _, want := range []string{"gitlaunch: no isolation:", "cwd: " + ws + "/mnist\n", "ws: " + ws + "\n", "ds: digits\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q; log:\n%s", want, log)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "mnist", "result.txt")); err != nil {
		t.Error(err)
	}
}

func TestArtifactsAndMetrics(t *testing.T) {
	e := newTestExecutor(t, IsolationAuto, t.TempDir())
	l := testLaunch(t, `mkdir -p out/sub
printf 12345 > out/model.pt
printf 123 > out/sub/a.pt
printf x > out/notes.txt
ln -s /etc/hostname out/leak.pt
ln -s model.pt out/alias.pt
echo 'Accuracy: 9/10 (90.0%)'
echo 'Accuracy: 95/100 (95.5%)'
printf 'step 1 loss=0.9\rstep 2 loss=0.4\n'
echo '{"acc": 97, "lr": 1e-3, "note": "fine"}' > metrics.json`)
	l.Job.Results = schema.Results{
		Artifacts: []string{"out/**/*.pt", "metrics.json"},
		Metrics: &schema.Metrics{File: "metrics.json", Patterns: map[string]string{
			"accuracy": `Accuracy: \d+/\d+ \(([\d.]+)%\)`,
			"loss":     `loss=([\d.]+)`,
		}},
	}
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	u := sink.wait(t)
	if u.State != engine.StateSucceeded {
		t.Fatalf("terminal update %+v", u)
	}
	want := []engine.Artifact{{Path: "metrics.json", Size: 40}, {Path: "out/alias.pt", Size: 5}, {Path: "out/model.pt", Size: 5}, {Path: "out/sub/a.pt", Size: 3}}
	if !slices.Equal(u.Artifacts, want) {
		t.Errorf("artifacts %+v, want %+v", u.Artifacts, want)
	}
	wantM := map[string]float64{"accuracy": 95.5, "loss": 0.4, "acc": 97, "lr": 0.001}
	if fmt.Sprint(u.Metrics) != fmt.Sprint(wantM) {
		t.Errorf("metrics %v, want %v", u.Metrics, wantM)
	}
	log := sink.text()
	for _, want := range []string{
		"gitlaunch: artifact out/leak.pt is a link out of the workspace (or broken); not listed\n",
		`gitlaunch: metrics file metrics.json: "note" is not a number; skipped` + "\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q; log:\n%s", want, log)
		}
	}
}

func TestSecretsOnlyWhenReferenced(t *testing.T) {
	e := newTestExecutor(t, IsolationAuto, t.TempDir())
	l := testLaunch(t, `echo "A=${WANDB_API_KEY-unset} B=${OTHER-unset}"`)
	l.Job.Secrets = []string{"WANDB_API_KEY"}
	l.Pod = testPod(l.Run, l.Job)
	l.Secrets = map[string]string{"WANDB_API_KEY": "s3cret", "OTHER": "not-for-this-job"}
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	if u := sink.wait(t); u.State != engine.StateSucceeded {
		t.Fatalf("terminal update %+v", u)
	}
	if !strings.Contains(sink.text(), "A=s3cret B=unset\n") {
		t.Errorf("log:\n%s", sink.text())
	}

	// A referenced secret that was not resolved (an untrusted run) fails
	// the run before anything runs.
	l2 := testLaunch(t, "echo never")
	l2.Job.Secrets = []string{"WANDB_API_KEY"}
	l2.Pod = testPod(l2.Run, l2.Job)
	sink2 := newRecSink()
	if err := e.Start(context.Background(), l2, sink2); err == nil {
		t.Fatal("Start succeeded without the referenced secret")
	}
	if u := sink2.wait(t); u.State != engine.StateError || !strings.Contains(u.Reason, `secret key "WANDB_API_KEY"`) {
		t.Fatalf("terminal update %+v", u)
	}
}

func TestSecretsWithoutKubernetesSecret(t *testing.T) {
	e := newTestExecutor(t, IsolationAuto, t.TempDir())
	l := testLaunch(t, `echo "A=${WANDB_API_KEY-unset} B=${OTHER-unset}"`)
	l.Job.Secrets = []string{"WANDB_API_KEY"}
	// The Pod names no Secret (render without a secret name): the values
	// come from the launch, for the keys the job lists only.
	l.Secrets = map[string]string{"WANDB_API_KEY": "s3cret", "OTHER": "not-for-this-job"}
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	if u := sink.wait(t); u.State != engine.StateSucceeded {
		t.Fatalf("terminal update %+v", u)
	}
	if !strings.Contains(sink.text(), "A=s3cret B=unset\n") {
		t.Errorf("log:\n%s", sink.text())
	}
	// An untrusted run: the engine resolves no values, nothing is injected.
	l2 := testLaunch(t, `echo "A=${WANDB_API_KEY-unset}"`)
	l2.Job.Secrets = []string{"WANDB_API_KEY"}
	sink2 := newRecSink()
	if err := e.Start(context.Background(), l2, sink2); err != nil {
		t.Fatal(err)
	}
	if u := sink2.wait(t); u.State != engine.StateSucceeded || !strings.Contains(sink2.text(), "A=unset") {
		t.Fatalf("untrusted: %+v\n%s", u, sink2.text())
	}
}

func TestGitlaunchEnv(t *testing.T) {
	e := newTestExecutor(t, IsolationAuto, t.TempDir())
	for _, podEnv := range []bool{true, false} {
		t.Run(fmt.Sprintf("podEnv=%v", podEnv), func(t *testing.T) {
			l := testLaunch(t, `env | grep ^GITLAUNCH_ | sort; echo "HOME=${HOME+set}"`)
			l.Run.PR = 7
			if !podEnv {
				l.Pod.Spec.Containers[0].Env = nil // the run fills them in
			}
			sink := newRecSink()
			if err := e.Start(context.Background(), l, sink); err != nil {
				t.Fatal(err)
			}
			if u := sink.wait(t); u.State != engine.StateSucceeded {
				t.Fatalf("terminal update %+v", u)
			}
			log := sink.text()
			for _, want := range []string{
				"GITLAUNCH_BRANCH=main", "GITLAUNCH_JOB=mnist", "GITLAUNCH_PR=7", "GITLAUNCH_REF=refs/heads/main",
				"GITLAUNCH_REPO=demo", "GITLAUNCH_RUN_ID=" + l.Run.ID, "GITLAUNCH_SHA=" + l.Run.SHA,
				"GITLAUNCH_TRIGGER=push", "GITLAUNCH_WORKSPACE=",
			} {
				if !strings.Contains(log, want+"\n") && !strings.Contains(log, want) {
					t.Errorf("env lacks %s; log:\n%s", want, log)
				}
			}
		})
	}
}

func TestMissingDatasetFailsClearly(t *testing.T) {
	e := newTestExecutor(t, IsolationAuto, t.TempDir(), func(o *Options) { o.Datasets = nil })
	sink := newRecSink()
	l := testLaunch(t, "echo never")
	if err := e.Start(context.Background(), l, sink); err == nil {
		t.Fatal("Start succeeded without the dataset")
	}
	u := sink.wait(t)
	if u.State != engine.StateError || !strings.Contains(u.Reason, `dataset volume "dataset-mnist" at /mnt/datasets/mnist has no localPath`) {
		t.Fatalf("terminal update %+v", u)
	}
	if strings.Contains(sink.text(), "never") {
		t.Fatal("the job ran")
	}
}

func TestStartTwiceLaunchesOnce(t *testing.T) {
	data := t.TempDir()
	e := newTestExecutor(t, IsolationAuto, data)
	l := testLaunch(t, `echo x >> launches; sleep 1`)
	sink := newRecSink()
	for range 3 {
		if err := e.Start(context.Background(), l, sink); err != nil {
			t.Fatal(err)
		}
	}
	sink.wait(t)
	b, _ := os.ReadFile(filepath.Join(data, "runs", l.Run.ID, "workspace", "mnist", "launches"))
	if string(b) != "x\n" {
		t.Fatalf("launches file %q, want one launch", b)
	}
	// Done and started again (a duplicate event later): still not twice.
	sink2 := newRecSink()
	if err := e.Start(context.Background(), l, sink2); err != nil {
		t.Fatal(err)
	}
	if u := sink2.wait(t); u.State != engine.StateSucceeded {
		t.Fatalf("replayed terminal update %+v", u)
	}
	b, _ = os.ReadFile(filepath.Join(data, "runs", l.Run.ID, "workspace", "mnist", "launches"))
	if string(b) != "x\n" {
		t.Fatalf("launches file %q after a duplicate Start", b)
	}
}

func TestRetryAttemptRunsAgain(t *testing.T) {
	data := t.TempDir()
	e := newTestExecutor(t, IsolationAuto, data)
	l := testLaunch(t, `echo attempt`)
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	sink.wait(t)
	l.Run.Attempt = 2
	sink2 := newRecSink()
	if err := e.Start(context.Background(), l, sink2); err != nil {
		t.Fatal(err)
	}
	if u := sink2.wait(t); u.State != engine.StateSucceeded || !strings.Contains(sink2.text(), "attempt\n") {
		t.Fatalf("second attempt %+v; log:\n%s", u, sink2.text())
	}
	if _, err := os.Stat(filepath.Join(data, "runs", l.Run.ID+".attempt-1", "output.log")); err != nil {
		t.Errorf("first attempt not kept: %v", err)
	}
}

func TestAdoptAfterRestart(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		data := t.TempDir()
		e1 := newTestExecutor(t, mode, data)
		l := testLaunch(t, `echo x >> launches; echo 1 first; while [ ! -e gate ]; do sleep 0.05; done; echo second; exit 4`)
		l.Job.Results.Metrics = &schema.Metrics{Patterns: map[string]string{"first": `^(\d+) first$`}}
		sink1 := newRecSink()
		if err := e1.Start(context.Background(), l, sink1); err != nil {
			t.Fatal(err)
		}
		sink1.waitLog(t, "1 first\n")
		if err := e1.Close(); err != nil { // the syncer stops; the job goes on
			t.Fatal(err)
		}

		e2 := newTestExecutor(t, mode, data)
		sink2 := newRecSink()
		if err := e2.Start(context.Background(), l, sink2); err != nil {
			t.Fatal(err)
		}
		wd := filepath.Join(data, "runs", l.Run.ID, "workspace", "mnist")
		if err := os.WriteFile(filepath.Join(wd, "gate"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		u := sink2.wait(t)
		if u.State != engine.StateFailed || u.ExitCode == nil || *u.ExitCode != 4 {
			t.Fatalf("terminal update after adoption %+v; log:\n%s", u, sink2.text())
		}
		if got := sink2.states(); got[0] != engine.StateRunning {
			t.Errorf("adopted states %v, want Running first", got)
		}
		if b, _ := os.ReadFile(filepath.Join(wd, "launches")); string(b) != "x\n" {
			t.Errorf("launches %q: launched twice", b)
		}
		// The new sink gets only the output the old one did not.
		if log := sink2.text(); strings.Contains(log, "first") || !strings.Contains(log, "second\n") {
			t.Errorf("adopted log:\n%s", log)
		}
		if _, ok := u.Metrics["first"]; !ok {
			t.Errorf("pattern over output from before the restart was lost: %v", u.Metrics)
		}
	})
}

func TestAdoptFinishedAndLost(t *testing.T) {
	data := t.TempDir()
	e1 := newTestExecutor(t, IsolationAuto, data)
	l := testLaunch(t, `while [ ! -e gate ]; do sleep 0.05; done; echo done`)
	sink1 := newRecSink()
	if err := e1.Start(context.Background(), l, sink1); err != nil {
		t.Fatal(err)
	}
	e1.Close()
	dir := runDir(filepath.Join(data, "runs", l.Run.ID))
	os.WriteFile(filepath.Join(dir.Workspace(), "mnist", "gate"), nil, 0o644)
	waitFor(t, func() bool { return exists(dir.Exit()) })

	// It ended while no one watched: the exit file tells how.
	e2 := newTestExecutor(t, IsolationAuto, data)
	sink2 := newRecSink()
	if err := e2.Adopt(context.Background(), l, sink2); err != nil {
		t.Fatal(err)
	}
	if u := sink2.wait(t); u.State != engine.StateSucceeded || !strings.Contains(sink2.text(), "done\n") {
		t.Fatalf("terminal update %+v; log:\n%s", u, sink2.text())
	}

	// Without an exit file the run is lost.
	os.Remove(dir.Exit())
	if err := e2.Adopt(context.Background(), l, newRecSink()); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Adopt of a run that ended unrecorded: %v, want ErrNotFound", err)
	}
	// A run never launched here is not found either.
	if err := e2.Adopt(context.Background(), testLaunch(t, "true"), newRecSink()); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Adopt of an unknown run: %v, want ErrNotFound", err)
	}
	if err := e2.Cancel(context.Background(), "nosuchrun"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Cancel of an unknown run: %v, want ErrNotFound", err)
	}
}
