package github

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawDelivery writes a delivery's request line and headers (and no body)
// on a new connection.
func rawDelivery(t *testing.T, addr string, headers map[string]string, length int64) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "POST /webhook HTTP/1.1\r\nHost: gitlaunch\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", length)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	return c
}

// A delivery that cannot be genuine is answered from its headers alone:
// the test never sends the bodies, and the server has no timeouts, so a
// handler that read would never answer. The connection is closed after.
func TestWebhookRefusesBeforeReadingBody(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{}, true)
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	good := sign([]byte("{}"), hookSecret)
	tests := []struct {
		name    string
		headers map[string]string
		length  int64
		code    int
	}{
		{"unsigned", map[string]string{"X-GitHub-Event": "push"}, 1000, 401},
		{"sha1 only", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature": "sha1=" + strings.Repeat("0", 40)}, 1000, 401},
		{"short signature", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": good[:len(good)-1]}, 1000, 401},
		{"long signature", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": good + "0"}, 1000, 401},
		{"signature not hex", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + strings.Repeat("g", 64)}, 1000, 401},
		{"no event", map[string]string{"X-Hub-Signature-256": good}, 1000, 400},
		{"event with a space", map[string]string{"X-GitHub-Event": "push now", "X-Hub-Signature-256": good}, 1000, 400},
		{"long delivery id", map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": strings.Repeat("a", 101), "X-Hub-Signature-256": good}, 1000, 400},
		{"declared over MaxBody", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": good}, MaxWebhookBody + 1, 413},
		{"event not handled", map[string]string{"X-GitHub-Event": "star", "X-Hub-Signature-256": good}, 1000, 202},
	}
	for _, tt := range tests {
		c := rawDelivery(t, addr, tt.headers, tt.length)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Errorf("%s: no answer without the body: %v", tt.name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code || !resp.Close {
			t.Errorf("%s: %d (close %v), want %d and the connection closed", tt.name, resp.StatusCode, resp.Close, tt.code)
		}
	}
	f.settle()
	if calls := f.eng.Calls(); len(calls) != 0 {
		t.Errorf("engine calls: %v", calls)
	}
	if s := f.h.Stats(); s.Unauthorized != 5 || s.Rejected != 4 || s.Ignored != 1 || s.Queued != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// A body that comes too slowly is dropped at the server's ReadTimeout
// with 408, and one cut short with 400; neither reaches the engine.
func TestWebhookSlowAndShortBodies(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{}, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f.h, ReadTimeout: 300 * time.Millisecond}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	body := sample(t, "push.json")
	headers := map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(body, hookSecret)}

	c := rawDelivery(t, ln.Addr().String(), headers, int64(len(body)))
	c.Write(body[:2])
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("2 bytes then silence: %v %v, want 408", resp, err)
	}
	c = rawDelivery(t, ln.Addr().String(), headers, int64(len(body)))
	c.Write(body[:len(body)/2])
	c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("half a body then EOF: %v %v, want 400", resp, err)
	}
	f.settle()
	if calls := f.eng.Calls(); len(calls) != 0 {
		t.Errorf("engine calls: %v", calls)
	}
}

// Bodies are read in 64 KiB chunks: every size around a chunk boundary,
// with a length or chunked, is verified and decoded whole; a forged one of
// several chunks is refused.
func TestWebhookBodySizes(t *testing.T) {
	f := newHookFixture(t, WebhookOptions{}, true)
	push := bytes.TrimSpace(sample(t, "push.json"))
	post := func(body []byte, sig string, chunked bool) int {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/webhook", bytes.NewReader(body))
		if chunked {
			req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body)))
			req.ContentLength = -1
		}
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	want := 0
	for _, size := range []int{len(push), bodyChunk - 1, bodyChunk, bodyChunk + 1, 3*bodyChunk + 17} {
		body := append(bytes.Clone(push), bytes.Repeat([]byte(" "), size-len(push))...)
		for _, chunked := range []bool{false, true} {
			if code := post(body, sign(body, hookSecret), chunked); code != http.StatusAccepted {
				t.Errorf("%d bytes (chunked %v): %d", size, chunked, code)
			}
			want++
		}
		if size > bodyChunk {
			if code := post(body, sign(body, "guess"), false); code != http.StatusUnauthorized {
				t.Errorf("forged %d bytes: %d", size, code)
			}
		}
	}
	f.settle()
	if n := len(f.eng.Calls()); n != want {
		t.Errorf("%d polls, want %d", n, want)
	}
}

// A worker stopped while it handles a command (shutdown) logs no warning
// or error and posts nothing; a command that runs out of CommandTimeout
// still warns.
func TestWebhookWorkerStopsQuietly(t *testing.T) {
	for _, stop := range []bool{true, false} {
		var logs bytes.Buffer
		o := WebhookOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		if !stop {
			o.CommandTimeout = 200 * time.Millisecond
		}
		f := newHookFixture(t, o, false)
		f.eng.pollBlocks = true
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.h.Run(ctx) }()
		c := f.gh.AddComment(fullName, 7, "alice", "/gitlaunch run")
		if code, msg := f.send("issue_comment", commentBody(t, c.ID, "alice", "/gitlaunch run", 7), hookSecret); code != 202 {
			t.Fatalf("answer %d %s", code, msg)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(f.eng.Calls()) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the command never polled")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if stop {
			cancel()
		} else {
			f.settle()
			cancel()
		}
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		noisy := strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR")
		if stop && noisy {
			t.Errorf("stopping logged:\n%s", logs.String())
		}
		if !stop && !strings.Contains(logs.String(), "level=WARN msg=\"comment command interrupted\"") {
			t.Errorf("a timed-out command did not warn:\n%s", logs.String())
		}
		if n := len(f.gh.Comments(fullName, 7)); n != 1 {
			t.Errorf("stop %v: %d comments, want only the command", stop, n)
		}
	}
}
