package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxManifestSize is the largest job.yaml or gitlaunch.yaml accepted, in
// bytes. Real manifests are a few hundred bytes; the cap keeps a hostile
// file from costing memory or time.
const MaxManifestSize = 1 << 20

// maxDepth caps how deeply mappings and lists may nest. The deepest real
// manifest (a config's volume source) nests about eight levels.
const maxDepth = 64

// document is one parsed manifest: its top-level mapping, with positions,
// and the same tree as JSON-compatible values for the JSON schema.
type document struct {
	file  string
	root  *yaml.Node // a MappingNode
	value map[string]any
	// probs collects what the parse itself found wrong (duplicate keys,
	// unsupported tags) next to the schema's and the checks' problems.
	probs *problemSet
}

// parseDocument parses data as a single YAML document whose top level is a
// mapping. A file that cannot be read as one (too big, binary, a syntax
// error, several documents, aliases, deep nesting) yields a single Problem
// and a nil document. values asks for document.value too (the config is
// decoded from it; jobs need only the tree).
func parseDocument(file string, data []byte, values bool) (*document, *Problem) {
	fail := func(line, col int, msg, allowed string) (*document, *Problem) {
		return nil, &Problem{File: file, Line: line, Column: col, Message: msg, Allowed: allowed}
	}
	if len(data) > MaxManifestSize {
		return fail(0, 0, fmt.Sprintf("file is %d bytes, too large for a manifest", len(data)),
			fmt.Sprintf("at most %d bytes (1 MiB)", MaxManifestSize))
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line, col := offsetPosition(data, i)
		return fail(line, col, "file contains a NUL byte; it looks binary", "UTF-8 text")
	}
	if !utf8.Valid(data) {
		line, col := offsetPosition(data, firstInvalidUTF8(data))
		return fail(line, col, "file is not valid UTF-8", "UTF-8 text")
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(1, 1, "file is empty (or only comments)", "a mapping starting with apiVersion: "+APIVersion)
		}
		line, msg := yamlErrorLine(err)
		return fail(line, 0, "invalid YAML: "+msg, "")
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		line, msg := yamlErrorLine(err)
		return fail(line, 0, "invalid YAML after the first document: "+msg, "one YAML document per file")
	case !isEmptyDocument(&next):
		return fail(next.Line, next.Column, "file holds more than one YAML document",
			"one document per file; remove the '---' separator and what follows")
	}

	if len(doc.Content) != 1 {
		return fail(1, 1, "file is empty (or only comments)", "a mapping starting with apiVersion: "+APIVersion)
	}
	top := doc.Content[0]
	d := &document{file: file, root: top, probs: &problemSet{}}
	c := converter{d: d, build: values}
	v, hostile := c.convert(top, 1)
	if hostile != nil {
		return nil, hostile
	}
	if top.Kind != yaml.MappingNode {
		return fail(top.Line, top.Column, fmt.Sprintf("top level is %s, not a mapping", describeNode(top)),
			"a mapping of fields, starting with apiVersion: "+APIVersion)
	}
	d.value, _ = v.(map[string]any)
	return d, nil
}

// isEmptyDocument reports whether a document has no content, as after a
// trailing "---"; such a document is harmless.
func isEmptyDocument(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return true
	}
	c := n.Content[0]
	return c.Kind == yaml.ScalarNode && c.Value == "" && c.ShortTag() == "!!null"
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErrorLine splits a yaml.v3 error into its line and its message.
// yaml.v3 leaves the line out when it is the first.
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if strings.HasPrefix(msg, "exceeded max depth") {
		return 0, fmt.Sprintf("nesting is deeper than %d levels", maxDepth)
	}
	return 1, msg
}

// offsetPosition turns a byte offset into a 1-based line and column
// (columns count runes, as editors do).
func offsetPosition(data []byte, off int) (int, int) {
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// converter turns the YAML tree into JSON-compatible values
// (map[string]any, []any, string, json.Number, bool, nil), the form
// gojsonschema validates.
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

// fieldOf renders the path of node target (a value or list entry) in the
// document. Only problems need paths, so they are found on demand rather
// than tracked during the conversion.
func (d *document) fieldOf(target *yaml.Node) string {
	var path []string
	var find func(n *yaml.Node, depth int) bool
	find = func(n *yaml.Node, depth int) bool {
		if n == target {
			return true
		}
		if depth > maxDepth {
			return false
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				path = append(path, n.Content[i].Value)
				if find(n.Content[i+1], depth+1) {
					return true
				}
				path = path[:len(path)-1]
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				path = append(path, strconv.Itoa(i))
				if find(e, depth+1) {
					return true
				}
				path = path[:len(path)-1]
			}
		}
		return false
	}
	if !find(d.root, 0) {
		return ""
	}
	return renderPath(path)
}

// appendPath returns path+seg without sharing path's backing array.
func appendPath(path []string, seg string) []string {
	out := make([]string, len(path)+1)
	copy(out, path)
	out[len(path)] = seg
	return out
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

// lookup finds the key and value nodes at path (segments: mapping keys,
// or decimal indexes into lists). It returns what it reached: for a
// missing leaf, key is nil and val is the nearest existing ancestor.
func (d *document) lookup(path []string) (key, val *yaml.Node, found bool) {
	val = d.root
	for _, seg := range path {
		switch val.Kind {
		case yaml.MappingNode:
			var next, nextKey *yaml.Node
			for i := 0; i+1 < len(val.Content); i += 2 {
				if k := val.Content[i]; k.Kind == yaml.ScalarNode && k.Value == seg {
					nextKey, next = k, val.Content[i+1]
					break // the first occurrence, as in the converted value
				}
			}
			if next == nil {
				return nil, val, false
			}
			key, val = nextKey, next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(val.Content) {
				return nil, val, false
			}
			key, val = nil, val.Content[i]
		default:
			return nil, val, false
		}
	}
	return key, val, true
}

// renderPath writes a path the way people write it: resources.gpu,
// datasets[1].name, env["A.B"].
func renderPath(path []string) string {
	var b strings.Builder
	for _, seg := range path {
		switch {
		case isIndex(seg):
			b.WriteString("[" + seg + "]")
		case plainKeyRE.MatchString(seg):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(seg)
		default:
			b.WriteString("[" + strconv.Quote(seg) + "]")
		}
	}
	return b.String()
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func isIndex(seg string) bool {
	if seg == "" {
		return false
	}
	for _, r := range seg {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
