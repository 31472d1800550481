package server

import (
	"math"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

// TestParseSensorConfig: the seed's strings, numbers, null and "" (no
// bound), the state as a boolean or a word; unknown keys and values that
// are no number are refused.
func TestParseSensorConfig(t *testing.T) {
	c, err := parseSensorConfig([]byte(`{"maxTemperature":"10.54","minTemperature":-10.54,"maxBattery":null,"minBattery":"","state":true}`))
	if err != nil {
		t.Fatal(err)
	}
	ten := 5.0
	sn := runlet.Sensor{State: runlet.SensorInactive, Rules: runlet.SensorRules{Thresholds: runlet.Thresholds{BattMax: &ten, BattMin: &ten}}}
	if err := c.apply(&sn); err != nil {
		t.Fatal(err)
	}
	r := sn.Rules
	if *r.TempMax != 10.54 || *r.TempMin != -10.54 || r.BattMax != nil || r.BattMin != nil || sn.State != runlet.SensorActive {
		t.Errorf("applied %+v, state %s", r, sn.State)
	}
	if got := adminSensor(sn).Config; len(got) != 2 || got["maxTemperature"] != "10.54" || got["minTemperature"] != "-10.54" {
		t.Errorf("config %v", got)
	}
	for _, bad := range []string{`{"maxTemperature":"1e400"}`, `{"maxTemperature":"NaN"}`, `{"maxTemperature":true}`, `{"other":1}`,
		`{"state":1}`, `{} {}`, `null`, `"x"`, `{"maxTemperature":[1]}`} {
		if _, err := parseSensorConfig([]byte(bad)); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("%s: %v, want invalid", bad, err)
		}
	}
}

// FuzzSensorConfig: whatever the body, the parser answers a config or an
// EINVALID error, and a config's bounds are finite numbers whose text
// reads back the same.
func FuzzSensorConfig(f *testing.F) {
	for _, s := range []string{`{"maxTemperature":"10.54","minTemperature":"-10.54"}`, `{"maxTemperature":12,"state":false}`,
		`{"minBattery":null,"maxBattery":""}`, `{"state":"active"}`, `{}`, `[]`, `{"maxTemperature":"1e308"}`, "{\"maxTemperature\":\" 7 \"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseSensorConfig(b)
		if err != nil {
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Fatalf("%q: %v, want an invalid error", b, err)
			}
			return
		}
		sn := runlet.Sensor{State: runlet.SensorActive}
		if err := c.apply(&sn); err != nil {
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Fatalf("%q: apply: %v", b, err)
			}
			return
		}
		for k, v := range adminSensor(sn).Config {
			if !strings.HasSuffix(k, "Temperature") && !strings.HasSuffix(k, "Battery") {
				t.Fatalf("%q: config key %q", b, k)
			}
			back, err := parseBound(k, []byte(`"`+v+`"`))
			if err != nil || back == nil || math.IsInf(*back, 0) || formatBound(*back) != v {
				t.Fatalf("%q: %s=%q does not read back: %v", b, k, v, err)
			}
		}
		if !sn.State.Valid() {
			t.Fatalf("%q: state %q", b, sn.State)
		}
	})
}

// FuzzGatewayConfig: whatever the body, the parser answers labels that
// runlet.CheckLabels takes, or an EINVALID error.
func FuzzGatewayConfig(f *testing.F) {
	for _, s := range []string{`{"State":"Active", "connectivity":"4G"}`, `{"sim":12,"solar":true,"x":null}`, `{"a b":"c"}`, `{"x":{"y":1}}`, `[]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		labels, err := parseGatewayConfig(b)
		if err != nil {
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Fatalf("%q: %v, want an invalid error", b, err)
			}
			return
		}
		if err := runlet.CheckLabels(labels); err != nil {
			t.Fatalf("%q: labels %v: %v", b, labels, err)
		}
	})
}
