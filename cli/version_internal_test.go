package cli

import (
	"runtime/debug"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	const rev = "3082e82a1b2c4d5e6f708192a3b4c5d6e7f80912"
	for _, c := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "dev"},
		{"a test binary", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"go install at a tag", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0"},
		{"go build at a commit", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20250102150405-3082e82a1b2c+dirty"},
			Settings: vcs("vcs.revision", rev, "vcs.modified", "true")}, "v0.0.0-20250102150405-3082e82a1b2c+dirty"},
		{"the VCS stamp alone", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.modified", "false")}, "dev-3082e82a1b2c"},
		{"the VCS stamp of a modified tree", &debug.BuildInfo{Settings: vcs("vcs.revision", rev, "vcs.modified", "true")}, "dev-3082e82a1b2c-dirty"},
		{"a short revision", &debug.BuildInfo{Settings: vcs("vcs.revision", "abc")}, "dev-abc"},
	} {
		if got := buildVersion(c.info); got != c.want {
			t.Errorf("%s: buildVersion = %q, want %q", c.name, got, c.want)
		}
	}
}
