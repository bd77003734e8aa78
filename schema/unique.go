package schema

import "fmt"

// CheckUnique reports job names used twice within one repository's jobs:
// a problem on each later job, naming the file that has the name first.
// The problem carries no line, as the name may come from the folder.
func CheckUnique(jobs []*Job) Problems {
	var ps Problems
	first := make(map[string]*Job, len(jobs))
	for _, j := range jobs {
		if j == nil {
			continue
		}
		if f, dup := first[j.Name]; dup {
			ps = append(ps, Problem{File: j.Path, Field: "name",
				Message: fmt.Sprintf("job name %q is already used by %s", j.Name, f.Path),
				Allowed: "a name unique within the repository; set name: to tell the jobs apart"})
			continue
		}
		first[j.Name] = j
	}
	return ps
}
