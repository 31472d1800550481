package connect_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/connect"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/sqlite"
)

func TestOpenChoosesDialect(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s := open(t, "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"))
		if _, ok := s.(*sqlite.DB); !ok {
			t.Fatalf("got %T, want *sqlite.DB", s)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		s := open(t, testenv.Postgres(t))
		if _, ok := s.(*postgres.DB); !ok {
			t.Fatalf("got %T, want *postgres.DB", s)
		}
	})
}

func open(t *testing.T, url string) store.Store {
	t.Helper()
	s, err := connect.Open(t.Context(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	ws := runlet.Workspace{Name: "default"}
	if err := s.CreateWorkspace(t.Context(), &ws); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenUnknownScheme(t *testing.T) {
	_, err := connect.Open(t.Context(), "mysql://root:hunter2@db/runlet", store.Options{})
	if runlet.ErrorCode(err) != runlet.EINVALID {
		t.Fatalf("error %v, want EINVALID", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the message shows the password: %v", err)
	}
}
