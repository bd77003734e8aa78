package schema

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a manifest, positioned so that a person
// (or an editor) can jump to it.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`              // 1-based; 0 when unknown
	Column  int    `json:"column"`            // 1-based; 0 when unknown
	Field   string `json:"field,omitempty"`   // path such as resources.gpu or datasets[0].name
	Message string `json:"message"`           // what is wrong
	Allowed string `json:"allowed,omitempty"` // what would be accepted
}

// String formats the problem as file:line:col: field: message (allowed),
// leaving out the column, or line and column, when unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Allowed != "" {
		b.WriteString(" (")
		b.WriteString(p.Allowed)
		b.WriteString(")")
	}
	return b.String()
}

// Problems is every problem found in one or more manifests. It is the error
// Load returns when anything is wrong.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
