package github

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzWebhook feeds the handler arbitrary bodies, events and signatures.
// It must never panic; an unsigned or wrongly signed delivery must never
// reach the queue or the engine, and is refused (401, or 400 for bad
// headers) unless its event is one gitlaunch ignores unread; a signed one
// is handled to the end.
func FuzzWebhook(f *testing.F) {
	for _, s := range []struct{ file, event string }{
		{"push.json", "push"}, {"gitea_push.json", "push"}, {"pull_request_opened.json", "pull_request"},
		{"pull_request_closed.json", "pull_request"}, {"gitea_pull_request_synchronized.json", "pull_request"},
		{"issue_comment_created.json", "issue_comment"}, {"gitea_issue_comment.json", "issue_comment"}, {"ping.json", "ping"},
	} {
		body := sample(f, s.file)
		f.Add(body, s.event, true, "")
		f.Add(body, s.event, false, sign(body, "wrong"))
	}
	f.Add([]byte(`{"action":"created","issue":{"number":1,"pull_request":{}},"comment":{"body":"/gitlaunch run"},"repository":{"full_name":"octo-org/models"}}`), "issue_comment", true, "")
	f.Add([]byte(`{"repository":{"full_name":"octo-org/models"},"number":-1,"action":"opened"}`), "pull_request", true, "")
	f.Add([]byte(`null`), "push", true, "")

	f.Fuzz(func(t *testing.T, body []byte, event string, signed bool, sig string) {
		eng := newRecordingEngine()
		h, err := NewWebhookHandler(WebhookOptions{Secret: []byte(hookSecret), Engine: eng, QueueSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		if signed {
			sig = sign(body, hookSecret)
		}
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		genuine := sig == sign(body, hookSecret)
		if !genuine {
			refused := rec.Code == http.StatusUnauthorized || rec.Code == http.StatusBadRequest ||
				rec.Code == http.StatusAccepted && !handledEvents[event]
			if !refused || len(h.queue) != 0 || len(eng.Calls()) != 0 {
				t.Fatalf("unsigned delivery: %d, queued %d, calls %v", rec.Code, len(h.queue), eng.Calls())
			}
			return
		}
		if rec.Code >= 500 {
			t.Fatalf("signed delivery: %d %s", rec.Code, rec.Body)
		}
		// Handle what was queued, as the worker would.
		for len(h.queue) > 0 {
			h.handle(context.Background(), <-h.queue)
		}
	})
}
