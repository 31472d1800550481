package jobspec

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"/bin/bash --login", []string{"/bin/bash", "--login"}},
		{"  /bin/zsh\t-l \n", []string{"/bin/zsh", "-l"}},
		{`/usr/bin/env "FOO=a b" bash`, []string{"/usr/bin/env", "FOO=a b", "bash"}},
		{`sh -c 'echo "$HOME"'`, []string{"sh", "-c", `echo "$HOME"`}},
		{`say "a \"quoted\" \$word \\ \x"`, []string{"say", `a "quoted" $word \ \x`}},
		{`a\ b c`, []string{"a b", "c"}},
		{`''`, []string{""}},
		{`a''b"c"d`, []string{"abcd"}},
		{`x \$HOME \| \;`, []string{"x", "$HOME", "|", ";"}},
		{`C:\Windows\System32\cmd.exe /c`, []string{`C:\Windows\System32\cmd.exe`, "/c"}},
		{`'C:\Program Files\Git\bin\bash.exe' --login`, []string{`C:\Program Files\Git\bin\bash.exe`, "--login"}},
		{"a \\\nb", []string{"a", "b"}},
		{`trailing\`, []string{`trailing\`}},
		{"", nil},
		{"   ", nil},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if err != nil {
			t.Errorf("SplitCommand(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitCommandErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`sh -c 'echo`, "single quote"},
		{`sh -c "echo`, "double quote"},
		{`sh -c "echo \"`, "double quote"},
		{`bash | tee log`, "not through a shell"},
		{`bash; rm -rf /`, `';'`},
		{`bash && x`, "quote it"},
		{`$SHELL -l`, "expanded"},
		{"`which bash`", "expanded"},
		{`bash > out`, "not through a shell"},
		{`bash (x)`, "not through a shell"},
	}
	for _, tt := range tests {
		_, err := SplitCommand(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SplitCommand(%q) error = %v, want one with %q", tt.in, err, tt.want)
		}
	}
}

func TestQuoteCommandRoundTrip(t *testing.T) {
	for _, words := range [][]string{
		{"/bin/bash", "--login"},
		{"env", "A=b c", "it's", `back\slash`, "", "$HOME", "a|b", "\n", "*"},
	} {
		line := QuoteCommand(words)
		got, err := SplitCommand(line)
		if err != nil || !slices.Equal(got, words) {
			t.Errorf("SplitCommand(QuoteCommand(%q)) = %q, %v (line %s)", words, got, err, line)
		}
	}
	if got := QuoteCommand([]string{"/bin/bash", "--login"}); got != "/bin/bash --login" {
		t.Errorf("plain words are quoted: %s", got)
	}
}
