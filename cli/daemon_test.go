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
	// 78 (osservice.ExitNoRestart): a service manager does not start it
	// again in vain.
	if code != 78 || !strings.Contains(stderr.String(), "not signed in") || !strings.Contains(stderr.String(), "@signin") {
		t.Errorf("exit %d, stderr %q; want 78 and a message telling to sign in", code, stderr.String())
	}
}
