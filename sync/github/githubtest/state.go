package githubtest

import (
	"slices"
	"strings"
	"time"
)

type repo struct {
	fullName string
	statuses map[string][]Status // sha → statuses, oldest first
	comments []*Comment          // every issue comment, oldest first
	pulls    map[int]*PullRequest
	roles    map[string]string // lowercased login → admin, maintain, write, triage, read
}

// Status is one commit status as stored.
type Status struct {
	ID          int64
	SHA         string
	State       string
	Context     string
	Description string
	TargetURL   string
	Creator     string
	CreatedAt   time.Time
}

// Comment is one issue or pull request comment.
type Comment struct {
	ID        int64
	Issue     int
	User      string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
	Reactions []Reaction
}

// Reaction is a user's reaction to a comment.
type Reaction struct {
	ID      int64
	User    string
	Content string
}

// PullRequest is what the fake knows of a pull request.
type PullRequest struct {
	Number            int
	Title             string
	State             string // open or closed; "" = open
	User              string
	AuthorAssociation string // OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE…
	HeadRef           string
	HeadSHA           string
	// HeadRepo is the head repository's full name: the base repository
	// itself, a fork, or "" when the fork was deleted.
	HeadRepo string
	BaseRef  string
	BaseSHA  string
}

// AddRepo creates a repository; the token user "gitlaunch-bot" gets write
// access to it.
func (s *Server) AddRepo(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[strings.ToLower(fullName)] != nil {
		return
	}
	s.repos[strings.ToLower(fullName)] = &repo{fullName: fullName, statuses: map[string][]Status{},
		pulls: map[int]*PullRequest{}, roles: map[string]string{"gitlaunch-bot": "write"}}
}

// DeleteRepo removes a repository: its endpoints answer 404 from now on.
func (s *Server) DeleteRepo(fullName string) {
	s.mu.Lock()
	delete(s.repos, strings.ToLower(fullName))
	s.mu.Unlock()
}

func (s *Server) repo(fullName string) *repo {
	r := s.repos[strings.ToLower(fullName)]
	if r == nil {
		panic("githubtest: no repository " + fullName + " (call AddRepo)")
	}
	return r
}

// SetPR adds or replaces a pull request.
func (s *Server) SetPR(fullName string, pr PullRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.Title == "" {
		pr.Title = "Pull request"
	}
	s.repo(fullName).pulls[pr.Number] = &pr
}

// SetPermission gives login a role on the repository: admin, maintain,
// write, triage, read or none.
func (s *Server) SetPermission(fullName, login, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(fullName).roles[strings.ToLower(login)] = role
}

// AddComment posts a comment as user, as if through the web interface.
func (s *Server) AddComment(fullName string, issue int, user, body string) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.addComment(s.repo(fullName), issue, user, body)
	return *c
}

func (s *Server) addComment(r *repo, issue int, user, body string) *Comment {
	s.nextID++
	now := time.Now().UTC()
	c := &Comment{ID: s.nextID, Issue: issue, User: user, Body: body, CreatedAt: now, UpdatedAt: now}
	r.comments = append(r.comments, c)
	return c
}

// Comments returns the comments of an issue or pull request, oldest first.
func (s *Server) Comments(fullName string, issue int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.repo(fullName).comments {
		if c.Issue == issue {
			cc := *c
			cc.Reactions = slices.Clone(c.Reactions)
			out = append(out, cc)
		}
	}
	return out
}

// Statuses returns every status posted for sha, oldest first.
func (s *Server) Statuses(fullName, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.repo(fullName).statuses[sha])
}

// Combined returns the newest status per context for sha, as GitHub's
// combined status does.
func (s *Server) Combined(fullName, sha string) map[string]Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return latestPerContext(s.repo(fullName).statuses[sha])
}

func latestPerContext(all []Status) map[string]Status {
	out := map[string]Status{}
	for _, st := range all {
		out[st.Context] = st
	}
	return out
}

// permission maps a role to the legacy permission field: maintain counts
// as write, triage as read.
func permission(role string) string {
	switch role {
	case "admin":
		return "admin"
	case "maintain", "write":
		return "write"
	case "triage", "read":
		return "read"
	}
	return "none"
}
