package github

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The payload types hold only the fields gitlaunch reads. Decoding into
// them rather than go-github's full event types keeps the handler tolerant
// of forges that send GitHub-shaped but not identical payloads (Gitea's
// repository.owner and sender fields differ in type, its pushes lack
// created/deleted/forced): a field we never read cannot fail a decode.

type payloadRepo struct {
	FullName string `json:"full_name"`
}

type payloadUser struct {
	Login string `json:"login"`
}

type pushPayload struct {
	Ref        string      `json:"ref"`
	After      string      `json:"after"`
	Deleted    bool        `json:"deleted"`
	Repository payloadRepo `json:"repository"`
}

type pullRequestPayload struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		Number            int         `json:"number"`
		State             string      `json:"state"`
		User              payloadUser `json:"user"`
		AuthorAssociation string      `json:"author_association"`
		Head              struct {
			Ref  string       `json:"ref"`
			SHA  string       `json:"sha"`
			Repo *payloadRepo `json:"repo"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository payloadRepo `json:"repository"`
}

type issueCommentPayload struct {
	Action string `json:"action"`
	Issue  struct {
		Number      int             `json:"number"`
		PullRequest json.RawMessage `json:"pull_request"`
	} `json:"issue"`
	Comment struct {
		ID                int64       `json:"id"`
		Body              string      `json:"body"`
		User              payloadUser `json:"user"`
		AuthorAssociation string      `json:"author_association"`
	} `json:"comment"`
	// IsPull is Gitea's way of saying the issue is a pull request.
	IsPull     bool        `json:"is_pull"`
	Repository payloadRepo `json:"repository"`
}

func (p *issueCommentPayload) onPullRequest() bool {
	raw := strings.TrimSpace(string(p.Issue.PullRequest))
	return p.IsPull || (raw != "" && raw != "null")
}

// facts turns a pull_request payload into what Trust remembers.
func (p *pullRequestPayload) facts() PRFacts {
	pr := &p.PullRequest
	return PRFacts{
		Base: pr.Base.Ref, Branch: pr.Head.Ref, HeadSHA: pr.Head.SHA,
		Fork:   pr.Head.Repo == nil || !strings.EqualFold(pr.Head.Repo.FullName, p.Repository.FullName),
		Author: pr.User.Login, Association: pr.AuthorAssociation,
		Open: pr.State == "open" && p.Action != "closed",
	}
}

func (p *pullRequestPayload) number() int {
	if p.Number > 0 {
		return p.Number
	}
	return p.PullRequest.Number
}

func decodePayload(event string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s payload: %w", event, err)
	}
	return nil
}
