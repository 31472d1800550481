package web_test

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/runlet/runlet/web"
)

// vendorImportRE matches the static imports and re-exports of a vendored
// module (scripts/vendor-web.sh rewrites them to relative paths).
var vendorImportRE = regexp.MustCompile(`(?m)^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]`)

// Every import of the vendored age-encryption modules (castlog.js's
// decryption) names an embedded file: a bare specifier, or a file that the
// embed directive left out (names starting with "_"), shows here and not
// as a log panel that never loads.
func TestVendoredModulesResolve(t *testing.T) {
	n := 0
	err := fs.WalkDir(web.Files(), "vendor/age-encryption", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".js") {
			return err
		}
		b, err := fs.ReadFile(web.Files(), name)
		if err != nil {
			return err
		}
		for _, m := range vendorImportRE.FindAllStringSubmatch(string(b), -1) {
			spec := m[1]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: a bare specifier the browser cannot resolve (run scripts/vendor-web.sh)", name, spec)
				continue
			}
			if _, err := fs.Stat(web.Files(), path.Join(path.Dir(name), spec)); err != nil {
				t.Errorf("%s imports %q, which is not embedded: %v", name, spec, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("found only %d imports in the vendored age-encryption; is the pattern still right?", n)
	}
}
