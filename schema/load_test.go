package schema

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// header is the part every test manifest shares.
const header = "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: python:3.12\ncommand: python train.py\n"

func TestLoadGoodManifests(t *testing.T) {
	cfg := testConfig(t)
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) < 3 {
		t.Fatalf("only %d good manifests", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			job, err := LoadWithConfig(manifestName(f), data, cfg)
			if err != nil {
				t.Fatalf("LoadWithConfig:\n%v", err)
			}
			if job.Name == "" || job.Workdir == "" || job.Path != manifestName(f) {
				t.Errorf("defaults not applied: %+v", job)
			}
		})
	}
}

// TestLoadFullExample pins what DESIGN §1's example decodes to.
func TestLoadFullExample(t *testing.T) {
	data, err := os.ReadFile("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	job, err := LoadWithConfig("mnist/job.yaml", data, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	want := &Job{
		APIVersion: APIVersion, Kind: KindJob, Name: "mnist",
		Image:     "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
		Command:   "python train.py --epochs 2\n",
		Workdir:   ".",
		Resources: Resources{GPU: 1, GPUModel: "a100", CPU: "4", Memory: "16Gi", SHM: "8Gi"},
		Env:       map[string]string{"EPOCHS": "2"},
		Secrets:   []string{"WANDB_API_KEY"},
		Datasets:  []Dataset{{Name: "mnist", Path: "/mnt/datasets/mnist"}},
		On: &Triggers{
			Push:        &BranchFilter{Branches: []string{"main"}},
			PullRequest: &BranchFilter{Branches: []string{"main"}},
			Paths:       []string{"mnist/**"},
			Schedule:    []Schedule{{Cron: "0 3 * * *", Timezone: "Asia/Seoul", Branch: "main"}},
		},
		Timeout: Duration{6 * time.Hour},
		Retries: 1,
		Results: Results{
			Artifacts: []string{"mnist_cnn.pt"},
			Metrics: &Metrics{File: "metrics.json", Patterns: map[string]string{
				"accuracy": `Accuracy: \d+/\d+ \(([\d.]+)%\)`,
			}},
		},
		Concurrency: Concurrency{CancelSuperseded: true},
		Path:        "mnist/job.yaml",
		Dir:         "mnist",
	}
	if !reflect.DeepEqual(job, want) {
		t.Errorf("got  %#v\nwant %#v", job, want)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name, file, body string
		check            func(t *testing.T, j *Job)
	}{
		{"name from folder", "vision/resnet/job.yaml", "", func(t *testing.T, j *Job) {
			if j.Name != "resnet" || j.Dir != "vision/resnet" || j.Path != "vision/resnet/job.yaml" {
				t.Errorf("name %q dir %q path %q", j.Name, j.Dir, j.Path)
			}
		}},
		{"explicit name at root", "job.yaml", "name: root-job\n", func(t *testing.T, j *Job) {
			if j.Name != "root-job" || j.Dir != "." {
				t.Errorf("name %q dir %q", j.Name, j.Dir)
			}
		}},
		{"workdir", "a/job.yaml", "", func(t *testing.T, j *Job) {
			if j.Workdir != "." {
				t.Errorf("workdir %q", j.Workdir)
			}
		}},
		{"dataset path", "a/job.yaml", "datasets: [{name: mnist}]\n", func(t *testing.T, j *Job) {
			if j.Datasets[0].Path != "/mnt/datasets/mnist" {
				t.Errorf("path %q", j.Datasets[0].Path)
			}
		}},
		{"no on keeps nil", "a/job.yaml", "", func(t *testing.T, j *Job) {
			if j.On != nil {
				t.Errorf("On = %+v", j.On)
			}
			if got := j.Paths(); !reflect.DeepEqual(got, []string{"a/**"}) {
				t.Errorf("Paths() = %v", got)
			}
		}},
		{"on without paths", "a/b/job.yaml", "on: {push: {branches: [main]}}\n", func(t *testing.T, j *Job) {
			if !reflect.DeepEqual(j.On.Paths, []string{"a/b/**"}) || !reflect.DeepEqual(j.Paths(), j.On.Paths) {
				t.Errorf("paths %v, Paths() %v", j.On.Paths, j.Paths())
			}
		}},
		{"paths at root", "job.yaml", "name: x\non: {push: {}}\n", func(t *testing.T, j *Job) {
			if !reflect.DeepEqual(j.On.Paths, []string{"**"}) {
				t.Errorf("paths %v", j.On.Paths)
			}
		}},
		{"folder with glob characters", "runs[1]/job.yaml", "name: x\n", func(t *testing.T, j *Job) {
			p := j.Paths()[0]
			if !MatchGlob(p, "runs[1]/train.py") || MatchGlob(p, "runs1/train.py") {
				t.Errorf("default paths %q does not match its folder literally", p)
			}
		}},
		{"explicit paths kept", "a/job.yaml", "on: {push: {}, paths: [\"x/**\"]}\n", func(t *testing.T, j *Job) {
			if !reflect.DeepEqual(j.Paths(), []string{"x/**"}) {
				t.Errorf("Paths() %v", j.Paths())
			}
		}},
		{"timeout stays zero", "a/job.yaml", "", func(t *testing.T, j *Job) {
			if j.Timeout.Duration != 0 {
				t.Errorf("timeout %v", j.Timeout)
			}
		}},
		{"manual only", "a/job.yaml", "on: {}\n", func(t *testing.T, j *Job) {
			if j.On == nil || j.On.Push != nil || j.On.PullRequest != nil || len(j.On.Schedule) != 0 {
				t.Errorf("on %+v", j.On)
			}
		}},
		{"scalars as text", "a/job.yaml", "env: {N: 2, F: 0.50, B: true}\nresources: {cpu: 0.5}\n", func(t *testing.T, j *Job) {
			want := map[string]string{"N": "2", "F": "0.50", "B": "true"}
			if !reflect.DeepEqual(j.Env, want) || j.Resources.CPU != "0.5" {
				t.Errorf("env %v cpu %q", j.Env, j.Resources.CPU)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Load(tt.file, []byte(header+tt.body))
			if err != nil {
				t.Fatalf("Load:\n%v", err)
			}
			tt.check(t, j)
		})
	}
}

// checkCases covers every check with one bad value: the manifest must be
// refused with a problem on the named field whose text holds want.
var checkCases = []struct {
	name      string
	file      string // default "j/job.yaml"
	body      string // replaces header when it starts with "apiVersion"
	withCfg   bool
	field     string
	want      string
	line, col int // checked when non-zero
}{
	// schema
	{name: "unknown field", body: "comand: x\n", field: "comand", want: `did you mean "command"?`, line: 5, col: 1},
	{name: "unknown case", body: "Image: x\n", field: "Image", want: `did you mean "image"?`},
	{name: "unknown plural", body: "resources: {gpus: 1}\n", field: "resources.gpus", want: `did you mean "gpu"?`},
	{name: "unknown elsewhere", body: "gpu: 1\n", field: "gpu", want: "did you mean resources.gpu"},
	{name: "unknown no guess", body: "zzz: 1\n", field: "zzz", want: `unknown field "zzz"`},
	{name: "apiVersion", body: "apiVersion: v1\nkind: Job\nimage: x\ncommand: x\n", field: "apiVersion", want: `only "gitlaunch.dev/v1"`},
	{name: "kind", body: "apiVersion: gitlaunch.dev/v1\nkind: Pod\nimage: x\ncommand: x\n", field: "kind", want: `only "Job"`},
	{name: "missing command", body: "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: x\n", field: "command", want: "missing required field"},
	{name: "empty command", body: "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: x\ncommand: \"\"\n", field: "command", want: "must not be empty"},
	{name: "blank command", body: "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: x\ncommand: \"  \\n \"\n", field: "command", want: "blank"},
	{name: "name pattern", body: "name: Bad_Name\n", field: "name", want: "DNS-1123"},
	{name: "name too long", body: "name: " + strings.Repeat("a", 64) + "\n", field: "name", want: "64 characters"},
	{name: "name type", body: "name: 12\n", field: "name", want: "must be text"},
	{name: "gpu type", body: "resources: {gpu: one}\n", field: "resources.gpu", want: "whole number"},
	{name: "gpu float", body: "resources: {gpu: 1.5}\n", field: "resources.gpu", want: "whole number"},
	{name: "gpu negative", body: "resources: {gpu: -1}\n", field: "resources.gpu", want: "at least 0"},
	{name: "gpu overflow", body: "resources: {gpu: 99999999999999999999}\n", field: "resources.gpu", want: "at most 1024"},
	{name: "retries high", body: "retries: 11\n", field: "retries", want: "at most 10"},
	{name: "retries negative", body: "retries: -1\n", field: "retries", want: "at least 0"},
	{name: "timeout text", body: "timeout: 6 hours\n", field: "timeout", want: "positive duration"},
	{name: "timeout number", body: "timeout: 6\n", field: "timeout", want: "must be text"},
	{name: "env value list", body: "env: {A: [1]}\n", field: "env.A", want: "must be text, a number or true/false"},
	{name: "env value null", body: "env: {A: }\n", field: "env.A", want: "has no value"},
	{name: "secrets type", body: "secrets: A\n", field: "secrets", want: "must be a list"},
	{name: "metrics empty", body: "results: {metrics: {}}\n", field: "results.metrics", want: "empty mapping"},
	{name: "schedule empty", body: "on: {schedule: []}\n", field: "on.schedule", want: "empty list"},
	{name: "on null", body: "on:\n", field: "on", want: "has no value"},
	{name: "bool type", body: "concurrency: {cancelSuperseded: yes}\n", field: "concurrency.cancelSuperseded", want: "true or false"},
	{name: "infinite", body: "resources: {gpu: .inf}\n", field: "resources.gpu", want: "whole number"},

	// name and image
	{name: "name at root", file: "job.yaml", field: "name", want: "repository root"},
	{name: "bad folder name", file: "My_Job/job.yaml", field: "name", want: `folder name "My_Job"`},
	{name: "missing image", body: "apiVersion: gitlaunch.dev/v1\nkind: Job\ncommand: x\n", field: "image", want: "missing required field"},
	{name: "missing image with cfg", body: "apiVersion: gitlaunch.dev/v1\nkind: Job\ncommand: x\n", withCfg: true, field: "image", want: "defaults.image"},
	{name: "image with space", body: "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: a b\ncommand: x\n", field: "image", want: "without spaces"},

	// paths
	{name: "workdir absolute", body: "workdir: /src\n", field: "workdir", want: "absolute"},
	{name: "workdir escapes", body: "workdir: ../..\n", field: "workdir", want: "leaves the repository"},
	{name: "workdir escapes deep", file: "a/b/job.yaml", body: "workdir: ../x/../../../y\n", field: "workdir", want: "leaves the repository"},
	{name: "artifact absolute", body: "results: {artifacts: [/x]}\n", field: "results.artifacts[0]", want: "relative"},
	{name: "artifact dotdot", body: "results: {artifacts: [a/../../x]}\n", field: "results.artifacts[0]", want: "'..'"},
	{name: "artifact bad glob", body: "results: {artifacts: [\"[a\"]}\n", field: "results.artifacts[0]", want: "not a valid glob"},
	{name: "metrics file absolute", body: "results: {metrics: {file: /m.json}}\n", field: "results.metrics.file", want: "inside workdir"},
	{name: "metrics file dotdot", body: "results: {metrics: {file: ../m.json}}\n", field: "results.metrics.file", want: "inside workdir"},
	{name: "metrics file dot", body: "results: {metrics: {file: ./}}\n", field: "results.metrics.file", want: "inside workdir"},

	// resources
	{name: "cpu quantity", body: "resources: {cpu: four}\n", field: "resources.cpu", want: "quantity"},
	{name: "cpu zero", body: "resources: {cpu: 0}\n", field: "resources.cpu", want: "more than zero"},
	{name: "memory unit", body: "resources: {memory: 16GB}\n", field: "resources.memory", want: "quantity"},
	{name: "memory exponent overflow", body: "resources: {memory: 1e999999999}\n", field: "resources.memory", want: "quantity"},
	{name: "shm negative", body: "resources: {shm: -8Gi}\n", field: "resources.shm", want: "quantity"},
	{name: "gpuModel without gpu", body: "resources: {gpuModel: a100}\n", field: "resources.gpuModel", want: "gpu is 0"},
	{name: "gpuModel unknown", body: "resources: {gpu: 1, gpuModel: v100}\n", withCfg: true, field: "resources.gpuModel", want: "one of: a100, h100"},
	{name: "gpu over max", body: "resources: {gpu: 9}\n", withCfg: true, field: "resources.gpu", want: "at most 8"},

	// env and secrets
	{name: "env key", body: "env: {1A: x}\n", field: `env["1A"]`, want: "environment variable name", line: 5, col: 7},
	{name: "env key dash", body: "env: {A-B: x}\n", field: "env.A-B", want: "environment variable name"},
	{name: "env reserved", body: "env: {GITLAUNCH_SHA: x}\n", field: "env.GITLAUNCH_SHA", want: "reserved prefix", line: 5, col: 7},
	{name: "secret name", body: "secrets: [a-b]\n", field: "secrets[0]", want: "environment variable name"},
	{name: "secret twice", body: "secrets: [A, B, A]\n", field: "secrets[2]", want: "listed twice", line: 5, col: 17},
	{name: "secret reserved", body: "secrets: [GITLAUNCH_TOKEN]\n", field: "secrets[0]", want: "reserved prefix"},
	{name: "secret in env", body: "env: {A: x}\nsecrets: [A]\n", field: "secrets[0]", want: "also set in env"},

	// datasets
	{name: "dataset name", body: "datasets: [{name: Foo}]\n", field: "datasets[0].name", want: "DNS-1123"},
	{name: "dataset missing name", body: "datasets: [{path: /mnt/x}]\n", field: "datasets[0].name", want: "missing required field"},
	{name: "dataset twice", body: "datasets: [{name: a}, {name: a, path: /mnt/b}]\n", field: "datasets[1].name", want: "listed twice"},
	{name: "dataset unknown", body: "datasets: [{name: cifar}]\n", withCfg: true, field: "datasets[0].name", want: "one of: imagenet, mnist"},
	{name: "dataset path outside mnt", body: "datasets: [{name: a, path: /data}]\n", field: "datasets[0].path", want: "under /mnt/"},
	{name: "dataset path relative", body: "datasets: [{name: a, path: mnt/a}]\n", field: "datasets[0].path", want: "under /mnt/"},
	{name: "dataset path mnt", body: "datasets: [{name: a, path: /mnt/}]\n", field: "datasets[0].path", want: "clean"},
	{name: "dataset path datasets", body: "datasets: [{name: a, path: /mnt/datasets}]\n", field: "datasets[0].path", want: "holds other mounts"},
	{name: "dataset path dotdot", body: "datasets: [{name: a, path: /mnt/x/../../etc}]\n", field: "datasets[0].path", want: "clean"},
	{name: "dataset path same", body: "datasets: [{name: a}, {name: b, path: /mnt/datasets/a}]\n", field: "datasets[1].path", want: "already used by datasets[0]"},
	{name: "dataset path nested", body: "datasets: [{name: a, path: /mnt/d/a/b}, {name: b, path: /mnt/d/a}]\n", field: "datasets[1].path", want: "nested"},
	{name: "dataset hides repo", body: "datasets: [{name: mnist, path: /mnt/vision}]\n", withCfg: true, field: "datasets[0].path", want: `repository "vision"`},
	{name: "dataset hides default-named repo", body: "datasets: [{name: mnist, path: /mnt/ml/x}]\n", withCfg: true, field: "datasets[0].path", want: `repository "ml"`},

	// triggers
	{name: "branch glob", body: "on: {push: {branches: [\"rel/[\"]}}\n", field: "on.push.branches[0]", want: "not a valid glob"},
	{name: "pr branch glob", body: "on: {pullRequest: {branches: [\"a//b\"]}}\n", field: "on.pullRequest.branches[0]", want: "empty segment"},
	{name: "paths glob", body: "on: {push: {}, paths: [\"a**\"]}\n", field: "on.paths[0]", want: "whole segment"},
	{name: "paths absolute", body: "on: {push: {}, paths: [/a]}\n", field: "on.paths[0]", want: "relative"},
	{name: "paths dotdot", body: "on: {push: {}, paths: [../a]}\n", field: "on.paths[0]", want: "'..'"},
	{name: "paths alone", body: "on: {paths: [a]}\n", field: "on.paths", want: "no effect"},
	{name: "cron fields", body: "on: {schedule: [{cron: '0 3 * *'}]}\n", field: "on.schedule[0].cron", want: "expected exactly 5 fields"},
	{name: "cron range", body: "on: {schedule: [{cron: '0 25 * * *'}]}\n", field: "on.schedule[0].cron", want: "above maximum"},
	{name: "cron descriptor", body: "on: {schedule: [{cron: '@sometimes'}]}\n", field: "on.schedule[0].cron", want: "unrecognized descriptor"},
	{name: "cron seconds", body: "on: {schedule: [{cron: '*/5 * * * * *'}]}\n", field: "on.schedule[0].cron", want: "expected exactly 5 fields"},
	{name: "cron tz", body: "on: {schedule: [{cron: 'TZ=UTC 0 3 * * *'}]}\n", field: "on.schedule[0].cron", want: "set it in timezone"},
	{name: "cron every fast", body: "on: {schedule: [{cron: '@every 30s'}]}\n", field: "on.schedule[0].cron", want: "once a minute"},
	{name: "cron every bad", body: "on: {schedule: [{cron: '@every soon'}]}\n", field: "on.schedule[0].cron", want: "not a valid cron"},
	{name: "cron missing", body: "on: {schedule: [{timezone: UTC}]}\n", field: "on.schedule[0].cron", want: "missing required field"},
	{name: "timezone unknown", body: "on: {schedule: [{cron: '@daily', timezone: Mars/Olympus}]}\n", field: "on.schedule[0].timezone", want: "unknown time zone"},
	{name: "timezone local", body: "on: {schedule: [{cron: '@daily', timezone: Local}]}\n", field: "on.schedule[0].timezone", want: "Local"},
	{name: "timezone path", body: "on: {schedule: [{cron: '@daily', timezone: ../../etc/passwd}]}\n", field: "on.schedule[0].timezone", want: "unknown time zone"},
	{name: "schedule branch glob", body: "on: {schedule: [{cron: '@daily', branch: 'rel/*'}]}\n", field: "on.schedule[0].branch", want: "is a glob"},

	// timeout and metrics
	{name: "timeout zero", body: "timeout: 0s\n", field: "timeout", want: "more than zero"},
	{name: "timeout overflow", body: "timeout: 9999999999999h\n", field: "timeout", want: "not a duration"},
	{name: "pattern syntax", body: "results: {metrics: {patterns: {a: '(x'}}}\n", field: "results.metrics.patterns.a", want: "not a valid regular expression"},
	{name: "pattern no group", body: "results: {metrics: {patterns: {a: 'x'}}}\n", field: "results.metrics.patterns.a", want: "0 capture groups"},
	{name: "pattern two groups", body: "results: {metrics: {patterns: {a: '(x)(y)'}}}\n", field: "results.metrics.patterns.a", want: "2 capture groups"},
	{name: "pattern name", body: "results: {metrics: {patterns: {'a b': '(x)'}}}\n", field: `results.metrics.patterns["a b"]`, want: "metric name"},
}

// TestChecks runs checkCases.
func TestChecks(t *testing.T) {
	cfg := testConfig(t)
	for _, tt := range checkCases {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "j/job.yaml"
			}
			body := header + tt.body
			if strings.HasPrefix(tt.body, "apiVersion") {
				body = tt.body
			}
			var c *Config
			if tt.withCfg {
				c = cfg
			}
			job, err := LoadWithConfig(file, []byte(body), c)
			if err == nil {
				t.Fatalf("loaded: %+v", job)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T: %v", err, err)
			}
			checkProblems(t, ps)
			for _, p := range ps {
				if p.Field != tt.field {
					continue
				}
				if !strings.Contains(p.Message+" ("+p.Allowed+")", tt.want) {
					t.Errorf("problem %q lacks %q", p, tt.want)
				}
				if p.File != file {
					t.Errorf("file %q, want %q", p.File, file)
				}
				if tt.line != 0 && (p.Line != tt.line || p.Column != tt.col) {
					t.Errorf("at %d:%d, want %d:%d", p.Line, p.Column, tt.line, tt.col)
				}
				return
			}
			t.Errorf("no problem on %s; got:\n%v", tt.field, err)
		})
	}
}

// TestValidWithoutConfig: names the cluster would reject pass without one.
func TestValidWithoutConfig(t *testing.T) {
	body := header + "resources: {gpu: 99, gpuModel: v100}\ndatasets: [{name: cifar, path: /mnt/ml}]\n"
	if _, err := Load("j/job.yaml", []byte(body)); err != nil {
		t.Fatal(err)
	}
	// ...and a config's default image makes image optional.
	cfg := DefaultConfig()
	cfg.Defaults.Image = "python:3.12"
	j, err := LoadWithConfig("j/job.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Job\ncommand: x\n"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if j.Image != "" {
		t.Errorf("image %q: the default is the renderer's to apply", j.Image)
	}
}

// TestAllProblemsAtOnce: one file with many mistakes reports each.
func TestAllProblemsAtOnce(t *testing.T) {
	body := "apiVersion: x\nkind: Job\ncomand: x\nresources: {gpu: -1, cpu: abc}\nretries: 20\non: {schedule: [{cron: bad}]}\n"
	_, err := Load("j/job.yaml", []byte(body))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("%T %v", err, err)
	}
	fields := map[string]bool{}
	for _, p := range ps {
		fields[p.Field] = true
	}
	for _, f := range []string{"apiVersion", "comand", "command", "image", "resources.gpu", "resources.cpu", "retries", "on.schedule[0].cron"} {
		if !fields[f] {
			t.Errorf("no problem on %s; got:\n%v", f, err)
		}
	}
}

// TestMetricPatternParse: checking a pattern by parsing it accepts and
// refuses exactly what regexp.Compile does, and counts groups the same.
func TestMetricPatternParse(t *testing.T) {
	for _, expr := range []string{
		`loss: ([\d.]+)`, `(a)(b)`, `(?:a)(b)`, `(?P<v>x)`, `(?i)acc=(\S+)`, `\p{Greek}(x)`,
		`(`, `a{1001}`, `x**`, `[z-a]`, `(?<n>x)`, `\8`, strings.Repeat("(", 1000) + strings.Repeat(")", 1000),
	} {
		re, cerr := regexp.Compile(expr)
		_, msg := parsePattern(expr)
		if _, cached := checkPattern(expr); cached != msg {
			t.Errorf("%q: cached verdict %q, fresh %q", expr, cached, msg)
		}
		if (cerr == nil) != (msg == "" || strings.Contains(msg, "capture group")) {
			t.Errorf("%q: regexp.Compile err %v, check %q", expr, cerr, msg)
		}
		if cerr == nil && (re.NumSubexp() == 1) != (msg == "") {
			t.Errorf("%q: %d groups, check %q", expr, re.NumSubexp(), msg)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"command", "gpu", "gpuModel", "image", "on", "env", "timeout", "timezone"}
	tests := []struct{ in, want string }{
		{"comand", "command"},
		{"commnd", "command"},
		{"gpus", "gpu"},
		{"GPU", "gpu"},
		{"gpumodel", "gpuModel"},
		{"imgae", "image"},
		{"timout", "timeout"},
		{"tz", ""},
		{"xyz", ""},
		{"no", ""}, // two edits from "on", but so is everything that short
		{"environment", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, known); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "abc", 3}, {"kitten", "sitting", 3}, {"gpu", "gpu", 0}, {"ä", "a", 1}} {
		if got := levenshtein(tt.a, tt.b); got != tt.d {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
	}
}

func TestRenderPath(t *testing.T) {
	tests := []struct {
		path []string
		want string
	}{
		{nil, ""},
		{[]string{"resources", "gpu"}, "resources.gpu"},
		{[]string{"datasets", "1", "name"}, "datasets[1].name"},
		{[]string{"on", "schedule", "0", "cron"}, "on.schedule[0].cron"},
		{[]string{"env", "A.B"}, `env["A.B"]`},
		{[]string{"gpuModels", "a100", "nodeSelector", "nvidia.com/gpu.product"}, `gpuModels.a100.nodeSelector["nvidia.com/gpu.product"]`},
	}
	for _, tt := range tests {
		if got := renderPath(tt.path); got != tt.want {
			t.Errorf("renderPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a/job.yaml", Line: 3, Column: 5, Field: "resources.gpu", Message: "too large", Allowed: "at most 8"},
			"a/job.yaml:3:5: resources.gpu: too large (at most 8)"},
		{Problem{File: "a/job.yaml", Line: 3, Message: "invalid YAML: x"}, "a/job.yaml:3: invalid YAML: x"},
		{Problem{File: "a/job.yaml", Message: "file is a symlink"}, "a/job.yaml: file is a symlink"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestDatasetForExecutor: a dataset the executor cannot mount is refused.
func TestDatasetForExecutor(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Datasets = map[string]DatasetSource{
		"local-only": {LocalPath: "/srv/a"},
		"kube-only":  {Volume: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	for _, tt := range []struct {
		executor, dataset, want string
	}{
		{"local", "local-only", ""},
		{"local", "kube-only", "no localPath"},
		{"kube", "kube-only", ""},
		{"kube", "local-only", "no volume"},
	} {
		cfg.Executor = tt.executor
		_, err := LoadWithConfig("j/job.yaml", []byte(header+"datasets: [{name: "+tt.dataset+"}]\n"), cfg)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s/%s: %v", tt.executor, tt.dataset, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s/%s: %v, want %q", tt.executor, tt.dataset, err, tt.want)
		}
	}
}
