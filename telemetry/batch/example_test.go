package batch_test

import (
	"fmt"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/batch"
)

func ExampleEncode() {
	var r runlet.RawReading
	r.Sensor, r.Seq = 123, 41
	r.Time = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	r.Accepted = r.Time.Add(20 * time.Millisecond)
	r.Set(runlet.MetricTemp, 4.37)
	r.Set(runlet.MetricBatt, 75)
	next := r
	next.Seq = 42
	next.Time = r.Time.Add(15 * time.Minute)
	next.Accepted = next.Time
	next.Set(runlet.MetricTemp, 4.41)

	p, err := batch.Encode(batch.Batch{
		Readings: []runlet.RawReading{r, next},
		Secrets:  map[int64]string{123: "64089519511846157"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := batch.Decode(p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(p), "bytes, batch", b.ID())
	for _, r := range b.Readings {
		fmt.Println(r.Seq, r.Sensor, r.Time.Format(time.TimeOnly), r.Values, b.Secrets[r.Sensor])
	}
	// Output:
	// 41 bytes, batch 41-42
	// 41 123 12:00:00 [4.37 75] 64089519511846157
	// 42 123 12:15:00 [4.41 75] 64089519511846157
}
