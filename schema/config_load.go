package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of the admin's config, filled in by LoadConfig.
const (
	DefaultExecutor     = "local"
	DefaultNamespace    = "gitlaunch"
	DefaultGPUResource  = "nvidia.com/gpu"
	DefaultCloneImage   = "ghcr.io/gitlaunch/gitlaunch:latest"
	DefaultDataDir      = ".gitlaunch"
	DefaultMaxRuns      = 4
	DefaultKubeMaxRuns  = 1000
	DefaultKubeQPS      = 200
	DefaultKubeBurst    = 400
	DefaultJobTimeout   = 24 * time.Hour
	DefaultPollInterval = 30 * time.Second
	// DefaultWebhookPollInterval applies when GitHub webhooks are
	// configured: they announce pushes, so polling is only a backstop.
	DefaultWebhookPollInterval    = 5 * time.Minute
	DefaultMissedScheduleDeadline = time.Hour
	DefaultPodTTL                 = 10 * time.Minute
	// DefaultLogLimit caps a run's stored log: 100 MB of output is not
	// something anyone reads, and the disk is shared by every run.
	DefaultLogLimit Size = 64 << 20
	// MinLogLimit leaves room for a useful head and tail.
	MinLogLimit Size = 64 << 10
	// DefaultRetentionMaxAge is how long finished runs keep their logs
	// and workspaces.
	DefaultRetentionMaxAge = 30 * 24 * time.Hour
)

// LoadConfig reads the admin's gitlaunch.yaml. filename names the file in
// problems, and its folder becomes Config.Dir, against which podTemplate
// is resolved (and checked to exist). On success every default is filled
// in; otherwise the error is Problems, holding every problem found.
func LoadConfig(filename string, data []byte) (*Config, error) {
	d, fatal := parseDocument(filename, data, true)
	if fatal != nil {
		return nil, Problems{*fatal}
	}
	if err := validateSchema(d, configSchema); err != nil {
		return nil, err
	}
	c := configChecker{d: d, dir: filepath.Dir(filename)}
	// Volumes and durations are checked before decoding: a bad one would
	// stop the decoder and leave later fields unset.
	skip := c.volumes()
	skip = append(skip, c.durations()...)
	skip = append(skip, c.sizes()...)
	var cfg Config
	if err := decodeJSON(without(d.value, skip), &cfg, false); err != nil && len(d.probs.list) == 0 {
		c.jsonError(nil, err)
	}
	cfg.Dir = c.dir
	c.cfg = &cfg
	c.check()
	if len(d.probs.list) > 0 {
		return nil, d.probs.sorted()
	}
	cfg.ApplyDefaults()
	return &cfg, nil
}

// DefaultConfig is the config used when there is no gitlaunch.yaml: the
// local executor with every default filled in.
func DefaultConfig() *Config {
	c := &Config{APIVersion: APIVersion, Kind: KindConfig, Dir: "."}
	c.ApplyDefaults()
	return c
}

// ApplyDefaults fills every unset field that has a default. LoadConfig
// calls it; code that builds a Config by hand may too.
func (c *Config) ApplyDefaults() {
	setDefault(&c.Executor, DefaultExecutor)
	setDefault(&c.Namespace, DefaultNamespace)
	setDefault(&c.GPUResource, DefaultGPUResource)
	setDefault(&c.CloneImage, DefaultCloneImage)
	setDefault(&c.Sync.DataDir, DefaultDataDir)
	setDefault(&c.Defaults.Timeout.Duration, DefaultJobTimeout)
	poll := DefaultPollInterval
	if c.GitHub.WebhookSecretFile != "" {
		poll = DefaultWebhookPollInterval
	}
	setDefault(&c.Sync.PollInterval.Duration, poll)
	// On a cluster the scheduler queues Pods that do not fit (and says
	// why); on one machine the syncer's own queue is the only one.
	if c.Executor == "kube" {
		setDefault(&c.Sync.MaxRuns, DefaultKubeMaxRuns)
	}
	setDefault(&c.Sync.MaxRuns, DefaultMaxRuns)
	setDefault(&c.Sync.MissedScheduleDeadline.Duration, DefaultMissedScheduleDeadline)
	setDefault(&c.Sync.LogLimit, DefaultLogLimit)
	setDefault(&c.Sync.Retention.MaxAge.Duration, DefaultRetentionMaxAge)
	setDefault(&c.Kube.QPS, DefaultKubeQPS)
	setDefault(&c.Kube.Burst, DefaultKubeBurst)
	setDefault(&c.Kube.PodTTL.Duration, DefaultPodTTL)
	for i := range c.Repos {
		setDefault(&c.Repos[i].Name, DefaultRepoName(c.Repos[i].URL))
	}
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// DefaultRepoName is a repository's name when the config gives none: the
// last path element of its URL (or scp-style host:path), without ".git".
func DefaultRepoName(url string) string {
	s := strings.TrimRight(strings.TrimSpace(url), "/")
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSuffix(s, ".git")
}

// decodeJSON decodes a converted document into a Go value through JSON,
// so that Kubernetes types (which carry only json tags) decode by their
// usual field names. strict refuses unknown fields.
func decodeJSON(v any, out any, strict bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(out)
}

// jsonError positions a JSON decode error from the value at base.
func (c *configChecker) jsonError(base []string, err error) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		p := append(append([]string(nil), base...), strings.Split(te.Field, ".")...)
		c.d.report(p, false, "must be "+kindWords(te.Type.Kind())+", not "+jsonValueWords(te.Value), "")
		return
	}
	c.d.report(base, false, strings.TrimPrefix(err.Error(), "json: "), "")
}

// jsonValueWords names a JSON value kind as UnmarshalTypeError gives it.
func jsonValueWords(v string) string {
	switch v {
	case "string":
		return "text"
	case "bool":
		return "true or false"
	case "number":
		return "a number"
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	}
	return v
}
