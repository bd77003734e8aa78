package schema

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// testConfig is the cluster config the golden and good manifests are
// checked against.
func testConfig(t testing.TB) *Config {
	t.Helper()
	cfg, err := LoadConfigFile("testdata/config/gitlaunch.yaml")
	if err != nil {
		t.Fatalf("load test config: %v", err)
	}
	return cfg
}

// manifestName is the repository path a testdata manifest is loaded
// under: "<stem>/job.yaml", so the default job name is the stem, except
// for the few files that test other places.
func manifestName(file string) string {
	stem := strings.TrimSuffix(filepath.Base(file), ".yaml")
	switch stem {
	case "at-root":
		return "job.yaml"
	case "folder-name":
		return "My_Folder/job.yaml"
	}
	return stem + "/job.yaml"
}

// checkGolden compares got with the golden file, or rewrites it.
func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./schema -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("problems differ from %s (go test ./schema -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

// TestBadManifestsGolden loads every testdata/bad manifest against the
// test config and compares the formatted problems with its .golden file.
func TestBadManifestsGolden(t *testing.T) {
	cfg := testConfig(t)
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no bad manifests")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			job, err := LoadWithConfig(manifestName(f), data, cfg)
			if err == nil {
				t.Fatalf("loaded a bad manifest: %+v", job)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, not Problems: %v", err, err)
			}
			checkProblems(t, ps)
			checkGolden(t, strings.TrimSuffix(f, ".yaml")+".golden", err.Error()+"\n")
		})
	}
}

// TestBadConfigsGolden does the same for testdata/badconfig.
func TestBadConfigsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/badconfig/*.yaml")
	if len(files) == 0 {
		t.Fatal("no bad configs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadConfigFile(f)
			if err == nil {
				t.Fatalf("loaded a bad config: %+v", cfg)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, not Problems: %v", err, err)
			}
			checkProblems(t, ps)
			checkGolden(t, strings.TrimSuffix(f, ".yaml")+".golden", err.Error()+"\n")
		})
	}
}

// checkProblems holds every problem list to the promised form: file set,
// lowercase messages, sorted by position, one problem per field.
func checkProblems(t *testing.T, ps Problems) {
	t.Helper()
	fields := map[string]bool{}
	for i, p := range ps {
		if p.File == "" || p.Line < 0 || p.Column < 0 || p.Message == "" {
			t.Errorf("malformed problem %+v", p)
		}
		if first := p.Message[:1]; first != strings.ToLower(first) && !strings.HasPrefix(p.Message, "GPU") && !strings.HasPrefix(p.Message, "YAML") {
			t.Errorf("message not lowercase: %q", p.Message)
		}
		if i > 0 && compareProblems(ps[i-1], p) > 0 {
			t.Errorf("problems out of order: %v before %v", ps[i-1], p)
		}
		if p.Field != "" {
			if fields[p.Field] {
				t.Errorf("two problems for field %s", p.Field)
			}
			fields[p.Field] = true
		}
	}
}
