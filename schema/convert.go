package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// converter walks the YAML tree once to refuse hostile files and record
// parse-level mistakes, and on request turns it into JSON-compatible
// values (map[string]any, []any, string, json.Number, bool, nil): the form
// the config is decoded from, through encoding/json, and the form
// gojsonschema checks in tests.
type converter struct {
	d     *document
	build bool // false: only check the tree, build no values
	nodes int
}

// maxNodes caps the keys and list entries of one manifest. A large config
// has a few thousand; past the cap, reporting every problem of a hostile
// file would cost more than it is worth.
const maxNodes = 20000

// convert returns the value of n. It returns a hostile-file Problem, and
// stops, on an alias or anchor (expanding them is how a small file becomes
// a huge one) or nesting deeper than maxDepth. Ordinary mistakes
// (duplicate keys, unknown tags) are recorded in d.probs and the
// conversion goes on.
func (c *converter) convert(n *yaml.Node, depth int) (any, *Problem) {
	if depth > maxDepth {
		return nil, &Problem{File: c.d.file, Line: n.Line, Column: n.Column,
			Message: fmt.Sprintf("nesting is deeper than %d levels", maxDepth), Allowed: "a manifest of ordinary depth"}
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		what := "anchor &" + n.Anchor
		if n.Kind == yaml.AliasNode {
			what = "alias *" + n.Value
		}
		return nil, &Problem{File: c.d.file, Line: n.Line, Column: n.Column,
			Message: "YAML " + what + " is not supported in manifests", Allowed: "write the value out in full"}
	}
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]any
		if c.build {
			m = make(map[string]any, len(n.Content)/2)
		}
		var keys map[string]bool // duplicate check for large mappings
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			c.nodes += 2
			if c.nodes > maxNodes {
				return nil, &Problem{File: c.d.file, Line: k.Line, Column: k.Column,
					Message: fmt.Sprintf("manifest has more than %d entries", maxNodes), Allowed: "a manifest of ordinary size"}
			}
			if k.Kind != yaml.ScalarNode || k.Anchor != "" {
				if k.Kind == yaml.AliasNode || k.Anchor != "" {
					_, p := c.convert(k, depth+1)
					return nil, p
				}
				if !c.d.probs.full() {
					c.d.probs.add(Problem{File: c.d.file, Line: k.Line, Column: k.Column, Field: c.d.fieldOf(n),
						Message: fmt.Sprintf("a key is %s", describeNode(k)), Allowed: "plain text keys"})
				}
				continue
			}
			cv, p := c.convert(v, depth+1)
			if p != nil {
				return nil, p
			}
			var dup bool
			if len(n.Content) > 64 {
				if keys == nil {
					keys = make(map[string]bool, len(n.Content)/2)
				}
				dup = keys[k.Value]
				keys[k.Value] = true
			} else {
				_, dup = firstKeyBefore(n, i)
			}
			if dup {
				if c.d.probs.full() {
					c.d.probs.dropped++
					continue
				}
				first, _ := firstKey(n, k.Value)
				c.d.probs.add(Problem{File: c.d.file, Line: k.Line, Column: k.Column, Field: c.d.fieldOf(v),
					Message: fmt.Sprintf("duplicate key %q (first at line %d)", k.Value, first.Line),
					Allowed: "each key once per mapping"})
				continue
			}
			if c.build {
				m[k.Value] = cv
			}
		}
		if !c.build {
			return nil, nil
		}
		return m, nil
	case yaml.SequenceNode:
		c.nodes += len(n.Content)
		if c.nodes > maxNodes {
			return nil, &Problem{File: c.d.file, Line: n.Line, Column: n.Column,
				Message: fmt.Sprintf("manifest has more than %d entries", maxNodes), Allowed: "a manifest of ordinary size"}
		}
		var s []any
		if c.build {
			s = make([]any, len(n.Content))
		}
		for i, e := range n.Content {
			cv, p := c.convert(e, depth+1)
			if p != nil {
				return nil, p
			}
			if c.build {
				s[i] = cv
			}
		}
		if !c.build {
			return nil, nil
		}
		return s, nil
	case yaml.ScalarNode:
		if !c.build {
			c.checkTag(n)
			return nil, nil
		}
		return c.scalar(n), nil
	}
	return nil, &Problem{File: c.d.file, Line: n.Line, Column: n.Column, Message: "unsupported YAML node"}
}

func (c *converter) scalar(n *yaml.Node) any {
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value
	case "!!null":
		return nil
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !math.IsInf(f, 0) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
		return n.Value
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			// .inf and .nan have no JSON form; as text they fail any
			// numeric field with a clear type error.
			return n.Value
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	default:
		if c.d.probs.full() {
			c.d.probs.dropped++
			return n.Value
		}
		c.d.probs.add(Problem{File: c.d.file, Line: n.Line, Column: n.Column, Field: c.d.fieldOf(n),
			Message: fmt.Sprintf("YAML tag %s is not supported", tag), Allowed: "plain values without tags"})
		return n.Value
	}
}

// checkTag reports a scalar's unsupported tag, as scalar does.
func (c *converter) checkTag(n *yaml.Node) {
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp", "!!binary", "!!null", "!!bool", "!!int", "!!float":
	default:
		c.scalar(n)
	}
}

// firstKeyBefore reports whether the key at index i of mapping m appeared
// before it.
func firstKeyBefore(m *yaml.Node, i int) (*yaml.Node, bool) {
	k := m.Content[i].Value
	for j := 0; j < i; j += 2 {
		if m.Content[j].Kind == yaml.ScalarNode && m.Content[j].Value == k {
			return m.Content[j], true
		}
	}
	return nil, false
}

// firstKey finds the first key named k in mapping m.
func firstKey(m *yaml.Node, k string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return m.Content[i], true
		}
	}
	return nil, false
}
