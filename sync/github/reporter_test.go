package github

import (
	"context"
	"errors"
	"fmt"
	"html"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
)

func TestStatusPerJobFollowsTransitions(t *testing.T) {
	f := newReporterFixture(t)
	a := f.run("mnist", 0, mainSHA, engine.StateQueued)
	b := f.run("resnet", 0, mainSHA, engine.StateQueued)
	f.mustReport(a)
	f.mustReport(b)
	f.clock.Add(time.Second)
	f.mustReport(f.move(a, engine.StateRunning, nil))
	f.clock.Add(3*time.Minute + 12*time.Second)
	f.mustReport(f.move(a, engine.StateSucceeded, func(r *engine.Run) { r.Metrics = map[string]float64{"loss": 0.04, "accuracy": 98.2} }))
	f.mustReport(f.move(b, engine.StateFailed, func(r *engine.Run) { r.Reason = "exit code 1" }))

	all := f.gh.Statuses(fullName, mainSHA)
	var states []string
	for _, s := range all {
		if s.Context == "gitlaunch/mnist" {
			states = append(states, s.State)
		}
	}
	if got := strings.Join(states, ","); got != "pending,pending,success" {
		t.Errorf("mnist statuses = %s", got)
	}
	comb := f.gh.Combined(fullName, mainSHA)
	if len(comb) != 2 {
		t.Fatalf("contexts = %v", comb)
	}
	ok := comb["gitlaunch/mnist"]
	if ok.State != "success" || ok.Description != "succeeded in 3m12s · accuracy 98.2" || ok.TargetURL != "https://gitlaunch.example.com/runs/"+a.ID {
		t.Errorf("mnist status = %+v", ok)
	}
	if bad := comb["gitlaunch/resnet"]; bad.State != "failure" || bad.Description != "failed: exit code 1" {
		t.Errorf("resnet status = %+v", bad)
	}
	// Push runs have no pull request: no comment, no pull request lookup.
	if n := f.gh.Count("GET", "/pulls/"); n != 0 {
		t.Errorf("%d pull request lookups for push runs", n)
	}
}

func TestStatusStateMapping(t *testing.T) {
	want := map[engine.State]string{
		engine.StateQueued: "pending", engine.StateWaiting: "pending", engine.StatePending: "pending", engine.StateRunning: "pending",
		engine.StateSucceeded: "success", engine.StateFailed: "failure", engine.StateTimedOut: "failure", engine.StateInvalid: "failure",
		engine.StateError: "error", engine.StateCancelled: "error",
	}
	for st, w := range want {
		if got := StatusState(st); got != w {
			t.Errorf("%s → %s, want %s", st, got, w)
		}
	}
}

func TestOneCommentEditedInPlaceAndFoundAfterRestart(t *testing.T) {
	f := newReporterFixture(t)
	// Others talk first: our comment lands on the third page of 100.
	for i := range 230 {
		f.gh.AddComment(fullName, 7, "alice", fmt.Sprintf("comment %d", i))
	}
	// Someone quoting our marker is not us.
	f.gh.AddComment(fullName, 7, "mallory", CommentMarker+"\nfake")
	r := f.run("mnist", 7, headSHA, engine.StateQueued)
	f.mustReport(r)
	ours := f.ourComments(7)
	if len(ours) != 2 || ours[1].User != "gitlaunch-bot" {
		t.Fatalf("comments with the marker: %+v", ours)
	}
	id := ours[1].ID
	f.mustReport(f.move(r, engine.StateRunning, nil))
	if n := f.gh.Count("GET", "/issues/7/comments"); n != 3 {
		t.Errorf("listed %d pages; want 3 once, then the cached id", n)
	}

	// A new process: nothing cached, the marker finds the comment again.
	f.rep = f.newReporter(ReporterOptions{})
	f.clock.Add(time.Minute)
	f.mustReport(f.move(r, engine.StateSucceeded, func(r *engine.Run) { r.Metrics = map[string]float64{"accuracy": 98} }))
	ours = f.ourComments(7)
	if len(ours) != 2 || ours[1].ID != id {
		t.Fatalf("after restart: %d comments with the marker", len(ours))
	}
	if !strings.Contains(ours[1].Body, "✅ succeeded") {
		t.Errorf("comment not edited:\n%s", ours[1].Body)
	}
	if n := f.gh.Count("GET", "/issues/7/comments"); n != 6 {
		t.Errorf("comment pages listed %d times in all, want 6", n)
	}
	if n := f.gh.Count("POST", "/issues/7/comments"); n != 1 {
		t.Errorf("%d comments created", n)
	}
	// The same content again: no edit at all.
	edits := f.gh.Count("PATCH", "/issues/comments/")
	f.mustReport(r)
	if n := f.gh.Count("PATCH", "/issues/comments/"); n != edits {
		t.Errorf("an unchanged comment was edited again")
	}
}

func TestDeletedCommentIsWrittenAgain(t *testing.T) {
	f := newReporterFixture(t)
	r := f.run("mnist", 7, headSHA, engine.StateQueued)
	f.mustReport(r)
	f.gh.Fail(githubtest.Failure{Method: "PATCH", Path: "/issues/comments/", Status: 404, Body: `{"message":"Not Found"}`})
	f.mustReport(f.move(r, engine.StateRunning, nil))
	if n := f.gh.Count("POST", "/issues/7/comments"); n != 2 {
		t.Errorf("comment not recreated: %d creations", n)
	}
}

func TestConcurrentRunsMakeOneComment(t *testing.T) {
	f := newReporterFixture(t)
	var runs []*engine.Run
	for _, job := range []string{"a", "b", "c", "d", "e", "f"} {
		r := f.run(job, 7, headSHA, engine.StateQueued)
		runs = append(runs, f.move(r, engine.StateSucceeded, nil))
	}
	// Two reporters share nothing but the process-wide pull request lock
	// of one Reporter; the engine has one. Report all at once.
	var wg sync.WaitGroup
	errs := make(chan error, len(runs))
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.report(r)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ours := f.ourComments(7)
	if len(ours) != 1 {
		t.Fatalf("%d comments", len(ours))
	}
	for _, job := range []string{"a", "b", "c", "d", "e", "f"} {
		if !strings.Contains(ours[0].Body, "| "+job+" | ✅ succeeded") {
			t.Errorf("job %s missing from\n%s", job, ours[0].Body)
		}
	}
}

func TestServerErrorThenDelivered(t *testing.T) {
	f := newReporterFixture(t)
	r := f.run("mnist", 7, headSHA, engine.StateQueued)
	f.gh.Fail(githubtest.ServerError(502))
	err := f.report(r)
	if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "temporary") {
		t.Fatalf("first report: %v", err)
	}
	if len(f.gh.Statuses(fullName, headSHA)) != 0 {
		t.Fatal("a failed request changed state")
	}
	f.mustReport(r)
	if len(f.gh.Statuses(fullName, headSHA)) != 1 || len(f.ourComments(7)) != 1 {
		t.Error("the retry did not deliver")
	}
	// A failure in the comment step fails the report too, and the retry
	// writes the comment once.
	f.gh.Fail(githubtest.Failure{Method: "PATCH", Status: 503, Body: `{"message":"unavailable"}`})
	f.move(r, engine.StateRunning, nil)
	if err := f.report(r); err == nil {
		t.Fatal("comment failure not returned")
	}
	f.mustReport(r)
	if len(f.ourComments(7)) != 1 || !strings.Contains(f.ourComments(7)[0].Body, "running") {
		t.Error("retry did not edit the comment")
	}
	// Network errors are returned too.
	f.gh.Fail(githubtest.Failure{Method: "POST", Drop: true})
	if err := f.report(r); err == nil || !strings.Contains(err.Error(), "network") {
		t.Errorf("dropped connection: %v", err)
	}
}

func TestRateLimitsSayWhenToRetry(t *testing.T) {
	tests := []struct {
		name    string
		fail    githubtest.Failure
		atLeast time.Duration
	}{
		{"secondary 403", githubtest.SecondaryRateLimit(30 * time.Second), 29 * time.Second},
		{"429", githubtest.TooManyRequests(20 * time.Second), 19 * time.Second},
		{"403 with Retry-After only", githubtest.Failure{Status: 403, Body: `{"message":"slow down"}`,
			Header: map[string][]string{"Retry-After": {"40"}}}, 39 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReporterFixture(t)
			r := f.run("mnist", 0, mainSHA, engine.StateQueued)
			f.gh.Fail(tt.fail)
			err := f.report(r)
			at, ok := RetryAt(err)
			if !ok {
				t.Fatalf("not a RetryAfterError: %v", err)
			}
			var ra interface{ RetryAfter() time.Time }
			// The engine's clock (the outbox schedules by it) says when.
			if wait := at.Sub(f.clock.Now()); !errors.As(err, &ra) || wait < tt.atLeast || wait > tt.atLeast+2*time.Second || !ra.RetryAfter().Equal(at) {
				t.Errorf("retry after %v, want about %v", wait, tt.atLeast)
			}
		})
	}
	// The primary limit, exhausted: retry at its reset.
	f := newReporterFixture(t)
	reset := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	f.gh.SetRateLimit(5000, 0, reset)
	err := f.report(f.run("mnist", 0, mainSHA, engine.StateQueued))
	if at, ok := RetryAt(err); !ok || !at.Equal(reset) {
		t.Errorf("primary limit: %v (at %v, want %v)", err, at, reset)
	}
}

func TestRepositoryGoneIsAnError(t *testing.T) {
	f := newReporterFixture(t)
	r := f.run("mnist", 0, mainSHA, engine.StateQueued)
	f.gh.DeleteRepo(fullName)
	err := f.report(r)
	if err == nil || !strings.Contains(err.Error(), "not found on GitHub") || StatusCode(err) != 404 {
		t.Errorf("gone repository: %v", err)
	}
	if _, ok := RetryAt(err); ok {
		t.Error("a 404 is not a rate limit")
	}
	// Repositories without a GitHub name are not reported at all.
	f.repo.GitHub = ""
	if err := f.report(r); err != nil {
		t.Error(err)
	}
}

func TestHugeLogsKeepTheCommentWithinLimit(t *testing.T) {
	f := newReporterFixture(t)
	f.rep = f.newReporter(ReporterOptions{TailLines: 1 << 20, TailBytes: 1 << 20})
	for _, job := range []string{"a", "b"} {
		r := f.run(job, 7, headSHA, engine.StateQueued)
		f.move(r, engine.StateRunning, nil)
		var b strings.Builder
		for i := range 20000 {
			fmt.Fprintf(&b, "step %06d loss=%.4f ünïcode `tick`\n", i, 1/float64(i+1))
		}
		if err := f.st.AppendLog(context.Background(), r.ID, []byte(b.String())); err != nil {
			t.Fatal(err)
		}
		f.move(r, engine.StateFailed, func(r *engine.Run) { r.Reason = "exit code 1" })
		f.mustReport(r)
	}
	body := f.ourComments(7)[0].Body
	if len(body) > render.CommentLimit || !utf8.ValidString(body) {
		t.Fatalf("comment has %d bytes", len(body))
	}
	if !strings.Contains(body, "step 019999") || !strings.Contains(body, "<details>") {
		t.Errorf("the end of the log is missing")
	}
	if strings.Contains(body, "truncated") {
		t.Errorf("log tails should have been shortened, not the comment cut")
	}
}

func TestSecretsAreRedactedEverywhere(t *testing.T) {
	f := newReporterFixture(t)
	r := f.run("mnist", 7, headSHA, engine.StateQueued)
	f.move(r, engine.StateRunning, nil)
	log := "loading\nWANDB_API_KEY=" + secret + "\nauth " + ghToken + "\ntoken test-token used\nTraceback: boom\n"
	if err := f.st.AppendLog(context.Background(), r.ID, []byte(log)); err != nil {
		t.Fatal(err)
	}
	f.move(r, engine.StateFailed, func(r *engine.Run) { r.Reason = "exit code 1: key " + secret + " rejected" })
	f.mustReport(r)
	posted := []string{f.ourComments(7)[0].Body}
	for _, s := range f.gh.Statuses(fullName, headSHA) {
		posted = append(posted, s.Description)
	}
	for _, p := range posted {
		for _, leak := range []string{secret, ghToken, "test-token"} {
			if strings.Contains(p, leak) {
				t.Errorf("%q posted in:\n%s", leak, p)
			}
		}
	}
	if !strings.Contains(posted[0], "WANDB_API_KEY=***") || !strings.Contains(posted[1], "key *** rejected") {
		t.Errorf("redaction marks missing:\n%s\n%s", posted[0], posted[1])
	}
}

// TestSecretWithHTMLSpecialsIsRedactedBeforeEscaping reproduces issue 9
// finding 6: a secret holding & and < was escaped for the comment's HTML
// before redaction looked for it, and was posted. Every text of the run
// that reaches the comment carries it here: reason, metric name, artifact,
// problem and log tail.
func TestSecretWithHTMLSpecialsIsRedactedBeforeEscaping(t *testing.T) {
	const special = "p&ss<w0rd>|x"
	f := newReporterFixture(t)
	f.repo.Secrets = map[string]string{"API_KEY": special}
	r := f.run("mnist", 7, headSHA, engine.StateQueued)
	f.move(r, engine.StateRunning, nil)
	if err := f.st.AppendLog(context.Background(), r.ID, []byte("key="+special+"\n")); err != nil {
		t.Fatal(err)
	}
	f.move(r, engine.StateFailed, func(r *engine.Run) {
		r.Reason = "rejected " + special
		r.Metrics = map[string]float64{"a_" + special: 1}
		r.Artifacts = []engine.Artifact{{Path: "out/" + special + ".pt", Size: 3}}
		r.Problems = []schema.Problem{{File: "mnist/job.yaml", Line: 1, Message: "bad " + special}}
	})
	f.mustReport(r)
	posted := []string{f.ourComments(7)[0].Body}
	for _, s := range f.gh.Statuses(fullName, headSHA) {
		posted = append(posted, s.Description)
	}
	escaped := []string{special, html.EscapeString(special), render.Cell(special), "w0rd"}
	for _, p := range posted {
		for _, leak := range escaped {
			if strings.Contains(p, leak) {
				t.Errorf("%q posted in:\n%s", leak, p)
			}
		}
	}
	if !strings.Contains(posted[0], "key=***") || !strings.Contains(posted[0], "rejected ***") {
		t.Errorf("redaction marks missing:\n%s", posted[0])
	}
}

func TestInvalidManifestFailsWithProblems(t *testing.T) {
	f := newReporterFixture(t)
	r := f.run("broken", 7, headSHA, engine.StateInvalid)
	f.move(r, engine.StateInvalid, func(r *engine.Run) {
		r.Reason = "broken/job.yaml has 2 problem(s)"
		r.Problems = []schema.Problem{
			{File: "broken/job.yaml", Line: 4, Column: 1, Field: "comand", Message: "unknown field", Allowed: `did you mean "command"`},
			{File: "broken/job.yaml", Line: 6, Column: 8, Field: "resources.gpu", Message: "must be a whole number"},
		}
	})
	f.mustReport(r)
	st := f.gh.Combined(fullName, headSHA)["gitlaunch/broken"]
	if st.State != "failure" || !strings.Contains(st.Description, "invalid manifest") {
		t.Errorf("status = %+v", st)
	}
	body := f.ourComments(7)[0].Body
	for _, want := range []string{"`broken/job.yaml:4:1: comand: unknown field (did you mean \"command\")`", "broken/job.yaml:6:8: resources.gpu"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %s:\n%s", want, body)
		}
	}
}

func TestCommentGolden(t *testing.T) {
	f := newReporterFixture(t)
	// The base branch's baseline.
	base := f.run("mnist", 0, mainSHA, engine.StateQueued)
	f.move(base, engine.StateRunning, nil)
	f.move(base, engine.StateSucceeded, func(r *engine.Run) { r.Metrics = map[string]float64{"accuracy": 97.5, "loss": 0.05} })
	f.clock.Add(time.Hour)

	ok := f.run("mnist", 7, headSHA, engine.StateQueued)
	f.move(ok, engine.StateRunning, func(r *engine.Run) { r.GPU, r.GPUModel = 1, "a100" })
	f.clock.Add(3*time.Minute + 12*time.Second)
	f.move(ok, engine.StateSucceeded, func(r *engine.Run) {
		r.Metrics = map[string]float64{"accuracy": 98.21, "loss": 0.0412}
		r.Artifacts = []engine.Artifact{{Path: "mnist_cnn.pt", Size: 1_685_126}}
	})
	bad := f.run("resnet", 7, headSHA, engine.StateQueued)
	f.move(bad, engine.StateRunning, nil)
	if err := f.st.AppendLog(context.Background(), bad.ID, []byte("epoch 1\nRuntimeError: CUDA out of memory\n")); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(12 * time.Second)
	f.move(bad, engine.StateFailed, func(r *engine.Run) { r.Reason = "exit code 1" })
	waiting := f.run("eval", 7, headSHA, engine.StateWaiting)
	waiting.Untrusted = true
	f.move(waiting, engine.StateWaiting, func(r *engine.Run) { r.Reason = "waiting for a collaborator to comment /gitlaunch ok-to-test" })
	// An older commit's run is not in the table.
	f.run("old", 7, mainSHA, engine.StateQueued)

	f.mustReport(bad)
	golden(t, filepath.Join("testdata", "comment.golden.md"), f.ourComments(7)[0].Body)
}
