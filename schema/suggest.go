package schema

import "strings"

// suggest returns the known name closest to an unknown one — the same
// name in another case, or one at most two edits away — or "" when none
// is close enough to be a likely typo.
func suggest(unknown string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, unknown) {
			return k
		}
		d := levenshtein(strings.ToLower(unknown), strings.ToLower(k))
		// A short name is two edits from almost anything.
		if d < bestDist && d < len(k) && d < len(unknown) {
			best, bestDist = k, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b, counted in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
