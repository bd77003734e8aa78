package gittest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Counts is how many git HTTP requests a server answered.
type Counts struct {
	InfoRefs    int // GET …/info/refs (ref advertisements)
	UploadPack  int // POST …/git-upload-pack (fetches)
	ReceivePack int // POST …/git-receive-pack (pushes)
	Other       int
	// Wants lists the commits asked for by the upload-pack requests, in
	// order.
	Wants []string
}

// Server serves every bare repository under Root with git http-backend on
// a loopback address. Repositories are reachable at URL + "/" + name.
type Server struct {
	Root string // GIT_PROJECT_ROOT
	URL  string // e.g. http://127.0.0.1:41234/git
	home string

	srv *httptest.Server

	mu     sync.Mutex
	delay  time.Duration
	token  string
	counts map[string]*Counts // by repository name
	closed bool
}

// NewServer starts an http-backend server for a fresh root directory. It
// is closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	return NewServerAt(t, t.TempDir())
}

// NewServerAt serves the repositories already under root.
func NewServerAt(t testing.TB, root string) *Server {
	t.Helper()
	home := t.TempDir()
	s := &Server{Root: root, home: home, counts: map[string]*Counts{}}
	s.srv = httptest.NewServer(s.handler(HTTPBackend(t)))
	s.URL = s.srv.URL + "/git"
	t.Cleanup(s.Close)
	return s
}

// Handler returns the bare http-backend handler for root, mounted at /git,
// without counting, delays or authentication.
func Handler(backend, root, home string) http.Handler {
	return &cgi.Handler{
		Path: backend,
		Root: "/git",
		// http-backend's complaints (a missing repository) are answered
		// to the client; keep them out of test output.
		Stderr: io.Discard,
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			// A REMOTE_USER makes http-backend accept pushes.
			"REMOTE_USER=gittest",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + home,
		},
	}
}

func (s *Server) handler(backend string) http.Handler {
	cgiH := Handler(backend, s.Root, s.home)
	mux := http.NewServeMux()
	mux.HandleFunc("/git/", func(w http.ResponseWriter, r *http.Request) {
		repo, kind := classify(r)
		var wants []string
		if strings.HasSuffix(r.URL.Path, "/git-upload-pack") && r.Method == http.MethodPost {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			wants = parseWants(body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		s.mu.Lock()
		c := s.counts[repo]
		if c == nil {
			c = &Counts{}
			s.counts[repo] = c
		}
		*kind(c)++
		c.Wants = append(c.Wants, wants...)
		delay, token := s.delay, s.token
		s.mu.Unlock()

		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if token != "" {
			user, pass, ok := r.BasicAuth()
			if !ok || user != "x-access-token" || pass != token {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		cgiH.ServeHTTP(w, r)
	})
	return mux
}

// classify names the repository a request is for and which counter it
// bumps.
func classify(r *http.Request) (string, func(*Counts) *int) {
	p := strings.TrimPrefix(r.URL.Path, "/git/")
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/info/refs"):
		return strings.TrimSuffix(p, "/info/refs"), func(c *Counts) *int { return &c.InfoRefs }
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/git-upload-pack"):
		return strings.TrimSuffix(p, "/git-upload-pack"), func(c *Counts) *int { return &c.UploadPack }
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/git-receive-pack"):
		return strings.TrimSuffix(p, "/git-receive-pack"), func(c *Counts) *int { return &c.ReceivePack }
	}
	repo, _, _ := strings.Cut(p, "/")
	return repo, func(c *Counts) *int { return &c.Other }
}

// parseWants reads the "want <sha>" pkt-lines of an upload-pack request.
func parseWants(body []byte) []string {
	var out []string
	for len(body) >= 4 {
		n, err := strconv.ParseUint(string(body[:4]), 16, 16)
		if err != nil {
			break
		}
		if n < 4 { // flush or delimiter packet
			body = body[4:]
			continue
		}
		if int(n) > len(body) {
			break
		}
		line := string(body[4:n])
		body = body[n:]
		if rest, ok := strings.CutPrefix(line, "want "); ok && len(rest) >= 40 {
			out = append(out, rest[:40])
		}
	}
	return out
}

// SetDelay makes every request wait d before it is answered (0: none).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// RequireToken makes the server demand HTTP basic auth with user
// "x-access-token" and this password ("" turns it off).
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Requests returns the counts for repository name (e.g. "repo.git").
func (s *Server) Requests(name string) Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.counts[name]; c != nil {
		out := *c
		out.Wants = append([]string(nil), c.Wants...)
		return out
	}
	return Counts{}
}

// ResetCounts zeroes every counter.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]*Counts{}
}

// Close stops the server: open connections are cut and new ones refused,
// which makes every remote on it unreachable.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// DeadURL returns an http URL on a loopback port that nothing listens on.
func DeadURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/git/gone.git"
}

// CopyBare copies the bare repository at src to dst (a new directory);
// cheaper than creating many repositories with the CLI.
func CopyBare(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
