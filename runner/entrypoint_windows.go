package runner

import "strings"

// scriptExt makes cmd.exe treat the file as a batch script.
const scriptExt = ".cmd"

func defaultEntrypoint() []string { return []string{"cmd.exe", "/c"} }

// scriptText gives the batch file CRLF line ends, which cmd.exe expects
// (labels and GOTO misbehave on bare LF).
func scriptText(script string) string {
	script = strings.ReplaceAll(script, "\r\n", "\n")
	return strings.ReplaceAll(script, "\n", "\r\n")
}
