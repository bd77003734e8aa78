package local

// Regression tests for issue 9, findings 3 and 4: each runs the attack as a
// hostile job would, with the real bwrap (or unshare) and real processes,
// and checks the host afterwards.

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// The syncer's own credentials, as it would hold them in its environment.
const (
	fakeToken      = "ghp_FAKEsyncerTOKEN0123456789abcdef"
	fakeHookSecret = "whsec-FAKE-webhook-secret-9876"
)

func setSyncerSecrets(t *testing.T) {
	t.Setenv("GITLAUNCH_GITHUB_TOKEN", fakeToken)
	t.Setenv("GITLAUNCH_WEBHOOK_SECRET", fakeHookSecret)
}

// hostDir makes a folder outside the sandbox's private roots (/tmp and the
// like), so that what the sandbox hides there is hidden because it is the
// data directory or a credential, not because all of /tmp is private.
func hostDir(t *testing.T) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("no cache folder outside /tmp: %v", err)
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := os.MkdirTemp(base, "gitlaunch-sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if slices.ContainsFunc(privateRoots, func(r string) bool { return within(d, r) }) {
		t.Skipf("the cache folder %s lies under a folder the sandbox replaces", d)
	}
	return d
}

func marker() string {
	return fmt.Sprintf("300.%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, e *Executor, l engine.Launch) *recSink {
	t.Helper()
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	return sink
}

func mustSucceed(t *testing.T, sink *recSink) string {
	t.Helper()
	if u := sink.wait(t); u.State != engine.StateSucceeded {
		t.Fatalf("terminal update %+v; log:\n%s", u, sink.text())
	}
	return sink.text()
}

func lacks(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the job got %q; log:\n%s", s, log)
		}
	}
}

// Finding 3: the job's env reached gitlaunch's wrapper outside bwrap. With
// PATH pointing into the job's folder, a program named mv there ran as the
// syncer, read its environment into the log and left a process behind.
func TestHostileProgramsOnPath(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		setSyncerSecrets(t)
		spy := t.TempDir() // outside a sandbox the trojan can write here
		m := marker()
		trojan := fmt.Sprintf("#!/bin/sh\necho TROJAN-RAN\nenv\ntr '\\0' '\\n' </proc/$PPID/environ\nenv >%s/env\nsetsid sleep %s >/dev/null 2>&1 &\nexec /bin/mv \"$@\"\n", spy, m)
		files := maps.Clone(repoFiles)
		modes := map[string]os.FileMode{}
		// Programs the wrappers run. (Not sh: bwrap starts the job's own
		// `sh -c` with the job's PATH, inside the sandbox, as it should.)
		for _, name := range []string{"mv", "printf", "mount", "mkdir", "bwrap", "unshare"} {
			files["mnist/"+name] = trojan
			modes["mnist/"+name] = 0o755
		}
		data := t.TempDir()
		e := newTestExecutor(t, mode, data, func(o *Options) { o.Checkout = &fakeCheckout{files: files, modes: modes} })
		l := testLaunch(t, "echo job-ran")
		ws := filepath.Join(data, "runs", l.Run.ID, "workspace")
		// Every way the wrapper could resolve the job's folder: relative
		// to its own folder, the host path, the sandbox path, ".".
		l.Job.Env = map[string]string{"PATH": "workspace/mnist:" + ws + "/mnist:/mnt/demo/mnist:.:/usr/bin:/bin", "ENV": ws + "/mnist/mv", "BASH_ENV": ws + "/mnist/mv"}
		l.Pod = testPod(l.Run, l.Job)
		sink := start(t, e, l)
		u := sink.wait(t)
		// The wrapper's own mv recorded the exit status.
		if u.State != engine.StateSucceeded || u.ExitCode == nil || *u.ExitCode != 0 {
			t.Fatalf("terminal update %+v; log:\n%s", u, sink.text())
		}
		log := sink.text()
		if !strings.Contains(log, "job-ran\n") {
			t.Errorf("the job did not run; log:\n%s", log)
		}
		lacks(t, log, "TROJAN-RAN", fakeToken, fakeHookSecret)
		if exists(filepath.Join(spy, "env")) {
			t.Error("the trojan ran as the syncer")
		}
		if left := processesWith(m); len(left) > 0 {
			t.Errorf("processes left: %q", left)
		}
	})
}

// The class behind finding 3: everything gitlaunch runs outside the job
// (the outer script, bwrap, unshare and its script) has the fixed wrapper
// environment, whatever the job sets.
func TestWrappersHaveAFixedEnvironment(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		setSyncerSecrets(t)
		data := t.TempDir()
		e := newTestExecutor(t, mode, data)
		l := testLaunch(t, `echo "job: $JOBVAR"; while [ ! -e gate ]; do sleep 0.05; done`)
		l.Job.Env = map[string]string{"JOBVAR": "job-only", "LD_PRELOAD": "/nonexistent/preload.so", "PATH": "/usr/bin:/bin"}
		l.Pod = testPod(l.Run, l.Job)
		sink := start(t, e, l)
		sink.waitLog(t, "job: job-only\n")
		info, err := e.dir(l.Run.ID).readProcessInfo()
		if err != nil {
			t.Fatal(err)
		}
		chain := []int{info.PID}
		depth := map[string]int{IsolationBwrap: 2, IsolationUnshare: 3, IsolationNone: 1}[mode]
		for len(chain) < depth {
			chain = append(chain, childOf(t, chain[len(chain)-1]))
		}
		want := slices.Sorted(slices.Values(wrapperEnv))
		for _, pid := range chain {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, kv := range strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00") {
				if !strings.HasPrefix(kv, "PWD=") { // sh sets it to its own folder
					got = append(got, kv)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				t.Errorf("process %d (%q) has environment %q, want %q", pid, cmd, got, want)
			}
		}
		writeFile(t, filepath.Join(data, "runs", l.Run.ID, "workspace", "mnist", "gate"), "")
		mustSucceed(t, sink)
	})
}

// childOf waits for a child of pid and returns the first one.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	var child int
	waitFor(t, func() bool {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			n, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if s, err := readProcStat(n); err == nil && s.PPID == pid {
				child = n
				return true
			}
		}
		return false
	})
	return child
}

// The job's environment is built from scratch and reaches the job intact,
// whatever it holds; fd 3, which carried it, is closed in the job.
func TestJobEnvironment(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		setSyncerSecrets(t)
		t.Setenv("SYNCER_ONLY", "syncer-only-value")
		e := newTestExecutor(t, mode, t.TempDir())
		tricky := "it's \"quoted\" $(printf %s%s ex panded) `echo ticks` \\ $HOME\nsecond line"
		l := testLaunch(t, `printf 'tricky=<%s>\n' "$TRICKY"
echo "unbuffered=$PYTHONUNBUFFERED home=$HOME"
env | grep -c '^my.dotted=' || true
if (: <&3) 2>/dev/null; then echo fd3-open; else echo fd3-closed; fi
touch "$HOME/home-is-writable" && echo home-ok
env`)
		l.Job.Env = map[string]string{"TRICKY": tricky, "my.dotted": "v"}
		l.Pod = testPod(l.Run, l.Job)
		log := mustSucceed(t, start(t, e, l))
		home := "/tmp"
		if mode != IsolationBwrap {
			home = e.dir(l.Run.ID).Tmp()
		}
		dotted := "1\n" // only bwrap can set a name sh cannot export
		if mode != IsolationBwrap {
			dotted = "0\n"
			if !strings.Contains(log, `gitlaunch: env "my.dotted" is not set`) {
				t.Errorf("no note about my.dotted; log:\n%s", log)
			}
		}
		for _, want := range []string{"tricky=<" + tricky + ">\n", "unbuffered=1 home=" + home + "\n", dotted, "fd3-closed\n", "home-ok\n"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q; log:\n%s", want, log)
			}
		}
		lacks(t, log, fakeToken, fakeHookSecret, "syncer-only-value", "expanded", "fd3-open")
		if exists(e.dir(l.Run.ID).Tmp()) {
			t.Error("the job's /tmp outlived the run")
		}

		// A job may turn the Python default off.
		l2 := testLaunch(t, `echo "unbuffered=$PYTHONUNBUFFERED"`)
		l2.Job.Env = map[string]string{"PYTHONUNBUFFERED": ""}
		l2.Pod = testPod(l2.Run, l2.Job)
		if log := mustSucceed(t, start(t, e, l2)); !strings.Contains(log, "unbuffered=\n") {
			t.Errorf("log:\n%s", log)
		}
	})
}

// bwrap reads the environment as NUL-separated options: a NUL in a value
// would add options of the job's choosing (--bind / /host).
func TestEnvCannotAddSandboxOptions(t *testing.T) {
	forModes(t, func(t *testing.T, mode string) {
		e := newTestExecutor(t, mode, t.TempDir())
		l := testLaunch(t, "echo ran; ls /hostroot")
		l.Job.Env = map[string]string{"X": "x\x00--bind\x00/\x00/hostroot"}
		l.Pod = testPod(l.Run, l.Job)
		sink := newRecSink()
		if err := e.Start(context.Background(), l, sink); err == nil {
			t.Fatal("Start accepted a NUL in the environment")
		}
		if u := sink.wait(t); u.State != engine.StateError || !strings.Contains(u.Reason, "NUL") {
			t.Fatalf("terminal update %+v", u)
		}
		if strings.Contains(sink.text(), "ran") {
			t.Fatal("the job ran")
		}
	})
}

// Finding 4: the sandbox hid nothing. (Strings the test looks for are split
// in the script: the job lists the command lines of the processes it sees,
// its own among them.) A hostile job tries to read and write
// gitlaunch's store, another run's log, workspace, /tmp and processes, the
// config's secrets file, the syncer's home credentials and environment,
// host files and kernel knobs.
func TestSandboxHidesTheHost(t *testing.T) {
	setSyncerSecrets(t)
	hd := hostDir(t)
	data := filepath.Join(hd, "data")
	home := filepath.Join(hd, "home")
	t.Setenv("HOME", home)
	writeFile(t, filepath.Join(home, ".ssh", "id_ed25519"), "SSH-PRIVATE-KEY")
	writeFile(t, filepath.Join(home, ".kube", "config"), "KUBECONFIG-CREDENTIALS")
	secrets := filepath.Join(hd, "etc", "secrets.env")
	writeFile(t, secrets, "WANDB_API_KEY=config-secret-value")
	// A link to the secrets file, as an admin might configure it.
	if err := os.Symlink(secrets, filepath.Join(hd, "secrets-link.env")); err != nil {
		t.Fatal(err)
	}
	hostFile := filepath.Join(hd, "host.txt")
	writeFile(t, hostFile, "host-original")
	store := filepath.Join(data, "gitlaunch.db")
	writeFile(t, store, "STORE-CONTENT")

	e := newTestExecutor(t, IsolationBwrap, data, func(o *Options) { o.Hide = []string{filepath.Join(hd, "secrets-link.env")} })

	// Another repository's run, still running while the hostile one looks.
	other := testLaunch(t, `echo other-run-log-secret; echo other-ws-secret > secret.txt
echo other-tmp-secret > /tmp/s; echo other-shm-secret > /dev/shm/s
while [ ! -e gate ]; do sleep 0.05; done`)
	otherSink := start(t, e, other)
	otherSink.waitLog(t, "other-run-log-secret\n")
	otherWS := filepath.Join(data, "runs", other.Run.ID, "workspace", "mnist")
	waitFor(t, func() bool { return exists(filepath.Join(otherWS, "secret.txt")) })
	time.Sleep(100 * time.Millisecond) // let /tmp/s and /dev/shm/s be written

	hostile := testLaunch(t, fmt.Sprintf(`D=%[1]s O=%[2]s H=%[3]s
echo "store: $(cat "$D/gitlaunch.db" 2>&1)"
echo "data-ls: $(ls -A "$D" 2>&1 | tr '\n' ' ')"
echo "other-log: $(cat "$D/runs/$O/output.log" 2>&1)"
echo "other-ws: $(cat "$D/runs/$O/workspace/mnist/secret.txt" 2>&1)"
echo "secrets-file: $(cat %[4]s %[5]s 2>&1)"
echo "ssh: $(cat "$H/.ssh/id_ed25519" 2>&1)"
echo "kube: $(cat "$H/.kube/config" 2>&1)"
echo "tmp: $(cat /tmp/s /dev/shm/s 2>&1)"
echo "syncer-environ: $(tr '\0' '\n' </proc/%[6]d/environ 2>&1)"
echo "all-environ: $(cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n')"
echo "processes: $(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ')"
echo "env: $(env)"
for f in "$D/gitlaunch.db" "$D/new-file" "$D/runs/$O/output.log" "$D/runs/$O/workspace/mnist/secret.txt" %[7]s %[4]s /etc/gitlaunch-sandbox-probe /usr/gitlaunch-sandbox-probe "$H/.bashrc"; do
	if (echo pwned >>"$f") 2>/dev/null; then echo "WRITE-""ALLOWED: $f"; fi
done
v=$(cat /proc/sys/kernel/core_pattern)
if (printf '%%s\n' "$v" >/proc/sys/kernel/core_pattern) 2>/dev/null; then echo "WRITE-""ALLOWED: core_pattern"; fi
if [ -e /proc/sysrq-trigger ] && [ -w /proc/sysrq-trigger ]; then echo "WRITE-""ALLOWED: sysrq-trigger"; fi
if mount -t tmpfs gitlaunch /mnt 2>/dev/null; then echo "MOUNT-""ALLOWED"; fi
if umount "$D" 2>/dev/null; then echo "UMOUNT-""ALLOWED"; fi
grep CapEff /proc/self/status
echo hostile-done`, data, other.Run.ID, home, secrets, filepath.Join(hd, "secrets-link.env"), os.Getpid(), hostFile))
	log := mustSucceed(t, start(t, e, hostile))
	lacks(t, log, "STORE-CONTENT", "other-run-log-secret", "other-ws-secret", "other-tmp-secret", "other-shm-secret",
		"config-secret-value", "SSH-PRIVATE-KEY", "KUBECONFIG-CREDENTIALS", fakeToken, fakeHookSecret,
		"WRITE-ALLOWED", "MOUNT-ALLOWED", "UMOUNT-ALLOWED")
	for _, want := range []string{"data-ls: \n", "CapEff:\t0000000000000000\n", "hostile-done\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q; log:\n%s", want, log)
		}
	}

	for name, want := range map[string]string{store: "STORE-CONTENT", hostFile: "host-original",
		secrets: "WANDB_API_KEY=config-secret-value", filepath.Join(otherWS, "secret.txt"): "other-ws-secret\n"} {
		if b, err := os.ReadFile(name); err != nil || string(b) != want {
			t.Errorf("%s is now %q (%v), want %q", name, b, err, want)
		}
	}
	for _, name := range []string{filepath.Join(data, "new-file"), "/etc/gitlaunch-sandbox-probe", "/usr/gitlaunch-sandbox-probe", filepath.Join(home, ".bashrc")} {
		if exists(name) {
			os.Remove(name)
			t.Errorf("the job created %s on the host", name)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(data, "runs", other.Run.ID, "output.log")); strings.Contains(string(b), "pwned") {
		t.Error("the job wrote into another run's log")
	}

	writeFile(t, filepath.Join(otherWS, "gate"), "")
	mustSucceed(t, otherSink)
}

// Finding 3's survivor: every process of the run ends with it, however it
// left the job's process group or session, when the job exits, is cancelled
// or times out.
func TestEveryProcessEndsWithTheRun(t *testing.T) {
	for _, end := range []string{"exit", "cancel", "timeout"} {
		t.Run(end, func(t *testing.T) {
			for _, mode := range []string{IsolationBwrap, IsolationUnshare} {
				t.Run(mode, func(t *testing.T) {
					e := newTestExecutor(t, mode, t.TempDir())
					m := marker()
					digits := strings.TrimPrefix(m, "300.")
					// The job records each escaper's PID and waits until all
					// of them run sleep; the marker is put together at run
					// time so that only the sleeps carry it.
					script := fmt.Sprintf(`s=300.; s=${s}%s; p=$TMPDIR/pids
setsid sleep $s >/dev/null 2>&1 & echo $! >>$p
(sleep $s >/dev/null 2>&1 & echo $! >>$p)
nohup sh -c 'trap "" TERM HUP INT; exec sleep "$0"' $s >/dev/null 2>&1 & echo $! >>$p
setsid sh -c '(sleep "$0" >/dev/null 2>&1 & echo $! >>"$1")' $s $p
while :; do
	n=0
	for pid in $(cat $p); do grep -q '^sleep' /proc/$pid/cmdline 2>/dev/null && n=$((n+1)); done
	[ $n -ge 4 ] && break
	sleep 0.05
done
echo spawned
`, digits)
					if end == "exit" {
						script += "while [ ! -e gate ]; do sleep 0.05; done; exit 0"
					} else {
						script += "while :; do sleep 1; done"
					}
					l := testLaunch(t, script)
					if end == "timeout" {
						four := int64(4)
						l.Pod.Spec.ActiveDeadlineSeconds = &four
					}
					sink := start(t, e, l)
					sink.waitLog(t, "spawned\n")
					if end == "exit" || end == "cancel" {
						if n := len(processesWith(m)); n < 4 {
							t.Fatalf("%d escapers seen on the host, want 4", n)
						}
					}
					switch end {
					case "exit":
						writeFile(t, filepath.Join(e.dir(l.Run.ID).Workspace(), "mnist", "gate"), "")
					case "cancel":
						if err := e.Cancel(context.Background(), l.Run.ID); err != nil {
							t.Fatal(err)
						}
					}
					u := sink.wait(t)
					want := map[string]engine.State{"exit": engine.StateSucceeded, "cancel": engine.StateCancelled, "timeout": engine.StateTimedOut}[end]
					if u.State != want {
						t.Fatalf("terminal update %+v, want %s; log:\n%s", u, want, sink.text())
					}
					if left := processesWith(m); len(left) > 0 {
						t.Fatalf("processes outlived the run: %q", left)
					}
				})
			}
		})
	}
}

// The sandbox's /dev has the standard nodes and the GPUs, usable, and
// nothing else of the machine's.
func TestSandboxDevices(t *testing.T) {
	fake := t.TempDir()
	// A character device (the null device's numbers) standing in for a GPU.
	if err := syscall.Mknod(filepath.Join(fake, "nvidia0"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("cannot make a device node: %v", err)
	}
	old := gpuDevicePatterns
	gpuDevicePatterns = []string{filepath.Join(fake, "nvidia*")}
	t.Cleanup(func() { gpuDevicePatterns = old })
	e := newTestExecutor(t, IsolationBwrap, t.TempDir())
	log := mustSucceed(t, start(t, e, testLaunch(t, `echo "dev: $(ls /dev | tr '\n' ' ')"
echo probe >/dev/nvidia0 && echo gpu-usable
echo "shm: $(df -k /dev/shm | tail -1 | awk '{print $2}')"`)))
	for _, want := range []string{
		"dev: core fd full null nvidia0 ptmx pts random shm stderr stdin stdout tty urandom zero \n",
		"gpu-usable\n",
		"shm: 1048576\n", // the Pod's /dev/shm sizeLimit (1Gi), in KiB
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q; log:\n%s", want, log)
		}
	}
}

// Without a sandbox, secrets would be readable by every other job: a run
// that gets them refuses to start unless the admin allowed it.
func TestSecretsNeedASandbox(t *testing.T) {
	for _, mode := range []string{IsolationUnshare, IsolationNone} {
		t.Run(mode, func(t *testing.T) {
			data := t.TempDir()
			e := newTestExecutor(t, mode, data)
			l := testLaunch(t, `echo "key=$WANDB_API_KEY"`)
			l.Job.Secrets = []string{"WANDB_API_KEY"}
			l.Pod = testPod(l.Run, l.Job)
			l.Secrets = map[string]string{"WANDB_API_KEY": "s3cret"}
			sink := newRecSink()
			if err := e.Start(context.Background(), l, sink); err == nil {
				t.Fatal("a run with secrets started without a sandbox")
			}
			u := sink.wait(t)
			if u.State != engine.StateError || u.Retryable || !strings.Contains(u.Reason, "local.allowUnsandboxed: true") || !strings.Contains(u.Reason, "bubblewrap") {
				t.Fatalf("terminal update %+v", u)
			}
			if exists(filepath.Join(data, "runs", l.Run.ID, "output.log")) {
				t.Fatal("the job was launched")
			}
			// Without secrets it runs.
			mustSucceed(t, start(t, e, testLaunch(t, "true")))

			e2 := newTestExecutor(t, mode, t.TempDir(), func(o *Options) { o.AllowUnsandboxed = true })
			l.Run = testRun(t)
			l.Pod = testPod(l.Run, l.Job)
			if log := mustSucceed(t, start(t, e2, l)); !strings.Contains(log, "key=s3cret\n") {
				t.Errorf("log:\n%s", log)
			}
		})
	}
}

func TestHiddenPaths(t *testing.T) {
	hd := hostDir(t)
	dir := filepath.Join(hd, "dir")
	file := filepath.Join(hd, "file")
	writeFile(t, filepath.Join(dir, "inner"), "x")
	writeFile(t, file, "x")
	if err := os.Symlink(file, filepath.Join(hd, "link")); err != nil {
		t.Fatal(err)
	}
	dirs, files := hiddenPaths([]string{
		filepath.Join(dir, "inner"), // inside a hidden folder
		dir,
		filepath.Join(hd, "link"), // hides its target
		file,
		filepath.Join(hd, "missing"),
		"relative/path",
		"/",
		"/tmp", // private in the sandbox anyway
		"",
	})
	if !slices.Equal(dirs, []string{dir}) || !slices.Equal(files, []string{file}) {
		t.Errorf("dirs %q files %q", dirs, files)
	}
}

func TestConfigSecrets(t *testing.T) {
	c := &schema.Config{Dir: "/etc/gitlaunch",
		Repos:  []schema.Repo{{URL: "a", TokenFile: "a.token", SSHKeyFile: "/keys/a"}, {URL: "b", SecretsFile: "b.env"}},
		GitHub: schema.GitHub{TokenFile: "gh.token", WebhookSecretFile: "/run/secrets/hook"},
		Kube:   schema.KubeSettings{Kubeconfig: "kubeconfig"},
	}
	want := []string{"/etc/gitlaunch/a.token", "/keys/a", "/etc/gitlaunch/b.env", "/etc/gitlaunch/gh.token", "/run/secrets/hook", "/etc/gitlaunch/kubeconfig"}
	if got := ConfigSecrets(c); !slices.Equal(got, want) {
		t.Errorf("ConfigSecrets = %q, want %q", got, want)
	}
}
