package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/xeipuuv/gojsonreference"
	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"
)

// valueLoader hands gojsonschema the already converted document. The
// library's own Go loader would marshal and re-parse it as JSON first.
type valueLoader struct{ v any }

func (l valueLoader) JsonSource() any        { return l.v }
func (l valueLoader) LoadJSON() (any, error) { return l.v, nil }
func (l valueLoader) JsonReference() (gojsonreference.JsonReference, error) {
	return gojsonreference.NewJsonReference("#")
}
func (l valueLoader) LoaderFactory() gojsonschema.JSONLoaderFactory {
	return &gojsonschema.DefaultJSONLoaderFactory{}
}

// validateSchema runs the JSON schema over d and words every error as a
// positioned Problem in d.probs.
func validateSchema(d *document, cs *compiledSchema) error {
	sch, tree, err := cs.get()
	if err != nil {
		return err
	}
	res, err := sch.Validate(valueLoader{d.value})
	if err != nil {
		return fmt.Errorf("validate %s against %s: %w", d.file, cs.name, err)
	}
	if res.Valid() {
		return nil
	}
	w := schemaWords{d: d, tree: schemaTree(tree)}
	errs := res.Errors()
	// gojsonschema reports in map order; sort so that the one problem
	// kept per field is always the same one.
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if a.Context().String() != b.Context().String() {
			return a.Context().String() < b.Context().String()
		}
		return a.Type() < b.Type()
	})
	for _, e := range errs {
		if d.probs.full() {
			d.probs.dropped++
			continue
		}
		w.word(e)
	}
	return nil
}

// schemaWords turns gojsonschema errors into Problems a person can act on,
// taking hints (known fields, patternErrorMessage, examples) from the
// schema itself so that editors and Load say the same thing.
type schemaWords struct {
	d    *document
	tree schemaTree
}

func (w schemaWords) word(e gojsonschema.ResultError) {
	path := strings.Split(e.Context().String("\x00"), "\x00")[1:] // drop "(root)"
	det := e.Details()
	prop, _ := det["property"].(string)
	sch := w.tree.at(path)
	key, val, found := w.d.lookup(path)
	if !found {
		return // cannot happen for errors about the document we converted
	}
	p := Problem{File: w.d.file, Line: val.Line, Column: val.Column, Field: renderPath(path)}

	switch e.Type() {
	case "required":
		sub := appendPath(path, prop)
		p.Field = renderPath(sub)
		p.Message = fmt.Sprintf("missing required field %q", prop)
		p.Allowed = exampleHint(prop, w.tree.at(sub))
	case "additional_property_not_allowed":
		sub := appendPath(path, prop)
		k, _, _ := w.d.lookup(sub)
		if k != nil {
			p.Line, p.Column = k.Line, k.Column
		}
		p.Field = renderPath(sub)
		known := sch.propertyNames()
		p.Message = fmt.Sprintf("unknown field %q", prop)
		if s := suggest(prop, known); s != "" {
			p.Message += fmt.Sprintf("; did you mean %q?", s)
		} else if elsewhere := w.tree.findProperty(prop); elsewhere != "" {
			p.Message += fmt.Sprintf("; did you mean %s (it belongs under %s)?", elsewhere, parentOf(elsewhere))
		}
		if len(known) > 0 {
			p.Allowed = "known fields: " + strings.Join(known, ", ")
		}
	case "invalid_property_name":
		sub := appendPath(path, prop)
		if k, _, _ := w.d.lookup(sub); k != nil {
			p.Line, p.Column = k.Line, k.Column
		}
		p.Field = renderPath(sub)
		p.Message = fmt.Sprintf("%q is not a valid key here", prop)
		if pn, ok := sch.keyword("propertyNames"); ok {
			p.Allowed = w.tree.resolve(pn).str("patternErrorMessage")
		}
	case "invalid_type":
		p.Message = fmt.Sprintf("must be %s, not %s", typeWords(sch.keywordAny("type")), describeNode(val))
		if val.ShortTag() == "!!null" && val.Kind == yaml.ScalarNode {
			p.Message = fmt.Sprintf("has no value; it must be %s", typeWords(sch.keywordAny("type")))
		}
		p.Allowed = exampleHint(lastSeg(path), sch)
	case "const":
		p.Message = fmt.Sprintf("%s is not supported", scalarText(val))
		p.Allowed = fmt.Sprintf("only %v", det["allowed"])
	case "enum":
		p.Message = fmt.Sprintf("%s is not one of the choices", scalarText(val))
		p.Allowed = "one of: " + enumWords(sch.keywordAny("enum"))
	case "pattern", "format", "string_gte", "string_lte":
		if val.Kind != yaml.ScalarNode {
			// Raised by propertyNames on the object itself; the
			// invalid_property_name error already points at the key.
			return
		}
		switch e.Type() {
		case "string_gte":
			p.Message = "must not be empty"
			p.Allowed = exampleHint(lastSeg(path), sch)
		case "string_lte":
			p.Message = fmt.Sprintf("is %d characters long", len([]rune(val.Value)))
			p.Allowed = fmt.Sprintf("at most %v characters", det["max"])
		default:
			p.Message = fmt.Sprintf("%s is not valid", quoteShort(val.Value))
			p.Allowed = sch.str("patternErrorMessage")
		}
	case "number_gte", "number_gt":
		p.Message = fmt.Sprintf("%s is too small", val.Value)
		p.Allowed = fmt.Sprintf("at least %v", det["min"])
		if e.Type() == "number_gt" {
			p.Allowed = fmt.Sprintf("more than %v", det["min"])
		}
	case "number_lte", "number_lt":
		p.Message = fmt.Sprintf("%s is too large", val.Value)
		p.Allowed = fmt.Sprintf("at most %v", det["max"])
		if e.Type() == "number_lt" {
			p.Allowed = fmt.Sprintf("less than %v", det["max"])
		}
	case "array_min_items":
		p.Message = "must not be an empty list"
		p.Allowed = fmt.Sprintf("at least %v", plural(det["min"], "entry", "entries"))
	case "array_min_properties":
		p.Message = "must not be an empty mapping"
		if known := sch.propertyNames(); len(known) > 0 {
			p.Allowed = "at least one of: " + strings.Join(known, ", ")
		}
	case "unique":
		j, _ := det["j"].(int)
		sub := appendPath(path, fmt.Sprint(j))
		if _, v, ok := w.d.lookup(sub); ok {
			p.Line, p.Column = v.Line, v.Column
			p.Message = fmt.Sprintf("%s is listed twice", scalarText(v))
		} else {
			p.Message = "has duplicate entries"
		}
		p.Field = renderPath(sub)
		p.Allowed = "each entry once"
	case "number_all_of":
		return // the failing member's own error says what is wrong
	default:
		p.Message = strings.ToLower(e.Description()[:1]) + e.Description()[1:]
	}
	_ = key
	w.d.probs.add(p)
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

func parentOf(field string) string {
	if i := strings.LastIndexByte(field, '.'); i > 0 {
		return field[:i]
	}
	return "the top level"
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
func typeWords(t any) string {
	var names []string
	switch v := t.(type) {
	case string:
		names = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				names = append(names, s)
			}
		}
	}
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
