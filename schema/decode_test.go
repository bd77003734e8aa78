package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDecodeJobMatchesYAML holds the hand-written decoder to yaml.v3's
// reflective one on every good manifest and on one that sets every field.
func TestDecodeJobMatchesYAML(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	inputs := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	inputs["every field"] = []byte(everyField)
	for name, data := range inputs {
		d, p := parseDocument(name, data, false)
		if p != nil {
			t.Fatalf("%s: %v", name, p)
		}
		var want Job
		if err := d.root.Decode(&want); err != nil {
			t.Fatalf("%s: yaml.v3: %v", name, err)
		}
		if got := decodeJob(d.root); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", name, got, want)
		}
	}
}

// everyField sets every field of Job, so that a field added to the type
// but not to decodeJob shows up in TestDecodeJobMatchesYAML.
const everyField = `apiVersion: gitlaunch.dev/v1
kind: Job
name: every
image: img
command: run
workdir: src
resources: {gpu: 2, gpuModel: a100, cpu: 500m, memory: 1Gi, shm: 64Mi}
env: {A: "1", B: two}
secrets: [S1, S2]
datasets: [{name: d, path: /mnt/d}]
on:
  push: {branches: [main]}
  pullRequest: {branches: ["release/*"]}
  paths: ["src/**"]
  schedule: [{cron: "@daily", timezone: UTC, branch: main}]
timeout: 90m
retries: 3
results:
  artifacts: ["*.pt"]
  metrics: {file: m.json, patterns: {loss: 'loss ([\d.]+)'}}
concurrency: {cancelSuperseded: true}
`

// TestEveryFieldCovered: everyField really does set every yaml field of
// Job, and the job schema knows exactly those fields.
func TestEveryFieldCovered(t *testing.T) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(everyField), &m); err != nil {
		t.Fatal(err)
	}
	want := yamlFields(reflect.TypeFor[Job](), "")
	got := mapFields(m, "")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("everyField sets %v\nJob has %v", got, want)
	}
	if _, err := Load("every/job.yaml", []byte(everyField)); err != nil {
		t.Errorf("everyField does not load: %v", err)
	}
}

// TestSchemasMatchTypes: each JSON schema has exactly the fields of its
// Go type (by yaml tag), at every level, so neither drifts from the other.
func TestSchemasMatchTypes(t *testing.T) {
	for _, tt := range []struct {
		cs  *compiledSchema
		typ reflect.Type
	}{{jobSchema, reflect.TypeFor[Job]()}, {configSchema, reflect.TypeFor[Config]()}} {
		_, tree, err := tt.cs.get()
		if err != nil {
			t.Fatal(err)
		}
		want := yamlFields(tt.typ, "")
		if len(want) < 20 {
			t.Fatalf("%s: only %d fields found in %v", tt.cs.name, len(want), tt.typ)
		}
		got := schemaFields(schemaTree(tree), schemaTree(tree).resolve(map[string]any(tree)), "")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s fields:\n got %v\nwant %v", tt.cs.name, got, want)
		}
	}
}

// yamlFields lists the dotted yaml paths of a type's fields, descending
// into structs, slices and maps of structs, but not into Kubernetes types
// (the schemas leave those open).
func yamlFields(t reflect.Type, prefix string) []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[Job]().PkgPath() || t == reflect.TypeFor[Duration]() {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			p := prefix + name
			out = append(out, p)
			walk(f.Type, p+".")
		}
	}
	walk(t, prefix)
	sort.Strings(out)
	return out
}

func mapFields(m map[string]any, prefix string) []string {
	var out []string
	for k, v := range m {
		p := prefix + k
		out = append(out, p)
		switch t := v.(type) {
		case map[string]any:
			if k == "env" || k == "patterns" {
				continue // free-form keys
			}
			out = append(out, mapFields(t, p+".")...)
		case []any:
			if len(t) > 0 {
				if e, ok := t[0].(map[string]any); ok {
					out = append(out, mapFields(e, p+".")...)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func schemaFields(tree schemaTree, n schemaNode, prefix string) []string {
	var out []string
	for _, s := range n {
		props, _ := s["properties"].(map[string]any)
		for k, p := range props {
			out = append(out, prefix+k)
			sub := tree.resolve(p)
			// Descend through items and additionalProperties schemas.
			for _, ss := range sub {
				if items, ok := ss["items"]; ok {
					sub = append(sub, tree.resolve(items)...)
				}
				if ap, ok := ss["additionalProperties"].(map[string]any); ok {
					sub = append(sub, tree.resolve(ap)...)
				}
			}
			out = append(out, schemaFields(tree, sub, prefix+k+".")...)
		}
	}
	sort.Strings(out)
	return out
}

// TestSchemasAreDraft07: the embedded schemas are valid JSON, declare
// draft-07 and compile with gojsonschema.
func TestSchemasAreDraft07(t *testing.T) {
	for _, cs := range []*compiledSchema{jobSchema, configSchema} {
		var doc map[string]any
		if err := json.Unmarshal(*cs.raw, &doc); err != nil {
			t.Fatalf("%s: %v", cs.name, err)
		}
		if doc["$schema"] != "http://json-schema.org/draft-07/schema#" {
			t.Errorf("%s: $schema %v", cs.name, doc["$schema"])
		}
		if _, _, err := cs.get(); err != nil {
			t.Error(err)
		}
	}
	if len(JobSchemaJSON) == 0 || len(ConfigSchemaJSON) == 0 {
		t.Error("schemas not embedded")
	}
}
