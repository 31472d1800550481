//go:build !windows

package runner

// scriptExt is the script file's extension; Unix shells need none.
const scriptExt = ""

// defaultEntrypoint is a login shell, so the job sees the PATH and profile
// a person logging in would (the seed runs /bin/bash --login FILE).
func defaultEntrypoint() []string { return []string{"/bin/bash", "--login"} }

func scriptText(script string) string { return script }
