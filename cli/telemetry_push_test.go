package cli_test

import (
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/spool"
)

// pushHome is a home whose "daemon" is a real gateway on a real spool,
// served on a free port and named in the home's address file.
func pushHome(t *testing.T) (string, *spool.Spool) {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	g, err := gateway.New(gateway.Config{Spool: sp})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	h := t.TempDir()
	if err := gateway.WriteAddr(filepath.Join(h, gateway.AddrFile), strings.TrimPrefix(srv.URL, "http://")); err != nil {
		t.Fatal(err)
	}
	return h, sp
}

func seedLine(id, temp int) string {
	return fmt.Sprintf(`{"device":{"id":%d,"auth":"s"},"reading":{"temp":%d,"time":1733580000}}`, id, temp)
}

// push sends stdin's lines in chunks, says how many were accepted and
// refused, names each refused line and its field, and exits 1 when any
// was refused.
func TestTelemetryPush(t *testing.T) {
	h, sp := pushHome(t)
	var in strings.Builder
	for i := range 2500 { // three chunks
		in.WriteString(seedLine(1, i) + "\n")
	}
	r := runIn(t, h, in.String(), "telemetry", "push")
	if r.code != 0 || !strings.Contains(r.out, "accepted 2500, refused 0") {
		t.Fatalf("push of 2500 lines: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if p := sp.Stats().Pending; p != 2500 {
		t.Errorf("the spool holds %d readings, want 2500", p)
	}

	// Refusals by line number, blank lines counted, from --file.
	lines := []string{seedLine(2, 1), "", `{"device":{"id":2,"auth":"s"},"reading":{"temp":"hot"}}`, seedLine(2, 2), `{`}
	file := filepath.Join(t.TempDir(), "readings.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, h, "", "telemetry", "push", "--file", file)
	if r.code != 1 || !strings.Contains(r.out, "accepted 2, refused 2") {
		t.Fatalf("push with refusals: exit %d, want 1\n%s%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"line 3: reading.temp:", "(not_numeric)", "line 5:", "(json)"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.err)
		}
	}
}

// Without a daemon, push says so and how to start one.
func TestTelemetryPushNoDaemon(t *testing.T) {
	r := runIn(t, t.TempDir(), seedLine(1, 1)+"\n", "telemetry", "push")
	if r.code == 0 || !strings.Contains(r.err, "runlet daemon") {
		t.Errorf("push without an address file: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// A daemon killed before it could remove its address file.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := t.TempDir()
	if err := gateway.WriteAddr(filepath.Join(h, gateway.AddrFile), addr); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, h, seedLine(1, 1)+"\n", "telemetry", "push")
	want := "No daemon is listening for readings at " + addr + ": start it with `runlet daemon`."
	if r.code == 0 || !strings.Contains(r.err, want) {
		t.Errorf("push to a dead daemon: exit %d, want %q\n%s%s", r.code, want, r.out, r.err)
	}
}
