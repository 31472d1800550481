package connect_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/connect"
)

// TestOpenFailuresExplained: a database that cannot be opened is an
// EUNAVAILABLE error whose message says why and what to check, and the
// Store is a true nil.
func TestOpenFailuresExplained(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	// silent accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	missing := filepath.Join(t.TempDir(), "missing")
	cases := []struct {
		name, url, want string
		postgres        bool
	}{
		{"sqlite directory missing", "sqlite:" + filepath.Join(missing, "x.db"), "the directory " + missing + " of the SQLite file does not exist: create it", false},
		{"sqlite directory a file", "sqlite:" + filepath.Join(file, "x.db"), file + ", where the SQLite file would go, is not a directory", false},
		{"sqlite directory under a file", "sqlite:" + filepath.Join(file, "sub", "x.db"), "cannot use the directory " + filepath.Join(file, "sub") + " of the SQLite file: not a directory", false},
		{"postgres down", "postgres://postgres@" + down + "/runlet?sslmode=disable", "cannot reach the PostgreSQL server at " + down + " (connect: connection refused): check that it runs", false},
		{"postgres silent", "postgres://postgres@" + silent.Addr().String() + "/runlet?sslmode=disable&connect_timeout=1", "the PostgreSQL server at " + silent.Addr().String() + " did not answer within 1s", false},
		{"postgres database missing", "postgres://postgres@" + testenv.PostgresAddr + "/runlet_none_here?sslmode=disable", `the PostgreSQL server at ` + testenv.PostgresAddr + ` has no database "runlet_none_here": create it`, true},
		{"postgres user refused", "postgres://nobody_here:pw@" + testenv.PostgresAddr + "/postgres?sslmode=disable", `refused the user "nobody_here" (role "nobody_here" does not exist): check the user and the password`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.postgres {
				if err := testenv.Reachable(testenv.PostgresAddr); err != nil {
					testenv.Unavailable(t, "PostgreSQL at "+testenv.PostgresAddr, err)
				}
			}
			s, err := connect.Open(context.Background(), c.url, store.Options{})
			if s != nil {
				s.Close()
				t.Fatalf("Open(%s) returned a store", c.url)
			}
			if runlet.ErrorCode(err) != runlet.EUNAVAILABLE || !strings.Contains(runlet.ErrorMessage(err), c.want) {
				t.Errorf("Open(%s): %q (%s)\nwant EUNAVAILABLE saying %q", c.url, runlet.ErrorMessage(err), runlet.ErrorCode(err), c.want)
			}
		})
	}
}
