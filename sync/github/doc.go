// Package github reports runs to GitHub.
package github

import _ "github.com/google/go-github/v60/github"
