package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// supportedKeywords are the schema keywords the interpreter applies or
// may safely ignore (annotations for editors).
var supportedKeywords = map[string]bool{
	"$schema": true, "$id": true, "$ref": true, "definitions": true, "title": true, "description": true,
	"examples": true, "default": true, "patternErrorMessage": true,
	"type": true, "const": true, "enum": true, "allOf": true,
	"properties": true, "additionalProperties": true, "required": true, "propertyNames": true, "minProperties": true,
	"pattern": true, "minLength": true, "maxLength": true,
	"minimum": true, "maximum": true,
	"items": true, "minItems": true, "uniqueItems": true,
}

// rule is one compiled schema: its keywords in Go form, and the raw
// subschemas behind it for hints.
type rule struct {
	all        []*rule // allOf members and a $ref target, applied too
	types      []string
	hasConst   bool
	constVal   any
	enum       []any
	props      map[string]*rule
	propNames  []string // sorted, for "known fields"
	closed     bool     // additionalProperties: false
	additional *rule
	required   []string
	keys       *rule // propertyNames
	minProps   int
	pattern    *regexp.Regexp
	minLen     int
	maxLen     int // -1: none
	minimum    *float64
	maximum    *float64
	items      *rule
	minItems   int
	unique     bool
	hint       schemaNode
}

// compileRules turns a parsed schema into rules; $refs share one rule.
func compileRules(tree schemaTree) (*rule, error) {
	c := ruleCompiler{tree: tree, refs: map[string]*rule{}}
	return c.compile(map[string]any(tree))
}

type ruleCompiler struct {
	tree schemaTree
	refs map[string]*rule
}

func (c *ruleCompiler) compile(v any) (*rule, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is %T, not an object", v)
	}
	r := &rule{maxLen: -1, hint: c.tree.resolve(m)}
	for k, val := range m {
		if !supportedKeywords[k] {
			return nil, fmt.Errorf("schema keyword %q is not supported", k)
		}
		var err error
		switch k {
		case "$ref":
			ref, _ := val.(string)
			target, ok := c.refs[ref]
			if !ok {
				name, found := strings.CutPrefix(ref, "#/definitions/")
				defs, _ := c.tree["definitions"].(map[string]any)
				if !found || defs[name] == nil {
					return nil, fmt.Errorf("unresolved $ref %q", ref)
				}
				target = &rule{maxLen: -1}
				c.refs[ref] = target // placed before compiling, for cycles
				compiled, err := c.compile(defs[name])
				if err != nil {
					return nil, err
				}
				*target = *compiled
			}
			r.all = append(r.all, target)
		case "allOf":
			list, _ := val.([]any)
			for _, s := range list {
				sub, err := c.compile(s)
				if err != nil {
					return nil, err
				}
				r.all = append(r.all, sub)
			}
		case "type":
			switch t := val.(type) {
			case string:
				r.types = []string{t}
			case []any:
				for _, e := range t {
					s, _ := e.(string)
					r.types = append(r.types, s)
				}
			}
		case "const":
			r.hasConst, r.constVal = true, val
		case "enum":
			r.enum, _ = val.([]any)
		case "properties":
			props, _ := val.(map[string]any)
			r.props = make(map[string]*rule, len(props))
			for name, s := range props {
				if r.props[name], err = c.compile(s); err != nil {
					return nil, err
				}
				r.propNames = append(r.propNames, name)
			}
			slices.Sort(r.propNames)
		case "additionalProperties":
			if b, ok := val.(bool); ok {
				r.closed = !b
			} else if r.additional, err = c.compile(val); err != nil {
				return nil, err
			}
		case "required":
			list, _ := val.([]any)
			for _, e := range list {
				s, _ := e.(string)
				r.required = append(r.required, s)
			}
		case "propertyNames":
			r.keys, err = c.compile(val)
		case "minProperties":
			r.minProps = intOf(val)
		case "pattern":
			s, _ := val.(string)
			r.pattern, err = regexp.Compile(s)
		case "minLength":
			r.minLen = intOf(val)
		case "maxLength":
			r.maxLen = intOf(val)
		case "minimum":
			f, _ := val.(float64)
			r.minimum = &f
		case "maximum":
			f, _ := val.(float64)
			r.maximum = &f
		case "items":
			r.items, err = c.compile(val)
		case "minItems":
			r.minItems = intOf(val)
		case "uniqueItems":
			r.unique, _ = val.(bool)
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func intOf(v any) int {
	f, _ := v.(float64)
	return int(f)
}
