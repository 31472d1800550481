package jobspec

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the parser's output")

// TestGolden parses each testdata/*.yaml and compares the jobs, as JSON,
// with testdata/*.golden. The seed's four examples are among them (R-JOB-1).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d golden inputs in testdata, want the seed's four and features.yaml", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(filepath.Base(path), src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.MarshalIndent(f, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./jobspec -run TestGolden -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", path, golden, got, want)
			}
			checkJSONRoundTrip(t, f)
		})
	}
}

// checkJSONRoundTrip checks that each job reads back from its JSON, as a
// client of the server's API would, and writes the same JSON again.
func checkJSONRoundTrip(t *testing.T, f *File) {
	t.Helper()
	for _, j := range f.Jobs {
		first, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		var back Job
		if err := json.Unmarshal(first, &back); err != nil {
			t.Fatalf("job %s: %v", j.Name, err)
		}
		second, err := json.Marshal(&back)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != string(second) {
			t.Errorf("job %s: JSON changes on a round trip:\n%s\n%s", j.Name, first, second)
		}
	}
}
