package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
// and for configs the same tree as JSON-compatible values.
type document struct {
	file  string
	root  *yaml.Node     // a MappingNode
	value map[string]any // nil unless asked for
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
