package jobspec

import "strings"

func joinFields(fields []string) string { return strings.Join(fields, ", ") }

// suggest returns the allowed field closest to a misspelt one, or "" when
// none is close enough to be a likely typo.
func suggest(field string, allowed []string) string {
	best, bestDist := "", 3 // more than two edits is not a typo
	for _, a := range allowed {
		if strings.EqualFold(a, field) {
			return a
		}
		if d := editDistance(strings.ToLower(field), strings.ToLower(a)); d < bestDist {
			best, bestDist = a, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return len(a) + len(b) // not worth comparing; never a typo
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
