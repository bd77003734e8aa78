package local

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// recSink records what an executor reports.
type recSink struct {
	mu      sync.Mutex
	updates []engine.Update
	log     bytes.Buffer
	chunks  int
	maxLen  int
	done    chan struct{}
	onLog   func([]byte)
}

func newRecSink() *recSink { return &recSink{done: make(chan struct{})} }

func (s *recSink) Update(_ context.Context, _ string, u engine.Update) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates = append(s.updates, u)
	if u.State.Terminal() {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	return nil
}

func (s *recSink) Log(_ context.Context, _ string, p []byte) error {
	s.mu.Lock()
	s.log.Write(p)
	s.chunks++
	s.maxLen = max(s.maxLen, len(p))
	f := s.onLog
	s.mu.Unlock()
	if f != nil {
		f(p)
	}
	return nil
}

func (s *recSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *recSink) states() []engine.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []engine.State
	for _, u := range s.updates {
		out = append(out, u.State)
	}
	return out
}

// wait returns the terminal update.
func (s *recSink) wait(t *testing.T) engine.Update {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("no terminal update; states %v; log:\n%s", s.states(), s.text())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates[len(s.updates)-1]
}

// waitLog waits until the log holds sub.
func (s *recSink) waitLog(t *testing.T, sub string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.text(), sub) {
		if time.Now().After(deadline) {
			t.Fatalf("log never showed %q; log:\n%s", sub, s.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeCheckout writes a fixed tree into dest, like a clone would.
type fakeCheckout struct {
	files map[string]string
	modes map[string]os.FileMode // default 0o644
	calls int
	mu    sync.Mutex
}

func (f *fakeCheckout) Checkout(ctx context.Context, _, _, dest string) error {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	for name, body := range f.files {
		p := filepath.Join(dest, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode, ok := f.modes[name]
		if !ok {
			mode = 0o644
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			return err
		}
	}
	return os.MkdirAll(dest, 0o755)
}

var repoFiles = map[string]string{
	"README.md":         "demo\n",
	"mnist/job.yaml":    "name: mnist\n",
	"mnist/train.py":    "print('train')\n",
	"mnist/version.txt": "v1\n",
}

// testJob is a job as schema.Load would leave it.
func testJob(command string) *schema.Job {
	return &schema.Job{
		APIVersion: schema.APIVersion, Kind: schema.KindJob, Name: "mnist",
		Image: "pytorch/pytorch:2.5.1", Command: command, Workdir: ".",
		Datasets: []schema.Dataset{{Name: "mnist", Path: "/mnt/datasets/mnist"}},
		Path:     "mnist/job.yaml", Dir: "mnist",
	}
}

var runSeq int

func testRun(t testing.TB) *engine.Run {
	runSeq++
	id := engine.RunID("demo", "mnist/job.yaml", fmt.Sprintf("%s-%d", t.Name(), runSeq), engine.TriggerPush, "")
	return &engine.Run{
		ID: id, Repo: "demo", RepoURL: "file:///nowhere/demo.git", JobPath: "mnist/job.yaml", JobName: "mnist",
		SHA: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/heads/main", Branch: "main",
		Trigger: engine.TriggerPush, Attempt: 1, State: engine.StateQueued,
	}
}

// testPod is shaped like render's run Pods (DESIGN §4): a clone init
// container, the job container running `sh -c <command>` in the job's
// folder, the workspace as a subPath of the results volume at /mnt/<repo>,
// datasets as read-only dataset-<name> volumes and /dev/shm as a memory
// emptyDir.
func testPod(r *engine.Run, j *schema.Job) *corev1.Pod {
	deadline := int64(3600)
	shm := resource.MustParse("1Gi")
	ws := "/mnt/" + r.Repo
	env := []corev1.EnvVar{
		{Name: "GITLAUNCH_REPO", Value: r.Repo},
		{Name: "GITLAUNCH_SHA", Value: r.SHA},
		{Name: "GITLAUNCH_REF", Value: r.Ref},
		{Name: "GITLAUNCH_BRANCH", Value: r.Branch},
		{Name: "GITLAUNCH_JOB", Value: r.JobName},
		{Name: "GITLAUNCH_RUN_ID", Value: r.ID},
		{Name: "GITLAUNCH_TRIGGER", Value: string(r.Trigger)},
	}
	for k, v := range j.Env {
		env = append(env, corev1.EnvVar{Name: k, Value: v})
	}
	for _, k := range j.Secrets {
		env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "demo-secrets"}, Key: k}}})
	}
	mounts := []corev1.VolumeMount{{Name: "workspace", MountPath: ws, SubPath: "runs/" + r.ID + "/workspace"}}
	vols := []corev1.Volume{{Name: "workspace", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "gitlaunch-results"}}}}
	for _, d := range j.Datasets {
		mounts = append(mounts, corev1.VolumeMount{Name: "dataset-" + d.Name, MountPath: d.Path, ReadOnly: true})
		vols = append(vols, corev1.Volume{Name: "dataset-" + d.Name, VolumeSource: corev1.VolumeSource{
			NFS: &corev1.NFSVolumeSource{Server: "nfs.example", Path: "/datasets/" + d.Name, ReadOnly: true}}})
	}
	mounts = append(mounts, corev1.VolumeMount{Name: "shm", MountPath: "/dev/shm"})
	vols = append(vols, corev1.Volume{Name: "shm", VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &shm}}})
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gl-" + r.ID, Namespace: "gitlaunch",
			Labels: map[string]string{"gitlaunch.dev/run": r.ID, "gitlaunch.dev/job": r.JobName}},
		Spec: corev1.PodSpec{
			RestartPolicy:         corev1.RestartPolicyNever,
			ActiveDeadlineSeconds: &deadline,
			InitContainers: []corev1.Container{{Name: "clone", Image: "ghcr.io/gitlaunch/gitlaunch",
				Args:         []string{"clone", "--repo", r.RepoURL, "--sha", r.SHA, "--dest", ws},
				VolumeMounts: mounts[:1]}},
			Containers: []corev1.Container{{
				Name: "job", Image: j.Image,
				Command:      []string{"sh", "-c"},
				Args:         []string{j.Command},
				WorkingDir:   ws + "/" + j.Dir,
				Env:          env,
				VolumeMounts: mounts,
			}},
			Volumes: vols,
		},
	}
}

func testLaunch(t testing.TB, command string) engine.Launch {
	r, j := testRun(t), testJob(command)
	return engine.Launch{Run: r, Job: j, Pod: testPod(r, j)}
}

// datasetDir makes a dataset folder with one file.
func datasetDir(t testing.TB) string {
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "train.txt"), []byte("digits\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// newTestExecutor makes an executor in the given mode, or skips the test
// when this machine cannot provide it.
func newTestExecutor(t testing.TB, mode, dataDir string, opts ...func(*Options)) *Executor {
	t.Helper()
	o := Options{
		DataDir:   dataDir,
		Checkout:  &fakeCheckout{files: repoFiles},
		Datasets:  map[string]string{"mnist": datasetDir(t)},
		Isolation: mode,
		KillGrace: 500 * time.Millisecond,
		Logger:    slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	for _, f := range opts {
		f(&o)
	}
	e, err := New(o)
	if err != nil {
		if mode != IsolationNone {
			t.Skipf("isolation %s is not available here: %v", mode, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

var allModes = []string{IsolationBwrap, IsolationUnshare, IsolationNone}

// forModes runs a test once per isolation mode.
func forModes(t *testing.T, f func(t *testing.T, mode string)) {
	for _, m := range allModes {
		t.Run(m, func(t *testing.T) { f(t, m) })
	}
}

// processesWith lists live processes whose command line holds marker.
func processesWith(marker string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(marker)) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err == nil {
			if s, err := parseProcStat(stat); err == nil && s.State == 'Z' {
				continue
			}
		}
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	return out
}

// testWriter sends the executor's log to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
