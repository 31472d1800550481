package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSigninServerWithoutScheme: "--server 127.0.0.1:8080" is refused
// with the URL that was meant, not Go's "first path segment in URL cannot
// contain colon".
func TestSigninServerWithoutScheme(t *testing.T) {
	for _, server := range []string{"127.0.0.1:8080", "pi-hub.local"} {
		r := runIn(t, filepath.Join(t.TempDir(), "h"), "", "@signin", "--server", server, "--token", "rle_x")
		if r.code != 2 || !strings.Contains(r.err, "give it as http://"+server+", or https://"+server) || strings.Contains(r.err, "segment") {
			t.Errorf("--server %s: exit %d, stderr %q; want the http:// URL suggested", server, r.code, r.err)
		}
	}
	r := runIn(t, filepath.Join(t.TempDir(), "h"), "", "@signin", "--server", "ftp://pi-hub", "--token", "rle_x")
	if r.code != 2 || !strings.Contains(r.err, "http://HOST:PORT or https://HOST:PORT") {
		t.Errorf("--server ftp://pi-hub: exit %d, stderr %q", r.code, r.err)
	}
}

// TestSigninNamesTheHome: the command to start the daemon that sign-in
// prints carries the --home used, quoted when it must be.
func TestSigninNamesTheHome(t *testing.T) {
	f := startFleet(t)
	tok, err := f.srv.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, dir, quoted string }{
		{"pi-1", "pi-1", ""},
		{"pi-2", "my home's", "'"},
	} {
		h := filepath.Join(t.TempDir(), c.dir)
		r := runIn(t, h, "", "@signin", "--server", f.url, "--name", c.name, "--token", tok)
		arg := h
		if c.quoted != "" {
			arg = "'" + strings.ReplaceAll(h, "'", `'\''`) + "'"
		}
		if want := "Start 'runlet --home " + arg + " daemon'"; r.code != 0 || !strings.Contains(r.out, want) {
			t.Errorf("signin in %s: exit %d, stdout %q; want %q", h, r.code, r.out, want)
		}
	}
}

// TestDuplicateNameSaidOnce: a taken name is one sentence, not the CLI's
// and the server's one after the other.
func TestDuplicateNameSaidOnce(t *testing.T) {
	f := startFleet(t)
	f.signin("pi-1")
	tok, _ := f.srv.EnrollToken()
	r := runIn(t, filepath.Join(t.TempDir(), "other"), "", "@signin", "--server", f.url, "--name", "pi-1", "--token", tok)
	want := `runlet: the workspace already has a device named "pi-1": choose another with --name, or have an admin remove that one first (runlet devices rm pi-1)` + "\n"
	if r.code != 1 || r.err != want {
		t.Errorf("a second pi-1: exit %d, stderr %q; want %q", r.code, r.err, want)
	}
}
