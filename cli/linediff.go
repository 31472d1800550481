package cli

import (
	"fmt"
	"strings"
)

// A small line diff for 'runlet @config diff': job files are short, so the
// longest common subsequence of the lines that differ is enough, and no
// library is needed. Past maxDiffCells the changed middle is shown as
// removed and added whole, which is still a correct diff.

// maxDiffCells bounds the LCS table (lines removed × lines added).
const maxDiffCells = 4 << 20

// diffContext is how many unchanged lines surround a change, as diff -u.
const diffContext = 3

// noNewline marks a last line without a newline, as diff -u does.
const noNewline = "\\ No newline at end of file"

// edit is one line of a diff: ' ' kept, '-' removed, '+' added.
type edit struct {
	op   byte
	line string // with its "\n", if it has one
}

// splitLines splits s into lines, each keeping its "\n".
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// lineEdits returns the edits that turn a into b.
func lineEdits(a, b []string) []edit {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var es []edit
	for _, l := range a[:pre] {
		es = append(es, edit{' ', l})
	}
	es = append(es, middleEdits(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		es = append(es, edit{' ', l})
	}
	return es
}

// middleEdits diffs the part of two files between their common start and
// end, by the longest common subsequence of their lines.
func middleEdits(a, b []string) []edit {
	var es []edit
	if len(a)*len(b) > maxDiffCells {
		for _, l := range a {
			es = append(es, edit{'-', l})
		}
		for _, l := range b {
			es = append(es, edit{'+', l})
		}
		return es
	}
	// lcs[i][j] is the length of the LCS of a[i:] and b[j:].
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			es = append(es, edit{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[(i+1)*w+j] >= lcs[i*w+j+1]):
			es = append(es, edit{'-', a[i]}) // removals first, as diff -u
			i++
		default:
			es = append(es, edit{'+', b[j]})
			j++
		}
	}
	return es
}

// unifiedDiff is the diff -u of two texts under the names given, or ""
// when they are the same.
func unifiedDiff(aName, bName, a, b string) string {
	es := lineEdits(splitLines(a), splitLines(b))
	var out strings.Builder
	for start := 0; start < len(es); {
		// The next change, and the hunk around it: changes closer than
		// twice the context share one.
		first := start
		for first < len(es) && es[first].op == ' ' {
			first++
		}
		if first == len(es) {
			break
		}
		end := first
		for k := first; k < len(es); k++ {
			if es[k].op != ' ' {
				end = k + 1
			} else if k-end >= 2*diffContext {
				break
			}
		}
		from := max(start, first-diffContext)
		to := min(len(es), end+diffContext)
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
		}
		writeHunk(&out, es, from, to)
		start = to
	}
	return out.String()
}

// writeHunk writes es[from:to] as one hunk.
func writeHunk(out *strings.Builder, es []edit, from, to int) {
	aLine, bLine := 1, 1 // the numbers of es[from]'s lines in a and b
	for _, e := range es[:from] {
		if e.op != '+' {
			aLine++
		}
		if e.op != '-' {
			bLine++
		}
	}
	aLen, bLen := 0, 0
	for _, e := range es[from:to] {
		if e.op != '+' {
			aLen++
		}
		if e.op != '-' {
			bLen++
		}
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(aLine, aLen), hunkRange(bLine, bLen))
	for _, e := range es[from:to] {
		out.WriteByte(e.op)
		out.WriteString(e.line)
		if !strings.HasSuffix(e.line, "\n") {
			out.WriteString("\n" + noNewline + "\n")
		}
	}
}

// hunkRange is "start,length" as diff -u writes it: an empty range starts
// at the line before it.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
