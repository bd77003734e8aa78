package schema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

var (
	volumeSourceType = reflect.TypeFor[corev1.VolumeSource]()
	jsonUnmarshaler  = reflect.TypeFor[json.Unmarshaler]()
	quantityType     = reflect.TypeFor[resource.Quantity]()
)

// volumes checks every Kubernetes volume source in the config (datasets'
// volume, results.volume) against corev1.VolumeSource, which the JSON
// schema leaves open. It returns the paths of volumes with problems, to be
// kept out of decoding.
func (c *configChecker) volumes() [][]string {
	var places [][]string
	if ds, ok := c.d.value["datasets"].(map[string]any); ok {
		for _, name := range sortedKeys(ds) {
			if m, ok := ds[name].(map[string]any); ok {
				if _, ok := m["volume"].(map[string]any); ok {
					places = append(places, []string{"datasets", name, "volume"})
				}
			}
		}
	}
	if r, ok := c.d.value["results"].(map[string]any); ok {
		if _, ok := r["volume"].(map[string]any); ok {
			places = append(places, []string{"results", "volume"})
		}
	}
	var bad [][]string
	for _, p := range places {
		if !c.volume(p) {
			bad = append(bad, p)
		}
	}
	return bad
}

// volume checks one volume source and reports whether it is sound.
func (c *configChecker) volume(p []string) bool {
	before := len(c.d.probs.list)
	v := valueAt(c.d.value, p)
	c.walkType(p, v, volumeSourceType)
	if len(c.d.probs.list) > before {
		return false
	}
	var vs corev1.VolumeSource
	if err := decodeJSON(v, &vs, true); err != nil {
		c.jsonError(p, err)
		return false
	}
	var set []string
	rv := reflect.ValueOf(vs)
	for i := range rv.NumField() {
		if f := rv.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			set = append(set, jsonName(volumeSourceType.Field(i)))
		}
	}
	switch {
	case len(set) == 0:
		c.d.report(p, false, "volume sets no source", "one volume source such as persistentVolumeClaim, nfs or hostPath")
	case len(set) > 1:
		c.d.report(p, false, fmt.Sprintf("volume sets %d sources (%s)", len(set), strings.Join(set, ", ")),
			"exactly one volume source")
	default:
		return true
	}
	return false
}

// walkType reports every field of v that t (a Kubernetes API type, known
// by its json tags) does not have, at its key and with a suggestion, and
// every value of the wrong type. Decoding (with DisallowUnknownFields)
// would stop at the first, and could not say where it is.
func (c *configChecker) walkType(p []string, v any, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return // null leaves the field unset
	}
	if t == quantityType {
		if msg := checkQuantity(fmt.Sprint(v)); msg != "" {
			c.d.report(p, false, msg, "a quantity such as 10Gi or 500Mi")
		}
		return
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		// Custom formats such as resource.Quantity: decode this value
		// alone so that its error has a place.
		b, err := json.Marshal(v)
		if err == nil {
			err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b)
		}
		if err != nil {
			c.d.report(p, false, fmt.Sprintf("%s: %v", scalarWords(v), err), "")
		}
		return
	}
	if want, got := kindWords(t.Kind()), valueWords(v); want != "" && want != got {
		if got == "text" {
			got += " " + scalarWords(v)
		}
		c.d.report(p, false, fmt.Sprintf("must be %s, not %s", want, got), "")
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m := v.(map[string]any)
		fields := jsonFields(t)
		for _, k := range sortedKeys(m) {
			f, ok := fields[k]
			if !ok {
				known := sortedKeys(fields)
				msg := fmt.Sprintf("unknown field %q", k)
				if s := suggest(k, known); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				c.d.report(appendPath(p, k), true, msg, "known fields: "+strings.Join(known, ", "))
				continue
			}
			c.walkType(appendPath(p, k), m[k], f)
		}
	case reflect.Slice:
		if s, ok := v.([]any); ok {
			for i, e := range s {
				c.walkType(appendPath(p, fmt.Sprint(i)), e, t.Elem())
			}
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				c.walkType(appendPath(p, k), m[k], t.Elem())
			}
		}
	}
}

// kindWords names the kind of converted value a Go kind decodes from.
func kindWords(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	}
	return ""
}

// valueWords names the kind of a converted value, in kindWords' terms.
func valueWords(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case bool:
		return "true or false"
	case json.Number:
		return "a number"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return "empty"
}

// scalarWords quotes a converted scalar for a message.
func scalarWords(v any) string {
	switch t := v.(type) {
	case string:
		return quoteShort(t)
	case json.Number, bool:
		return fmt.Sprint(t)
	}
	return valueWords(v)
}

// jsonFields maps a struct's JSON field names to their types, including
// the fields of inlined embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := jsonName(f)
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(f.Tag.Get("json"), ",inline")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// valueAt returns the converted value at path, or nil.
func valueAt(v any, path []string) any {
	for _, seg := range path {
		switch t := v.(type) {
		case map[string]any:
			v = t[seg]
		case []any:
			i := -1
			fmt.Sscan(seg, &i)
			if i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

// without returns v with the values at paths removed, copying only the
// maps and lists on the way so that v itself is unchanged. Fields whose
// text would make a decoder give up (a duration out of range, a broken
// volume) are removed before decoding the rest.
func without(v any, paths [][]string) any {
	for _, p := range paths {
		v = withoutOne(v, p)
	}
	return v
}

func withoutOne(v any, p []string) any {
	if len(p) == 0 {
		return nil
	}
	switch t := v.(type) {
	case map[string]any:
		child, ok := t[p[0]]
		if !ok {
			return v
		}
		cp := make(map[string]any, len(t))
		for k, e := range t {
			cp[k] = e
		}
		if len(p) == 1 {
			delete(cp, p[0])
		} else {
			cp[p[0]] = withoutOne(child, p[1:])
		}
		return cp
	case []any:
		i := -1
		fmt.Sscan(p[0], &i)
		if i < 0 || i >= len(t) {
			return v
		}
		cp := append([]any(nil), t...)
		if len(p) == 1 {
			cp[i] = nil
		} else {
			cp[i] = withoutOne(t[i], p[1:])
		}
		return cp
	}
	return v
}
