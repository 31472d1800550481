package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/runlet/runlet/cli"
)

func TestDaemonNotSignedIn(t *testing.T) {
	var stdout, stderr bytes.Buffer
	m := &cli.Main{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	dir := t.TempDir()
	code := m.Run(context.Background(), []string{"daemon", "--home", dir})
	if code != 1 || !strings.Contains(stderr.String(), "not signed in") || !strings.Contains(stderr.String(), "@signin") {
		t.Errorf("exit %d, stderr %q; want 1 and a message telling to sign in", code, stderr.String())
	}
}
