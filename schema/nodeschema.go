package schema

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The embedded schemas are applied by a small interpreter that walks the
// yaml.Node tree itself: it reads positions straight off the nodes, words
// each problem for a YAML author, and costs a fraction of converting the
// tree to JSON values for a general validator. It understands the draft-07
// keywords the schemas use (supportedKeywords; a test keeps the schemas to
// them), and tests hold it to github.com/xeipuuv/gojsonschema on every
// testdata file and every fuzz input.

// jsonValue is how a YAML scalar reads as JSON, the way the converter
// turns it into a value: its JSON type, and its number or text.
type jsonValue struct {
	kind string // "string", "number", "boolean", "null"
	num  float64
	text string
}

func scalarJSON(n *yaml.Node) jsonValue {
	switch n.ShortTag() {
	case "!!null":
		return jsonValue{kind: "null"}
	case "!!bool":
		return jsonValue{kind: "boolean", text: strings.ToLower(n.Value)}
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return jsonValue{kind: "number", num: float64(i), text: n.Value}
		}
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !math.IsInf(f, 0) {
			return jsonValue{kind: "number", num: f, text: n.Value}
		}
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return jsonValue{kind: "number", num: f, text: n.Value}
		}
	}
	return jsonValue{kind: "string", text: n.Value}
}

// kindOf is a node's JSON type.
func kindOf(n *yaml.Node) (string, jsonValue) {
	switch n.Kind {
	case yaml.MappingNode:
		return "object", jsonValue{}
	case yaml.SequenceNode:
		return "array", jsonValue{}
	}
	v := scalarJSON(n)
	return v.kind, v
}

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

// schemaChecker applies rules to a document.
type schemaChecker struct {
	d    *document
	tree schemaTree // for pointing a misplaced field home
	// path is where the walk is; one stack for the whole walk, copied
	// only when a problem needs it.
	path []string
}

// enter and leave move the walk into a child and back out.
func (c *schemaChecker) enter(seg string) { c.path = append(c.path, seg) }
func (c *schemaChecker) leave()           { c.path = c.path[:len(c.path)-1] }

// check applies r to node n at path and reports whether n passed.
func (c *schemaChecker) check(n *yaml.Node, r *rule) bool {
	return c.checkIn(n, r, nil)
}

// checkIn is check for a rule that is a member ($ref or allOf) of others
// whose hints (a field's examples sit next to its $ref) also apply.
func (c *schemaChecker) checkIn(n *yaml.Node, r *rule, outer schemaNode) bool {
	if c.d.probs.full() {
		c.d.probs.dropped++
		return false
	}
	ok := true
	for _, sub := range r.all {
		if !c.checkIn(n, sub, withOuter(r.hint, outer)) {
			ok = false
		}
	}
	if !ok {
		return false // the member said what is wrong; more would repeat it
	}
	kind, v := kindOf(n)
	if len(r.types) > 0 && !typeMatches(r.types, kind, v) {
		msg := fmt.Sprintf("must be %s, not %s", typeWords(r.types), describeNode(n))
		if kind == "null" {
			msg = fmt.Sprintf("has no value; it must be %s", typeWords(r.types))
		}
		c.problem(n, "", msg, exampleHint(lastSeg(c.path), withOuter(r.hint, outer)))
		return false
	}
	if r.hasConst && !jsonEqual(n, kind, v, r.constVal) {
		c.problem(n, "", fmt.Sprintf("%s is not supported", scalarText(n)), fmt.Sprintf("only %q", fmt.Sprint(r.constVal)))
		return false
	}
	if r.enum != nil && !slices.ContainsFunc(r.enum, func(e any) bool { return jsonEqual(n, kind, v, e) }) {
		c.problem(n, "", fmt.Sprintf("%s is not one of the choices", scalarText(n)), "one of: "+enumWords(r.enum))
		return false
	}
	switch kind {
	case "string":
		return c.checkString(n, r, outer, v.text)
	case "number":
		return c.checkNumber(n, r, v.num)
	case "object":
		return c.checkObject(n, r)
	case "array":
		return c.checkArray(n, r)
	}
	return true
}

// withOuter picks the hints for a rule that may be a member of others.
// An enclosing rule's hints already hold its members' (resolve flattens
// $ref and allOf), in order of precedence, and they add what sits next to
// a $ref, such as a field's examples.
func withOuter(own, outer schemaNode) schemaNode {
	if len(outer) > 0 {
		return outer
	}
	return own
}

func typeMatches(types []string, kind string, v jsonValue) bool {
	for _, t := range types {
		if t == kind || (t == "integer" && kind == "number" && v.num == math.Trunc(v.num)) {
			return true
		}
	}
	return false
}

// jsonEqual compares a scalar with a schema's const or enum value.
func jsonEqual(n *yaml.Node, kind string, v jsonValue, want any) bool {
	switch w := want.(type) {
	case string:
		return kind == "string" && v.text == w
	case float64:
		return kind == "number" && v.num == w
	case bool:
		return kind == "boolean" && v.text == strconv.FormatBool(w)
	case nil:
		return kind == "null"
	}
	return false
}

func (c *schemaChecker) checkString(n *yaml.Node, r *rule, outer schemaNode, s string) bool {
	length := -1
	runes := func() int {
		if length < 0 {
			length = utf8.RuneCountInString(s)
		}
		return length
	}
	switch {
	case r.minLen > 0 && runes() < r.minLen:
		if r.minLen == 1 {
			c.problem(n, "", "must not be empty", exampleHint(lastSeg(c.path), withOuter(r.hint, outer)))
		} else {
			c.problem(n, "", fmt.Sprintf("is %d characters long", runes()), fmt.Sprintf("at least %d characters", r.minLen))
		}
	case r.maxLen >= 0 && runes() > r.maxLen:
		c.problem(n, "", fmt.Sprintf("is %d characters long", runes()), fmt.Sprintf("at most %d characters", r.maxLen))
	case r.pattern != nil && !r.pattern.MatchString(s):
		c.problem(n, "", fmt.Sprintf("%s is not valid", quoteShort(s)), withOuter(r.hint, outer).str("patternErrorMessage"))
	default:
		return true
	}
	return false
}

func (c *schemaChecker) checkNumber(n *yaml.Node, r *rule, f float64) bool {
	switch {
	case r.minimum != nil && f < *r.minimum:
		c.problem(n, "", fmt.Sprintf("%s is too small", n.Value), fmt.Sprintf("at least %v", *r.minimum))
	case r.maximum != nil && f > *r.maximum:
		c.problem(n, "", fmt.Sprintf("%s is too large", n.Value), fmt.Sprintf("at most %v", *r.maximum))
	default:
		return true
	}
	return false
}

func (c *schemaChecker) checkObject(n *yaml.Node, r *rule) bool {
	ok := true
	pairs := len(n.Content) / 2
	// The first of duplicate keys counts, as in the converted value; the
	// parse already reported the others. Small mappings are searched
	// linearly: cheaper than a set.
	seen := func(i int) bool {
		k := n.Content[i].Value
		if pairs > 32 {
			return false // large mappings: duplicates were reported; checking all again is quadratic
		}
		for j := 0; j < i; j += 2 {
			if n.Content[j].Value == k {
				return true
			}
		}
		return false
	}
	present := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || seen(i) {
			continue
		}
		present++
		if r.keys != nil && !c.keyOK(k.Value, r.keys) {
			c.problem(k, k.Value, fmt.Sprintf("%q is not a valid key here", k.Value), patternHint(r.keys))
			ok = false
			continue
		}
		if pr, known := r.props[k.Value]; known {
			c.enter(k.Value)
			ok = c.check(v, pr) && ok
			c.leave()
			continue
		}
		switch {
		case r.additional != nil:
			c.enter(k.Value)
			ok = c.check(v, r.additional) && ok
			c.leave()
		case r.closed:
			msg := unknownField(k.Value, r.propNames)
			if !strings.Contains(msg, "did you mean") {
				if home := c.tree.findProperty(k.Value); home != "" && !strings.Contains(home, ".") {
					msg += fmt.Sprintf("; did you mean %s at the top level?", home)
				} else if home != "" {
					msg += fmt.Sprintf("; did you mean %s?", home)
				}
			}
			c.problem(k, k.Value, msg, knownFields(r.propNames))
			ok = false
		}
	}
	for _, name := range r.required {
		if _, found := firstKey(n, name); !found {
			c.problem(n, name, fmt.Sprintf("missing required field %q", name),
				exampleHint(name, r.props[name].hintOrNil()))
			ok = false
		}
	}
	if r.minProps > 0 && present < r.minProps {
		c.problem(n, "", "must not be an empty mapping", "at least one of: "+strings.Join(r.propNames, ", "))
		ok = false
	}
	return ok
}

func (r *rule) hintOrNil() schemaNode {
	if r == nil {
		return nil
	}
	return r.hint
}

// keyOK checks a mapping key against a propertyNames rule, quietly.
func (c *schemaChecker) keyOK(key string, r *rule) bool {
	for _, sub := range r.all {
		if !c.keyOK(key, sub) {
			return false
		}
	}
	if len(r.types) > 0 && !slices.Contains(r.types, "string") {
		return false
	}
	n := utf8.RuneCountInString(key)
	return n >= r.minLen && (r.maxLen < 0 || n <= r.maxLen) && (r.pattern == nil || r.pattern.MatchString(key))
}

// patternHint finds the patternErrorMessage of a rule or its members.
func patternHint(r *rule) string {
	if s := r.hint.str("patternErrorMessage"); s != "" {
		return s
	}
	for _, sub := range r.all {
		if s := patternHint(sub); s != "" {
			return s
		}
	}
	return ""
}

func (c *schemaChecker) checkArray(n *yaml.Node, r *rule) bool {
	ok := true
	if r.items != nil {
		for i, e := range n.Content {
			c.enter(strconv.Itoa(i))
			ok = c.check(e, r.items) && ok
			c.leave()
		}
	}
	if len(n.Content) < r.minItems {
		c.problem(n, "", "must not be an empty list", "at least "+plural(r.minItems, "entry", "entries"))
		ok = false
	}
	if r.unique {
		for j := 1; j < len(n.Content) && j < 1000; j++ {
			e := n.Content[j]
			if e.Kind != yaml.ScalarNode {
				continue
			}
			for _, prev := range n.Content[:j] {
				if prev.Kind == yaml.ScalarNode && scalarJSON(prev) == scalarJSON(e) {
					c.problem(e, strconv.Itoa(j), fmt.Sprintf("%s is listed twice", scalarText(e)), "each entry once")
					ok = false
					break
				}
			}
		}
	}
	return ok
}

func unknownField(name string, known []string) string {
	msg := fmt.Sprintf("unknown field %q", name)
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}

func knownFields(known []string) string {
	if len(known) == 0 {
		return ""
	}
	return "known fields: " + strings.Join(known, ", ")
}

// problem reports at node n: a value, a key, or the mapping a field is
// missing from. The field is the walk's path, plus child when the problem
// is about a child of the current node.
func (c *schemaChecker) problem(n *yaml.Node, child, msg, allowed string) {
	field := renderPath(c.path)
	if child != "" {
		field = renderPath(appendPath(c.path, child))
	}
	c.d.probs.add(Problem{File: c.d.file, Line: n.Line, Column: n.Column, Field: field, Message: msg, Allowed: allowed})
}
