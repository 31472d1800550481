package web_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/runlet/runlet/web"
)

func get(t *testing.T, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	web.Handler().ServeHTTP(w, r)
	return w
}

// Every page of the app is index.html, which loads the ES module.
func TestPagesServeTheApp(t *testing.T) {
	for _, path := range []string{"/", "/login", "/jobs", "/executions/abc", "/device", "/sensors/4201", "/alerts", "/settings/alerting"} {
		w := get(t, path+"?code=ABCD-EFGH")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<script type="module" src="/static/app.js">`) {
			t.Errorf("GET %s: %d %q, want 200 and index.html", path, w.Code, w.Body.String())
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want framing refused", path, csp)
		}
	}
}

// Static files carry a JavaScript type (ES modules need it) and an ETag
// that lets the browser revalidate cheaply; directories are not listed.
func TestStaticFiles(t *testing.T) {
	for _, path := range []string{"/static/app.js", "/static/vendor/xterm/xterm.mjs", "/static/pages/jobs.js", "/static/vendor/uplot/uPlot.esm.js", "/static/chart.js"} {
		w := get(t, path)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
			t.Fatalf("GET %s: %d %q, want 200 text/javascript", path, w.Code, w.Header().Get("Content-Type"))
		}
		tag := w.Header().Get("ETag")
		if tag == "" {
			t.Fatalf("GET %s has no ETag", path)
		}
		if again := get(t, path, "If-None-Match", tag); again.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, again.Code)
		}
	}
	for _, path := range []string{"/static/pages/", "/static/vendor/", "/static/nothing.js"} {
		if w := get(t, path); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
	}
}

// The vendored files are the released ones scripts/vendor-web.sh recorded.
func TestVendoredFilesMatchVersions(t *testing.T) {
	f, err := web.Files().Open("vendor/VERSIONS")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		var name, want string
		if parts := strings.Fields(line); len(parts) == 2 {
			name, want = parts[0], parts[1]
		} else {
			t.Fatalf("VERSIONS line %q is not 'file sha256'", line)
		}
		b, err := fs.ReadFile(web.Files(), "vendor/"+name)
		if err != nil {
			t.Fatalf("VERSIONS lists %s: %v", name, err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("vendor/%s has sha256 %s, VERSIONS says %s: run scripts/vendor-web.sh", name, got, want)
		}
		n++
	}
	if n == 0 {
		t.Fatal("VERSIONS lists no files")
	}
}

// importRE matches the module paths of the app's static imports (and of
// its re-exports, export ... from, which load the module just the same).
var importRE = regexp.MustCompile(`(?m)^\s*(?:import\s+(?:[^'"]*?\s+from\s+)?|export\s+(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s*from\s+)['"]([^'"]+)['"]`)

// Every relative import of the app's own modules names an embedded file,
// so that a typo shows here and not as a blank page in the browser.
func TestModuleImportsResolve(t *testing.T) {
	n := 0
	err := fs.WalkDir(web.Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".js") || strings.HasPrefix(name, "vendor/") {
			return err
		}
		b, err := fs.ReadFile(web.Files(), name)
		if err != nil {
			return err
		}
		for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
			spec := m[1]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: only relative imports of embedded files work without a bundler", name, spec)
				continue
			}
			target := path.Join(path.Dir(name), spec)
			if _, err := fs.Stat(web.Files(), target); err != nil {
				t.Errorf("%s imports %q, which is not embedded (%s): %v", name, spec, target, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("found only %d imports in the app's modules; is the pattern still right?", n)
	}
}

// The app's modules import each other without a cycle: pages import the
// router (router.js) and never the entry point (app.js), which imports
// them. A cycle makes a module run before the ones it needs are ready, and
// which one comes first depends on where the browser enters the graph.
func TestModuleImportsHaveNoCycle(t *testing.T) {
	graph := map[string][]string{} // module → the modules it imports, by path under static/
	err := fs.WalkDir(web.Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".js") || strings.HasPrefix(name, "vendor/") {
			return err
		}
		b, err := fs.ReadFile(web.Files(), name)
		if err != nil {
			return err
		}
		graph[name] = nil
		for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
			if spec := m[1]; strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") {
				graph[name] = append(graph[name], path.Join(path.Dir(name), spec))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(graph) < 10 {
		t.Fatalf("found only %d modules in the app; is the walk still right?", len(graph))
	}

	// Depth-first search in a fixed order; an import of a module still on
	// the stack closes a cycle, reported from that module round to itself.
	const (
		unseen = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string)
	visit = func(m string) {
		state[m] = onStack
		stack = append(stack, m)
		deps := slices.Clone(graph[m])
		slices.Sort(deps)
		for _, dep := range slices.Compact(deps) {
			switch state[dep] {
			case unseen:
				visit(dep)
			case onStack:
				cycle := append(slices.Clone(stack[slices.Index(stack, dep):]), dep)
				t.Errorf("module import cycle: %s", strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		state[m] = done
	}
	names := make([]string, 0, len(graph))
	for name := range graph {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if state[name] == unseen {
			visit(name)
		}
	}
}
