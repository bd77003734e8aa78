package schema

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// configChecker runs the checks the config's JSON schema cannot express.
type configChecker struct {
	d   *document
	cfg *Config
	dir string
}

func (c *configChecker) check() {
	c.gpus()
	c.datasets()
	c.results()
	c.podTemplate()
	c.repos()
	c.listen()
	c.urls()
}

const extendedResourceAllowed = "an extended resource name with a domain, e.g. nvidia.com/gpu or nvidia.com/a100"

// checkExtendedResource says what is wrong with an extended resource name
// (as a device plugin advertises it), or "".
func checkExtendedResource(name string) string {
	if errs := content.IsPrefixedLabelKey(name); len(errs) > 0 {
		return fmt.Sprintf("%s is not an extended resource name: %s", quoteShort(name), k8sMessage(errs))
	}
	domain, _, _ := strings.Cut(name, "/")
	if domain == "kubernetes.io" || strings.HasSuffix(domain, ".kubernetes.io") {
		return fmt.Sprintf("%s is in the kubernetes.io domain, which is not for extended resources", quoteShort(name))
	}
	if strings.HasPrefix(name, "requests.") || len(content.IsLabelKey("requests."+name)) > 0 {
		return fmt.Sprintf("%s is not a valid extended resource name", quoteShort(name))
	}
	return ""
}

func (c *configChecker) gpus() {
	if c.d.present("gpuResource") {
		if msg := checkExtendedResource(c.cfg.GPUResource); msg != "" {
			c.d.report([]string{"gpuResource"}, false, msg, extendedResourceAllowed)
		}
	}
	for _, name := range sortedKeys(c.cfg.GPUModels) {
		m := c.cfg.GPUModels[name]
		base := []string{"gpuModels", name}
		if m.Resource == "" && len(m.NodeSelector) == 0 {
			c.d.report(base, true, fmt.Sprintf("GPU model %q sets neither resource nor nodeSelector", name),
				"resource, e.g. nvidia.com/a100; nodeSelector, e.g. nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB; or both")
		}
		if m.Resource != "" {
			if msg := checkExtendedResource(m.Resource); msg != "" {
				c.d.report(append(base, "resource"), false, msg, extendedResourceAllowed)
			}
		}
		for _, k := range sortedKeys(m.NodeSelector) {
			p := []string{"gpuModels", name, "nodeSelector", k}
			if errs := content.IsLabelKey(k); len(errs) > 0 {
				c.d.report(p, true, fmt.Sprintf("%q is not a valid label key: %s", k, k8sMessage(errs)),
					"a label key such as nvidia.com/gpu.product")
			} else if errs := content.IsLabelValue(m.NodeSelector[k]); len(errs) > 0 {
				c.d.report(p, false, fmt.Sprintf("%s is not a valid label value: %s", quoteShort(m.NodeSelector[k]), k8sMessage(errs)),
					"a label value: at most 63 letters, digits, '-', '_' and '.'")
			}
		}
	}
}

func (c *configChecker) datasets() {
	for _, name := range sortedKeys(c.cfg.Datasets) {
		ds := c.cfg.Datasets[name]
		base := []string{"datasets", name}
		if ds.Volume == nil && ds.LocalPath == "" && !c.d.present("datasets", name, "volume") {
			c.d.report(base, true, fmt.Sprintf("dataset %q sets neither volume nor localPath", name),
				"volume for the kube executor, localPath for the local executor, or both")
		}
		if ds.LocalPath != "" && !filepath.IsAbs(ds.LocalPath) {
			c.d.report(append(base, "localPath"), false, fmt.Sprintf("%s is not an absolute path", quoteShort(ds.LocalPath)),
				"an absolute path on the machine running local jobs, e.g. /srv/datasets/"+name)
		}
	}
}

func (c *configChecker) results() {
	r := c.cfg.Results
	if r.ClaimName != "" {
		if errs := content.IsDNS1123Subdomain(r.ClaimName); len(errs) > 0 {
			c.d.report([]string{"results", "claimName"}, false,
				fmt.Sprintf("%s is not a valid claim name: %s", quoteShort(r.ClaimName), k8sMessage(errs)),
				"the name of a PersistentVolumeClaim, e.g. gitlaunch-results")
		}
		if c.d.present("results", "volume") {
			c.d.report([]string{"results", "volume"}, true, "claimName and volume are both set",
				"one of claimName or volume")
		}
	}
	if r.MountPath != "" && !path.IsAbs(r.MountPath) {
		c.d.report([]string{"results", "mountPath"}, false, fmt.Sprintf("%s is not an absolute path", quoteShort(r.MountPath)),
			"an absolute path, e.g. /var/lib/gitlaunch/results")
	}
}

func (c *configChecker) podTemplate() {
	p := c.cfg.PodTemplate
	if p == "" {
		return
	}
	full := p
	if !filepath.IsAbs(p) {
		full = filepath.Join(c.dir, p)
	}
	fi, err := os.Stat(full)
	switch {
	case err != nil:
		c.d.report([]string{"podTemplate"}, false, fmt.Sprintf("cannot read pod template %s: %v", full, unwrapPathError(err)),
			"a Pod YAML file, relative to this config file")
	case !fi.Mode().IsRegular():
		c.d.report([]string{"podTemplate"}, false, fmt.Sprintf("pod template %s is not a regular file", full),
			"a Pod YAML file, relative to this config file")
	}
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (c *configChecker) repos() {
	seen := make(map[string]int)
	for i, r := range c.cfg.Repos {
		idx := strconv.Itoa(i)
		name, namePath := r.Name, []string{"repos", idx, "name"}
		if what := URLCredentials(r.URL); what != "" {
			// The URL is not repeated: it is the secret.
			c.d.report([]string{"repos", idx, "url"}, false, "the URL holds "+what+"; a repository URL is shown in runs, logs and the dashboard",
				"a URL without credentials; put the token in a file and name it in tokenFile (repos[].tokenFile)")
			continue // the name taken from it could repeat the credentials
		}
		if strings.ContainsAny(r.URL, " \t\n") {
			c.d.report([]string{"repos", idx, "url"}, false, fmt.Sprintf("%s contains white space", quoteShort(r.URL)),
				"an http(s), ssh or file URL, or a local path")
		}
		if name == "" {
			name = DefaultRepoName(r.URL)
			if r.URL != "" && len(content.IsDNS1123Label(name)) > 0 {
				c.d.report(namePath, false,
					fmt.Sprintf("the name %q taken from url is not a valid repository name, so name must be set", name),
					dnsLabelAllowed)
				continue
			}
		}
		if first, dup := seen[name]; dup && name != "" {
			c.d.report(namePath, false, fmt.Sprintf("repository name %q is already used by repos[%d]", name, first),
				"a unique name per repository; it becomes /mnt/<name> in runs")
			continue
		}
		seen[name] = i
	}
}

// URLCredentials says what in a repository URL is a credential ("a user
// name", "a password", "a query string"), or "" when it holds none. An
// http(s) URL may carry no user info at all (a token is often put in the
// user name) and no query (?access_token=…); another URL may name a user
// (ssh://git@host/r) but not a password.
func URLCredentials(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "" // a local path or scp-like user@host:path, which has no password
	}
	web := strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https")
	u, err := url.Parse(raw)
	if err != nil {
		// Unparsable: judge the authority by hand.
		auth, _, _ := strings.Cut(rest, "/")
		at := strings.LastIndex(auth, "@")
		switch {
		case at >= 0 && (web || strings.Contains(auth[:at], ":")):
			return "credentials"
		case web && strings.ContainsAny(rest, "?"):
			return "a query string"
		}
		return ""
	}
	_, hasPassword := u.User.Password()
	switch {
	case hasPassword:
		return "a password"
	case web && u.User != nil:
		return "a user name (GitHub takes a token there)"
	case web && (u.RawQuery != "" || u.ForceQuery):
		return "a query string"
	}
	return ""
}

// durations checks the config's durations from their text and returns
// the paths of those that do not parse, to be kept out of decoding.
func (c *configChecker) durations() [][]string {
	var bad [][]string
	for _, p := range [][]string{
		{"defaults", "timeout"},
		{"sync", "pollInterval"},
		{"sync", "missedScheduleDeadline"},
		{"sync", "retention", "maxAge"},
		{"kube", "podTTL"},
	} {
		if c.d.checkDuration(p) {
			bad = append(bad, p)
		}
	}
	return bad
}

func (c *configChecker) listen() {
	if c.d.present("sync", "listen") {
		if _, port, err := net.SplitHostPort(c.cfg.Sync.Listen); err != nil || port == "" {
			c.d.report([]string{"sync", "listen"}, false, fmt.Sprintf("%s is not host:port", quoteShort(c.cfg.Sync.Listen)),
				"an address such as 127.0.0.1:8080 or :8080")
		}
	}
}

func (c *configChecker) urls() {
	for _, f := range []struct {
		path []string
		v    string
	}{
		{[]string{"sync", "baseURL"}, c.cfg.Sync.BaseURL},
		{[]string{"github", "baseURL"}, c.cfg.GitHub.BaseURL},
	} {
		if f.v == "" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.d.report(f.path, false, fmt.Sprintf("%s is not an http(s) URL", quoteShort(f.v)),
				"an absolute URL such as https://gitlaunch.example.com")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// k8sMessage shortens a Kubernetes validation message to its rule: the
// examples and regular expression that follow repeat what Allowed says.
func k8sMessage(errs []string) string {
	msg, _, _ := strings.Cut(errs[0], " (e.g.")
	return msg
}
