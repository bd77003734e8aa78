package git

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
)

// tracked reports whether a ref is one gitlaunch follows: branches and
// pull request heads (refs/pull/<n>/head, as GitHub and Gitea publish).
func tracked(name string) bool {
	if strings.HasPrefix(name, "refs/heads/") {
		return len(name) > len("refs/heads/")
	}
	n, ok := strings.CutPrefix(name, "refs/pull/")
	if !ok {
		return false
	}
	n, ok = strings.CutSuffix(n, "/head")
	if !ok || n == "" {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// advertised extracts the tracked refs and the default branch from a ref
// advertisement. The default branch comes from the symref=HEAD:… capability;
// without it (old servers, dumb mirrors) it is main or master when present,
// else a branch at the same commit as HEAD, else "main".
//
// A tracked ref gitlaunch cannot follow (a name git itself refuses, see
// checkRefName; a ref advertised without a commit, as git does for refs it
// cannot read) is left out with a warning: one bad ref must not stop the
// repository's other refs from being polled.
func advertised(ar *packp.AdvRefs) (map[plumbing.ReferenceName]plumbing.Hash, string, []string) {
	refs := make(map[plumbing.ReferenceName]plumbing.Hash, len(ar.References))
	var warnings []string
	for name, h := range ar.References {
		if !tracked(name) {
			continue
		}
		if why := checkRefName(name); why != "" {
			warnings = append(warnings, skipped(name, why))
			continue
		}
		if h.IsZero() {
			warnings = append(warnings, skipped(name, "advertised without a commit"))
			continue
		}
		refs[plumbing.ReferenceName(name)] = h
	}
	sort.Strings(warnings)
	return refs, defaultBranch(ar, refs), warnings
}

func defaultBranch(ar *packp.AdvRefs, refs map[plumbing.ReferenceName]plumbing.Hash) string {
	for _, v := range ar.Capabilities.Get(capability.SymRef) {
		if target, ok := strings.CutPrefix(v, "HEAD:"); ok && checkRefName(target) == "" {
			if b := engine.BranchOf(target); b != "" {
				return b
			}
		}
	}
	for _, b := range []string{"main", "master"} {
		if _, ok := refs[plumbing.NewBranchReferenceName(b)]; ok {
			return b
		}
	}
	if ar.Head != nil {
		var names []string
		for name, h := range refs {
			if h == *ar.Head && name.IsBranch() {
				names = append(names, name.Short())
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			return names[0]
		}
	}
	return "main"
}

// skipped is the poll warning for a ref left out; the name is quoted, so
// that control characters in it reach no terminal.
func skipped(name, why string) string {
	return fmt.Sprintf("ref %s skipped: %s", strconv.Quote(name), why)
}

// checkRefName says why name is not a ref name gitlaunch follows, or "":
// the rules of git check-ref-format (which also keep a name from leaving
// the cache's refs folder), and valid UTF-8, since names are stored and
// shown as text.
func checkRefName(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "the name is not UTF-8"
	case name == "@" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.HasSuffix(name, "."):
		return "the name begins or ends with / or ends with ."
	case strings.Contains(name, ".."), strings.Contains(name, "//"), strings.Contains(name, "@{"):
		return "the name contains .., // or @{"
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return "the name contains a control character, a space or one of ~^:?*[\\"
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return "a part of the name begins with . or ends with .lock"
		}
	}
	return ""
}

// refDiff is what changed between the cache and the remote.
type refDiff struct {
	changed map[plumbing.ReferenceName]plumbing.Hash // new or moved
	deleted []plumbing.ReferenceName
}

func (d refDiff) empty() bool { return len(d.changed) == 0 && len(d.deleted) == 0 }

func diffRefs(known, remote map[plumbing.ReferenceName]plumbing.Hash) refDiff {
	var d refDiff
	for name, h := range remote {
		if old, ok := known[name]; !ok || old != h {
			if d.changed == nil {
				d.changed = map[plumbing.ReferenceName]plumbing.Hash{}
			}
			d.changed[name] = h
		}
	}
	for name := range known {
		if _, ok := remote[name]; !ok {
			d.deleted = append(d.deleted, name)
		}
	}
	sort.Slice(d.deleted, func(i, j int) bool { return d.deleted[i] < d.deleted[j] })
	return d
}
