package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
	gh "github.com/google/go-github/v60/github"
)

const hookSecret = "It's a Secret to Everybody"

const (
	prHead2  = "6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a"
	forkHead = "7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b"
)

type hookFixture struct {
	t     *testing.T
	gh    *githubtest.Server
	eng   *recordingEngine
	trust *Trust
	h     *WebhookHandler
	srv   *httptest.Server
	n     int
}

func newHookFixture(t *testing.T, o WebhookOptions, start bool) *hookFixture {
	t.Helper()
	f := &hookFixture{t: t, gh: githubtest.New(t), eng: newRecordingEngine()}
	f.gh.AddRepo(fullName)
	f.gh.SetPermission(fullName, "alice", "write")
	f.gh.SetPermission(fullName, "bob", "read")
	f.gh.SetPR(fullName, githubtest.PullRequest{Number: 7, User: "alice", AuthorAssociation: "COLLABORATOR",
		HeadRef: "bigger-batch", HeadSHA: prHead2, HeadRepo: fullName, BaseRef: "main", BaseSHA: mainSHA})
	f.gh.SetPR(fullName, githubtest.PullRequest{Number: 8, User: "mallory", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR",
		HeadRef: "patch-1", HeadSHA: forkHead, HeadRepo: "mallory/models", BaseRef: "main", BaseSHA: mainSHA})
	c := newClient(t, f.gh)
	var err error
	if f.trust, err = NewTrust(TrustOptions{Client: c}); err != nil {
		t.Fatal(err)
	}
	o.Secret, o.Engine, o.Trust, o.Client = []byte(hookSecret), f.eng, f.trust, c
	if f.h, err = NewWebhookHandler(o); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhook", f.h)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	if start {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { f.h.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	return f
}

// send posts a delivery signed with key ("" = unsigned).
func (f *hookFixture) send(event string, body []byte, key string) (int, string) {
	f.t.Helper()
	f.n++
	return f.sendID(event, fmt.Sprintf("72d3162e-cc78-11e3-81ab-4c9367dc%04d", f.n), body, key)
}

func (f *hookFixture) sendID(event, id string, body []byte, key string) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Hook-ID", "476123987")
	if key != "" {
		req.Header.Set("X-Hub-Signature-256", sign(body, key))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// settle waits until the worker handled everything queued.
func (f *hookFixture) settle() {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := f.h.Stats()
		if s.Handled == s.Queued {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("worker stuck: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhookSamples(t *testing.T) {
	tests := []struct {
		file, event string
		set         map[string]any // fields to change in the sample
		code        int
		calls       []string
		facts       *PRFacts
	}{
		{file: "ping.json", event: "ping", code: 200},
		{file: "push.json", event: "push", code: 202, calls: []string{"PollNow models"}},
		{file: "gitea_push.json", event: "push", code: 202, calls: []string{"PollNow models"}},
		{file: "pull_request_opened.json", event: "pull_request", code: 202, calls: []string{"PollNow models"},
			facts: &PRFacts{Base: "main", Branch: "bigger-batch", HeadSHA: headSHA, Author: "alice", Association: "COLLABORATOR", Open: true}},
		{file: "pull_request_synchronize.json", event: "pull_request", code: 202, calls: []string{"PollNow models"},
			facts: &PRFacts{Base: "main", Branch: "bigger-batch", HeadSHA: prHead2, Author: "alice", Association: "COLLABORATOR", Open: true}},
		{file: "gitea_pull_request_synchronized.json", event: "pull_request", code: 202, calls: []string{"PollNow models"},
			facts: &PRFacts{Base: "main", Branch: "bigger-batch", HeadSHA: prHead2, Author: "alice", Open: true}},
		{file: "pull_request_opened_fork.json", event: "pull_request", code: 202, calls: []string{"PollNow models"},
			facts: &PRFacts{Base: "main", Branch: "patch-1", HeadSHA: forkHead, Fork: true, Author: "mallory", Association: "FIRST_TIME_CONTRIBUTOR", Open: true}},
		{file: "pull_request_opened_fork.json", event: "pull_request", set: map[string]any{"pull_request.head.repo": nil}, code: 202,
			calls: []string{"PollNow models"},
			facts: &PRFacts{Base: "main", Branch: "patch-1", HeadSHA: forkHead, Fork: true, Author: "mallory", Association: "FIRST_TIME_CONTRIBUTOR", Open: true}},
		{file: "pull_request_closed.json", event: "pull_request", code: 202, calls: []string{`CancelPR models 7 [] "pull request closed"`},
			facts: &PRFacts{Base: "main", Branch: "bigger-batch", HeadSHA: prHead2, Author: "alice", Association: "COLLABORATOR"}},
		{file: "pull_request_opened.json", event: "pull_request", set: map[string]any{"action": "labeled"}, code: 202},
		{file: "issue_comment_created.json", event: "issue_comment", code: 202,
			calls: []string{"PollRepo models", "Submit comment refs/pull/7/head pr=7 sha=6f7a8b9c jobs=[mnist] force=true untrusted=false"}},
		{file: "gitea_issue_comment.json", event: "issue_comment", code: 202,
			calls: []string{"PollRepo models", "Approve models 7 6f7a8b9c"}},
		{file: "issue_comment_on_issue.json", event: "issue_comment", code: 202},
		{file: "issue_comment_created.json", event: "issue_comment", set: map[string]any{"action": "edited"}, code: 202},
		{file: "push.json", event: "push", set: map[string]any{"repository.full_name": "someone/else"}, code: 202},
		{file: "push.json", event: "star", code: 202},
	}
	for _, tt := range tests {
		name := strings.TrimSuffix(tt.file, ".json")
		if tt.set != nil {
			name += fmt.Sprint(tt.set)
		}
		t.Run(name, func(t *testing.T) {
			f := newHookFixture(t, WebhookOptions{}, true)
			body := sample(t, tt.file)
			if tt.set != nil {
				body = patch(t, body, tt.set)
			}
			code, msg := f.send(tt.event, body, hookSecret)
			if code != tt.code {
				t.Fatalf("answer %d %q, want %d", code, msg, tt.code)
			}
			f.settle()
			if got := f.eng.Calls(); !slices.Equal(got, tt.calls) {
				t.Errorf("engine calls:\n got %q\nwant %q", got, tt.calls)
			}
			if tt.facts != nil {
				got, ok := f.trust.Facts(fullName, pullNumber(t, body))
				if !ok || got != *tt.facts {
					t.Errorf("remembered %+v, want %+v", got, *tt.facts)
				}
			}
		})
	}
}

func pullNumber(t *testing.T, body []byte) int {
	var p pullRequestPayload
	if err := decodePayload("pull_request", body, &p); err != nil {
		t.Fatal(err)
	}
	return p.number()
}

// The samples follow GitHub's documented shapes: go-github's own event
// types decode them. Gitea's issue_comment (repository.owner a string)
// does not decode there, which is why the handler reads minimal structs.
func TestSamplesMatchGitHubShapes(t *testing.T) {
	for file, event := range map[string]string{"push.json": "push", "pull_request_opened.json": "pull_request",
		"pull_request_synchronize.json": "pull_request", "pull_request_closed.json": "pull_request",
		"pull_request_opened_fork.json": "pull_request", "issue_comment_created.json": "issue_comment",
		"issue_comment_on_issue.json": "issue_comment", "ping.json": "ping"} {
		if _, err := gh.ParseWebHook(event, sample(t, file)); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	if _, err := gh.ParseWebHook("issue_comment", sample(t, "gitea_issue_comment.json")); err == nil {
		t.Error("go-github decoded Gitea's string owner; the fallback may no longer be needed")
	}
}

func TestWebhookRejectsBadSignatures(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{}, true)
	body := sample(t, "push.json")
	sha1 := func(req *http.Request) { req.Header.Set("X-Hub-Signature", "sha1=0123") }
	tests := []struct {
		name   string
		body   []byte
		sig    string
		extra  func(*http.Request)
		wanted int
	}{
		{"unsigned", body, "", nil, 401},
		{"forged with another secret", body, sign(body, "guess"), nil, 401},
		{"signature of another body", body, sign(sample(t, "ping.json"), hookSecret), nil, 401},
		{"truncated body", body[:len(body)/2], sign(body, hookSecret), nil, 401},
		{"sha1 only", body, "", sha1, 401},
		{"not hex", body, "sha256=zz" + strings.Repeat("0", 62), nil, 401},
		{"no prefix", body, strings.TrimPrefix(sign(body, hookSecret), "sha256="), nil, 401},
		{"empty", nil, "sha256=", nil, 401},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/webhook", bytes.NewReader(tt.body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", "d-"+strings.ReplaceAll(tt.name, " ", "-"))
		req.Header.Set("Content-Type", "application/json")
		if tt.sig != "" {
			req.Header.Set("X-Hub-Signature-256", tt.sig)
		}
		if tt.extra != nil {
			tt.extra(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.wanted {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.wanted)
		}
	}
	f.settle()
	if calls := f.eng.Calls(); len(calls) != 0 {
		t.Errorf("bad signatures reached the engine: %v", calls)
	}
	if s := f.h.Stats(); s.Unauthorized != int64(len(tests)) || s.Queued != 0 {
		t.Errorf("stats = %+v", s)
	}
	// A forged delivery does not poison the delivery ID: the real one
	// with the same ID still counts.
	if code, _ := f.sendID("push", "d-unsigned", body, hookSecret); code != 202 {
		t.Errorf("genuine delivery after a forged one with its id: %d", code)
	}
	// Form-encoded deliveries are signed over the form body.
	form := []byte("payload=" + strings.ReplaceAll(string(sample(t, "ping.json")), "\n", ""))
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/webhook", bytes.NewReader(bytes.ReplaceAll(form, []byte(" "), []byte("+"))))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-GitHub-Event", "ping")
	b, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.Header.Set("X-Hub-Signature-256", sign(b, hookSecret))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("form ping: %v %v", resp.StatusCode, err)
	}
	// Only POST.
	if resp, err := http.Get(f.srv.URL + "/webhook"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp.StatusCode, err)
	}
}

func TestWebhookBodyLimits(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{}, true)
	// Announced too large: refused before reading.
	big := bytes.Repeat([]byte("x"), MaxWebhookBody+1)
	code, _ := f.send("push", big, hookSecret)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("26 MB body: %d", code)
	}
	// Streamed without a length: cut at the limit.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/webhook", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign(big, hookSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 26 MB body: %d", resp.StatusCode)
	}
	// A small limit for a normal payload.
	g := newHookFixture(t, WebhookOptions{MaxBody: 1024}, true)
	if code, _ := g.send("push", sample(t, "push.json"), hookSecret); code != http.StatusRequestEntityTooLarge {
		t.Errorf("push over a 1 KiB limit: %d", code)
	}
	// Signed but not JSON.
	if code, _ := f.send("push", []byte("{not json"), hookSecret); code != http.StatusBadRequest {
		t.Errorf("signed garbage: %d", code)
	}
	f.settle()
	if calls := f.eng.Calls(); len(calls) != 0 {
		t.Errorf("engine calls: %v", calls)
	}
}

func TestWebhookDuplicateDeliveries(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{Deliveries: 2}, true)
	body := sample(t, "push.json")
	if code, _ := f.sendID("push", "a", body, hookSecret); code != 202 {
		t.Fatal(code)
	}
	if code, msg := f.sendID("push", "a", body, hookSecret); code != 200 || !strings.Contains(msg, "duplicate") {
		t.Errorf("redelivery: %d %s", code, msg)
	}
	f.sendID("push", "b", body, hookSecret)
	f.sendID("push", "c", body, hookSecret)
	// Only the last 2 IDs are remembered: "a" is forgotten.
	if code, _ := f.sendID("push", "a", body, hookSecret); code != 202 {
		t.Errorf("forgotten id: %d", code)
	}
	f.settle()
	if n := len(f.eng.Calls()); n != 4 {
		t.Errorf("%d polls, want 4", n)
	}
	if s := f.h.Stats(); s.Duplicates != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestWebhookQueueFullAnswers503(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{QueueSize: 1}, false) // no worker yet
	body := sample(t, "push.json")
	if code, _ := f.sendID("push", "one", body, hookSecret); code != 202 {
		t.Fatal(code)
	}
	if code, _ := f.sendID("push", "two", body, hookSecret); code != http.StatusServiceUnavailable {
		t.Fatalf("full queue: %d", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	f.settle()
	// GitHub's "redeliver" of the refused one is accepted now.
	if code, _ := f.sendID("push", "two", body, hookSecret); code != 202 {
		t.Errorf("redelivery after the queue drained: %d", code)
	}
	f.settle()
	if n := len(f.eng.Calls()); n != 2 {
		t.Errorf("%d polls", n)
	}
}

func commentBody(t *testing.T, id int64, user, text string, pr int) []byte {
	return patch(t, sample(t, "issue_comment_created.json"), map[string]any{
		"comment.id": id, "comment.body": text, "comment.user.login": user, "issue.number": pr})
}

func TestCommentCommands(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		pr       int
		text     string
		setup    func(f *hookFixture)
		calls    []string
		reaction string
		reply    string // substring of the reply; "" = no reply
	}{
		{name: "run all jobs", user: "alice", pr: 7, text: "/gitlaunch run",
			calls:    []string{"PollRepo models", "Submit comment refs/pull/7/head pr=7 sha=6f7a8b9c jobs=[] force=true untrusted=false"},
			reaction: "rocket"},
		{name: "run on a fork PR stays untrusted", user: "alice", pr: 8, text: "/gitlaunch run mnist",
			calls:    []string{"PollRepo models", "Submit comment refs/pull/8/head pr=8 sha=7a8b9c0d jobs=[mnist] force=true untrusted=true"},
			reaction: "rocket"},
		{name: "run a job that does not exist", user: "alice", pr: 7, text: "/gitlaunch run mnist nope",
			calls:    []string{"PollRepo models", "Submit comment refs/pull/7/head pr=7 sha=6f7a8b9c jobs=[mnist nope] force=true untrusted=false"},
			reaction: "rocket", reply: "no job named `nope`"},
		{name: "reader refused", user: "bob", pr: 7, text: "please\n/gitlaunch run", reply: "only collaborators with write access"},
		{name: "fork author cannot approve themselves", user: "mallory", pr: 8, text: "/gitlaunch ok-to-test", reply: "only collaborators with write access"},
		{name: "unknown command", user: "alice", pr: 7, text: "/gitlaunch deploy", reply: "unknown command `deploy`"},
		{name: "bare command", user: "alice", pr: 7, text: "/gitlaunch", reply: "which command?"},
		{name: "cancel with nothing running", user: "alice", pr: 7, text: "/gitlaunch cancel resnet",
			calls: []string{`CancelPR models 7 [resnet] "cancelled by alice (/gitlaunch cancel)"`}, reply: "nothing to cancel"},
		{name: "cancel", user: "alice", pr: 7, text: "/gitlaunch cancel",
			setup: func(f *hookFixture) { f.eng.active = []*engine.Run{{ID: "x", JobName: "mnist"}} },
			calls: []string{`CancelPR models 7 [] "cancelled by alice (/gitlaunch cancel)"`}, reaction: "+1"},
		{name: "ok-to-test", user: "alice", pr: 8, text: "LGTM\n/gitlaunch ok-to-test",
			setup:    func(f *hookFixture) { f.eng.waiting[forkHead] = []*engine.Run{{ID: "w", JobName: "mnist"}} },
			calls:    []string{"PollRepo models", "Approve models 8 7a8b9c0d"},
			reaction: "+1"},
		{name: "ok-to-test pinned to the head", user: "alice", pr: 8, text: "/gitlaunch ok-to-test 7a8b9c0d1e",
			setup:    func(f *hookFixture) { f.eng.waiting[forkHead] = []*engine.Run{{ID: "w", JobName: "mnist"}} },
			calls:    []string{"PollRepo models", "Approve models 8 7a8b9c0d"},
			reaction: "+1"},
		{name: "ok-to-test pinned to an older commit", user: "alice", pr: 8, text: "/gitlaunch ok-to-test 1234567",
			calls: []string{"PollRepo models"}, reply: "nothing approved"},
		{name: "ok-to-test with nothing waiting", user: "alice", pr: 8, text: "/gitlaunch ok-to-test",
			calls: []string{"PollRepo models", "Approve models 8 7a8b9c0d"}, reply: "no run of 7a8b9c0d waits"},
		{name: "quoted and fenced lines are not commands", user: "alice", pr: 7, text: "> /gitlaunch run\n```\n/gitlaunch cancel\n```\n"},
		{name: "our own reply is not read", user: "gitlaunch-bot", pr: 7, text: ReplyMarker + "\n/gitlaunch run"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHookFixture(t, WebhookOptions{}, true)
			if tt.setup != nil {
				tt.setup(f)
			}
			c := f.gh.AddComment(fullName, tt.pr, tt.user, tt.text)
			code, msg := f.send("issue_comment", commentBody(t, c.ID, tt.user, tt.text, tt.pr), hookSecret)
			if code != 202 {
				t.Fatalf("answer %d %s", code, msg)
			}
			f.settle()
			if got := f.eng.Calls(); !slices.Equal(got, tt.calls) {
				t.Errorf("engine calls:\n got %q\nwant %q", got, tt.calls)
			}
			comments := f.gh.Comments(fullName, tt.pr)
			var reactions []string
			for _, r := range comments[0].Reactions {
				reactions = append(reactions, r.Content)
			}
			if want := []string{tt.reaction}; tt.reaction != "" && !slices.Equal(reactions, want) || tt.reaction == "" && len(reactions) > 0 {
				t.Errorf("reactions = %v, want %q", reactions, tt.reaction)
			}
			var replies []string
			for _, c := range comments[1:] {
				replies = append(replies, c.Body)
			}
			switch {
			case tt.reply == "" && len(replies) > 0:
				t.Errorf("unexpected reply: %q", replies)
			case tt.reply != "" && (len(replies) != 1 || !strings.Contains(replies[0], tt.reply)):
				t.Errorf("replies %q, want one containing %q", replies, tt.reply)
			}
			for _, r := range replies {
				if len(parseCommands(r)) > 0 && !strings.Contains(r, ReplyMarker) {
					t.Errorf("a reply could be read as a command: %q", r)
				}
			}
			_ = i
		})
	}
}

func TestPermissionAnswersAreCached(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{}, true)
	for i := range 3 {
		c := f.gh.AddComment(fullName, 7, "bob", "/gitlaunch run")
		f.send("issue_comment", commentBody(t, c.ID, "bob", "/gitlaunch run", 7), hookSecret)
		_ = i
	}
	f.settle()
	if n := f.gh.Count("GET", "/collaborators/bob/permission"); n != 1 {
		t.Errorf("asked %d times", n)
	}
}

func TestParseCommands(t *testing.T) {
	tests := []struct {
		body string
		want []string
	}{
		{"/gitlaunch run", []string{"run[]"}},
		{"  /gitlaunch   RUN  a  b ", []string{"run[a b]"}},
		{"text\r\n/gitlaunch cancel x\r\nmore\n/gitlaunch ok-to-test", []string{"cancel[x]", "ok-to-test[]"}},
		{"> /gitlaunch run\n>/gitlaunch run", nil},
		{"```\n/gitlaunch run\n```\n/gitlaunch cancel", []string{"cancel[]"}},
		{"~~~sh\n/gitlaunch run\n~~~", nil},
		{"please /gitlaunch run", nil},
		{"/gitlaunchrun", nil},
		{"/gitlaunch", []string{"[]"}},
		{strings.Repeat("/gitlaunch run\n", 50), slices.Repeat([]string{"run[]"}, maxCommands)},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range parseCommands(tt.body) {
			got = append(got, fmt.Sprintf("%s%v", c.name, c.args))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("parseCommands(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestInspectPR(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{}, false)
	f.gh.SetPermission(fullName, "carol", "read")
	f.gh.SetPR(fullName, githubtest.PullRequest{Number: 9, User: "carol", AuthorAssociation: "MEMBER",
		HeadRef: "x", HeadSHA: headSHA, HeadRepo: fullName, BaseRef: "dev", State: "open"})
	f.gh.SetPR(fullName, githubtest.PullRequest{Number: 10, User: "octo-org", AuthorAssociation: "OWNER",
		HeadRef: "y", HeadSHA: headSHA, HeadRepo: fullName, BaseRef: "main", State: "closed"})
	ctx := context.Background()
	repo := repoFixture()
	tests := []struct {
		pr   int
		sha  string
		want engine.PRInfo
	}{
		{7, prHead2, engine.PRInfo{Base: "main", Branch: "bigger-batch", Trusted: true, Open: true}}, // collaborator with write
		{8, forkHead, engine.PRInfo{Base: "main", Branch: "patch-1", Open: true}},                    // fork
		{9, headSHA, engine.PRInfo{Base: "dev", Branch: "x", Open: true}},                            // member with read only
		{10, headSHA, engine.PRInfo{Base: "main", Branch: "y", Trusted: true}},                       // owner, closed
	}
	for _, tt := range tests {
		got, err := f.trust.InspectPR(ctx, repo, tt.pr, tt.sha)
		if err != nil || got != tt.want {
			t.Errorf("#%d: %+v, %v; want %+v", tt.pr, got, err, tt.want)
		}
	}
	// Asked: alice (COLLABORATOR) and carol (MEMBER); never mallory (fork)
	// or the owner.
	if n, m := f.gh.Count("GET", "/collaborators/alice/"), f.gh.Count("GET", "/collaborators/carol/"); n != 1 || m != 1 {
		t.Errorf("permission calls: alice %d, carol %d", n, m)
	}
	if n := f.gh.Count("GET", "/collaborators/"); n != 2 {
		t.Errorf("%d permission calls", n)
	}
	// A webhook's facts for the same head spare the pull request call.
	pulls := f.gh.Count("GET", "/pulls/")
	f.trust.Remember(fullName, 11, PRFacts{Base: "main", Branch: "z", HeadSHA: headSHA, Author: "alice", Association: "COLLABORATOR", Open: true})
	if got, err := f.trust.InspectPR(ctx, repo, 11, headSHA); err != nil || !got.Trusted {
		t.Errorf("#11 from webhook facts: %+v %v", got, err)
	}
	if f.gh.Count("GET", "/pulls/") != pulls {
		t.Error("asked the API despite fresh webhook facts")
	}
	// Unknown pull request: an error, so the engine asks again next poll.
	if _, err := f.trust.InspectPR(ctx, repo, 99, headSHA); err == nil {
		t.Error("no error for a missing pull request")
	}
}

func TestPermissionCacheExpires(t *testing.T) {
	s := githubtest.New(t)
	s.AddRepo(fullName)
	s.SetPermission(fullName, "alice", "write")
	clock := &testClock{now: time.Now()}
	tr, _ := NewTrust(TrustOptions{Client: newClient(t, s), Now: clock.Now, PermissionTTL: time.Minute})
	ctx := context.Background()
	if ok, _ := tr.CanWrite(ctx, fullName, "alice"); !ok {
		t.Fatal("alice may not write")
	}
	s.SetPermission(fullName, "alice", "read")
	if ok, _ := tr.CanWrite(ctx, fullName, "alice"); !ok {
		t.Error("cache not used")
	}
	clock.Add(2 * time.Minute)
	if ok, _ := tr.CanWrite(ctx, fullName, "alice"); ok {
		t.Error("a revoked permission outlived the TTL")
	}
}
