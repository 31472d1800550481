package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runlet/runlet/api"
)

func TestSensorSecret(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`64089519511846157`, "64089519511846157"}, // above 2^53: exact
		{`789`, "789"},
		{`"789"`, "789"},
		{`0`, "0"},
		{`123456789012345678901234567890`, "123456789012345678901234567890"},
		{`"s3cr\u00e9t"`, "s3crét"},
		{` 42 `, "42"},
	} {
		var got struct{ Secret api.SensorSecret }
		if err := json.Unmarshal([]byte(`{"secret":`+c.in+`}`), &got); err != nil || string(got.Secret) != c.want {
			t.Errorf("%s: %q, %v; want %q", c.in, got.Secret, err, c.want)
		}
	}
	// A sign is refused as a sensor's message refuses it
	// (runlet.SensorSecretNumber): "-5" as a string is a secret.
	for _, in := range []string{`-5`, `-0`, `1.5`, `1e9`, `7E2`, `true`, `null`, `[1]`, `{"a":1}`, `-`, `01`} {
		var got struct{ Secret api.SensorSecret }
		err := json.Unmarshal([]byte(`{"secret":`+in+`}`), &got)
		if err == nil && in != "null" {
			t.Errorf("%s: took %q", in, got.Secret)
		}
		if in == "null" && got.Secret != "" {
			t.Errorf("null: %q", got.Secret)
		}
	}
	// Marshalled as a string, so that it reads back the same.
	b, _ := json.Marshal(api.NewSensor{ID: 1, Secret: "64089519511846157"})
	if !strings.Contains(string(b), `"secret":"64089519511846157"`) {
		t.Errorf("marshalled %s", b)
	}
}

// FuzzSensorSecret: any JSON value is refused or read as a secret; an
// integer is read as its exact text, and a secret read back through
// Marshal is itself.
func FuzzSensorSecret(f *testing.F) {
	for _, s := range []string{`64089519511846157`, `"789"`, `1.5`, `-0`, `"\u0000"`, `1e3`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var s api.SensorSecret
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("%q: read %q, cannot marshal: %v", in, s, err)
		}
		var back api.SensorSecret
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%q: read %q, back %q, %v", in, s, back, err)
		}
	})
}
