package cli

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Every flag of `runlet server` has a row in serverSettings whose variable
// its help names, and install takes it: a new flag without a row would be
// dropped from the service without a word.
func TestServerSettingsCoverEveryFlag(t *testing.T) {
	m := &Main{Getenv: func(string) string { return "" }}
	srv := m.serverCommand()
	install, _, err := srv.Find([]string{"install"})
	if err != nil || install.Name() != "install" {
		t.Fatalf("runlet server install: %v", err)
	}
	known := map[string]string{}
	for _, s := range serverSettings {
		known[s.flag] = s.env
	}
	srv.Flags().VisitAll(func(f *pflag.Flag) {
		env, ok := known[f.Name]
		switch {
		case !ok:
			t.Errorf("runlet server --%s has no row in serverSettings (cli/server_service.go): give its variable and say whether it holds a secret", f.Name)
		case !strings.Contains(f.Usage, "env "+env):
			t.Errorf("runlet server --%s: its help does not name %s, its row's variable", f.Name, env)
		}
		if install.Flags().Lookup(f.Name) == nil {
			t.Errorf("runlet server install does not take --%s", f.Name)
		}
	})
}
