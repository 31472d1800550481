package server

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/runlet/runlet/api"
)

// TestOpenAPICoversRoutes checks that every route of routes() has its
// path and method in the OpenAPI document, and nothing more.
func TestOpenAPICoversRoutes(t *testing.T) {
	src, err := os.ReadFile("http.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	routes := regexp.MustCompile(`Handle(?:Func)?\("(GET|POST|PUT|PATCH|DELETE) ("\+p\+")?([^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 15 {
		t.Fatalf("found only %d routes in http.go", len(routes))
	}
	seen := 0
	for _, r := range routes {
		path := r[3]
		if r[2] != "" {
			path = api.Prefix + path
		}
		if _, ok := doc.Paths[path][strings.ToLower(r[1])]; !ok {
			t.Errorf("%s %s is not in openapi.json", r[1], path)
		}
		seen++
	}
	n := 0
	for _, ops := range doc.Paths {
		n += len(ops)
	}
	if n != seen {
		t.Errorf("openapi.json has %d operations, the server %d routes", n, seen)
	}
}
