package git_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

func TestMain(m *testing.M) {
	gittest.ServeMain()
	os.Exit(m.Run())
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open opens url with a fresh cache and the given option tweaks.
func open(t testing.TB, url string, tweak ...func(*git.Options)) *git.Repo {
	t.Helper()
	o := git.Options{URL: url, CacheDir: t.TempDir(), Logger: quiet, Timeout: 10 * time.Second}
	for _, f := range tweak {
		f(&o)
	}
	r, err := git.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
