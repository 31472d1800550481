package auth

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps package auth a service of the domain: it may import
// the standard library, the domain, the bus's principals, the store's
// interface and x/crypto, never the server, a broker adapter or a store
// dialect.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/runlet/runlet":       true,
		"github.com/runlet/runlet/api":   true,
		"github.com/runlet/runlet/bus":   true,
		"github.com/runlet/runlet/store": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.Split(path, "/")[0], ".")
			if !std && !allowed[path] && !strings.HasPrefix(path, "golang.org/x/crypto/") {
				t.Errorf("%s imports %s; package auth may import only the standard library, runlet, api, bus, store and x/crypto", name, path)
			}
		}
	}
}
