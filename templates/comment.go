package templates

import _ "embed"

// CommentMarkdown is the embedded pull request comment template (Go
// text/template producing GitHub Markdown), rendered by render.PRComment
// and replaceable by an admin's template.
//
//go:embed comment.md.tmpl
var CommentMarkdown string
