package schema

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig("/etc/gitlaunch/gitlaunch.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\nrepos: [{url: 'git@github.com:acme/ml.git'}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		APIVersion: APIVersion, Kind: KindConfig,
		Executor: "local", Namespace: "gitlaunch", GPUResource: "nvidia.com/gpu",
		CloneImage: "ghcr.io/gitlaunch/gitlaunch:latest",
		Defaults:   Defaults{Timeout: Duration{24 * time.Hour}},
		Repos:      []Repo{{URL: "git@github.com:acme/ml.git", Name: "ml"}},
		Sync: SyncSettings{DataDir: ".gitlaunch", PollInterval: Duration{30 * time.Second}, MaxRuns: 4,
			MissedScheduleDeadline: Duration{time.Hour}, LogLimit: 64 << 20,
			Retention: Retention{MaxAge: Duration{720 * time.Hour}}},
		Kube: KubeSettings{QPS: 200, Burst: 400, PodTTL: Duration{10 * time.Minute}},
		Dir:  "/etc/gitlaunch",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
	d := DefaultConfig()
	d.Dir, d.Repos = want.Dir, want.Repos
	if !reflect.DeepEqual(d, want) {
		t.Errorf("DefaultConfig() = %+v", d)
	}
}

func TestLoadConfigGood(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	for _, f := range files {
		if strings.HasSuffix(f, "pod-template.yaml") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := LoadConfigFile(f); err != nil {
				t.Fatal(err)
			}
		})
	}
	cfg, err := LoadConfigFile("testdata/config/local.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != "testdata/config" || cfg.PodTemplate != "pod-template.yaml" {
		t.Errorf("dir %q template %q", cfg.Dir, cfg.PodTemplate)
	}
	if cfg.Sync.PollInterval.Duration != 5*time.Minute {
		t.Errorf("poll interval with webhooks %v, want 5m", cfg.Sync.PollInterval)
	}
	if got := cfg.Repos[0].Name; got != "ml" {
		t.Errorf("default repo name %q", got)
	}
	if v := cfg.Datasets["scratch"].Volume; v == nil || v.EmptyDir == nil || v.EmptyDir.SizeLimit.String() != "10Gi" {
		t.Errorf("scratch volume %+v", v)
	}
	if v := cfg.Results.Volume; v == nil || v.HostPath == nil || v.HostPath.Path != "/var/lib/gitlaunch/results" {
		t.Errorf("results volume %+v", v)
	}
	if cfg.Local.AllowUnsandboxed {
		t.Error("allowUnsandboxed: false loaded as true")
	}
	cfg, err = LoadConfig("/etc/gitlaunch/gitlaunch.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\nlocal: {allowUnsandboxed: true}\n"))
	if err != nil || !cfg.Local.AllowUnsandboxed {
		t.Errorf("local.allowUnsandboxed: true: %+v, %v", cfg, err)
	}
}

// configCases covers each config check with one bad value.
var configCases = []struct {
	name, body, field, want string
}{
	{"unknown", "executer: kube\n", "executer", `did you mean "executor"?`},
	{"kind", "apiVersion: gitlaunch.dev/v1\nkind: Job\n", "kind", `only "Config"`},
	{"executor", "executor: docker\n", "executor", "one of: local, kube"},
	{"namespace", "namespace: A_B\n", "namespace", "DNS-1123"},
	{"gpu model empty", "gpuModels: {a100: {}}\n", "gpuModels.a100", "neither resource nor nodeSelector"},
	{"gpu model name", "gpuModels: {A100: {resource: nvidia.com/gpu}}\n", "gpuModels.A100", "DNS-1123"},
	{"gpu resource unprefixed", "gpuResource: gpu\n", "gpuResource", "prefix"},
	{"gpu resource native", "gpuModels: {a: {resource: kubernetes.io/gpu}}\n", "gpuModels.a.resource", "kubernetes.io"},
	{"gpu resource sub-native", "gpuResource: x.kubernetes.io/gpu\n", "gpuResource", "kubernetes.io"},
	{"gpu resource requests", "gpuResource: requests.example.com/gpu\n", "gpuResource", "not a valid extended resource"},
	{"selector key", "gpuModels: {a: {nodeSelector: {'a b': x}}}\n", `gpuModels.a.nodeSelector["a b"]`, "label key"},
	{"selector value", "gpuModels: {a: {nodeSelector: {k: 'a b'}}}\n", "gpuModels.a.nodeSelector.k", "label value"},
	{"dataset empty", "datasets: {d: {}}\n", "datasets.d", "neither volume nor localPath"},
	{"dataset local relative", "datasets: {d: {localPath: data}}\n", "datasets.d.localPath", "absolute"},
	{"volume unknown field", "datasets: {d: {volume: {hostpath: {path: /x}}}}\n", "datasets.d.volume.hostpath", `did you mean "hostPath"?`},
	{"volume nested unknown", "datasets: {d: {volume: {nfs: {server: s, pth: /x}}}}\n", "datasets.d.volume.nfs.pth", `did you mean "path"?`},
	{"volume type", "datasets: {d: {volume: {nfs: {server: s, path: /x, readOnly: 1}}}}\n", "datasets.d.volume.nfs.readOnly", "true or false"},
	{"volume none", "datasets: {d: {volume: {}}}\n", "datasets.d.volume", "no source"},
	{"volume two", "datasets: {d: {volume: {hostPath: {path: /a}, emptyDir: {}}}}\n", "datasets.d.volume", "2 sources"},
	{"volume quantity", "datasets: {d: {volume: {emptyDir: {sizeLimit: big}}}}\n", "datasets.d.volume.emptyDir.sizeLimit", "quantity"},
	{"volume quantity huge", "datasets: {d: {volume: {emptyDir: {sizeLimit: 1e999999999}}}}\n", "datasets.d.volume.emptyDir.sizeLimit", "larger than any node"},
	{"volume not a mapping", "datasets: {d: {volume: [a]}}\n", "datasets.d.volume", "must be a mapping"},
	{"timeout zero", "defaults: {timeout: 0s}\n", "defaults.timeout", "more than zero"},
	{"timeout overflow", "defaults: {timeout: 99999999999h}\n", "defaults.timeout", "not a duration"},
	{"max gpus", "defaults: {maxGPUs: -2}\n", "defaults.maxGPUs", "at least 0"},
	{"claim name", "results: {claimName: A_B}\n", "results.claimName", "claim name"},
	{"claim and volume", "results: {claimName: r, volume: {emptyDir: {}}}\n", "results.volume", "both set"},
	{"mount path", "results: {mountPath: rel}\n", "results.mountPath", "absolute"},
	{"pod template missing", "podTemplate: nope.yaml\n", "podTemplate", "no such file"},
	{"pod template dir", "podTemplate: .\n", "podTemplate", "not a regular file"},
	{"repo url missing", "repos: [{name: x}]\n", "repos[0].url", "missing required field"},
	{"repo url space", "repos: [{url: 'a b'}]\n", "repos[0].url", "white space"},
	{"repo url token", "repos: [{url: 'http://x-access-token:ghp_0123456789abcdefghijklmnopqrstuvwxyzAB@127.0.0.1/r.git'}]\n", "repos[0].url", "tokenFile"},
	{"repo url token user", "repos: [{url: 'https://ghp_0123456789abcdefghijklmnopqrstuvwxyzAB@github.com/a/r.git'}]\n", "repos[0].url", "a user name"},
	{"repo url ssh password", "repos: [{url: 'ssh://git:hunter22@example.com/r.git'}]\n", "repos[0].url", "a password"},
	{"repo url query", "repos: [{url: 'https://example.com/r.git?private_token=abcdef'}]\n", "repos[0].url", "query string"},
	{"repo url token and space", "repos: [{url: 'https://u:tok en@h/r.git'}]\n", "repos[0].url", "tokenFile"},
	{"repo name", "repos: [{url: x, name: A_B}]\n", "repos[0].name", "DNS-1123"},
	{"repo default name", "repos: [{url: 'https://h/My_Repo.git'}]\n", "repos[0].name", `"My_Repo" taken from url`},
	{"repo dup", "repos: [{url: 'https://a/ml.git'}, {url: 'https://b/ml'}]\n", "repos[1].name", "already used by repos[0]"},
	{"repo github", "repos: [{url: x, github: acme}]\n", "repos[0].github", "owner/name"},
	{"poll interval", "sync: {pollInterval: soon}\n", "sync.pollInterval", "positive duration"},
	{"pod ttl", "kube: {podTTL: 0s}\n", "kube.podTTL", "more than zero"},
	{"max runs", "sync: {maxRuns: -1}\n", "sync.maxRuns", "at least 0"},
	{"listen", "sync: {listen: localhost}\n", "sync.listen", "host:port"},
	{"base url", "sync: {baseURL: example.com}\n", "sync.baseURL", "http(s) URL"},
	{"github url", "github: {baseURL: 'ftp://x'}\n", "github.baseURL", "http(s) URL"},
	{"qps", "kube: {qps: -1}\n", "kube.qps", "at least 0"},
	{"leader election", "kube: {leaderElection: 'yes'}\n", "kube.leaderElection", "true or false"},
	{"allow unsandboxed", "local: {allowUnsandboxed: 'yes'}\n", "local.allowUnsandboxed", "true or false"},
	{"log limit unit", "sync: {logLimit: 64MB}\n", "sync.logLimit", "64Mi"},
	{"log limit small", "sync: {logLimit: 1Ki}\n", "sync.logLimit", "less than 64Ki"},
	{"log limit huge", "sync: {logLimit: 99999999999Ti}\n", "sync.logLimit", "too large"},
	{"log limit number", "sync: {logLimit: 1000000}\n", "sync.logLimit", "text"},
	{"retention age", "sync: {retention: {maxAge: 30d}}\n", "sync.retention.maxAge", "duration"},
	{"retention count", "sync: {retention: {keepPerJob: -1}}\n", "sync.retention.keepPerJob", "at least 0"},
	{"retention unknown", "sync: {retention: {keepPerjob: 5}}\n", "sync.retention.keepPerjob", `did you mean "keepPerJob"?`},
	{"local unknown", "local: {allowUnsandbox: true}\n", "local.allowUnsandbox", `did you mean "allowUnsandboxed"?`},
}

// TestConfigChecks runs configCases.
func TestConfigChecks(t *testing.T) {
	const head = "apiVersion: gitlaunch.dev/v1\nkind: Config\n"
	dir := t.TempDir()
	for _, tt := range configCases {
		t.Run(tt.name, func(t *testing.T) {
			body := head + tt.body
			if strings.HasPrefix(tt.body, "apiVersion") {
				body = tt.body
			}
			file := filepath.Join(dir, "gitlaunch.yaml")
			cfg, err := LoadConfig(file, []byte(body))
			if err == nil {
				t.Fatalf("loaded: %+v", cfg)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T: %v", err, err)
			}
			checkProblems(t, ps)
			for _, p := range ps {
				if p.Field == tt.field {
					if !strings.Contains(p.Message+" ("+p.Allowed+")", tt.want) {
						t.Errorf("problem %q lacks %q", p, tt.want)
					}
					if p.File != file || p.Line == 0 {
						t.Errorf("unplaced problem %+v", p)
					}
					return
				}
			}
			t.Errorf("no problem on %s; got:\n%v", tt.field, err)
		})
	}
}

// TestConfigURLCredentialsNeverShown: the problem that refuses a token URL
// (issue 9 finding 2) places it without repeating it.
func TestConfigURLCredentialsNeverShown(t *testing.T) {
	const token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"
	for _, u := range []string{"http://x-access-token:" + token + "@127.0.0.1/r.git", "https://" + token + "@github.com/a/r.git",
		"https://user:" + token + "@h/r .git", "https://h/r.git?token=" + token} {
		_, err := LoadConfig("gitlaunch.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\nrepos: [{url: '"+u+"'}]\n"))
		if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "gitlaunch.yaml:3:") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, ok := range []string{"https://github.com/a/r.git", "ssh://git@github.com/a/r.git", "git@github.com:a/r.git", "/srv/git/r", "file:///srv/r"} {
		if what := URLCredentials(ok); what != "" {
			t.Errorf("URLCredentials(%q) = %q", ok, what)
		}
	}
}

func TestLoadConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadConfigFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	var ps Problems
	if _, err := LoadConfigFile(dir); !errors.As(err, &ps) || !strings.Contains(ps[0].Message, "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxManifestSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfigFile(big); !errors.As(err, &ps) || !strings.Contains(ps[0].Message, "too large") {
		t.Errorf("big file: %v", err)
	}
}

func TestConfigSizes(t *testing.T) {
	cfg, err := LoadConfig("gitlaunch.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\nsync: {logLimit: 512Ki, retention: {maxAge: 48h, keepPerJob: 20}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sync.LogLimit != 512<<10 || cfg.Sync.Retention.MaxAge.Duration != 48*time.Hour || cfg.Sync.Retention.KeepPerJob != 20 {
		t.Errorf("sync %+v", cfg.Sync)
	}
	for _, tt := range []struct {
		in   string
		want Size
	}{{"65536", 65536}, {"64Ki", 64 << 10}, {"3Mi", 3 << 20}, {"2Gi", 2 << 30}, {"1Ti", 1 << 40}, {"0", 0}} {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
		if back, _ := ParseSize(got.String()); back != got {
			t.Errorf("%d round-trips as %q", got, got.String())
		}
	}
	for _, in := range []string{"", "Mi", "-1", "1.5Mi", "64MB", "64 Mi", "9223372036854775808", "8388608Ti"} {
		if v, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, v)
		}
	}
}
