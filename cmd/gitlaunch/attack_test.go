package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
)

// jobYAML is a manifest whose command is the given shell lines.
func jobYAML(name string, lines []string, extra string) string {
	return "apiVersion: gitlaunch.dev/v1\nkind: Job\nname: " + name + "\nimage: busybox\ncommand: |\n  " +
		strings.Join(lines, "\n  ") + "\n" + extra
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// leakedForms are the ways a secret could show: as it is, escaped for
// HTML or JSON, encoded, or cut in two.
func leakedForms(secret string) []string {
	j, _ := json.Marshal(secret)
	forms := []string{secret, html.EscapeString(secret), strings.Trim(string(j), `"`),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.URLEncoding.EncodeToString([]byte(secret)),
		strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(secret)), "="),
		hex.EncodeToString([]byte(secret)), url.QueryEscape(secret), url.PathEscape(secret)}
	half := len(secret) / 2
	return append(forms, secret[:half], secret[half:], html.EscapeString(secret[half:]))
}

// TestSecretsHiddenOnEverySurface reproduces issue 9 finding 2 as a job's
// author would: a trusted job prints its secret (which holds & and <) in
// two pieces a moment apart, base64, hex and URL-encoded, names a metric
// and an artifact after it, and fails so that the pull request comment
// shows its log tail. No surface shows the secret in any form: the
// stored log, the run page, the log route, the API, the console, the
// syncer's log, `gitlaunch logs` and `runs -o json`, the commit statuses
// and the pull request comment.
func TestSecretsHiddenOnEverySurface(t *testing.T) {
	const secret = "Sw0rd&fish<42>"
	gh := githubtest.New(t)
	gh.AddRepo("octo/models")
	gh.AddToken("tok-123456", "gitlaunch-bot")
	gh.SetPermission("octo/models", "alice", "write")
	remote := gittest.NewRemote(t)
	leak := jobYAML("leak", []string{
		`k="$API_KEY"`,
		`printf 'piece=%s' "${k%%&*}"`,
		`sleep 0.5`,
		`printf '%s\n' "&${k#*&}"`,
		`printf '%s' "$k" | base64`,
		`printf '%s' "$k" | od -An -tx1 | tr -d ' \n'; echo`,
		`python3 -c 'import os, urllib.parse as u; print(u.quote(os.environ["API_KEY"], safe=""))'`,
		`printf '{"m_%s": 1}' "$k" > metrics.json`,
		`touch "out-$k.txt"`,
		`echo "failing with $k" >&2`,
		`echo "github token tok-""123456"`, // jobs cannot know it: checks that the syncer hides its own token
		`exit 3`,
	}, "secrets: [API_KEY]\nresults: {artifacts: ['out-*'], metrics: {file: metrics.json}}\n")
	mainSHA := remote.Commit(t, "main", map[string]string{"leak/job.yaml": leak}, "first")

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"token":       "tok-123456\n",
		"secrets.env": "API_KEY=" + secret + "\n",
		"gitlaunch.yaml": `apiVersion: gitlaunch.dev/v1
kind: Config
repos:
  - url: ` + remote.URL + `
    name: models
    github: octo/models
    secretsFile: secrets.env
github:
  baseURL: ` + gh.APIURL() + `
  tokenFile: token
sync:
  pollInterval: 1h
  baseURL: https://gitlaunch.example.com
`})
	s := daemontest.Open(t, filepath.Join(dir, "data"), "", daemon.Options{ConfigPath: filepath.Join(dir, "gitlaunch.yaml"),
		Listen: "127.0.0.1:0"}).Start()
	push := waitTerminal(t, s, func(r *engine.Run) bool { return r.Trigger == engine.TriggerPush })

	// A pull request by a collaborator: trusted, so it gets the secret.
	headSHA := remote.Commit(t, "feature", map[string]string{"leak/job.yaml": leak, "leak/notes.txt": "x"}, "second")
	remote.SetRef(t, "refs/pull/7/head", headSHA)
	gh.SetPR("octo/models", githubtest.PullRequest{Number: 7, User: "alice", AuthorAssociation: "COLLABORATOR",
		HeadRef: "feature", HeadSHA: headSHA, HeadRepo: "octo/models", BaseRef: "main", BaseSHA: mainSHA})
	s.Engine().PollNow("models")
	pr := waitTerminal(t, s, func(r *engine.Run) bool { return r.PR == 7 })
	if pr.Untrusted || pr.State != engine.StateFailed || push.State != engine.StateFailed {
		t.Fatalf("runs: push %s, PR %s (untrusted %v)", push.State, pr.State, pr.Untrusted)
	}
	comment := waitComment(t, gh, "octo/models", 7, "failed")

	surfaces := map[string]string{"console": s.Console.String(), "syncer log": s.Log.String(), "PR comment": comment}
	for _, st := range gh.Statuses("octo/models", mainSHA) {
		surfaces["status "+st.Context] += st.Description + "\n"
	}
	base := "http://" + s.Addr().String()
	for _, r := range []*engine.Run{push, pr} {
		surfaces["store log "+r.ID] = storeLog(t, s, r.ID)
		for _, path := range []string{"/runs/" + r.ID, "/runs/" + r.ID + "/log", "/api/runs/" + r.ID} {
			surfaces[path] = get(t, base+path)
		}
		out, errOut, code := gitlaunch(t, "", "logs", "--data-dir", s.DataDir(), r.ID)
		if code != 0 {
			t.Errorf("logs %s: exit %d %s", r.ID, code, errOut)
		}
		surfaces["gitlaunch logs "+r.ID] = out
	}
	surfaces["/api/runs"] = get(t, base+"/api/runs")
	surfaces["/"] = get(t, base+"/")
	out, _, _ := gitlaunch(t, "", "runs", "--data-dir", s.DataDir(), "-o", "json")
	surfaces["runs -o json"] = out
	out, _, _ = gitlaunch(t, "", "runs", "--data-dir", s.DataDir())
	surfaces["runs"] = out

	for where, text := range surfaces {
		for _, leak := range append(leakedForms(secret), "tok-123456") {
			if strings.Contains(text, leak) {
				t.Errorf("%s shows %q:\n%s", where, leak, text)
			}
		}
	}
	// The job did print it: the masks are there.
	for _, where := range []string{"store log " + pr.ID, "gitlaunch logs " + pr.ID, "/runs/" + pr.ID + "/log", "PR comment"} {
		if !strings.Contains(surfaces[where], "piece=***") || !strings.Contains(surfaces[where], "failing with ***") ||
			!strings.Contains(surfaces[where], "github token ***") {
			t.Errorf("%s lacks the masks:\n%s", where, surfaces[where])
		}
	}
}

// waitTerminal waits for a run that match selects to end.
func waitTerminal(t *testing.T, s *daemontest.Syncer, match func(*engine.Run) bool) *engine.Run {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		runs, err := s.Store().ListRuns(context.Background(), engine.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if match(r) && r.State.Terminal() {
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no matching run ended within a minute")
	return nil
}

// waitComment waits for the pull request's comment to say want.
func waitComment(t *testing.T, gh *githubtest.Server, repo string, pr int, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range gh.Comments(repo, pr) {
			if strings.Contains(c.Body, want) {
				return c.Body
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no comment on #%d says %q: %+v", pr, want, gh.Comments(repo, pr))
	return ""
}

func storeLog(t *testing.T, s *daemontest.Syncer, id string) string {
	t.Helper()
	rc, err := s.Store().OpenLog(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return string(b)
}

// TestTerminalControlSequencesNeutralised reproduces issue 9 finding 10: a
// job prints a clipboard write (OSC 52), a title change, a screen clear and
// a bidi override, names a metric with escapes; the remote advertises a
// branch whose name holds a bidi override and a ref whose name holds ESC.
// The console, `runs` (table, warnings and JSON) and `logs` print none of
// it raw; `logs` keeps colours, and `logs --raw` prints the bytes stored.
func TestTerminalControlSequencesNeutralised(t *testing.T) {
	remote := gittest.NewRemote(t)
	job := jobYAML("term", []string{
		`printf 'clip \033]52;c;cHduZWQ=\007 title \033]0;pwned\033\\ clear \033[2J\033[H done\n'`,
		`printf '\033[31mred\033[0m \342\200\256fdp.exe\n'`,
		`printf '{"loss\\u001b]0;t\\u0007": 1, "acc\\u202e": 2}' > metrics.json`, // JSON escapes: a valid file
	}, "results: {metrics: {file: metrics.json}}\non: {push: {branches: ['*']}}\n")
	sha := remote.Commit(t, "main", map[string]string{"term/job.yaml": job}, "first")
	remote.SetRef(t, "refs/heads/\u202eevil", sha)
	remote.AddPackedRef(t, "refs/heads/\x1b]0;owned\x07", sha)
	data := t.TempDir()
	out, errOut, code := gitlaunch(t, t.TempDir(), "sync", "--once", "--data-dir", data, remote.URL)
	if code != 0 {
		t.Fatalf("sync --once: exit %d\n%s\n%s", code, out, errOut)
	}
	runsOut, runsErr, _ := gitlaunch(t, "", "runs", "--data-dir", data)
	jsonOut, _, _ := gitlaunch(t, "", "runs", "--data-dir", data, "-o", "json")
	var runs []*engine.Run
	if err := json.Unmarshal([]byte(jsonOut), &runs); err != nil || len(runs) != 2 {
		t.Fatalf("runs -o json: %v\n%s", err, jsonOut)
	}
	logs, _, _ := gitlaunch(t, "", "logs", "--data-dir", data, runs[0].ID)
	raw, _, _ := gitlaunch(t, "", "logs", "--raw", "--data-dir", data, runs[0].ID)

	for where, text := range map[string]string{"sync console": out + errOut, "runs": runsOut + runsErr, "runs -o json": jsonOut, "logs": logs} {
		for _, bad := range []string{"\x1b]", "\x1b[2J", "\x1b[H", "\x07", "\u202e"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s prints %q raw:\n%q", where, bad, text)
			}
		}
	}
	if !strings.Contains(logs, "\x1b[31mred\x1b[0m") || !strings.Contains(logs, "clip  title  clear  done") {
		t.Errorf("logs:\n%q", logs)
	}
	if !strings.Contains(raw, "\x1b]52;c;cHduZWQ=\x07") || !strings.Contains(raw, "\u202e") {
		t.Errorf("logs --raw:\n%q", raw)
	}
	// Hostile names are shown, escaped: the bidi branch ran, the ESC ref is
	// a warning.
	if !strings.Contains(runsOut, `\u202eevil`) || !strings.Contains(out, `\u202eevil`) {
		t.Errorf("the bidi branch is not shown escaped:\n%s\n%s", runsOut, out)
	}
	if !strings.Contains(runsErr, `warning: repository repo: some refs are not followed: ref "refs/heads/\x1b]0;owned\a" skipped`) {
		t.Errorf("runs warnings:\n%s", runsErr)
	}
	if !strings.Contains(jsonOut, `\u202eevil`) {
		t.Errorf("runs -o json does not escape the bidi override:\n%s", jsonOut)
	}
}

// TestTokenURLs reproduces issue 9 finding 2 (second part) from the
// command line: a config naming a repository by a URL with a token is
// refused, naming tokenFile and not the token; a URL with a token given as
// an argument is used, and the token shows in no output and no stored run.
func TestTokenURLs(t *testing.T) {
	const token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"
	remote := gittest.NewRemote(t)
	remote.Server.RequireToken(token)
	remote.Commit(t, "main", map[string]string{"hello/job.yaml": jobYAML("hello", []string{"echo repo is $GITLAUNCH_REPO"}, "")}, "first")
	withToken := strings.Replace(remote.URL, "http://", "http://x-access-token:"+token+"@", 1)

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"gitlaunch.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Config\nrepos:\n  - url: " + withToken + "\n"})
	out, errOut, code := gitlaunch(t, "", "sync", "--once", "--config", filepath.Join(dir, "gitlaunch.yaml"), "--data-dir", filepath.Join(dir, "d1"))
	if code != 1 || !strings.Contains(errOut, "repos[0].url") || !strings.Contains(errOut, "tokenFile") || strings.Contains(out+errOut, token) {
		t.Errorf("config with a token URL: exit %d\n%s\n%s", code, out, errOut)
	}

	data := filepath.Join(dir, "d2")
	out, errOut, code = gitlaunch(t, "", "run", "--data-dir", data, "--job", "hello", withToken)
	if code != 0 || !strings.Contains(out, "repo is repo") {
		t.Fatalf("run with a token URL: exit %d\n%s\n%s", code, out, errOut)
	}
	jsonOut, _, _ := gitlaunch(t, "", "runs", "--data-dir", data, "-o", "json")
	var runs []*engine.Run
	if err := json.Unmarshal([]byte(jsonOut), &runs); err != nil || len(runs) != 1 || runs[0].RepoURL != remote.URL {
		t.Fatalf("runs -o json: %v\n%s", err, jsonOut)
	}
	logs, _, _ := gitlaunch(t, "", "logs", "--data-dir", data, runs[0].ID)
	table, _, _ := gitlaunch(t, "", "runs", "--data-dir", data)
	for where, text := range map[string]string{"run": out + errOut, "runs -o json": jsonOut, "logs": logs, "runs": table} {
		if strings.Contains(text, token) {
			t.Errorf("%s shows the token:\n%s", where, text)
		}
	}
}
