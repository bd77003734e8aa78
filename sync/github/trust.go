package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	gh "github.com/google/go-github/v60/github"
)

// PRFacts is what gitlaunch knows about a pull request, from a webhook
// payload or the API.
type PRFacts struct {
	Base    string // target branch
	Branch  string // head branch
	HeadSHA string
	// Fork: the head repository is not the base repository (or is gone).
	Fork   bool
	Author string
	// Association is GitHub's author_association (OWNER, MEMBER,
	// COLLABORATOR, CONTRIBUTOR, NONE…); "" when unknown (Gitea).
	Association string
	Open        bool
}

// TrustOptions configure Trust.
type TrustOptions struct {
	Client *gh.Client // required
	// PermissionTTL is how long a permission answer is believed (default
	// 5 minutes): a revoked collaborator loses their power within it.
	PermissionTTL time.Duration
	Now           func() time.Time
	Logger        *slog.Logger
}

// Trust decides which pull requests run with secrets and who may command
// gitlaunch. It implements engine.PRInspector and caches what webhooks tell
// it about pull requests, and the API's permission answers.
type Trust struct {
	o     TrustOptions
	perms *lru[string, permAnswer] // "owner/name\x00login" → answer
	prs   *lru[string, PRFacts]    // "owner/name#N" → facts
}

type permAnswer struct {
	level   string
	expires time.Time
}

// NewTrust returns a Trust.
func NewTrust(opts TrustOptions) (*Trust, error) {
	if opts.Client == nil {
		return nil, errors.New("github trust: a client is required")
	}
	if opts.PermissionTTL <= 0 {
		opts.PermissionTTL = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Trust{o: opts, perms: newLRU[string, permAnswer](10000), prs: newLRU[string, PRFacts](10000)}, nil
}

func prKey(fullName string, pr int) string {
	return fmt.Sprintf("%s#%d", strings.ToLower(fullName), pr)
}

// Remember stores what a webhook said about a pull request.
func (t *Trust) Remember(fullName string, pr int, f PRFacts) { t.prs.Put(prKey(fullName, pr), f) }

// Facts returns what is remembered about a pull request.
func (t *Trust) Facts(fullName string, pr int) (PRFacts, bool) { return t.prs.Get(prKey(fullName, pr)) }

// PullRequest asks the API about a pull request and remembers the answer.
func (t *Trust) PullRequest(ctx context.Context, fullName string, pr int) (PRFacts, error) {
	owner, name, err := splitFullName(fullName)
	if err != nil {
		return PRFacts{}, err
	}
	p, _, err := t.o.Client.PullRequests.Get(ctx, owner, name, pr)
	if err != nil {
		return PRFacts{}, classify(fmt.Sprintf("pull request %s#%d", fullName, pr), err, t.o.Now())
	}
	f := PRFacts{
		Base: p.GetBase().GetRef(), Branch: p.GetHead().GetRef(), HeadSHA: p.GetHead().GetSHA(),
		Fork:   p.GetHead().GetRepo() == nil || !strings.EqualFold(p.GetHead().GetRepo().GetFullName(), fullName),
		Author: p.GetUser().GetLogin(), Association: p.GetAuthorAssociation(), Open: p.GetState() == "open",
	}
	t.Remember(fullName, pr, f)
	return f, nil
}

// InspectPR implements engine.PRInspector: a pull request is trusted when
// its head is a branch of the repository itself (not a fork) and its
// author may write to the repository.
func (t *Trust) InspectPR(ctx context.Context, repo *engine.Repo, pr int, sha string) (engine.PRInfo, error) {
	f, ok := t.Facts(repo.GitHub, pr)
	if !ok || f.HeadSHA != sha {
		var err error
		if f, err = t.PullRequest(ctx, repo.GitHub, pr); err != nil {
			return engine.PRInfo{}, err
		}
	}
	info := engine.PRInfo{Base: f.Base, Branch: f.Branch, Open: f.Open}
	if f.Fork {
		return info, nil
	}
	trusted, err := t.authorMayWrite(ctx, repo.GitHub, f)
	if err != nil {
		return engine.PRInfo{}, err
	}
	info.Trusted = trusted
	return info, nil
}

// authorMayWrite uses author_association where it settles the question
// without a call: OWNER always may; an association that implies no
// collaborator relationship (NONE, CONTRIBUTOR, FIRST_TIMER…) never may.
// MEMBER and COLLABORATOR include read-only members, so the API decides.
func (t *Trust) authorMayWrite(ctx context.Context, fullName string, f PRFacts) (bool, error) {
	switch strings.ToUpper(f.Association) {
	case "OWNER":
		return true, nil
	case "NONE", "CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN":
		return false, nil
	}
	if f.Author == "" {
		return false, nil
	}
	return t.CanWrite(ctx, fullName, f.Author)
}

// CanWrite reports whether login has write, maintain or admin permission
// on the repository, asking the API at most once per PermissionTTL.
func (t *Trust) CanWrite(ctx context.Context, fullName, login string) (bool, error) {
	key := strings.ToLower(fullName) + "\x00" + strings.ToLower(login)
	now := t.o.Now()
	if a, ok := t.perms.Get(key); ok && now.Before(a.expires) {
		return writeLevel(a.level), nil
	}
	owner, name, err := splitFullName(fullName)
	if err != nil {
		return false, err
	}
	p, _, err := t.o.Client.Repositories.GetPermissionLevel(ctx, owner, name, login)
	if err != nil {
		return false, classify(fmt.Sprintf("permission of %s on %s", login, fullName), err, now)
	}
	t.perms.Put(key, permAnswer{level: p.GetPermission(), expires: now.Add(t.o.PermissionTTL)})
	return writeLevel(p.GetPermission()), nil
}

// writeLevel: the legacy permission field says "write" for the maintain
// role too; Gitea says "owner" for the repository's owner.
func writeLevel(p string) bool {
	switch p {
	case "owner", "admin", "maintain", "write":
		return true
	}
	return false
}
