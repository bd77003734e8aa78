package schema

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xeipuuv/gojsonreference"
	"github.com/xeipuuv/gojsonschema"
)

// Load applies the JSON schemas with its own interpreter (nodeschema.go).
// These tests hold it to gojsonschema, a general draft-07 validator: for
// any document both must agree on whether it is valid. FuzzLoad and
// FuzzLoadConfig run the same comparison on every input they make.

// valueLoader hands gojsonschema an already converted document.
type valueLoader struct{ v any }

func (l valueLoader) JsonSource() any        { return l.v }
func (l valueLoader) LoadJSON() (any, error) { return l.v, nil }
func (l valueLoader) JsonReference() (gojsonreference.JsonReference, error) {
	return gojsonreference.NewJsonReference("#")
}
func (l valueLoader) LoaderFactory() gojsonschema.JSONLoaderFactory {
	return &gojsonschema.DefaultJSONLoaderFactory{}
}

var oracles sync.Map // *compiledSchema → *gojsonschema.Schema

func oracle(t testing.TB, cs *compiledSchema) *gojsonschema.Schema {
	if s, ok := oracles.Load(cs); ok {
		return s.(*gojsonschema.Schema)
	}
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(*cs.raw))
	if err != nil {
		t.Fatalf("gojsonschema cannot compile %s: %v", cs.name, err)
	}
	oracles.Store(cs, s)
	return s
}

// compareWithOracle checks data against cs both ways and fails the test
// when the verdicts differ. Files that do not parse are not compared.
func compareWithOracle(t testing.TB, cs *compiledSchema, data []byte) {
	t.Helper()
	d, fatal := parseDocument("oracle.yaml", data, true)
	if fatal != nil {
		return
	}
	res, err := oracle(t, cs).Validate(valueLoader{d.value})
	if err != nil {
		t.Fatalf("gojsonschema: %v", err)
	}
	d.probs = &problemSet{} // only the schema's own verdict
	if err := validateSchema(d, cs); err != nil {
		t.Fatal(err)
	}
	mine := len(d.probs.list) == 0 && d.probs.dropped == 0
	if mine != res.Valid() {
		t.Errorf("%s: interpreter says valid=%v, gojsonschema says valid=%v\ninterpreter: %v\ngojsonschema: %v\ndocument:\n%s",
			cs.name, mine, res.Valid(), d.probs.list, res.Errors(), data)
	}
}

func TestSchemaInterpreterAgreesWithGojsonschema(t *testing.T) {
	for _, tt := range []struct {
		cs   *compiledSchema
		dirs []string
	}{
		{jobSchema, []string{"testdata/good", "testdata/bad"}},
		{configSchema, []string{"testdata/config", "testdata/badconfig"}},
	} {
		n := 0
		for _, dir := range tt.dirs {
			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				compareWithOracle(t, tt.cs, data)
				n++
			}
		}
		if n < 4 {
			t.Errorf("%s: only %d files compared", tt.cs.name, n)
		}
	}
	// And every case of the table tests: one mistake each.
	for _, tt := range checkCases {
		body := header + tt.body
		if strings.HasPrefix(tt.body, "apiVersion") {
			body = tt.body
		}
		compareWithOracle(t, jobSchema, []byte(body))
	}
	for _, tt := range configCases {
		body := "apiVersion: gitlaunch.dev/v1\nkind: Config\n" + tt.body
		if strings.HasPrefix(tt.body, "apiVersion") {
			body = tt.body
		}
		compareWithOracle(t, configSchema, []byte(body))
	}
	compareWithOracle(t, jobSchema, []byte(everyField))
	compareWithOracle(t, jobSchema, []byte(header+"resources: {gpu: 1.0, cpu: 1e3}\nretries: 0x3\n"))
	compareWithOracle(t, jobSchema, []byte(header+"resources: {gpu: 99999999999999999999}\n"))
	compareWithOracle(t, jobSchema, []byte(header+"secrets: [A, B, A]\nenv: {1A: x, B: [1]}\n"))
	compareWithOracle(t, jobSchema, []byte(header+"name: \"\"\nretries: .inf\non: {schedule: []}\n"))
}

// TestSchemaKeywordsSupported: the schemas use only keywords the
// interpreter applies (compileRules refuses others).
func TestSchemaKeywordsSupported(t *testing.T) {
	for _, cs := range []*compiledSchema{jobSchema, configSchema} {
		if _, _, err := cs.get(); err != nil {
			t.Error(err)
		}
	}
	bad := schemaTree{"type": "object", "oneOf": []any{}}
	if _, err := compileRules(bad); err == nil {
		t.Error("oneOf accepted")
	}
}
