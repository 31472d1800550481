package sensormsg_test

import (
	"fmt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

func ExampleParse() {
	in := []byte(`{"device":{"id":123,"auth":64089519511846157},"reading":{"temp":4.37,"time":1733580000,"batt":75}}
{"device":{"id":124,"auth":"s3cret"},"reading":{"temp":"hot"}}
`)
	msgs, refused := sensormsg.Parse(in)
	for _, m := range msgs {
		fmt.Println(m.Sensor, m.Secret, m.Values[0], runlet.SensorTime(m.Time).Format("2006-01-02"), m.Values[1])
	}
	for _, r := range refused {
		fmt.Printf("line %d: %s (%s): %s\n", r.Index+1, r.Reason, r.Field, r.Message)
	}
	// Output:
	// 123 64089519511846157 4.37 2024-12-07 75
	// line 2: not_numeric (reading.temp): reading.temp is "hot", not a number.
}

func ExampleFormat() {
	m := sensormsg.Message{Sensor: 123, Secret: "789", Time: 123, HasTime: true}
	m.Values = [2]float64{15, 75}
	m.Has = 3
	fmt.Printf("%s\n", sensormsg.Format(m))
	// Output:
	// {"device":{"id":123,"auth":789},"reading":{"temp":15,"time":123,"batt":75}}
}
