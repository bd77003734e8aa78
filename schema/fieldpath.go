package schema

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

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
