package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const testMarker = "<!-- gitlaunch:pr-comment -->"

func commentCases() map[string]PRCommentData {
	sha := "4f2a9c1de0b7a6f5e4d3c2b1a0f9e8d7c6b5a493"
	url := func(id string) string { return "https://gitlaunch.example.com/runs/" + id }
	return map[string]PRCommentData{
		"mixed": {
			Marker: testMarker, Repo: "octo-org/models", PR: 7, SHA: sha, Base: "main",
			Jobs: []JobRow{
				{Name: "mnist", JobPath: "mnist/job.yaml", RunID: "abcdefghijklmnopqrst", URL: url("abcdefghijklmnopqrst"),
					State: "succeeded", Duration: 3*time.Minute + 12*time.Second, GPU: 1, GPUModel: "a100",
					Metrics:   []Metric{{Name: "accuracy", Value: 98.21, Base: 97.5, HasBase: true}, {Name: "loss", Value: 0.0412, Base: 0.0412, HasBase: true}, {Name: "new_metric", Value: 3}},
					Artifacts: []ArtifactRow{{Path: "mnist_cnn.pt", Size: 1_685_126}, {Path: "metrics.json", Size: 48}}},
				{Name: "resnet", JobPath: "resnet/job.yaml", RunID: "bcdefghijklmnopqrstu", URL: url("bcdefghijklmnopqrstu"),
					State: "failed", Reason: "exit code 1", Duration: 12 * time.Second, GPU: 2,
					LogTail: "epoch 1\nTraceback (most recent call last):\n  File \"train.py\", line 3\n```\nRuntimeError: CUDA out of memory\n", LogLines: 5},
				{Name: "eval", JobPath: "eval/job.yaml", RunID: "cdefghijklmnopqrstuv", URL: url("cdefghijklmnopqrstuv"),
					State: "running", Duration: 45 * time.Second},
				{Name: "bench", JobPath: "bench/job.yaml", RunID: "defghijklmnopqrstuvw", URL: url("defghijklmnopqrstuvw"),
					State: "queued", Reason: "queued: position 1 of 2 (limit 4 runs at once)"},
				{Name: "broken", JobPath: "broken/job.yaml", RunID: "efghijklmnopqrstuvwx", URL: url("efghijklmnopqrstuvwx"),
					State: "invalid", Reason: "broken/job.yaml has 2 problem(s)",
					Problems: []string{`broken/job.yaml:4:1: comand: unknown field (did you mean "command")`, "broken/job.yaml:5:8: resources.gpu: must be ≥ 0 (a count)"}},
			},
		},
		"waiting": {
			Marker: testMarker, Repo: "octo-org/models", PR: 8, SHA: sha, Base: "main",
			Waiting: true,
			Jobs: []JobRow{{Name: "mnist", JobPath: "mnist/job.yaml", RunID: "fghijklmnopqrstuvwxy", State: "waiting",
				Reason: "waiting for a collaborator to comment /gitlaunch ok-to-test", Untrusted: true}},
		},
		"empty": {Marker: testMarker, Repo: "octo-org/models", PR: 9, SHA: sha},
		"hostile": {
			Marker: testMarker, Repo: "octo-org/models", PR: 10, SHA: sha, Base: "main",
			Jobs: []JobRow{{Name: "x", JobPath: "a|b/`job`.yaml", RunID: "ghijklmnopqrstuvwxyz",
				State: "failed", Reason: "boom | <script>alert(1)</script>\nsecond line",
				Metrics: []Metric{{Name: "a|<b>", Value: 1}},
				LogTail: "\x1b[31mred\x1b[0m\rprogress\n</details><img src=x>\n````\n", LogLines: 3,
				Artifacts: []ArtifactRow{{Path: "we`ird|name.bin", Size: 5 << 30}}, MoreArtifacts: 3}},
		},
	}
}

func TestPRCommentGolden(t *testing.T) {
	for name, d := range commentCases() {
		t.Run(name, func(t *testing.T) {
			got, err := PRComment(d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, testMarker+"\n") {
				t.Errorf("comment does not start with the marker:\n%s", got)
			}
			golden(t, filepath.Join("testdata", "report", name+".md"), got)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestPRCommentHostileInputStaysContained(t *testing.T) {
	got, err := PRComment(commentCases()["hostile"])
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>", "\x1b", "\r"} {
		if strings.Contains(got, bad) {
			t.Errorf("comment contains %q:\n%s", bad, got)
		}
	}
	// Every table row keeps its 6 columns: the escaped pipes do not count.
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "| x ") {
			if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != 7 {
				t.Errorf("row has %d separators: %s", n, line)
			}
		}
	}
	// The log's ```` cannot close the fence: the fence is longer.
	if !strings.Contains(got, "`````text\n") {
		t.Errorf("fence not lengthened:\n%s", got)
	}
}

func TestFitShrinksLogTailsThenTruncates(t *testing.T) {
	line := strings.Repeat("x", 99) + "\n"
	d := PRCommentData{Marker: testMarker, SHA: "4f2a9c1de0b7a6f5", Jobs: []JobRow{
		{Name: "a", State: "failed", LogTail: strings.Repeat(line, 2000), LogLines: 2000},
		{Name: "b", State: "failed", LogTail: strings.Repeat(line, 10), LogLines: 10},
	}}
	full, _ := PRComment(d)
	if len(full) <= CommentLimit {
		t.Fatalf("test comment too short: %d", len(full))
	}
	got, err := DefaultCommentTemplate().Fit(d, CommentLimit, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > CommentLimit {
		t.Fatalf("fit comment has %d bytes", len(got))
	}
	if strings.Contains(got, "truncated") {
		t.Errorf("shrinking log tails should have been enough")
	}
	if !strings.Contains(got, "</details>") || !strings.HasPrefix(got, testMarker) {
		t.Errorf("fit comment lost its structure")
	}

	// Many jobs with problems: nothing to shrink, so the text is cut.
	var jobs []JobRow
	for i := range 3000 {
		jobs = append(jobs, JobRow{Name: "job", State: "invalid", Problems: []string{strings.Repeat("é", 20) + string(rune('a'+i%26))}})
	}
	got, err = DefaultCommentTemplate().Fit(PRCommentData{Marker: testMarker, Jobs: jobs}, CommentLimit, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > CommentLimit || !strings.HasSuffix(got, TruncatedNote) || !utf8.ValidString(got) {
		t.Errorf("truncated comment: %d bytes, valid UTF-8 %v, suffix ok %v", len(got), utf8.ValidString(got), strings.HasSuffix(got, TruncatedNote))
	}
}

func TestFitRedactsBeforeCutting(t *testing.T) {
	secret := "hunter2-very-secret"
	d := PRCommentData{Marker: testMarker, Jobs: []JobRow{{Name: "a", State: "failed",
		LogTail: strings.Repeat("token="+secret+"\n", 3000), LogLines: 3000}}}
	got, err := DefaultCommentTemplate().Fit(d, CommentLimit, func(s string) string { return strings.ReplaceAll(s, secret, "***") })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "hunter2") {
		t.Error("secret survived")
	}
	// The redacted text is short enough that no tail had to be cut.
	if !strings.Contains(got, "token=***") || len(got) > CommentLimit {
		t.Errorf("unexpected result (%d bytes)", len(got))
	}
}

func TestParseCommentTemplate(t *testing.T) {
	if _, err := ParseCommentTemplate("{{.Jobs"); err == nil {
		t.Error("a broken template parsed")
	}
	ct, err := ParseCommentTemplate("{{range .Jobs}}{{.Name}}={{emoji .State}} {{end}}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ct.Render(PRCommentData{Marker: testMarker, Jobs: []JobRow{{Name: "a", State: "succeeded"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got != testMarker+"\na=✅ " {
		t.Errorf("admin template: %q", got)
	}
	bad, _ := ParseCommentTemplate("{{.NoSuchField}}")
	if _, err := bad.Render(PRCommentData{}); err == nil {
		t.Error("an unknown field rendered")
	}
}

func TestStatusDescription(t *testing.T) {
	long := strings.Repeat("ü", 300)
	tests := []struct {
		name string
		in   StatusData
		want string
	}{
		{"succeeded with metric", StatusData{State: "succeeded", Duration: 192 * time.Second,
			Headline: &Metric{Name: "accuracy", Value: 98.21, Base: 97.5, HasBase: true}}, "succeeded in 3m12s · accuracy 98.21 (+0.71, +0.7%)"},
		{"failed", StatusData{State: "failed", Reason: "exit code 1", Duration: 12 * time.Second}, "failed after 12s: exit code 1"},
		{"timed out", StatusData{State: "timed_out", Reason: "deadline", Duration: time.Hour}, "timed out after 1h0m0s: deadline"},
		{"queued", StatusData{State: "queued", Reason: "queued: position 1 of 2"}, "queued: position 1 of 2"},
		{"pending", StatusData{State: "pending"}, "pending"},
		{"pending with reason", StatusData{State: "pending", Reason: "starting"}, "pending: starting"},
		{"running", StatusData{State: "running", Duration: 5 * time.Second}, "running for 5s"},
		{"waiting", StatusData{State: "waiting"}, "waiting for a collaborator's /gitlaunch ok-to-test"},
		{"invalid", StatusData{State: "invalid", Reason: "a/job.yaml has 2 problem(s)"}, "invalid manifest: a/job.yaml has 2 problem(s)"},
		{"newlines", StatusData{State: "error", Reason: "a\nb\r\n  c"}, "error: a b c"},
		{"long reason", StatusData{State: "failed", Reason: long}, "failed: " + strings.Repeat("ü", 131) + "…"},
		{"long reason keeps metric", StatusData{State: "failed", Reason: long, Headline: &Metric{Name: "loss", Value: 1}},
			"failed: " + strings.Repeat("ü", 122) + "…" + " · loss 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StatusDescription(tt.in)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > StatusLimit {
				t.Errorf("%d runes", n)
			}
		})
	}
}

func TestFormatHelpers(t *testing.T) {
	tests := []struct{ got, want string }{
		{HumanSize(0), "0 B"},
		{HumanSize(1023), "1023 B"},
		{HumanSize(1536), "1.5 KiB"},
		{HumanSize(1_685_126), "1.6 MiB"},
		{HumanSize(5 << 30), "5.0 GiB"},
		{Change(1, 1), "±0"},
		{Change(0.5, 1), "−0.5, −50.0%"},
		{Change(3, 0), "+3"},
		{FormatDuration(0), "–"},
		{FormatDuration(450 * time.Millisecond), "450ms"},
		{FormatDuration(12340 * time.Millisecond), "12.3s"},
		{FormatGPU(0, ""), "–"},
		{FormatGPU(2, "h100"), "2 × h100"},
		{InlineCode("a`b"), "``a`b``"},
		{InlineCode("`x"), "`` `x ``"},
		{Cell("a|b\nc<d>"), `a\|b c&lt;d&gt;`},
		{TruncateRunes("héllo", 3), "hé…"},
		{StripControl("a\x1b[1;31mb\x1b[0m\rc\x00"), "abc"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}
