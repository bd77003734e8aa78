package git

import (
	"net/url"
	"strings"
)

// RedactURL returns rawURL without credentials, for logs and errors: the
// user info of http(s) URLs (tokens are often put there), the password of
// any other URL, and query strings and fragments are removed. Scp-like
// ssh addresses (git@host:path) carry no password and are returned as
// they are.
func RedactURL(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL // a local path or user@host:path
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// Unparsable: drop everything up to the last '@' of the authority.
		auth, path, _ := strings.Cut(rest, "/")
		if i := strings.LastIndex(auth, "@"); i >= 0 {
			auth = "redacted@" + auth[i+1:]
		}
		if j := strings.IndexAny(path, "?#"); j >= 0 {
			path = path[:j]
		}
		if path != "" || strings.Contains(rest, "/") {
			return scheme + "://" + auth + "/" + path
		}
		return scheme + "://" + auth
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	if u.User != nil {
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			u.User = nil
		default:
			u.User = url.User(u.User.Username())
		}
	}
	return u.String()
}

// secrets lists strings that must never appear in messages.
type secrets []string

// scrub replaces every secret in s.
func (sc secrets) scrub(s string) string {
	for _, v := range sc {
		if len(v) >= 4 { // shorter values would redact innocent text
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// secretsOf gathers what in the URL and auth is secret: the token, the
// URL's user info and password, and the raw URL itself when it differs
// from its redacted form.
func secretsOf(rawURL string, a Auth) secrets {
	var sc secrets
	if a.Token != "" {
		sc = append(sc, a.Token)
	}
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			sc = append(sc, p, url.QueryEscape(p), u.User.String())
		}
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			sc = append(sc, u.User.Username(), u.User.String())
		}
		if q := u.RawQuery; q != "" {
			sc = append(sc, q)
		}
	}
	if red := RedactURL(rawURL); red != rawURL {
		sc = append([]string{rawURL}, sc...) // longest first
	}
	return sc
}
