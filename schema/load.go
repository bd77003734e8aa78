package schema

import "path"

// Load reads one job.yaml. filename is the manifest's slash-separated path
// inside the repository ("mnist/job.yaml"); it names the file in problems
// and sets Job.Path, Job.Dir and the default name. On success the Job has
// its defaults applied; otherwise the error is Problems, holding every
// problem found, sorted by position.
//
// Load knows no cluster: gpuModel and dataset names are not checked and
// image is required. Use LoadWithConfig when the cluster config is at hand.
func Load(filename string, data []byte) (*Job, error) {
	return LoadWithConfig(filename, data, nil)
}

// LoadWithConfig is Load plus the checks that need the cluster config:
// gpuModel and dataset names exist in cfg, gpu is within
// cfg.Defaults.MaxGPUs, dataset paths do not hide a repository's mount,
// and image may be left out when cfg.Defaults.Image is set (Job.Image
// stays empty; the renderer takes the default, as it does for timeout).
// A nil cfg is the same as Load.
func LoadWithConfig(filename string, data []byte, cfg *Config) (*Job, error) {
	d, fatal := parseDocument(filename, data, false)
	if fatal != nil {
		return nil, Problems{*fatal}
	}
	if err := validateSchema(d, jobSchema); err != nil {
		return nil, err
	}
	d.checkDuration([]string{"timeout"})
	job := decodeJob(d.root)
	job.Path = path.Clean(filename)
	job.Dir = path.Dir(job.Path)
	c := jobChecker{d: d, job: &job, cfg: cfg}
	c.check()
	if len(d.probs.list) > 0 {
		return nil, d.probs.sorted()
	}
	applyJobDefaults(&job)
	return &job, nil
}

// applyJobDefaults fills what job.yaml may leave out. Timeout and image
// stay empty: their defaults live in the cluster config.
func applyJobDefaults(j *Job) {
	if j.Name == "" {
		j.Name = path.Base(j.Dir)
	}
	if j.Workdir == "" {
		j.Workdir = "."
	}
	for i := range j.Datasets {
		if j.Datasets[i].Path == "" {
			j.Datasets[i].Path = "/mnt/datasets/" + j.Datasets[i].Name
		}
	}
	if j.On != nil && len(j.On.Paths) == 0 {
		j.On.Paths = defaultPaths(j.Dir)
	}
}

// Paths returns the repository path globs whose changes trigger the job:
// on.paths when given, else everything under the job's folder.
func (j *Job) Paths() []string {
	if j.On != nil && len(j.On.Paths) > 0 {
		return j.On.Paths
	}
	return defaultPaths(j.Dir)
}

func defaultPaths(dir string) []string {
	if dir == "." || dir == "" {
		return []string{"**"}
	}
	return []string{EscapeGlob(dir) + "/**"}
}
