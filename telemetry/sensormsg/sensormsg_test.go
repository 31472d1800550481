package sensormsg_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

func msg(id int64, secret string, vals ...any) sensormsg.Message {
	m := sensormsg.Message{Sensor: id, Secret: secret}
	for i := 0; i < len(vals); i += 2 {
		switch vals[i] {
		case "time":
			m.Time, m.HasTime = vals[i+1].(int64), true
		default:
			r := runlet.Reading{Values: m.Values, Has: m.Has}
			r.Set(runlet.Metric(vals[i].(string)), vals[i+1].(float64))
			m.Values, m.Has = r.Values, r.Has
		}
	}
	return m
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     sensormsg.Message
	}{
		{"seed example", `{"device":{"id":123,"auth":789},"reading":{"temp":15,"time":123,"batt":75}}`,
			msg(123, "789", "temp", 15.0, "time", int64(123), "batt", 75.0)},
		{"secret above 2^53 kept exactly", `{"device":{"id":2,"auth":64089519511846157},"reading":{"temp":4.37}}`,
			msg(2, "64089519511846157", "temp", 4.37)},
		{"secret as a string", `{"device":{"id":2,"auth":"64089519511846157"},"reading":{"batt":100}}`,
			msg(2, "64089519511846157", "batt", 100.0)},
		{"hex secret", `{"device":{"id":1,"auth":"B12F31EBDDF2D982895195964FEAB0065031430B"},"reading":{"batt":0}}`,
			msg(1, "B12F31EBDDF2D982895195964FEAB0065031430B", "batt", 0.0)},
		{"id as a string, largest int64", `{"device":{"id":"9223372036854775807","auth":1},"reading":{"temp":-18.5}}`,
			msg(9223372036854775807, "1", "temp", -18.5)},
		{"time in milliseconds, as a string", `{"device":{"id":7,"auth":1},"reading":{"temp":1,"time":"1733580000123"}}`,
			msg(7, "1", "temp", 1.0, "time", int64(1733580000123))},
		{"negative time kept (ReadingTime replaces it)", `{"device":{"id":7,"auth":1},"reading":{"temp":1,"time":-5}}`,
			msg(7, "1", "temp", 1.0, "time", int64(-5))},
		{"numeric strings and exponents for values", `{"device":{"id":7,"auth":1},"reading":{"temp":"4.37","batt":7.5e1}}`,
			msg(7, "1", "temp", 4.37, "batt", 75.0)},
		{"battery out of 0..100 kept as sent", `{"device":{"id":7,"auth":1},"reading":{"batt":130}}`,
			msg(7, "1", "batt", 130.0)},
		{"unknown fields, nulls, other case", `{"Device":{"ID":7,"Auth":1,"rssi":-70},"reading":{"temp":null,"batt":5,"hum":40},"gw":"x"}`,
			msg(7, "1", "batt", 5.0)},
		{"time null is no time", `{"device":{"id":7,"auth":1},"reading":{"temp":2,"time":null}}`,
			msg(7, "1", "temp", 2.0)},
		{"pretty-printed over lines", "{\n  \"device\": {\"id\": 7, \"auth\": 1},\n  \"reading\": {\"temp\": 2}\n}\n",
			msg(7, "1", "temp", 2.0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, refused := sensormsg.Parse([]byte(tc.in))
			if len(refused) != 0 || len(got) != 1 || got[0] != tc.want {
				t.Fatalf("Parse(%s)\n got %+v, refused %+v\nwant %+v", tc.in, got, refused, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	long := strings.Repeat("a", runlet.MaxSensorSecret+1)
	for _, tc := range []struct {
		name, in string
		reason   sensormsg.Reason
		field    string
		says     string // a part of the message
	}{
		{"not JSON", `hello`, sensormsg.ReasonJSON, "", "not valid JSON"},
		{"truncated", `{"device":{"id":1,"auth":1},"reading":{"temp":`, sensormsg.ReasonJSON, "", "not valid JSON"},
		{"empty", "  \n ", sensormsg.ReasonJSON, "", "empty"},
		{"a number", `42`, sensormsg.ReasonNotObject, "", "a number, not an object"},
		{"device a string", `{"device":"x","reading":{"temp":1}}`, sensormsg.ReasonNotObject, "device", "device is a string"},
		{"reading an array", `{"device":{"id":1,"auth":1},"reading":[1]}`, sensormsg.ReasonNotObject, "reading", "reading is an array"},
		{"no device", `{"reading":{"temp":1}}`, sensormsg.ReasonMissingID, "device.id", "device is missing"},
		{"no id", `{"device":{"auth":1},"reading":{"temp":1}}`, sensormsg.ReasonMissingID, "device.id", "device.id is missing"},
		{"id null", `{"device":{"id":null,"auth":1},"reading":{"temp":1}}`, sensormsg.ReasonMissingID, "device.id", "missing"},
		{"id zero", `{"device":{"id":0,"auth":1},"reading":{"temp":1}}`, sensormsg.ReasonBadID, "device.id", "device.id is 0, not a positive whole number"},
		{"id negative", `{"device":{"id":-3,"auth":1},"reading":{"temp":1}}`, sensormsg.ReasonBadID, "device.id", "-3"},
		{"id fraction", `{"device":{"id":1.5,"auth":1},"reading":{"temp":1}}`, sensormsg.ReasonBadID, "device.id", "1.5"},
		{"id too large", `{"device":{"id":9223372036854775808,"auth":1},"reading":{"temp":1}}`, sensormsg.ReasonBadID, "device.id", "9223372036854775808"},
		{"id a word", `{"device":{"id":"abc","auth":1},"reading":{"temp":1}}`, sensormsg.ReasonBadID, "device.id", `device.id is "abc"`},
		{"id a boolean", `{"device":{"id":true,"auth":1},"reading":{"temp":1}}`, sensormsg.ReasonBadID, "device.id", "true"},
		{"no auth", `{"device":{"id":1},"reading":{"temp":1}}`, sensormsg.ReasonMissingAuth, "device.auth", "device.auth is missing"},
		{"auth fraction", `{"device":{"id":1,"auth":789.5},"reading":{"temp":1}}`, sensormsg.ReasonBadAuth, "device.auth", "fraction"},
		{"auth exponent", `{"device":{"id":1,"auth":6.4e16},"reading":{"temp":1}}`, sensormsg.ReasonBadAuth, "device.auth", "exponent"},
		{"auth negative", `{"device":{"id":1,"auth":-789},"reading":{"temp":1}}`, sensormsg.ReasonBadAuth, "device.auth", "sign"},
		{"auth empty", `{"device":{"id":1,"auth":""},"reading":{"temp":1}}`, sensormsg.ReasonBadAuth, "device.auth", "empty string"},
		{"auth too long", `{"device":{"id":1,"auth":"` + long + `"},"reading":{"temp":1}}`, sensormsg.ReasonBadAuth, "device.auth", "129 bytes"},
		{"auth an object", `{"device":{"id":1,"auth":{}},"reading":{"temp":1}}`, sensormsg.ReasonBadAuth, "device.auth", "an object"},
		{"no reading", `{"device":{"id":1,"auth":1}}`, sensormsg.ReasonMissingReading, "reading", "reading is missing"},
		{"time fraction", `{"device":{"id":1,"auth":1},"reading":{"temp":1,"time":1733580000.5}}`, sensormsg.ReasonBadTime, "reading.time", "1733580000.5"},
		{"time exponent", `{"device":{"id":1,"auth":1},"reading":{"temp":1,"time":1.7e9}}`, sensormsg.ReasonBadTime, "reading.time", "1.7e9"},
		{"time a word", `{"device":{"id":1,"auth":1},"reading":{"temp":1,"time":"noon"}}`, sensormsg.ReasonBadTime, "reading.time", `"noon"`},
		{"temp a word", `{"device":{"id":1,"auth":1},"reading":{"temp":"hot"}}`, sensormsg.ReasonNotNumeric, "reading.temp", `reading.temp is "hot", not a number`},
		{"temp NaN", `{"device":{"id":1,"auth":1},"reading":{"temp":"NaN"}}`, sensormsg.ReasonNotNumeric, "reading.temp", "NaN"},
		{"temp Inf", `{"device":{"id":1,"auth":1},"reading":{"temp":"-Inf"}}`, sensormsg.ReasonNotNumeric, "reading.temp", "Inf"},
		{"temp out of range", `{"device":{"id":1,"auth":1},"reading":{"temp":1e400}}`, sensormsg.ReasonNotNumeric, "reading.temp", "1e400"},
		{"batt a boolean", `{"device":{"id":1,"auth":1},"reading":{"temp":1,"batt":false}}`, sensormsg.ReasonNotNumeric, "reading.batt", "false"},
		{"batt hex", `{"device":{"id":1,"auth":1},"reading":{"batt":"0x10"}}`, sensormsg.ReasonNotNumeric, "reading.batt", "0x10"},
		{"no values", `{"device":{"id":1,"auth":1},"reading":{"time":5}}`, sensormsg.ReasonNoValues, "reading", "neither"},
		{"too large", `{"device":{"id":1,"auth":1},"reading":{"temp":1},"pad":"` + strings.Repeat("x", sensormsg.MaxMessage) + `"}`, sensormsg.ReasonTooLarge, "", "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, refused := sensormsg.Parse([]byte(tc.in))
			if len(got) != 0 || len(refused) != 1 {
				t.Fatalf("Parse(%.80s) = %+v, refused %+v; want one refusal", tc.in, got, refused)
			}
			r := refused[0]
			if r.Reason != tc.reason || r.Field != tc.field || r.Index != 0 || !strings.Contains(r.Message, tc.says) {
				t.Errorf("refusal %+v; want reason %s, field %q, a message with %q", r, tc.reason, tc.field, tc.says)
			}
			if !slices.Contains(sensormsg.Reasons, r.Reason) {
				t.Errorf("reason %q is not in Reasons", r.Reason)
			}
		})
	}
}

func TestParseNeverEchoesSecret(t *testing.T) {
	_, refused := sensormsg.Parse([]byte(`{"device":{"id":1,"auth":123456789.25},"reading":{"temp":1}}`))
	if len(refused) != 1 || strings.Contains(refused[0].Message, "123456789") {
		t.Fatalf("refused %+v: the message must not show the secret", refused)
	}
}

func TestParseArray(t *testing.T) {
	in := `[{"device":{"id":1,"auth":1},"reading":{"temp":1}}, 5,
	  {"device":{"id":2,"auth":2},"reading":{"temp":"x"}},
	  {"device":{"id":3,"auth":3},"reading":{"batt":3}}]`
	got, refused := sensormsg.Parse([]byte(in))
	if ids := sensors(got); !slices.Equal(ids, []int64{1, 3}) {
		t.Errorf("took sensors %v, want [1 3]", ids)
	}
	if want := []refusalAt{{1, sensormsg.ReasonNotObject}, {2, sensormsg.ReasonNotNumeric}}; !slices.Equal(at(refused), want) {
		t.Errorf("refused %+v, want %v", refused, want)
	}

	got, refused = sensormsg.Parse([]byte(`[{"device":{"id":1,"auth":1},"reading":{"temp":1}}, {"device":`))
	if len(got) != 0 || !slices.Equal(at(refused), []refusalAt{{0, sensormsg.ReasonJSON}}) {
		t.Errorf("a broken array: took %+v, refused %+v; want one json refusal", got, refused)
	}
	got, refused = sensormsg.Parse([]byte(`[]`))
	if len(got) != 0 || len(refused) != 0 {
		t.Errorf("an empty array: took %+v, refused %+v; want nothing", got, refused)
	}
}

func TestParseLines(t *testing.T) {
	in := strings.Join([]string{
		`{"device":{"id":1,"auth":1},"reading":{"temp":1}}`,
		``,
		`{"device":{"id":2,"auth":2},"reading":{"temp":1}`, // cut short
		"  \t",
		`{"device":{"id":3,"auth":3},"reading":{"temp":1}}` + "\r",
		`{"device":{"id":4},"reading":{"temp":1}}`,
		`{"device":{"id":5,"auth":5},"reading":{"temp":1}}`,
	}, "\n")
	got, refused := sensormsg.Parse([]byte(in))
	if ids := sensors(got); !slices.Equal(ids, []int64{1, 3, 5}) {
		t.Errorf("took sensors %v, want [1 3 5]", ids)
	}
	if want := []refusalAt{{2, sensormsg.ReasonJSON}, {5, sensormsg.ReasonMissingAuth}}; !slices.Equal(at(refused), want) {
		t.Errorf("refused %+v, want %v", refused, want)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, m := range []sensormsg.Message{
		msg(123, "789", "temp", 15.0, "time", int64(123), "batt", 75.0),
		msg(2, "64089519511846157", "temp", 4.37),
		msg(2, "0123", "batt", 1e-7),     // leading zero: a string
		msg(2, `a"b\c<>`, "temp", 1e300), // escapes
		msg(2, "x", "temp", math.Copysign(0, -1), "time", int64(-9223372036854775808)),
	} {
		b := sensormsg.Format(m)
		got, refused := sensormsg.Parse(b)
		if len(refused) != 0 || len(got) != 1 || got[0] != m {
			t.Errorf("Parse(Format(%+v)) = %s → %+v, %+v", m, b, got, refused)
		}
	}
	if got, want := string(sensormsg.Format(msg(123, "789", "temp", 15.0, "time", int64(123), "batt", 75.0))),
		`{"device":{"id":123,"auth":789},"reading":{"temp":15,"time":123,"batt":75}}`; got != want {
		t.Errorf("Format(seed example) = %s, want %s", got, want)
	}
}

type refusalAt struct {
	index  int
	reason sensormsg.Reason
}

func at(rs []sensormsg.Refusal) []refusalAt {
	var out []refusalAt
	for _, r := range rs {
		out = append(out, refusalAt{r.Index, r.Reason})
	}
	return out
}

func sensors(ms []sensormsg.Message) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.Sensor)
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"device":{"id":123,"auth":789},"reading":{"temp":15,"time":123,"batt":75}}`,
		`{"device":{"id":"2","auth":"64089519511846157"},"reading":{"temp":"4.37","time":"1733580000123"}}`,
		`[{"device":{"id":1,"auth":1},"reading":{"temp":1}},5,{"device":{"id":2,"auth":2},"reading":{"temp":"x"}}]`,
		"{\"device\":{\"id\":1,\"auth\":1},\"reading\":{\"batt\":1}}\n\n{\"device\":{\"id\":2}}\n[1]\n",
		`{"device":{"id":1,"auth":1.5},"reading":{"temp":1e400,"time":1.7e9}}`,
		`{"device":null,"reading":null}`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, refused := sensormsg.Parse(data)
		for _, r := range refused {
			if !slices.Contains(sensormsg.Reasons, r.Reason) || r.Message == "" {
				t.Fatalf("refusal %+v: unknown reason or no message", r)
			}
		}
		var lines bytes.Buffer
		for _, m := range got {
			if m.Sensor <= 0 || m.Secret == "" || len(m.Secret) > runlet.MaxSensorSecret || m.Has == 0 {
				t.Fatalf("took %+v, which breaks the rules", m)
			}
			b := sensormsg.Format(m)
			back, refused := sensormsg.Parse(b)
			if len(refused) != 0 || len(back) != 1 || back[0] != m {
				t.Fatalf("Parse(Format(%+v)) = %s → %+v, %+v", m, b, back, refused)
			}
			lines.Write(b)
			lines.WriteByte('\n')
		}
		if len(got) > 1 {
			back, refused := sensormsg.Parse(lines.Bytes())
			if len(refused) != 0 || !slices.Equal(back, got) {
				t.Fatalf("the messages as lines did not read back: %+v, %+v", back, refused)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	var in bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&in, `{"device":{"id":%d,"auth":64089519511846157},"reading":{"temp":%.2f,"time":%d,"batt":%d}}`+"\n",
			i%15+1, 4+float64(i%100)/100, 1733580000+i*60, 100-i%100)
	}
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		got, refused := sensormsg.Parse(data)
		if len(got) != 1000 || len(refused) != 0 {
			b.Fatalf("took %d, refused %+v", len(got), refused)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/message")
}
