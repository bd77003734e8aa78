package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/xeipuuv/gojsonschema"
)

// JobSchemaJSON is the JSON Schema (draft-07) of job.yaml, for editors and
// for Load. Publish it and point the yaml-language-server modeline at it.
//
//go:embed job.schema.json
var JobSchemaJSON []byte

// ConfigSchemaJSON is the JSON Schema (draft-07) of the admin's
// gitlaunch.yaml.
//
//go:embed config.schema.json
var ConfigSchemaJSON []byte

// compiledSchema is a JSON schema compiled once for validation, plus its
// raw tree, which Load reads for hints (known fields, patternErrorMessage,
// examples) when it words a problem.
type compiledSchema struct {
	name  string
	raw   *[]byte
	once  sync.Once
	valid *gojsonschema.Schema
	tree  map[string]any
	err   error
}

var (
	jobSchema    = &compiledSchema{name: "job.schema.json", raw: &JobSchemaJSON}
	configSchema = &compiledSchema{name: "config.schema.json", raw: &ConfigSchemaJSON}
)

// get compiles the schema on first use. A failure is a bug in this package
// (the embedded schema is tested), so it is returned, not hidden.
func (s *compiledSchema) get() (*gojsonschema.Schema, map[string]any, error) {
	s.once.Do(func() {
		if err := json.Unmarshal(*s.raw, &s.tree); err != nil {
			s.err = fmt.Errorf("parse embedded %s: %w", s.name, err)
			return
		}
		v, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(*s.raw))
		if err != nil {
			s.err = fmt.Errorf("compile embedded %s: %w", s.name, err)
			return
		}
		s.valid = v
	})
	return s.valid, s.tree, s.err
}
