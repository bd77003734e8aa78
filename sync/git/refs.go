package git

import (
	"sort"
	"strings"

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
func advertised(ar *packp.AdvRefs) (map[plumbing.ReferenceName]plumbing.Hash, string) {
	refs := make(map[plumbing.ReferenceName]plumbing.Hash, len(ar.References))
	for name, h := range ar.References {
		if tracked(name) {
			refs[plumbing.ReferenceName(name)] = h
		}
	}
	for _, v := range ar.Capabilities.Get(capability.SymRef) {
		if target, ok := strings.CutPrefix(v, "HEAD:"); ok {
			if b := engine.BranchOf(target); b != "" {
				return refs, b
			}
		}
	}
	for _, b := range []string{"main", "master"} {
		if _, ok := refs[plumbing.NewBranchReferenceName(b)]; ok {
			return refs, b
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
			return refs, names[0]
		}
	}
	return refs, "main"
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
