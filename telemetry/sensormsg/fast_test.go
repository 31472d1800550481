package sensormsg

import "testing"

// FuzzFastPath checks that the fast path, whenever it reads a message,
// reads it as the slow path (encoding/json) does.
func FuzzFastPath(f *testing.F) {
	for _, s := range []string{
		`{"device":{"id":123,"auth":789},"reading":{"temp":15,"time":123,"batt":75}}`,
		`{"device":{"id":"2","auth":"64089519511846157","rssi":-70},"reading":{"temp":"4.37","time":"1733580000123"},"gw":null}`,
		`{"Device":{"id":1,"auth":1},"reading":{"temp":1}}`,
		`{"device":{"id":1,"auth":1,"auth":2},"reading":{"batt":1e2}}`,
		`{"device":{"id":1,"auth":"a\u0062"},"reading":{"batt":-0.5E-3}}`,
		`{"device":{"id":0,"auth":1.5},"reading":{"temp":"NaN","time":1.7e9}}`,
		`{"reading":{}}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = trimSpace(raw)
		if len(raw) == 0 || len(raw) > MaxMessage {
			return
		}
		fm, fr, ok := parseFast(raw)
		if !ok {
			return
		}
		sm, sr := parseSlow(raw)
		if fm != sm || fr != sr {
			t.Fatalf("%s:\nfast %+v %+v\nslow %+v %+v", raw, fm, fr, sm, sr)
		}
	})
}

func TestFastPathTakesTheSeedShape(t *testing.T) {
	for _, s := range []string{
		`{"device":{"id":123,"auth":789},"reading":{"temp":15,"time":123,"batt":75}}`,
		` { "device" : { "id" : "7" , "auth" : "s3cret", "rssi": -70 } , "reading" : { "temp" : "4.37" } , "gw": true } `,
		`{"device":{"id":1,"auth":1},"reading":{"temp":"hot"}}`,
	} {
		if _, _, ok := parseFast(trimSpace([]byte(s))); !ok {
			t.Errorf("the fast path left %s to the slow one", s)
		}
	}
}
