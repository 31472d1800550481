package termtest

import (
	"slices"
	"testing"
)

func TestPrinted(t *testing.T) {
	for _, tc := range []struct {
		text, label string
		want        []string
	}{
		{"Continue? [Y/n] y\r\nanswer=y\r\nExited with code: 0\r\n", "answer", []string{"y"}},
		{"answer=yy\r\n", "answer", []string{"yy"}},
		{"answer=\r\n", "answer", []string{""}},
		{`answer=two\ words` + "\n", "answer", []string{`two\ words`}},
		{"pi-1 | got=a\npi-2 | got=b\n", "got", []string{"a", "b"}},
		{"forgot=x\nnot answer\n", "got", nil},
		{"got=a\ngot=b", "got", []string{"a", "b"}},
	} {
		if got := Printed(tc.text, tc.label); !slices.Equal(got, tc.want) {
			t.Errorf("Printed(%q, %q) = %q, want %q", tc.text, tc.label, got, tc.want)
		}
	}
}
