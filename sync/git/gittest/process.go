package gittest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const envServeRoot = "GITTEST_SERVE_ROOT"

// ServeMain turns the test binary into a plain http-backend server when it
// was started by StartServerProcess; otherwise it returns at once. Call it
// first in TestMain. Serving from another process keeps the server's CPU
// out of the test process's own rusage, so client cost can be measured.
func ServeMain() {
	root := os.Getenv(envServeRoot)
	if root == "" {
		return
	}
	if err := serve(root); err != nil {
		fmt.Fprintln(os.Stderr, "gittest server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serve(root string) error {
	dir, err := execPath()
	if err != nil {
		return err
	}
	home, err := os.MkdirTemp("", "gittest-home-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Handler(filepath.Join(dir, "git-http-backend"), root, home)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	fmt.Printf("http://%s/git\n", l.Addr())
	// The parent closes our stdin to stop us.
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
	<-done
	return nil
}

// StartServerProcess serves the bare repositories under root from a child
// process (the test binary itself, which must call ServeMain from
// TestMain) and returns the base URL; repositories are at URL + "/" + name.
// The child is stopped when the test ends.
func StartServerProcess(t testing.TB, root string) string {
	t.Helper()
	HTTPBackend(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envServeRoot+"="+root)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server process: %v", err)
	}
	return strings.TrimSpace(line)
}
