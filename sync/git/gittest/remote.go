package gittest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// Remote is one bare repository on a Server.
type Remote struct {
	Server *Server
	Name   string // e.g. "repo.git"
	URL    string // http URL served by git http-backend
	Path   string // the bare repository's directory (a local-path remote)

	env []string

	mu    sync.Mutex
	work  string // a bare work repository where helpers build commits
	clock int64  // commit time counter, for reproducible commits
}

// NewRemote starts a server with one empty bare repository, "repo.git",
// whose default branch is main.
func NewRemote(t testing.TB) *Remote {
	t.Helper()
	return NewServer(t).NewRemote(t, "repo.git")
}

// NewRemote creates an empty bare repository called name on s.
func (s *Server) NewRemote(t testing.TB, name string) *Remote {
	t.Helper()
	r := s.remote(name)
	runGit(t, r.env, "", nil, "init", "--quiet", "--bare", "--initial-branch=main", r.Path)
	r.Git(t, "config", "http.receivepack", "true")
	return r
}

// OpenRemote wraps a bare repository that already exists under s.Root.
func (s *Server) OpenRemote(name string) *Remote { return s.remote(name) }

func (s *Server) remote(name string) *Remote {
	return &Remote{
		Server: s,
		Name:   name,
		URL:    s.URL + "/" + name,
		Path:   filepath.Join(s.Root, name),
		env:    Env(s.home),
		clock:  1_700_000_000,
	}
}

// FileURL is the remote as a file:// URL.
func (r *Remote) FileURL() string { return "file://" + filepath.ToSlash(r.Path) }

// Requests returns how many HTTP requests the server answered for r.
func (r *Remote) Requests() Counts { return r.Server.Requests(r.Name) }

// Git runs a git command inside the bare repository and returns its
// trimmed output.
func (r *Remote) Git(t testing.TB, args ...string) string {
	t.Helper()
	return runGit(t, r.env, r.Path, nil, args...)
}

// GitInput is Git with stdin.
func (r *Remote) GitInput(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	return runGit(t, r.env, r.Path, []byte(stdin), args...)
}

// Env is the hermetic environment the helpers run git with.
func (r *Remote) Env() []string { return append([]string(nil), r.env...) }

// Mode is a tree entry's kind.
type Mode int

// Entry kinds for File.
const (
	Regular Mode = iota
	Executable
	Symlink // Data is the link target
)

// File is one change in a commit: a file to write or, with Delete, a path
// to remove.
type File struct {
	Path   string
	Data   []byte
	Mode   Mode
	Delete bool
}

// Files turns a path → content map into sorted regular-file changes.
func Files(m map[string]string) []File {
	out := make([]File, 0, len(m))
	for p, d := range m {
		out = append(out, File{Path: p, Data: []byte(d)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Commit adds a commit to branch that writes files, pushes it and returns
// its sha. A new branch starts from the default branch's tip (or as a root
// commit when the repository is empty).
func (r *Remote) Commit(t testing.TB, branch string, files map[string]string, msg string) string {
	t.Helper()
	return r.CommitFiles(t, branch, Files(files), msg)
}

// CommitFiles is Commit with full control over modes and deletions.
func (r *Remote) CommitFiles(t testing.TB, branch string, files []File, msg string) string {
	t.Helper()
	parent := r.tip("refs/heads/" + branch)
	if parent == "" {
		if head, err := tryGit(r.env, r.Path, nil, "symbolic-ref", "HEAD"); err == nil {
			parent = r.tip(head)
		}
	}
	sha := r.commitOn(t, parent, files, msg)
	r.push(t, sha, branch, false)
	return sha
}

// ForcePush replaces branch with a new commit on top of parent ("" makes
// a root commit) that writes files, and returns its sha.
func (r *Remote) ForcePush(t testing.TB, branch, parent string, files map[string]string, msg string) string {
	t.Helper()
	sha := r.commitOn(t, parent, Files(files), msg)
	r.push(t, sha, branch, true)
	return sha
}

// DeleteBranch removes branch from the remote.
func (r *Remote) DeleteBranch(t testing.TB, branch string) {
	t.Helper()
	r.Git(t, "update-ref", "-d", "refs/heads/"+branch)
}

// SetRef points any ref (such as refs/pull/7/head) at sha, directly in the
// bare repository, the way a forge creates pull request refs.
func (r *Remote) SetRef(t testing.TB, ref, sha string) {
	t.Helper()
	r.Git(t, "update-ref", ref, sha)
}

// AddPackedRef writes a ref line straight into the bare repository's
// packed-refs, bypassing git's checks: the way a hostile or broken remote
// comes to advertise a ref no git command would create (control
// characters, "..", a branch clashing with another's folder).
func (r *Remote) AddPackedRef(t testing.TB, ref, sha string) {
	t.Helper()
	r.Git(t, "pack-refs", "--all")
	f, err := os.OpenFile(filepath.Join(r.Path, "packed-refs"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s %s\n", sha, ref); err != nil {
		t.Fatal(err)
	}
}

// DeleteRef removes any ref.
func (r *Remote) DeleteRef(t testing.TB, ref string) {
	t.Helper()
	r.Git(t, "update-ref", "-d", ref)
}

// SetHead makes branch the remote's default branch.
func (r *Remote) SetHead(t testing.TB, branch string) {
	t.Helper()
	r.Git(t, "symbolic-ref", "HEAD", "refs/heads/"+branch)
}

// Tip returns the commit ref points at, or "" when it does not exist.
func (r *Remote) Tip(ref string) string { return r.tip(ref) }

func (r *Remote) tip(ref string) string {
	out, err := tryGit(r.env, r.Path, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return ""
	}
	return out
}

// workRepo returns the work repository, creating it on first use.
func (r *Remote) workRepo(t testing.TB) string {
	t.Helper()
	if r.work == "" {
		w := t.TempDir()
		runGit(t, r.env, "", nil, "init", "--quiet", "--bare", w)
		r.work = w
	}
	return r.work
}

// commitOn builds a commit with the git CLI's fast-import in the work
// repository: one process per commit, any file mode, exact bytes.
func (r *Remote) commitOn(t testing.TB, parent string, files []File, msg string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.workRepo(t)
	if parent != "" {
		if _, err := tryGit(r.env, w, nil, "cat-file", "-e", parent+"^{commit}"); err != nil {
			runGit(t, r.env, w, nil, "fetch", "--quiet", r.Path, "+refs/*:refs/remote/*")
		}
	}
	r.clock++
	var b bytes.Buffer
	const ref = "refs/gittest/build"
	// reset forgets what the build ref pointed at, so "" makes a root commit.
	fmt.Fprintf(&b, "reset %s\n", ref)
	fmt.Fprintf(&b, "commit %s\n", ref)
	fmt.Fprintf(&b, "author %s <%s> %d +0000\n", AuthorName, AuthorEmail, r.clock)
	fmt.Fprintf(&b, "committer %s <%s> %d +0000\n", AuthorName, AuthorEmail, r.clock)
	fmt.Fprintf(&b, "data %d\n%s\n", len(msg), msg)
	if parent != "" {
		fmt.Fprintf(&b, "from %s\n", parent)
	}
	for _, f := range files {
		if f.Delete {
			fmt.Fprintf(&b, "D %s\n", quote(f.Path))
			continue
		}
		mode := "100644"
		switch f.Mode {
		case Executable:
			mode = "100755"
		case Symlink:
			mode = "120000"
		}
		fmt.Fprintf(&b, "M %s inline %s\ndata %d\n", mode, quote(f.Path), len(f.Data))
		b.Write(f.Data)
		b.WriteByte('\n')
	}
	b.WriteString("done\n")
	runGit(t, r.env, w, b.Bytes(), "fast-import", "--quiet", "--done", "--force")
	return runGit(t, r.env, w, nil, "rev-parse", ref)
}

// quote writes a path in fast-import's C-style quoting (Go's quoting
// matches it for printable ASCII, which is all the tests use).
func quote(p string) string { return fmt.Sprintf("%q", p) }

func (r *Remote) push(t testing.TB, sha, branch string, force bool) {
	t.Helper()
	spec := sha + ":refs/heads/" + branch
	if force {
		spec = "+" + spec
	}
	runGit(t, r.env, r.workRepo(t), nil, "push", "--quiet", r.Path, spec)
}
