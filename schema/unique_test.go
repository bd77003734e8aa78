package schema

import (
	"strings"
	"testing"
)

func TestCheckUnique(t *testing.T) {
	load := func(file, body string) *Job {
		t.Helper()
		j, err := Load(file, []byte(header+body))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	jobs := []*Job{
		load("a/mnist/job.yaml", ""),
		load("b/mnist/job.yaml", ""),
		load("c/job.yaml", "name: mnist\n"),
		load("d/job.yaml", ""),
		nil,
	}
	ps := CheckUnique(jobs)
	if len(ps) != 2 {
		t.Fatalf("%d problems:\n%v", len(ps), ps)
	}
	for i, file := range []string{"b/mnist/job.yaml", "c/job.yaml"} {
		p := ps[i]
		if p.File != file || p.Field != "name" || !strings.Contains(p.Message, `"mnist" is already used by a/mnist/job.yaml`) {
			t.Errorf("problem %d: %v", i, p)
		}
	}
	if ps := CheckUnique(jobs[2:]); len(ps) != 0 {
		t.Errorf("unique names reported: %v", ps)
	}
}
