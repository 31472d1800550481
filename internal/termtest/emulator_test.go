package termtest

import (
	"slices"
	"strings"
	"testing"
)

func TestEmulator(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cols, rows int
		in         string
		want       string // the screen's rows, "|" between them, trailing empty ones dropped
	}{
		{"lines", 10, 3, "one\r\ntwo\r\n", "one|two"},
		{"scrolls at the bottom", 10, 3, "1\r\n2\r\n3\r\n4", "2|3|4"},
		{"wraps at the last column", 4, 3, "abcdef", "abcd|ef"},
		{"a full last column waits to wrap", 4, 3, "abcd\r\nx", "abcd|x"},
		{"cursor position and erase", 10, 3, "hello\x1b[1;3H\x1b[K\x1b[3;2Hx", "he|| x"},
		{"erase display", 10, 3, "a\r\nb\r\nc\x1b[2J", ""},
		{"erase below", 10, 3, "a\r\nb\r\nc\x1b[2;1H\x1b[J", "a"},
		{"scroll region", 10, 5, "\x1b[2;4r\x1b[4;1Ha\r\nb\r\nc\x1b[5;1Hz", "|a|b|c|z"},
		{"a line feed below the region does not scroll", 10, 3, "top\x1b[1;2r\x1b[3;1Hx\r\ny", "top||y"},
		{"reset scroll region", 10, 3, "\x1b[1;2r\x1b[r\x1b[3;1Hx\r\ny", "|x|y"},
		{"reverse index at the top scrolls down", 10, 3, "a\r\nb\x1b[H\x1bMz", "z|a|b"},
		{"insert and delete lines in the region", 10, 4, "1\r\n2\r\n3\r\n4\x1b[2;1H\x1b[L", "1||2|3"},
		{"delete lines", 10, 4, "1\r\n2\r\n3\r\n4\x1b[2;1H\x1b[2M", "1|4"},
		{"insert and delete characters", 10, 2, "abcd\x1b[1;2H\x1b[2@\x1b[1;1H\x1b[P", "  bcd"},
		{"alternate screen", 10, 3, "shell\x1b[?1049h\x1b[Hvim\x1b[?1049l$", "shell$"},
		{"saved cursor", 10, 3, "ab\x1b7\x1b[3;1Hz\x1b8c", "abc||z"},
		{"colours and queries draw nothing", 10, 2, "\x1b[1;31mred\x1b[m\x1b[6n\x1b]11;?\x07\x1bPzz\x1b\\\x1b[>4;2m\x1b[2 q!", "red!"},
		{"utf-8", 10, 2, "λ x", "λ x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEmulator(tc.cols, tc.rows)
			// Byte by byte: a program's writes may split any sequence.
			for i := range len(tc.in) {
				_, _ = e.Write([]byte{tc.in[i]})
			}
			if got := strings.ReplaceAll(e.String(), "\n", "|"); got != tc.want {
				t.Errorf("screen %q, want %q", got, tc.want)
			}
		})
	}
}

// A screen drawn in a scroll region set for fewer rows than the terminal
// has is shifted, as the issue 17 defect 4 saw: vim's 80x24 region in a
// 100x30 terminal. A resize resets the region, as xterm's does.
func TestEmulatorStaleScrollRegion(t *testing.T) {
	redraw := "\x1b[H\x1b[2J1\r\n2\r\n3\r\n4\r\n5"
	stale := NewEmulator(10, 5)
	_, _ = stale.Write([]byte("\x1b[1;3r" + redraw))
	if got := stale.Lines(); !slices.Equal(got, []string{"3", "4", "5", "", ""}) {
		t.Errorf("redrawn in a stale region: %q", got)
	}
	resized := NewEmulator(10, 3)
	_, _ = resized.Write([]byte("\x1b[1;3r"))
	resized.Resize(10, 5)
	_, _ = resized.Write([]byte(redraw))
	if got := resized.Lines(); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("redrawn after a resize: %q", got)
	}
}
