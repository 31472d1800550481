package cli_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/cli"
	"github.com/runlet/runlet/internal/testenv"
)

// TestServerCommand runs `runlet server` in-process with its settings from
// the environment, waits until it answers, and stops it as SIGINT would.
func TestServerCommand(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{
		"RUNLET_LISTEN":         "127.0.0.1:0",
		"RUNLET_BROKER_LISTEN":  "127.0.0.1:0",
		"RUNLET_DATA":           data,
		"RUNLET_ADMIN_PASSWORD": "from-env",
	}
	var out, errb testenv.Buffer // the stdout and stderr of the server
	m := &cli.Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- m.Run(ctx, []string{"server"}) }()

	api := regexp.MustCompile(`API at (http://\S+),`)
	var url string
	if !testenv.Poll(60*time.Second, testenv.Interval, func() bool {
		if match := api.FindStringSubmatch(out.String()); match != nil {
			url = match[1]
		}
		return url != ""
	}) {
		t.Fatalf("the server did not start:\n%s\n%s", out.String(), errb.String())
	}
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("readyz: %s", resp.Status)
	}
	if !strings.Contains(out.String(), "password from RUNLET_ADMIN_PASSWORD") || strings.Contains(out.String(), "from-env") {
		t.Errorf("admin password line:\n%s", out.String())
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d\n%s", c, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop when its context ended")
	}
}
