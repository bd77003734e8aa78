package schema

import (
	"fmt"
	"path"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
)

// jobChecker runs the checks the JSON schema cannot express over a
// decoded job, reporting into the job's document so that each problem
// points at the right line.
type jobChecker struct {
	d   *document
	job *Job
	cfg *Config // nil: no cluster to check names against
}

const (
	dnsLabelAllowed = "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
	envNameAllowed  = "an environment variable name: letters, digits and '_', not starting with a digit, and not starting with GITLAUNCH_"
	quantityAllowed = "a positive Kubernetes quantity such as 4, 500m, 16Gi or 512Mi"
	cronAllowed     = `five fields, minute hour day-of-month month day-of-week, such as "0 3 * * *"; or @hourly, @daily, @weekly, @monthly, @yearly, @every 1h`
	reservedPrefix  = "GITLAUNCH_"
)

func (c *jobChecker) check() {
	c.name()
	c.image()
	c.command()
	c.workdir()
	c.resources()
	c.env()
	c.secrets()
	c.datasets()
	c.triggers()
	c.results()
}

func (c *jobChecker) name() {
	if c.d.present("name") {
		return // the schema checks an explicit name
	}
	if c.job.Dir == "." {
		c.d.report([]string{"name"}, false,
			`missing required field "name"; a job at the repository root has no folder name to default to`,
			dnsLabelAllowed+", e.g. name: train")
		return
	}
	base := path.Base(c.job.Dir)
	if len(content.IsDNS1123Label(base)) > 0 {
		c.d.report([]string{"name"}, false,
			fmt.Sprintf("the folder name %q is not a valid job name, so name must be set", base),
			dnsLabelAllowed)
	}
}

func (c *jobChecker) image() {
	if c.d.present("image") || (c.cfg != nil && c.cfg.Defaults.Image != "") {
		return
	}
	c.d.report([]string{"image"}, false, `missing required field "image"`,
		"e.g. image: pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime; or set defaults.image in the cluster config")
}

func (c *jobChecker) command() {
	if c.d.present("command") && strings.TrimSpace(c.job.Command) == "" {
		c.d.report([]string{"command"}, false, "is blank", "shell commands to run, e.g. command: python train.py")
	}
}

func (c *jobChecker) workdir() {
	w := c.job.Workdir
	if !c.d.present("workdir") {
		return
	}
	switch {
	case path.IsAbs(w):
		c.d.report([]string{"workdir"}, false, fmt.Sprintf("%s is absolute", quoteShort(w)),
			"a path relative to this file's folder, e.g. . or src")
	case leavesRepo(c.job.Dir, w):
		c.d.report([]string{"workdir"}, false,
			fmt.Sprintf("%s leaves the repository (this file is in %q)", quoteShort(w), c.job.Dir),
			"a path relative to this file's folder that stays inside the repository")
	}
}

// leavesRepo reports whether rel, taken from the repository folder dir,
// points outside the repository.
func leavesRepo(dir, rel string) bool {
	j := path.Join(dir, rel)
	return j == ".." || strings.HasPrefix(j, "../")
}

func (c *jobChecker) resources() {
	r := c.job.Resources
	if c.cfg != nil && c.cfg.Defaults.MaxGPUs > 0 && r.GPU > c.cfg.Defaults.MaxGPUs {
		c.d.report([]string{"resources", "gpu"}, false,
			fmt.Sprintf("asks for %d GPUs, more than this cluster allows one job", r.GPU),
			fmt.Sprintf("at most %d", c.cfg.Defaults.MaxGPUs))
	}
	if c.d.present("resources", "gpuModel") {
		switch {
		case r.GPU < 1:
			c.d.report([]string{"resources", "gpuModel"}, false,
				fmt.Sprintf("GPU model %q is set but gpu is %d", r.GPUModel, r.GPU),
				"set resources.gpu to 1 or more, or remove gpuModel")
		case c.cfg != nil:
			if _, ok := c.cfg.GPUModels[r.GPUModel]; !ok {
				c.d.report([]string{"resources", "gpuModel"}, false,
					fmt.Sprintf("unknown GPU model %q", r.GPUModel), knownNames("GPU models", c.cfg.GPUModels))
			}
		}
	}
	for _, q := range []struct{ name, value string }{{"cpu", r.CPU}, {"memory", r.Memory}, {"shm", r.SHM}} {
		if !c.d.present("resources", q.name) {
			continue
		}
		if msg := checkQuantity(q.value); msg != "" {
			c.d.report([]string{"resources", q.name}, false, msg, quantityAllowed)
		}
	}
}

// checkQuantity says what is wrong with a Kubernetes quantity, or "".
func checkQuantity(s string) string {
	if len(s) > 40 {
		// Real quantities are short; long digit strings cost big-number
		// work for nothing.
		return fmt.Sprintf("%s is too long for a quantity", quoteShort(s))
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Sprintf("%s is not a Kubernetes quantity", quoteShort(s))
	}
	if q.Sign() <= 0 {
		return fmt.Sprintf("%s is not more than zero", quoteShort(s))
	}
	// Compared as a float: Quantity.Cmp would compute 10^exponent exactly,
	// and "1e999999999" parses.
	if q.AsApproximateFloat64() > maxQuantity {
		return fmt.Sprintf("%s is larger than any node", quoteShort(s))
	}
	return ""
}

// maxQuantity (1Pi) bounds cpu, memory and shm far above any real node and
// well inside what Kubernetes can count (int64 milli-units).
const maxQuantity = 1 << 50

// knownNames words the Allowed part of an unknown-name problem.
func knownNames[V any](what string, m map[string]V) string {
	if len(m) == 0 {
		return "this cluster's config defines no " + what
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return "one of: " + strings.Join(names, ", ")
}

func (c *jobChecker) env() {
	for k := range c.job.Env {
		if strings.HasPrefix(k, reservedPrefix) {
			c.d.report([]string{"env", k}, true,
				fmt.Sprintf("%q uses the reserved prefix %s", k, reservedPrefix), envNameAllowed)
		}
	}
}

func (c *jobChecker) secrets() {
	seen := make(map[string]int, len(c.job.Secrets))
	for i, s := range c.job.Secrets {
		p := []string{"secrets", strconv.Itoa(i)}
		if first, dup := seen[s]; dup {
			c.d.report(p, false, fmt.Sprintf("%q is listed twice (first as secrets[%d])", s, first), "each secret once")
			continue
		}
		seen[s] = i
		switch {
		case strings.HasPrefix(s, reservedPrefix):
			c.d.report(p, false, fmt.Sprintf("%q uses the reserved prefix %s", s, reservedPrefix), envNameAllowed)
		case c.job.Env != nil && hasKey(c.job.Env, s):
			c.d.report(p, false, fmt.Sprintf("%q is also set in env", s),
				"each variable from one place: remove it from env or from secrets")
		}
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func (c *jobChecker) datasets() {
	names := make(map[string]int)
	type mount struct {
		path  string
		index int
	}
	var mounts []mount
	for i, ds := range c.job.Datasets {
		idx := strconv.Itoa(i)
		namePath := []string{"datasets", idx, "name"}
		pathPath := []string{"datasets", idx, "path"}
		if first, dup := names[ds.Name]; dup {
			c.d.report(namePath, false, fmt.Sprintf("dataset %q is listed twice (first as datasets[%d])", ds.Name, first),
				"each dataset once")
		} else {
			names[ds.Name] = i
			if c.cfg != nil && ds.Name != "" {
				c.knownDataset(namePath, ds.Name)
			}
		}

		p := ds.Path
		if p == "" {
			p = "/mnt/datasets/" + ds.Name
		} else if msg := checkMountPath(p); msg != "" {
			c.d.report(pathPath, false, msg, "an absolute, clean path under /mnt/, e.g. /mnt/datasets/"+ds.Name)
			continue
		}
		if c.cfg != nil {
			for _, r := range c.cfg.Repos {
				name := r.Name
				if name == "" {
					name = DefaultRepoName(r.URL)
				}
				if mnt := "/mnt/" + name; name != "" && (p == mnt || strings.HasPrefix(p, mnt+"/")) {
					c.d.report(pathPath, false, fmt.Sprintf("%q would hide repository %q, mounted at %s", p, name, mnt),
						"a path outside /mnt/"+name+", e.g. /mnt/datasets/"+ds.Name)
				}
			}
		}
		for _, m := range mounts {
			q, j := m.path, m.index
			switch {
			case p == q:
				c.d.report(pathPath, false, fmt.Sprintf("path %q is already used by datasets[%d]", p, j), "one dataset per path")
			case strings.HasPrefix(p, q+"/") || strings.HasPrefix(q, p+"/"):
				c.d.report(pathPath, false, fmt.Sprintf("path %q and datasets[%d]'s %q are nested", p, j, q),
					"separate paths; one mount may not sit inside another")
			}
		}
		mounts = append(mounts, mount{p, i})
	}
}

// knownDataset checks that the cluster config has the dataset, in a form
// its executor can mount.
func (c *jobChecker) knownDataset(p []string, name string) {
	src, ok := c.cfg.Datasets[name]
	switch {
	case !ok:
		c.d.report(p, false, fmt.Sprintf("unknown dataset %q", name), knownNames("datasets", c.cfg.Datasets))
	case c.cfg.Executor == "kube" && src.Volume == nil:
		c.d.report(p, false, fmt.Sprintf("dataset %q has no volume in the cluster config, so Kubernetes runs cannot mount it", name),
			"a dataset with a volume, or ask the admin to add datasets."+name+".volume")
	case (c.cfg.Executor == "local" || c.cfg.Executor == "") && src.LocalPath == "":
		c.d.report(p, false, fmt.Sprintf("dataset %q has no localPath in the cluster config, so local runs cannot mount it", name),
			"a dataset with a localPath, or ask the admin to add datasets."+name+".localPath")
	}
}

// checkMountPath says what is wrong with a dataset mount path, or "".
func checkMountPath(p string) string {
	switch {
	case !path.IsAbs(p):
		return fmt.Sprintf("%s is not an absolute path", quoteShort(p))
	case path.Clean(p) != p:
		return fmt.Sprintf("%s is not a clean path (it has //, ., .. or a trailing /)", quoteShort(p))
	case p == "/mnt" || p == "/mnt/datasets":
		return fmt.Sprintf("%s is a folder that holds other mounts", quoteShort(p))
	case !strings.HasPrefix(p, "/mnt/"):
		return fmt.Sprintf("%s is not under /mnt/", quoteShort(p))
	}
	return ""
}

func (c *jobChecker) triggers() {
	on := c.job.On
	if on == nil {
		return
	}
	for _, f := range []struct {
		key    string
		filter *BranchFilter
	}{{"push", on.Push}, {"pullRequest", on.PullRequest}} {
		if f.filter == nil {
			continue
		}
		for i, g := range f.filter.Branches {
			if err := ValidGlob(g); err != nil {
				c.d.report([]string{"on", f.key, "branches", strconv.Itoa(i)}, false,
					fmt.Sprintf("%s is not a valid glob: %v", quoteShort(g), err), "a branch glob such as main or release/*")
			}
		}
	}
	for i, g := range on.Paths {
		if msg := checkRelGlob(g); msg != "" {
			c.d.report([]string{"on", "paths", strconv.Itoa(i)}, false, msg,
				"a repository path glob such as mnist/** or common/*.py")
		}
	}
	if len(on.Paths) > 0 && on.Push == nil && on.PullRequest == nil {
		c.d.report([]string{"on", "paths"}, true, "paths has no effect without push or pullRequest",
			"add push: or pullRequest: under on, or remove paths")
	}
	for i, s := range on.Schedule {
		base := []string{"on", "schedule", strconv.Itoa(i)}
		if msg := checkCron(s.Cron); msg != "" {
			c.d.report(append(base, "cron"), false, msg, cronAllowed)
		}
		if c.d.present(append(base, "timezone")...) {
			if msg := checkTimezone(s.Timezone); msg != "" {
				c.d.report(append(base, "timezone"), false, msg, "an IANA time zone such as Asia/Seoul, Europe/Berlin or UTC")
			}
		}
		if strings.ContainsAny(s.Branch, "*?[") {
			c.d.report(append(base, "branch"), false, fmt.Sprintf("%s is a glob; a schedule runs one branch", quoteShort(s.Branch)),
				"a branch name such as main")
		}
	}
}

// checkRelGlob says what is wrong with a glob over repository (or
// workdir) paths, or "".
func checkRelGlob(g string) string {
	if err := ValidGlob(g); err != nil {
		return fmt.Sprintf("%s is not a valid glob: %v", quoteShort(g), err)
	}
	if slices.Contains(strings.Split(g, "/"), "..") {
		return fmt.Sprintf("%s has a '..' segment", quoteShort(g))
	}
	return ""
}

func (c *jobChecker) results() {
	for i, g := range c.job.Results.Artifacts {
		if msg := checkRelGlob(g); msg != "" {
			c.d.report([]string{"results", "artifacts", strconv.Itoa(i)}, false, msg,
				"a glob relative to workdir such as model.pt or checkpoints/**")
		}
	}
	m := c.job.Results.Metrics
	if m == nil {
		return
	}
	if c.d.present("results", "metrics", "file") {
		f := m.File
		if path.IsAbs(f) || path.Clean(f) == "." || slices.Contains(strings.Split(f, "/"), "..") {
			c.d.report([]string{"results", "metrics", "file"}, false,
				fmt.Sprintf("%s is not a file inside workdir", quoteShort(f)),
				"a path relative to workdir without '..', e.g. metrics.json")
		}
	}
	for name, expr := range m.Patterns {
		if allowed, msg := checkPattern(expr); msg != "" {
			c.d.report([]string{"results", "metrics", "patterns", name}, false, msg, allowed)
		}
	}
}

// patternVerdicts remembers checkPattern's answers: a syncer loads the
// same manifests at every commit, and parsing the pattern is the dearest
// check. Bounded, as the patterns come from repositories.
var patternVerdicts struct {
	sync.Mutex
	m map[string][2]string
}

const maxPatternVerdicts = 1024

// checkPattern says what is wrong with a metric pattern, or "".
func checkPattern(expr string) (allowed, msg string) {
	patternVerdicts.Lock()
	v, ok := patternVerdicts.m[expr]
	patternVerdicts.Unlock()
	if ok {
		return v[0], v[1]
	}
	allowed, msg = parsePattern(expr)
	patternVerdicts.Lock()
	if patternVerdicts.m == nil {
		patternVerdicts.m = make(map[string][2]string)
	}
	if len(patternVerdicts.m) < maxPatternVerdicts {
		patternVerdicts.m[expr] = [2]string{allowed, msg}
	}
	patternVerdicts.Unlock()
	return allowed, msg
}

// parsePattern checks a metric pattern by parsing it: parsing is what
// decides validity in regexp.Compile, and compiling the program as well
// would only cost time here.
func parsePattern(expr string) (allowed, msg string) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "an RE2 regular expression with one capture group, e.g. 'loss: ([\\d.]+)'",
			fmt.Sprintf("not a valid regular expression: %v", err)
	}
	if n := re.MaxCap(); n != 1 {
		return "exactly one capture group around the number; use (?:...) for other grouping",
			fmt.Sprintf("has %d capture groups", n)
	}
	return "", ""
}
