package giteatest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a fresh server may take to answer /api/healthz.
// A cold start is 1–4 s; the margin covers a machine busy with builds.
const startTimeout = 90 * time.Second

// errExited marks a Gitea process that ended while Start waited for it.
var errExited = errors.New("gitea exited")

// AdminName is the site administrator every server is created with.
const AdminName = "gitlaunch"

// Server is one running Gitea process with its own temporary state.
type Server struct {
	// URL is the web root with a trailing slash, e.g. http://127.0.0.1:41234/.
	URL string
	// APIURL is the REST root with a trailing slash (URL + "api/v1/"), the
	// BaseURL a go-github client needs.
	APIURL string
	// Token is an access token of Admin with every scope.
	Token string
	// Admin is the site administrator's user name; AdminPassword its password.
	Admin         string
	AdminPassword string
	// Dir holds app.ini, the database, repositories and gitea.log.
	Dir string

	bin     string
	opts    Options
	config  string
	logPath string
	client  *http.Client

	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	waitErr  error         // set before done is closed
	stopOnce sync.Once
}

// Options change a server's settings; the zero value keeps Gitea's defaults.
type Options struct {
	// PageSize is [api] DEFAULT_PAGING_NUM: the items per page of a list
	// request without ?limit=. Gitea ignores GitHub's per_page, so a small
	// PageSize is how a test makes go-github follow Link headers over pages.
	// 0 means Gitea's default, 30.
	PageSize int
}

// Start runs a fresh Gitea on a free loopback port, waits until it answers,
// creates the admin user and its token, and stops it when t ends.
//
// Without a binary (see BinaryPath) the test fails with the command that
// builds one, or is skipped when GITLAUNCH_SKIP_GITEA=1.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with settings changed by opts.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.PageSize < 0 {
		t.Fatalf("giteatest: negative PageSize %d", opts.PageSize)
	}
	bin, err := BinaryPath()
	if errors.Is(err, errNoBinary) {
		if os.Getenv(EnvSkip) == "1" {
			t.Skipf("giteatest: %v (%s=1)", err, EnvSkip)
		}
		t.Fatalf("giteatest: %v\nbuild it once with `%s` from the repository root (about 10 minutes cold), "+
			"or point %s at a gitea %s binary; set %s=1 to skip these tests", err, BuildCommand, EnvBinary, Version, EnvSkip)
	}
	if err != nil {
		t.Fatalf("giteatest: %v", err)
	}

	s := &Server{
		Admin:         AdminName,
		AdminPassword: randomHex(12),
		Dir:           t.TempDir(),
		bin:           bin,
		client:        &http.Client{Timeout: 60 * time.Second},
		opts:          opts,
	}
	s.config = filepath.Join(s.Dir, "app.ini")
	s.logPath = filepath.Join(s.Dir, "gitea.log")

	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("giteatest: gitea log (%s):%s", s.logPath, s.logTail())
		}
		s.Stop()
	})
	for attempt := 1; ; attempt++ {
		err := s.start()
		if err == nil {
			err = s.waitHealthy(ctx)
		}
		if err == nil {
			break
		}
		s.Stop()
		if attempt < 3 && errors.Is(err, errExited) && strings.Contains(s.logTail(), "address already in use") {
			t.Logf("giteatest: port %s was taken; retrying", s.URL)
			s.stopOnce = sync.Once{}
			continue
		}
		t.Fatalf("giteatest: %v", err) // Cleanup logs gitea.log
	}
	if err := s.createAdmin(ctx); err != nil {
		t.Fatalf("giteatest: %v", err)
	}
	t.Logf("giteatest: gitea %s at %s ready in %s", Version, s.URL, time.Since(began).Round(time.Millisecond))
	return s
}

// start writes app.ini for a free loopback port and starts `gitea web`.
//
// The port is found by binding 127.0.0.1:0 and closing it again, so another
// process may take it before Gitea binds; Start then retries. Handing Gitea
// the bound socket instead (LISTEN_FDS, which it accepts) is not an option:
// Gitea takes an inherited listener as a graceful restart and sends its
// parent, the test, SIGTERM.
func (s *Server) start() error {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("listen on loopback: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return fmt.Errorf("free port %d: %w", port, err)
	}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d/", port)
	s.APIURL = s.URL + "api/v1/"

	runUser, err := user.Current()
	if err != nil {
		return fmt.Errorf("current user: %w", err)
	}
	ini, err := config{
		Dir:       s.Dir,
		Port:      port,
		RunUser:   runUser.Username,
		SecretKey: randomHex(16),
		Internal:  randomHex(32),
		PageSize:  cmp.Or(s.opts.PageSize, 30),
	}.render()
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.config, ini, 0o600); err != nil {
		return fmt.Errorf("write app.ini: %w", err)
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open gitea log: %w", err)
	}
	defer logFile.Close()

	cmd := exec.Command(s.bin, s.globalArgs("web", "--quiet")...)
	cmd.Dir = s.Dir
	cmd.Env = s.env()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { // owned by s: ends when the process exits, which Stop ensures
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	return nil
}

// globalArgs puts the flags that select this server's state before a subcommand.
func (s *Server) globalArgs(sub ...string) []string {
	return append([]string{"--config", s.config, "--work-path", s.Dir, "--custom-path", filepath.Join(s.Dir, "custom")}, sub...)
}

// env is the environment for every gitea process: the caller's, without
// variables that would redirect Gitea or the git it runs, with HOME inside Dir.
func (s *Server) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GITEA_") || strings.HasPrefix(name, "GIT_") ||
			name == "HOME" || strings.HasPrefix(name, "LISTEN_") || name == "NOTIFY_SOCKET" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+s.Dir, "GITEA_WORK_DIR="+s.Dir)
	if os.Geteuid() == 0 {
		// Gitea refuses to run as root unless told; CI runs tests as root.
		env = append(env, "GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true")
	}
	return env
}

// waitHealthy polls /api/healthz until it answers 200, the process exits, or ctx ends.
func (s *Server) waitHealthy(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"api/healthz", nil)
		if err != nil {
			return fmt.Errorf("health request: %w", err)
		}
		resp, err := s.client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-s.done:
			return fmt.Errorf("%w before it was healthy: %v", errExited, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("gitea not healthy at %s: %w (last: %v)", s.URL, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// createAdmin makes the site administrator and its all-scope token with
// `gitea admin user create`, the way an operator would.
func (s *Server) createAdmin(ctx context.Context) error {
	out, err := s.runCLI(ctx, "admin", "user", "create",
		"--username", s.Admin, "--password", s.AdminPassword, "--email", s.Admin+"@example.com",
		"--admin", "--must-change-password=false",
		"--access-token", "--access-token-name", "giteatest", "--access-token-scopes", "all")
	if err != nil {
		return err
	}
	const marker = "Access token was successfully created... "
	for line := range strings.Lines(out) {
		if _, tok, ok := strings.Cut(line, marker); ok {
			s.Token = strings.TrimSpace(tok)
		}
	}
	if s.Token == "" {
		return fmt.Errorf("admin user create printed no token:\n%s", out)
	}
	return nil
}

// runCLI runs a gitea subcommand against this server's config and returns its output.
func (s *Server) runCLI(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.bin, s.globalArgs(args...)...)
	cmd.Dir = s.Dir
	cmd.Env = s.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("gitea %s: %w\n%s", strings.Join(args[:min(3, len(args))], " "), err, out)
	}
	return string(out), nil
}

// Stop ends the process: SIGTERM for a graceful shutdown, SIGKILL after 10 s.
// It is safe to call more than once; Start registers it with t.Cleanup.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// logTail returns the last lines of gitea.log, prefixed for an error message.
func (s *Server) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil || len(data) == 0 {
		return ""
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	lines = lines[max(0, len(lines)-40):]
	return "\n--- gitea.log (tail) ---\n" + strings.Join(lines, "\n")
}
