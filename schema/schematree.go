package schema

import (
	"sort"
	"strings"
)

// schemaTree is a parsed JSON schema, walked to find the hints (known
// fields, patternErrorMessage, examples) that word a problem.
type schemaTree map[string]any

// schemaNode is every subschema that applies at one place in a document:
// a schema and the members of its allOf, with local $refs resolved.
type schemaNode []map[string]any

// resolve follows local "#/definitions/..." references and flattens allOf.
func (t schemaTree) resolve(v any) schemaNode {
	var out schemaNode
	t.collect(v, &out, 0)
	return out
}

func (t schemaTree) collect(v any, out *schemaNode, depth int) {
	m, ok := v.(map[string]any)
	if !ok || depth > 8 {
		return
	}
	if ref, ok := m["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/definitions/")
		if defs, ok := t["definitions"].(map[string]any); ok && found {
			t.collect(defs[name], out, depth+1)
		}
		return // draft-07 ignores a $ref's siblings
	}
	*out = append(*out, m)
	if all, ok := m["allOf"].([]any); ok {
		for _, s := range all {
			t.collect(s, out, depth+1)
		}
	}
}

// findProperty looks for a field named like name (ignoring case) anywhere
// in the schema and returns its path, e.g. "resources.gpu", so that a
// field written at the wrong level can be pointed home.
func (t schemaTree) findProperty(name string) string {
	var found []string
	var walk func(n schemaNode, prefix string, depth int)
	walk = func(n schemaNode, prefix string, depth int) {
		if depth > 5 {
			return
		}
		for _, s := range n {
			if props, ok := s["properties"].(map[string]any); ok {
				for k, p := range props {
					full := k
					if prefix != "" {
						full = prefix + "." + k
					}
					if strings.EqualFold(k, name) {
						found = append(found, full)
					}
					walk(t.resolve(p), full, depth+1)
				}
			}
			if items, ok := s["items"]; ok {
				walk(t.resolve(items), prefix+"[]", depth+1)
			}
		}
	}
	walk(t.resolve(map[string]any(t)), "", 0)
	if len(found) == 0 {
		return ""
	}
	sort.Strings(found)
	return found[0]
}

func (n schemaNode) keyword(k string) (any, bool) {
	for _, s := range n {
		if v, ok := s[k]; ok {
			return v, true
		}
	}
	return nil, false
}

func (n schemaNode) str(k string) string {
	v, _ := n.keyword(k)
	s, _ := v.(string)
	return s
}
