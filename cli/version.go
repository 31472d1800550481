package cli

import (
	"runtime/debug"
)

// Version is the version of this build of runlet: what `runlet --version`
// prints, what the daemon reports in its heartbeats (the Devices page and
// `runlet devices` show it) and the CLI's User-Agent.
//
// A release stamps it: go build -ldflags "-X
// github.com/runlet/runlet/cli.Version=v1.2.0" ./cmd/runlet. Without -X it
// comes from what go build records in the binary (buildVersion): the
// module's version when there is one (a tag, or the pseudo-version Go makes
// from the commit, with +dirty for uncommitted changes), else the commit.
// Only a build with neither, such as a test binary, is "dev".
var Version string

func init() {
	if Version == "" {
		info, _ := debug.ReadBuildInfo()
		Version = buildVersion(info)
	}
}

// buildVersion is the version that info, the build's own record, gives:
// the main module's version (`go install ...@v1.2.0`; since Go 1.24 also
// `go build` in a git checkout: the tag, or a pseudo-version such as
// v0.0.0-20250102150405-3082e82a1b2c+dirty), else dev-REVISION from the
// VCS stamp (-buildvcs), with -dirty for a modified tree, else "dev".
func buildVersion(info *debug.BuildInfo) string {
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	v := "dev-" + rev[:min(12, len(rev))]
	if modified {
		v += "-dirty"
	}
	return v
}
