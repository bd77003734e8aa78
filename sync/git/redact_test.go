package git

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://x-access-token:ghs_secret@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://ghp_tokenonly@github.com/org/repo", "https://github.com/org/repo"},
		{"https://github.com/org/repo?access_token=abc#frag", "https://github.com/org/repo"},
		{"ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"},
		{"ssh://git:pw@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"file:///srv/git/repo.git", "file:///srv/git/repo.git"},
		{"https://user:p%zzw@host/x", "https://redacted@host/x"}, // unparsable escape
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRedactURL checks that a password put into any URL never survives.
func FuzzRedactURL(f *testing.F) {
	f.Add("https", "github.com", "org/repo.git", "hunter2-secret")
	f.Add("ssh", "host:22", "a", "pw@x")
	f.Add("http", "[::1]:80", "", "p:a:s:s")
	f.Fuzz(func(t *testing.T, scheme, host, path, pw string) {
		// A password holding '/', '?' or '#' unescaped is not a URL
		// password at all (git would read it as a host or path).
		if len(pw) < 6 || strings.ContainsAny(scheme+host, "/@?#") || strings.ContainsAny(pw, "/?#") {
			t.Skip()
		}
		raw := scheme + "://user:" + pw + "@" + host + "/" + path
		got := RedactURL(raw)
		// Text that is not secret may happen to contain the password.
		public := strings.ToLower(scheme + "://user@" + host + "/" + path)
		for _, form := range []string{pw, url.PathEscape(pw), url.QueryEscape(pw), url.UserPassword("user", pw).String()} {
			if len(form) >= 6 && strings.Contains(got, form) && !strings.Contains(public, strings.ToLower(form)) {
				t.Fatalf("RedactURL(%q) = %q keeps the password", raw, got)
			}
		}
		sc := secretsOf(raw, Auth{})
		msg := "failed to fetch " + raw
		if strings.Contains(sc.scrub(msg), pw) && !strings.Contains(public, strings.ToLower(pw)) {
			t.Fatalf("scrub(%q) keeps the password", msg)
		}
	})
}

func TestScrubRemovesToken(t *testing.T) {
	sc := secretsOf("https://u:urlpass@host/x", Auth{Token: "tok-123456"})
	msg := sc.scrub(`Get "https://u:urlpass@host/x": bad token tok-123456`)
	for _, s := range []string{"urlpass", "tok-123456"} {
		if strings.Contains(msg, s) {
			t.Errorf("scrubbed message %q still has %q", msg, s)
		}
	}
}
