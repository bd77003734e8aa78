package render

import (
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/gitlaunch/gitlaunch/templates"
)

// CommentLimit is the longest body GitHub accepts for an issue or pull
// request comment (it counts characters; we count bytes, which is never
// fewer).
const CommentLimit = 65536

// PRCommentData is everything a pull request comment shows. It is pure
// data: the reporter fills it from the store, the template turns it into
// Markdown.
type PRCommentData struct {
	// Marker is a hidden HTML comment that finds the comment again; it is
	// written first, whatever the template says.
	Marker string
	Repo   string // owner/name
	PR     int
	SHA    string // the head commit the table is for
	// ShortSHA is SHA's first 8 characters.
	ShortSHA string
	// Base is the target branch; metrics are compared with its latest
	// successful run of the same job.
	Base string
	Jobs []JobRow
	// Waiting is set when some run waits for /gitlaunch ok-to-test.
	Waiting bool
}

// JobRow is one job's latest run at the comment's commit.
type JobRow struct {
	Name     string
	JobPath  string
	RunID    string
	URL      string // the run's page on the syncer's dashboard; "" = none
	State    string // a sync.State value
	Reason   string
	Duration time.Duration
	GPU      int
	GPUModel string
	Metrics  []Metric
	// LogTail is the end of the log of a failed run, LogLines its lines.
	LogTail  string
	LogLines int
	// Artifacts, and how many more were left out of the list.
	Artifacts     []ArtifactRow
	MoreArtifacts int
	// Problems of an invalid manifest, each file:line:col: field: message.
	Problems  []string
	Untrusted bool
}

// Metric is one number a run reported, with the baseline's value when the
// base branch has a successful run that reported it.
type Metric struct {
	Name    string
	Value   float64
	Base    float64
	HasBase bool
}

// ArtifactRow is a file a run left.
type ArtifactRow struct {
	Path string
	Size int64
}

// CommentTemplate renders pull request comments.
type CommentTemplate struct{ t *template.Template }

// ParseCommentTemplate parses an admin's comment template (Go text/template
// over PRCommentData, with the helper functions of the default template).
// Unknown fields fail at parse time where they can, and at render time
// otherwise.
func ParseCommentTemplate(text string) (*CommentTemplate, error) {
	t, err := template.New("comment").Funcs(commentFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("comment template: %w", err)
	}
	return &CommentTemplate{t: t}, nil
}

var defaultComment = mustParse(templates.CommentMarkdown)

func mustParse(text string) *CommentTemplate {
	t, err := ParseCommentTemplate(text)
	if err != nil {
		panic(err)
	}
	return t
}

// DefaultCommentTemplate is the embedded templates/comment.md.tmpl.
func DefaultCommentTemplate() *CommentTemplate { return defaultComment }

// PRComment renders d with the default template.
func PRComment(d PRCommentData) (string, error) { return defaultComment.Render(d) }

// Render renders d: the marker line, then the template's output.
func (c *CommentTemplate) Render(d PRCommentData) (string, error) {
	if d.ShortSHA == "" {
		d.ShortSHA = shortSHA(d.SHA)
	}
	var b strings.Builder
	if d.Marker != "" {
		b.WriteString(d.Marker)
		b.WriteByte('\n')
	}
	if err := c.t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("comment template: %w", err)
	}
	return b.String(), nil
}

// TruncatedNote ends a comment that had to be cut to fit GitHub's limit.
const TruncatedNote = "\n\n… (comment truncated to fit GitHub's 65,536-character limit; the run pages have everything)\n"

// Fit renders d so that the result, after redact, is at most limit bytes:
// it shortens log tails first (halving them until none is left), and only
// then cuts the text at a rune boundary and appends TruncatedNote.
// Every text of d is redacted before the template escapes it (an escaped
// secret, "a&amp;b", no longer looks like the secret), and the result once
// more before any cut, so that a cut can never expose part of a secret.
func (c *CommentTemplate) Fit(d PRCommentData, limit int, redact func(string) string) (string, error) {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	d = d.Redact(redact)
	jobs := d.Jobs
	for {
		s, err := c.Render(d)
		if err != nil {
			return "", err
		}
		s = redact(s)
		if len(s) <= limit {
			return s, nil
		}
		if !halveTails(jobs) {
			return truncate(s, limit), nil
		}
	}
}

// Redact returns a copy of d with redact applied to every text that comes
// from a repository or a run. Call it before rendering: the template
// escapes what it shows, and redaction must see the text unescaped.
func (d PRCommentData) Redact(redact func(string) string) PRCommentData {
	d.Repo, d.Base = redact(d.Repo), redact(d.Base)
	jobs := make([]JobRow, len(d.Jobs))
	for i, j := range d.Jobs {
		j.Name, j.JobPath, j.Reason, j.GPUModel = redact(j.Name), redact(j.JobPath), redact(j.Reason), redact(j.GPUModel)
		j.LogTail = redact(j.LogTail)
		j.Metrics = append([]Metric(nil), j.Metrics...)
		for k := range j.Metrics {
			j.Metrics[k].Name = redact(j.Metrics[k].Name)
		}
		j.Artifacts = append([]ArtifactRow(nil), j.Artifacts...)
		for k := range j.Artifacts {
			j.Artifacts[k].Path = redact(j.Artifacts[k].Path)
		}
		j.Problems = append([]string(nil), j.Problems...)
		for k := range j.Problems {
			j.Problems[k] = redact(j.Problems[k])
		}
		jobs[i] = j
	}
	d.Jobs = jobs
	return d
}

// halveTails keeps the later half of every log tail; false when there was
// none left to shorten.
func halveTails(jobs []JobRow) bool {
	any := false
	for i := range jobs {
		j := &jobs[i]
		if j.LogTail == "" {
			continue
		}
		any = true
		lines := strings.Split(strings.TrimSuffix(j.LogTail, "\n"), "\n")
		if len(lines) <= 1 {
			// One huge line: keep its later half, on a rune boundary.
			if len(j.LogTail) < 64 {
				j.LogTail, j.LogLines = "", 0
				continue
			}
			cut := len(j.LogTail) / 2
			for cut < len(j.LogTail) && !utf8.RuneStart(j.LogTail[cut]) {
				cut++
			}
			j.LogTail = j.LogTail[cut:]
			continue
		}
		keep := lines[len(lines)/2+len(lines)%2:]
		j.LogTail, j.LogLines = strings.Join(keep, "\n")+"\n", len(keep)
	}
	return any
}

func truncate(s string, limit int) string {
	n := limit - len(TruncatedNote)
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + TruncatedNote
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
