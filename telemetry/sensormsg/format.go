package sensormsg

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/runlet/runlet"
)

// Format writes m as the seed's JSON, canonically: the secret as a number
// when it is one (digits, without a leading zero), as a string otherwise;
// time only when HasTime; temp and batt only when Has holds them, in the
// shortest form that reads back to the same float64. Parse reads what
// Format writes back to m, for every Message Parse returns. A value that
// is not finite, which Parse never returns, is written as null.
func Format(m Message) []byte {
	return AppendFormat(make([]byte, 0, 96), m)
}

// AppendFormat appends Format(m) to b.
func AppendFormat(b []byte, m Message) []byte {
	b = append(b, `{"device":{"id":`...)
	b = strconv.AppendInt(b, m.Sensor, 10)
	b = append(b, `,"auth":`...)
	if isDigits(m.Secret) && (len(m.Secret) == 1 || m.Secret[0] != '0') {
		b = append(b, m.Secret...)
	} else {
		s, _ := json.Marshal(m.Secret) // a string always marshals
		b = append(b, s...)
	}
	b = append(b, `},"reading":{`...)
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	r := runlet.Reading{Values: m.Values, Has: m.Has}
	if v, ok := r.Value(runlet.MetricTemp); ok {
		field("temp")
		b = appendFloat(b, v)
	}
	if m.HasTime {
		field("time")
		b = strconv.AppendInt(b, m.Time, 10)
	}
	if v, ok := r.Value(runlet.MetricBatt); ok {
		field("batt")
		b = appendFloat(b, v)
	}
	return append(b, "}}"...)
}

func appendFloat(b []byte, v float64) []byte {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
