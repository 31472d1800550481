package jobspec

import (
	"errors"
	"fmt"
	"strings"
)

// SplitCommand splits an entrypoint written as one string into the program
// and its arguments, the way a POSIX shell splits words: blanks separate
// words, 'single quotes' keep everything, "double quotes" keep everything
// but \" \\ \$ and \` escapes, and a backslash outside quotes escapes the
// next character.
//
// It differs from a shell in what it does not do, and says so instead of
// guessing: there is no expansion ($HOME, ~, *), so an unquoted $, `, |, &,
// ;, <, >, ( or ) is an error, as the entrypoint is run directly and never
// by a shell. One kindness for Windows paths: outside quotes a backslash
// before a character that needs no escaping stays a backslash, so
// C:\Windows\System32\cmd.exe reads as written.
func SplitCommand(s string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool
	)
	flush := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("a single quote (') is not closed")
			}
			word.WriteString(s[i+1 : i+1+end])
			inWord = true
			i += end + 1
		case c == '"':
			n, err := readDoubleQuoted(s[i+1:], &word)
			if err != nil {
				return nil, err
			}
			inWord = true
			i += n + 1
		case c == '\\':
			inWord = true
			if i+1 == len(s) {
				word.WriteByte(c)
				continue
			}
			if next := s[i+1]; needsBackslash(next) {
				if next != '\n' { // backslash-newline joins lines
					word.WriteByte(next)
				}
				i++
				continue
			}
			word.WriteByte(c)
		case strings.IndexByte("$`|&;<>()", c) >= 0:
			return nil, fmt.Errorf("%q at byte %d: the entrypoint runs directly, not through a shell, so nothing is expanded or piped; quote it ('%c') if you mean the character itself", c, i+1, c)
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, nil
}

// needsBackslash reports whether c, after a backslash outside quotes, is
// taken literally (the backslash dropped) rather than kept with it.
func needsBackslash(c byte) bool {
	return strings.IndexByte(" \t\n\r'\"\\$`|&;<>()#*?[]~{}", c) >= 0
}

// readDoubleQuoted reads up to the closing double quote of s (which starts
// just after the opening one), writes the text to w and returns the index
// of the closing quote.
func readDoubleQuoted(s string, w *strings.Builder) (int, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return i, nil
		case '\\':
			if i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
				if s[i+1] != '\n' {
					w.WriteByte(s[i+1])
				}
				i++
				continue
			}
			w.WriteByte(c)
		default:
			w.WriteByte(c)
		}
	}
	return 0, errors.New("a double quote (\") is not closed")
}

// QuoteCommand writes words so that SplitCommand reads them back: words
// that need it are put in single quotes.
func QuoteCommand(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = quoteWord(w)
	}
	return strings.Join(out, " ")
}

func quoteWord(w string) string {
	if w == "" {
		return "''"
	}
	plain := true
	for i := 0; i < len(w); i++ {
		if needsBackslash(w[i]) || w[i] == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
