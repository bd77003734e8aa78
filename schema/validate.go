package schema

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// validateSchema applies a schema to d, reporting into d.probs.
func validateSchema(d *document, cs *compiledSchema) error {
	rules, tree, err := cs.get()
	if err != nil {
		return err
	}
	c := schemaChecker{d: d, tree: tree, path: make([]string, 0, 8)}
	c.check(d.root, rules)
	return nil
}

// scalarText quotes a scalar's text for a message, or names the node.
func scalarText(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return quoteShort(n.Value)
	}
	return describeNode(n)
}

func lastSeg(path []string) string {
	if len(path) == 0 {
		return ""
	}
	return path[len(path)-1]
}

// exampleHint turns a schema's first example into "e.g. field: value".
func exampleHint(field string, sch schemaNode) string {
	ex, ok := sch.keyword("examples")
	if !ok {
		return ""
	}
	list, ok := ex.([]any)
	if !ok || len(list) == 0 {
		return ""
	}
	// Flow style keeps a hint on one line; list entries need no key.
	if field == "" || isIndex(field) {
		return "e.g. " + flowText(list[0])
	}
	return "e.g. " + field + ": " + flowText(list[0])
}

// flowText writes a small example value in YAML flow style.
func flowText(v any) string {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + flowText(t[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = flowText(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		b, err := yaml.Marshal(t)
		if err != nil {
			return fmt.Sprintf("%q", t)
		}
		return strings.TrimSpace(string(b))
	default:
		return fmt.Sprint(t)
	}
}

// typeWords names JSON schema types the way a YAML author thinks of them.
func typeWords(names []string) string {
	words := map[string]string{
		"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true/false",
		"object": "a mapping", "array": "a list", "null": "empty",
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if w, ok := words[n]; ok {
			out = append(out, w)
		}
	}
	switch len(out) {
	case 0:
		return "another type"
	case 1:
		return strings.Replace(out[0], "true/false", "true or false", 1)
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}

// plural writes a count with its noun.
func plural(n any, one, many string) string {
	if fmt.Sprint(n) == "1" {
		return "1 " + one
	}
	return fmt.Sprintf("%v %s", n, many)
}

func enumWords(e any) string {
	list, _ := e.([]any)
	parts := make([]string, len(list))
	for i, v := range list {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ", ")
}
