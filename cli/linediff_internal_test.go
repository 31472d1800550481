package cli

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	tests := []struct{ name, a, b, want string }{
		{"same", "a\nb\n", "a\nb\n", ""},
		{"both empty", "", "", ""},
		{"one line changed", "a\nb\nc\n", "a\nB\nc\n", "--- v1\n+++ v2\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"from nothing", "", "a\nb\n", "--- v1\n+++ v2\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"to nothing", "a\n", "", "--- v1\n+++ v2\n@@ -1 +0,0 @@\n-a\n"},
		{"newline at the end", "a\nb", "a\nb\n", "--- v1\n+++ v2\n@@ -1,2 +1,2 @@\n a\n-b\n" + noNewline + "\n+b\n"},
		{
			"two hunks",
			"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
			"x\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ny\n",
			"--- v1\n+++ v2\n@@ -1,4 +1,4 @@\n-1\n+x\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+y\n",
		},
		{
			"close changes share a hunk",
			"1\n2\n3\n4\n5\n6\n7\n8\n",
			"x\n2\n3\n4\n5\n6\n7\ny\n",
			"--- v1\n+++ v2\n@@ -1,8 +1,8 @@\n-1\n+x\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+y\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unifiedDiff("v1", "v2", tt.a, tt.b); got != tt.want {
				t.Errorf("diff:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestUnifiedDiffApplies: for random pairs of files, applying the diff to
// the first gives the second, and every hunk's counts match its lines.
func TestUnifiedDiffApplies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	file := func() string {
		var b strings.Builder
		for range r.IntN(30) {
			fmt.Fprintf(&b, "line %d\n", r.IntN(8))
		}
		return b.String()
	}
	for i := range 2000 {
		a, b := file(), file()
		if got := applyDiff(t, a, unifiedDiff("a", "b", a, b)); got != b {
			t.Fatalf("case %d: the diff of\n%q\nand\n%q\napplies as\n%q", i, a, b, got)
		}
	}
}

var hunkHead = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$`)

// applyDiff applies a diff of newline-terminated lines to a.
func applyDiff(t *testing.T, a, diff string) string {
	t.Helper()
	if diff == "" {
		return a
	}
	src := splitLines(a)
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")[2:]
	var out []string
	next := 0 // the next line of src to copy
	for k := 0; k < len(lines); {
		m := hunkHead.FindStringSubmatch(lines[k])
		if m == nil {
			t.Fatalf("not a hunk header: %q in\n%s", lines[k], diff)
		}
		num := func(s string) int {
			if s == "" {
				return 1
			}
			n, _ := strconv.Atoi(s)
			return n
		}
		aStart, aLen, bLen := num(m[1]), num(m[2]), num(m[4])
		if aLen == 0 {
			aStart++
		}
		out = append(out, src[next:aStart-1]...)
		next = aStart - 1
		k++
		gotA, gotB := 0, 0
		for ; k < len(lines) && !strings.HasPrefix(lines[k], "@@"); k++ {
			l := lines[k][1:] + "\n"
			switch lines[k][0] {
			case ' ':
				out = append(out, l)
				next++
				gotA, gotB = gotA+1, gotB+1
			case '-':
				next++
				gotA++
			case '+':
				out = append(out, l)
				gotB++
			}
		}
		if gotA != aLen || gotB != bLen {
			t.Fatalf("hunk %q has %d and %d lines in\n%s", m[0], gotA, gotB, diff)
		}
	}
	return strings.Join(append(out, src[next:]...), "")
}
