package schema

// Wording shared by the schema interpreter and the checks: how values,
// types and examples read in a problem.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

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

// describeNode names a node's type for messages, YAML-style.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "empty"
	case "!!bool":
		return "a boolean " + n.Value
	case "!!int", "!!float":
		return "a number " + n.Value
	}
	return "text " + quoteShort(n.Value)
}

// quoteShort quotes s for a message, cut to a readable length.
func quoteShort(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}
