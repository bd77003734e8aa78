package web_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/store"
	"github.com/gitlaunch/gitlaunch/sync/web"
)

// serve runs h behind NewHTTPServer and LimitListener on loopback until
// the test ends, and returns its address.
func serve(t *testing.T, h http.Handler, l web.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := web.NewHTTPServer(h, l)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(web.LimitListener(ln, l.MaxConns)) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// dial opens a connection and writes s on it.
func dial(t *testing.T, addr, s string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads a response's status code from c, waiting at most 10 s.
func answer(t *testing.T, c net.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// closedWithin reports whether the server closes c within d, reading and
// dropping whatever it sends first.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func post(path string, n int64) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", path, n)
}

// The body budget: large bodies take at most 7/8 of it, small ones the
// rest too; over budget is 503 at once, body unread; too large is 413;
// chunked bodies are charged MaxBody and cut there; what a finished
// request held is free again.
func TestBodyBudget(t *testing.T) {
	started := make(chan int64, 100)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- r.ContentLength
		n, err := io.Copy(io.Discard, r.Body)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
			return
		}
		fmt.Fprint(w, n)
	})
	// 1 MiB: bodies over 64 KiB may hold 896 KiB of it.
	addr := serve(t, h, web.Limits{BodyBudget: 1 << 20, MaxBody: 512 << 10, ReadTimeout: time.Minute})
	hold := func(n int64) net.Conn { // declares n bytes, sends one, stalls
		c := dial(t, addr, post("/", n)+"x")
		if got := <-started; got != n {
			t.Fatalf("handler saw %d, want %d", got, n)
		}
		return c
	}
	refused := func(name, req string, want int) {
		t.Helper()
		c := dial(t, addr, req) // headers only: a refusal must not wait for the body
		if code := answer(t, c); code != want {
			t.Errorf("%s: %d, want %d", name, code, want)
		}
		if !closedWithin(c, 5*time.Second) {
			t.Errorf("%s: connection kept open after the refusal", name)
		}
	}
	big := hold(512 << 10)
	refused("a second large body", post("/", 400<<10), http.StatusServiceUnavailable)
	refused("a chunked body (charged 512 KiB)", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", http.StatusServiceUnavailable)
	refused("over MaxBody", post("/", 512<<10+1), http.StatusRequestEntityTooLarge)
	// Small bodies still get in: 512 + 6×64 KiB = 896 KiB.
	for range 6 {
		hold(64 << 10)
	}
	refused("a large body with small ones in flight", post("/", 65<<10), http.StatusServiceUnavailable)
	for range 2 { // the last 128 KiB are for small bodies only
		hold(64 << 10)
	}
	refused("a small body over the whole budget", post("/", 1), http.StatusServiceUnavailable)

	// Hanging up gives the large body's share back: 512 + 384 KiB.
	big.Close()
	body := bytes.Repeat([]byte("x"), 384<<10)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Post("http://"+addr+"/", "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if string(b) != fmt.Sprint(len(body)) {
				t.Errorf("handler read %s bytes, want %d", b, len(body))
			}
			<-started
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("budget not given back: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChunkedBodyCutAtMaxBody(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
		}
	})
	addr := serve(t, h, web.Limits{MaxBody: 64 << 10})
	for n, want := range map[int]int{64 << 10: 200, 64<<10 + 1: 413} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", io.MultiReader(bytes.NewReader(make([]byte, n))))
		req.ContentLength = -1 // chunked
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("chunked %d bytes: %d, want %d", n, resp.StatusCode, want)
		}
	}
}

// At MaxConns open connections, the next client waits (in the kernel's
// backlog) and is served as soon as one closes.
func TestLimitListener(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		web.Limits{MaxConns: 2, ReadHeaderTimeout: time.Minute})
	first := dial(t, addr, "")
	dial(t, addr, "")
	got := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a third connection was served while two were open (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	first.Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting client was not served after a connection closed")
	}
}

// The server drops clients that are slow to send headers or a body, idle
// connections, and oversized headers.
func TestServerTimeouts(t *testing.T) {
	l := web.Limits{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond,
		IdleTimeout: 300 * time.Millisecond, MaxHeaderBytes: 4 << 10}
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, "slow", http.StatusRequestTimeout)
		}
	}), l)
	if c := dial(t, addr, "GET / HTTP/1.1\r\nHost: t\r\n"); !closedWithin(c, 5*time.Second) {
		t.Error("half-sent headers kept open")
	}
	c := dial(t, addr, post("/", 1000)+"{}")
	if code := answer(t, c); code != http.StatusRequestTimeout {
		t.Errorf("2 of 1000 body bytes: %d, want 408", code)
	}
	c = dial(t, addr, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	if code := answer(t, c); code != 200 {
		t.Fatalf("GET: %d", code)
	}
	if !closedWithin(c, 5*time.Second) {
		t.Error("idle connection kept open")
	}
	c = dial(t, addr, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: "+strings.Repeat("x", 8<<10)+"\r\n\r\n")
	if code := answer(t, c); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("8 KiB header: %d, want 431", code)
	}
}

// Stream lets a response outlive ReadTimeout and WriteTimeout while the
// client keeps reading, without its context being cancelled; without
// Stream the same response is cut; and a streaming client that stops
// reading is dropped after StreamWriteTimeout.
func TestStream(t *testing.T) {
	l := web.Limits{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
		StreamWriteTimeout: 500 * time.Millisecond}
	flooded := make(chan error, 1)
	mux := http.NewServeMux()
	ticker := func(stream bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if stream {
				w = web.Stream(w, r)
			}
			for i := range 10 {
				if r.Context().Err() != nil {
					return
				}
				fmt.Fprintf(w, "line %d\n", i)
				http.NewResponseController(w).Flush()
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	mux.Handle("/stream", ticker(true))
	mux.Handle("/plain", ticker(false))
	mux.HandleFunc("/flood", func(w http.ResponseWriter, r *http.Request) {
		w = web.Stream(w, r)
		buf := make([]byte, 64<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				flooded <- err
				return
			}
		}
	})
	addr := serve(t, mux, l)
	lines := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Count(string(b), "\n")
	}
	if n := lines("/stream"); n != 10 {
		t.Errorf("streamed %d of 10 lines over 1 s", n)
	}
	if n := lines("/plain"); n >= 10 {
		t.Errorf("a plain response outlived WriteTimeout: %d lines", n)
	}
	dial(t, addr, "GET /flood HTTP/1.1\r\nHost: t\r\n\r\n") // never read
	select {
	case <-flooded:
	case <-time.After(20 * time.Second):
		t.Fatal("a stalled streaming client was never dropped")
	}
}

// Failures caused by the request ending (client gone, shutdown) are not
// logged as errors; real failures are.
func TestCancelledRequestsLogNoErrors(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "gitlaunch.db"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := web.New(web.Options{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range []string{"/", "/runs/abc", "/runs/abc/log", "/api/runs", "/metrics"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
		if rec.Code == http.StatusInternalServerError {
			t.Errorf("GET %s cancelled: 500", path)
		}
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("cancelled requests logged errors:\n%s", logs.String())
	}
	st.Close() // a real failure is still an error
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/runs", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("closed store: %d, logs %q", rec.Code, logs.String())
	}
}

// Shutdown ends a streaming response that would otherwise last as long as
// its client, by cancelling its request's context.
func TestShutdownEndsStreams(t *testing.T) {
	ended := make(chan error, 1)
	srv := web.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = web.Stream(w, r)
		io.WriteString(w, "live\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
		ended <- r.Context().Err()
	}), web.Limits{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(web.LimitListener(ln, 0)) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || line != "live\n" {
		t.Fatalf("first line %q %v", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("stream ended with %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
}
