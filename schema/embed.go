package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
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

// compiledSchema is a JSON schema compiled once into rules for the
// interpreter in nodeschema.go, plus its raw tree, which is read for
// hints (known fields, patternErrorMessage, examples) when wording a
// problem.
type compiledSchema struct {
	name  string
	raw   *[]byte
	once  sync.Once
	rules *rule
	tree  schemaTree
	err   error
}

var (
	jobSchema    = &compiledSchema{name: "job.schema.json", raw: &JobSchemaJSON}
	configSchema = &compiledSchema{name: "config.schema.json", raw: &ConfigSchemaJSON}
)

// get compiles the schema on first use. A failure is a bug in this package
// (the embedded schemas are tested), so it is returned, not hidden.
func (s *compiledSchema) get() (*rule, schemaTree, error) {
	s.once.Do(func() {
		if err := json.Unmarshal(*s.raw, &s.tree); err != nil {
			s.err = fmt.Errorf("parse embedded %s: %w", s.name, err)
			return
		}
		if s.rules, s.err = compileRules(s.tree); s.err != nil {
			s.err = fmt.Errorf("compile embedded %s: %w", s.name, s.err)
		}
	})
	return s.rules, s.tree, s.err
}
