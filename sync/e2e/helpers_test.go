package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/kube"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
	"github.com/gitlaunch/gitlaunch/sync/store"
	"github.com/gitlaunch/gitlaunch/templates"
)

// kubeEngine is the engine wired as `gitlaunch sync` wires it with the
// kube executor: a git remote, a SQLite store and a real API server.
type kubeEngine struct {
	eng   *engine.Engine
	store *store.Store
	exec  *kube.Executor
}

// newKubeEngine wires an engine; base is the admin's Pod template (nil:
// the embedded one).
func newKubeEngine(t *testing.T, ctx context.Context, env *kubetest.Env, ns string, remote *gittest.Remote, base *corev1.Pod) *kubeEngine {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "gitlaunch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, err := git.Open(ctx, git.Options{URL: remote.URL, CacheDir: filepath.Join(dir, "git")})
	if err != nil {
		t.Fatal(err)
	}
	exec, err := kube.New(ctx, kube.Options{Config: env.Config, Namespace: ns, PodTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Close() })
	cfg := schema.DefaultConfig()
	cfg.Namespace = ns
	if base == nil {
		if base, err = templates.ParsePod(templates.PodYAML); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := engine.New(engine.Options{
		Config: cfg, Store: st, Executor: exec, MaxRuns: 1000, PollInterval: time.Hour,
		Repos: []*engine.Repo{{Name: "models", URL: remote.URL, Source: src, GitHub: "octo-org/models"}},
		Render: func(job *schema.Job, r *engine.Run) (*corev1.Pod, error) {
			return render.Pod(job, render.RunContext{RunID: r.ID, Repo: r.Repo, RepoURL: r.RepoURL, SHA: r.SHA,
				Ref: r.Ref, Branch: r.Branch, Trigger: string(r.Trigger), Attempt: max(r.Attempt, 1)}, cfg, base)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &kubeEngine{eng: eng, store: st, exec: exec}
}
