package schema

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoad feeds Load arbitrary bytes. Whatever comes in, Load must
// return promptly, without panicking, with either a named Job or
// Problems that each name the file and a position ≥ 0; and the schema
// interpreter must agree with gojsonschema on the input.
//
// The test binary links Kubernetes' API types, so the coverage map is
// large and minimizing an input is slow; run with a bounded minimization:
//
//	go test ./schema -run '^$' -fuzz 'FuzzLoad$' -fuzztime 60s -fuzzminimizetime 50x
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"testdata/good", "testdata/bad", "testdata/config", "testdata/badconfig"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, dir == "testdata/good")
		}
	}
	f.Add([]byte(everyField), true)
	f.Add([]byte(billionLaughs()), false)
	cfg := testConfig(f)

	f.Fuzz(func(t *testing.T, data []byte, withCfg bool) {
		var c *Config
		if withCfg {
			c = cfg
		}
		const file = "fuzz/job.yaml"
		compareWithOracle(t, jobSchema, data)
		start := time.Now()
		job, err := LoadWithConfig(file, data, c)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Load took %v", d)
		}
		if err == nil {
			if job == nil || job.Name == "" || job.Path != file {
				t.Fatalf("nil error but job %+v", job)
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("error is %T, not Problems: %v", err, err)
		}
		if len(ps) == 0 {
			t.Fatal("empty Problems")
		}
		for _, p := range ps {
			if p.File != file || p.Line < 0 || p.Column < 0 || p.Message == "" {
				t.Fatalf("malformed problem %+v", p)
			}
		}
	})
}

// FuzzLoadConfig does the same for the admin's config.
func FuzzLoadConfig(f *testing.F) {
	for _, dir := range []string{"testdata/config", "testdata/badconfig"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz/gitlaunch.yaml"
		compareWithOracle(t, configSchema, data)
		cfg, err := LoadConfig(file, data)
		if err == nil {
			if cfg == nil || cfg.Executor == "" || cfg.Namespace == "" {
				t.Fatalf("nil error but config %+v", cfg)
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is %T, not Problems: %v", err, err)
		}
		for _, p := range ps {
			if p.File != file || p.Line < 0 || p.Column < 0 || p.Message == "" {
				t.Fatalf("malformed problem %+v", p)
			}
		}
	})
}
