package render

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestPodName(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		job, runID string
		attempt    int
		want       string // "" when only validity is checked
	}{
		{"mnist", testRunID, 1, "mnist-" + testRunID},
		{"mnist", testRunID, 0, "mnist-" + testRunID},
		{"mnist", testRunID, -3, "mnist-" + testRunID},
		{"mnist", testRunID, 2, "mnist-" + testRunID + "-2"},
		{"Train_ResNet.50", testRunID, 1, "train-resnet-50-" + testRunID},
		{"--edge--", testRunID, 1, "edge-" + testRunID},
		{"", testRunID, 1, "job-" + testRunID},
		{"모델", testRunID, 1, "job-" + testRunID},
		{strings.Repeat("a", 63), testRunID, 1, strings.Repeat("a", 42) + "-" + testRunID},
		{strings.Repeat("a", 63), testRunID, 12, strings.Repeat("a", 39) + "-" + testRunID + "-12"},
		{strings.Repeat("a", 41) + "-b", testRunID, 1, strings.Repeat("a", 41) + "-" + testRunID},
		{long, testRunID, 1 << 62, ""},
		{"mnist", "NOT-A-RUN-ID", 1, ""},
		{"mnist", "", 1, ""},
		{"mnist", long, 1, ""},
		{"mnist", "short", 1, ""},
	}
	for _, tt := range tests {
		got := AttemptPodName(tt.job, tt.runID, tt.attempt)
		if tt.want != "" && got != tt.want {
			t.Errorf("AttemptPodName(%q, %q, %d) = %q, want %q", tt.job, tt.runID, tt.attempt, got, tt.want)
		}
		if msgs := validation.IsDNS1123Label(got); len(msgs) > 0 {
			t.Errorf("AttemptPodName(%q, %q, %d) = %q: %v", tt.job, tt.runID, tt.attempt, got, msgs)
		}
		if again := AttemptPodName(tt.job, tt.runID, tt.attempt); again != got {
			t.Errorf("not deterministic: %q then %q", got, again)
		}
		if tt.attempt <= 1 && PodName(tt.job, tt.runID) != got {
			t.Errorf("PodName(%q, %q) != AttemptPodName(..., %d)", tt.job, tt.runID, tt.attempt)
		}
	}
}

func TestPodNameDistinct(t *testing.T) {
	seen := map[string]string{}
	add := func(key, name string) {
		t.Helper()
		if prev, ok := seen[name]; ok {
			t.Errorf("%s and %s both named %q", prev, key, name)
		}
		seen[name] = key
	}
	long := strings.Repeat("very-long-job-name-", 5)
	for _, job := range []string{"mnist", long, long + "x"} {
		for _, id := range []string{testRunID, "k5nq2vx7m3abcdefgh2k", "aaaaaaaaaaaaaaaaaaaa", "run-1", "run-2", "RUN-1", ""} {
			if job == long+"x" { // cut to the same prefix as long: only the run ID tells them apart
				continue
			}
			for _, attempt := range []int{1, 2, 3, 10} {
				add(fmt.Sprintf("%s/%s/%d", job, id, attempt), AttemptPodName(job, id, attempt))
			}
		}
	}
	// A short run ID cannot pass for an attempt suffix.
	if AttemptPodName("job-abc", "2", 1) == AttemptPodName("job", "abc", 2) {
		t.Error("attempt suffix collides with a run ID")
	}
}

func TestLabelValue(t *testing.T) {
	tests := []struct {
		in, want string // want "" with in != "": only validity and the hash suffix are checked
	}{
		{"", ""},
		{"mnist", "mnist"},
		{"My_Repo.git", "My_Repo.git"},
		{testSHA, testSHA},
		{"pull_request", "pull_request"},
		{strings.Repeat("a", 63), strings.Repeat("a", 63)},
		{"a/b", ""},
		{"모델-실험", ""},
		{"-leading", ""},
		{"trailing.", ""},
		{strings.Repeat("a", 64), ""},
		{strings.Repeat("long-repository-name-", 10), ""},
		{"$(rm -rf /)\n`id`", ""},
		{"...", ""},
	}
	for _, tt := range tests {
		got := LabelValue(tt.in)
		if msgs := validation.IsValidLabelValue(got); len(msgs) > 0 {
			t.Errorf("LabelValue(%q) = %q: %v", tt.in, got, msgs)
		}
		if tt.want != "" || tt.in == "" {
			if got != tt.want {
				t.Errorf("LabelValue(%q) = %q, want %q", tt.in, got, tt.want)
			}
			continue
		}
		if !strings.HasSuffix(got, shortHash(tt.in)) {
			t.Errorf("LabelValue(%q) = %q: changed without a hash suffix", tt.in, got)
		}
		if LabelValue(tt.in) != got {
			t.Errorf("LabelValue(%q) not deterministic", tt.in)
		}
	}
	if LabelValue("a/b") == LabelValue("a-b") || LabelValue("a/b") == LabelValue("a:b") {
		t.Error("inputs that sanitize alike must still differ")
	}
	if got := LabelValue(strings.Repeat("long-repository-name-", 10)); !strings.HasPrefix(got, "long-repository-name-") {
		t.Errorf("truncation lost the readable prefix: %q", got)
	}
}

func TestMountName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"vision-lab", "vision-lab"},
		{"My_Repo.git", "My_Repo.git"},
		{"모델-실험", "모델-실험"},
		{"a/b", "a_b"},
		{"..", "repo"},
		{".", "repo"},
		{"", "repo"},
		{"../etc", ".._etc"},
		{"x\x00y\nz", "x_y_z"},
		{"with space", "with_space"},
		{"$(rm -rf /)", "__rm_-rf___"},
		{"bad\xffutf8", "bad_utf8"},
	}
	for _, tt := range tests {
		if got := MountName(tt.in); got != tt.want {
			t.Errorf("MountName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("모", 200)
	got := MountName(long)
	if len(got) > maxMountName || !utf8.ValidString(got) || !strings.HasSuffix(got, shortHash(long)) {
		t.Errorf("MountName(200 Hangul) = %q (%d bytes)", got, len(got))
	}
}

func checkMountName(t *testing.T, in string) {
	got := MountName(in)
	if got == "" || got == "." || got == ".." || len(got) > maxMountName || !utf8.ValidString(got) ||
		strings.ContainsAny(got, "/\x00\n\r\t $`'\"\\;&|()<>*?[]{}!#~") {
		t.Errorf("MountName(%q) = %q: not a safe path element", in, got)
	}
}

func FuzzPodName(f *testing.F) {
	f.Add("mnist", testRunID, 1)
	f.Add("Train_ResNet.50", "run-1", 2)
	f.Add(strings.Repeat("a", 100), strings.Repeat("b", 100), 1<<40)
	f.Add("모델", "", -1)
	f.Fuzz(func(t *testing.T, job, runID string, attempt int) {
		got := AttemptPodName(job, runID, attempt)
		if msgs := validation.IsDNS1123Label(got); len(msgs) > 0 {
			t.Fatalf("AttemptPodName(%q, %q, %d) = %q: %v", job, runID, attempt, got, msgs)
		}
		if got != AttemptPodName(job, runID, attempt) {
			t.Fatal("not deterministic")
		}
		if attempt > 1 && got == PodName(job, runID) {
			t.Fatalf("attempt %d has the first Pod's name %q", attempt, got)
		}
	})
}

func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{"", "mnist", "My_Repo.git", "모델-실험", "a/b", strings.Repeat("x", 64), "$(rm -rf /)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := LabelValue(s)
		if msgs := validation.IsValidLabelValue(got); len(msgs) > 0 {
			t.Fatalf("LabelValue(%q) = %q: %v", s, got, msgs)
		}
		if len(validation.IsValidLabelValue(s)) == 0 && got != s {
			t.Fatalf("LabelValue changed the valid value %q to %q", s, got)
		}
		if LabelValue(got) != got {
			t.Fatalf("LabelValue(%q) = %q is not a fixed point", s, got)
		}
		checkMountName(t, s)
		if v := dnsLabel(VolumeDatasetPrefix, s); len(validation.IsDNS1123Label(v)) > 0 {
			t.Fatalf("dnsLabel(%q) = %q", s, v)
		}
	})
}
