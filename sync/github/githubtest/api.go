package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /user", s.getUser)
	m.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", s.createStatus)
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/status", s.combinedStatus)
	m.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/statuses", s.listStatuses)
	// {sub} rather than a literal "comments": a literal would make the
	// pattern overlap issues/comments/{id} without either being more
	// specific, which ServeMux refuses.
	m.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/{sub}", onlySub("comments", s.listComments))
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/{sub}", onlySub("comments", s.createComment))
	m.HandleFunc("GET /repos/{owner}/{repo}/issues/comments/{id}", s.getComment)
	m.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.editComment)
	m.HandleFunc("DELETE /repos/{owner}/{repo}/issues/comments/{id}", s.deleteComment)
	m.HandleFunc("POST /repos/{owner}/{repo}/issues/comments/{id}/reactions", s.createReaction)
	m.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.getPull)
	m.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{user}/permission", s.getPermission)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusNotFound, msg("Not Found")) })
}

func onlySub(sub string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("sub") != sub {
			writeJSON(w, http.StatusNotFound, msg("Not Found"))
			return
		}
		h(w, r)
	}
}

// lookup finds the request's repository under s.mu; it answers 404 itself.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) *repo {
	rp := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	if rp == nil {
		writeJSON(w, http.StatusNotFound, msg("Not Found"))
	}
	return rp
}

func userJSON(login string) map[string]any {
	return map[string]any{"login": login, "id": idOf(login), "type": "User"}
}

// idOf gives each login a stable number.
func idOf(login string) int64 {
	var h int64 = 7
	for _, c := range strings.ToLower(login) {
		h = h*31 + int64(c)
	}
	if h < 0 {
		h = -h
	}
	return h%1_000_000 + 1
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, userJSON(login(r)))
}

// ---- statuses ----

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$|^[0-9a-f]{64}$`)

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, msg("Problems parsing JSON"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	sha := r.PathValue("sha")
	switch perm := permission(rp.roles[strings.ToLower(login(r))]); {
	case perm != "write" && perm != "admin":
		writeJSON(w, http.StatusNotFound, msg("Not Found"))
		return
	case !shaRE.MatchString(sha):
		validationFailed(w, "Status", "sha", "No commit found for SHA: "+sha)
		return
	case !slices.Contains([]string{"error", "failure", "pending", "success"}, in.State):
		validationFailed(w, "Status", "state", "state is not included in the list")
		return
	case in.Description != nil && utf8.RuneCountInString(*in.Description) > 140:
		validationFailed(w, "Status", "description", "description is too long (maximum is 140 characters)")
		return
	}
	st := Status{SHA: sha, State: in.State, Context: "default", Creator: login(r), CreatedAt: time.Now().UTC()}
	if in.Context != nil && *in.Context != "" {
		st.Context = *in.Context
	}
	if in.Description != nil {
		st.Description = *in.Description
	}
	if in.TargetURL != nil {
		st.TargetURL = *in.TargetURL
	}
	s.nextID++
	st.ID = s.nextID
	rp.statuses[sha] = append(rp.statuses[sha], st)
	writeJSON(w, http.StatusCreated, s.statusJSON(r, rp, st))
}

func (s *Server) statusJSON(r *http.Request, rp *repo, st Status) map[string]any {
	return map[string]any{
		"url":         fmt.Sprintf("%s/api/v3/repos/%s/statuses/%s", s.URL, rp.fullName, st.SHA),
		"id":          st.ID,
		"node_id":     fmt.Sprintf("SC_%d", st.ID),
		"state":       st.State,
		"description": st.Description,
		"target_url":  st.TargetURL,
		"context":     st.Context,
		"created_at":  st.CreatedAt.Format(time.RFC3339),
		"updated_at":  st.CreatedAt.Format(time.RFC3339),
		"creator":     userJSON(st.Creator),
	}
}

func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	sha := r.PathValue("ref")
	latest := latestPerContext(rp.statuses[sha])
	var list []map[string]any
	state := "success"
	if len(latest) == 0 {
		state = "pending"
	}
	for _, st := range rp.statuses[sha] {
		if latest[st.Context].ID != st.ID {
			continue
		}
		list = append(list, s.statusJSON(r, rp, st))
		switch {
		case st.State == "error" || st.State == "failure":
			state = "failure"
		case st.State == "pending" && state != "failure":
			state = "pending"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": state, "sha": sha, "total_count": len(list), "statuses": list,
		"repository": map[string]any{"full_name": rp.fullName}})
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	all := slices.Clone(rp.statuses[r.PathValue("ref")])
	slices.Reverse(all) // newest first, as GitHub lists them
	page, ok := paginate(w, r, len(all))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, st := range all[page.from:page.to] {
		out = append(out, s.statusJSON(r, rp, st))
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- issue comments ----

func (s *Server) hasIssue(rp *repo, n int) bool {
	_, ok := rp.pulls[n]
	return ok
}

func (s *Server) commentJSON(rp *repo, c *Comment) map[string]any {
	assoc := "NONE"
	switch rp.roles[strings.ToLower(c.User)] {
	case "admin", "maintain", "write", "triage", "read":
		assoc = "COLLABORATOR"
	}
	return map[string]any{
		"id":                 c.ID,
		"node_id":            fmt.Sprintf("IC_%d", c.ID),
		"url":                fmt.Sprintf("%s/api/v3/repos/%s/issues/comments/%d", s.URL, rp.fullName, c.ID),
		"html_url":           fmt.Sprintf("%s/%s/pull/%d#issuecomment-%d", s.URL, rp.fullName, c.Issue, c.ID),
		"issue_url":          fmt.Sprintf("%s/api/v3/repos/%s/issues/%d", s.URL, rp.fullName, c.Issue),
		"body":               c.Body,
		"user":               userJSON(c.User),
		"author_association": assoc,
		"created_at":         c.CreatedAt.Format(time.RFC3339),
		"updated_at":         c.UpdatedAt.Format(time.RFC3339),
	}
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	if !s.hasIssue(rp, n) {
		writeJSON(w, http.StatusNotFound, msg("Not Found"))
		return
	}
	var all []*Comment
	for _, c := range rp.comments {
		if c.Issue == n {
			all = append(all, c)
		}
	}
	page, ok := paginate(w, r, len(all))
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, c := range all[page.from:page.to] {
		out = append(out, s.commentJSON(rp, c))
	}
	writeJSON(w, http.StatusOK, out)
}

// checkBody applies GitHub's rules for comment bodies.
func checkBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, msg("Problems parsing JSON"))
		return "", false
	}
	switch {
	case in.Body == nil || strings.TrimSpace(*in.Body) == "":
		validationFailed(w, "IssueComment", "body", "body cannot be blank")
		return "", false
	case utf8.RuneCountInString(*in.Body) > 65536:
		validationFailed(w, "IssueComment", "body", "Body is too long (maximum is 65536 characters)")
		return "", false
	}
	return *in.Body, true
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	body, ok := checkBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	if !s.hasIssue(rp, n) {
		writeJSON(w, http.StatusNotFound, msg("Not Found"))
		return
	}
	c := s.addComment(rp, n, login(r), body)
	w.Header().Set("Location", fmt.Sprintf("%s/api/v3/repos/%s/issues/comments/%d", s.URL, rp.fullName, c.ID))
	writeJSON(w, http.StatusCreated, s.commentJSON(rp, c))
}

func (s *Server) findComment(w http.ResponseWriter, r *http.Request) (*repo, int, bool) {
	rp := s.lookup(w, r)
	if rp == nil {
		return nil, 0, false
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for i, c := range rp.comments {
		if c.ID == id {
			return rp, i, true
		}
	}
	writeJSON(w, http.StatusNotFound, msg("Not Found"))
	return nil, 0, false
}

func (s *Server) getComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rp, i, ok := s.findComment(w, r); ok {
		writeJSON(w, http.StatusOK, s.commentJSON(rp, rp.comments[i]))
	}
}

// mayEdit: the author, or anyone with write access to the repository.
func mayEdit(rp *repo, c *Comment, user string) bool {
	p := permission(rp.roles[strings.ToLower(user)])
	return strings.EqualFold(c.User, user) || p == "write" || p == "admin"
}

func (s *Server) editComment(w http.ResponseWriter, r *http.Request) {
	body, ok := checkBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, i, ok := s.findComment(w, r)
	if !ok {
		return
	}
	c := rp.comments[i]
	if !mayEdit(rp, c, login(r)) {
		writeJSON(w, http.StatusForbidden, msg("Must have admin rights to Repository."))
		return
	}
	c.Body, c.UpdatedAt = body, time.Now().UTC()
	writeJSON(w, http.StatusOK, s.commentJSON(rp, c))
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, i, ok := s.findComment(w, r)
	if !ok {
		return
	}
	if !mayEdit(rp, rp.comments[i], login(r)) {
		writeJSON(w, http.StatusForbidden, msg("Must have admin rights to Repository."))
		return
	}
	rp.comments = append(rp.comments[:i], rp.comments[i+1:]...)
	w.WriteHeader(http.StatusNoContent)
}

var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

func (s *Server) createReaction(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Content string `json:"content"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, msg("Problems parsing JSON"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, i, ok := s.findComment(w, r)
	if !ok {
		return
	}
	if !slices.Contains(reactionContents, in.Content) {
		validationFailed(w, "Reaction", "content", "content is not included in the list")
		return
	}
	c := rp.comments[i]
	user := login(r)
	for _, re := range c.Reactions {
		if re.User == user && re.Content == in.Content {
			writeJSON(w, http.StatusOK, map[string]any{"id": re.ID, "content": re.Content, "user": userJSON(user)})
			return
		}
	}
	s.nextID++
	re := Reaction{ID: s.nextID, User: user, Content: in.Content}
	c.Reactions = append(c.Reactions, re)
	writeJSON(w, http.StatusCreated, map[string]any{"id": re.ID, "content": re.Content, "user": userJSON(user)})
}

// ---- pulls and permissions ----

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	pr := rp.pulls[n]
	if pr == nil {
		writeJSON(w, http.StatusNotFound, msg("Not Found"))
		return
	}
	var headRepo any // null when the fork is gone
	if pr.HeadRepo != "" {
		headRepo = map[string]any{"full_name": pr.HeadRepo, "fork": !strings.EqualFold(pr.HeadRepo, rp.fullName),
			"owner": userJSON(strings.Split(pr.HeadRepo, "/")[0])}
	}
	baseRepo := map[string]any{"full_name": rp.fullName, "fork": false, "owner": userJSON(strings.Split(rp.fullName, "/")[0])}
	assoc := pr.AuthorAssociation
	if assoc == "" {
		assoc = "NONE"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"number":             pr.Number,
		"state":              pr.State,
		"title":              pr.Title,
		"user":               userJSON(pr.User),
		"author_association": assoc,
		"html_url":           fmt.Sprintf("%s/%s/pull/%d", s.URL, rp.fullName, pr.Number),
		"head":               map[string]any{"ref": pr.HeadRef, "sha": pr.HeadSHA, "label": pr.HeadRef, "repo": headRepo},
		"base":               map[string]any{"ref": pr.BaseRef, "sha": pr.BaseSHA, "label": pr.BaseRef, "repo": baseRepo},
	})
}

func (s *Server) getPermission(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.lookup(w, r)
	if rp == nil {
		return
	}
	user := r.PathValue("user")
	role, ok := rp.roles[strings.ToLower(user)]
	if !ok {
		role = "read" // anyone may read a public repository
	}
	writeJSON(w, http.StatusOK, map[string]any{"permission": permission(role), "role_name": role, "user": userJSON(user)})
}

// ---- pagination ----

type pageRange struct{ from, to int }

// paginate applies per_page (default 30, at most 100) and page (from 1)
// and writes GitHub's Link header.
func paginate(w http.ResponseWriter, r *http.Request, total int) (pageRange, bool) {
	q := r.URL.Query()
	perPage, page := 30, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			n = 30
		}
		perPage = min(n, 100)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			n = 1
		}
		page = n
	}
	last := max((total+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: "/api/v3" + r.URL.Path}
		qq := url.Values{}
		for k, vs := range q {
			qq[k] = vs
		}
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, last), "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	from := min((page-1)*perPage, total)
	return pageRange{from: from, to: min(from+perPage, total)}, true
}
