package alert_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// BenchmarkReadings measures the alert service on the ingest's path: the
// readings of 1,000 sensors, all in range, in batches of one or ten
// readings of each sensor, as readings/s through Readings. Its cost is
// one HeardSensors write (a row per sensor) and one OpenAlerts read a
// batch, so it grows with the sensors of a batch, not its readings.
func BenchmarkReadings(b *testing.B) {
	for _, d := range dialects {
		for _, per := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/%d-a-sensor", d.name, per), func(b *testing.B) {
				e := newEnv(b, d.make(b))
				const sensors = 1000
				for id := int64(100); id < 100+sensors; id++ {
					e.addSensor(runlet.Sensor{ID: id, Name: fmt.Sprintf("Sensor %d", id), Owner: "ann@example.com"})
				}
				s := e.service("bench")
				batch := make([]runlet.RawReading, sensors*per)
				n := 0
				b.ResetTimer()
				for b.Loop() {
					e.clock.Advance(time.Second)
					now := e.clock.Now()
					for i := range batch {
						batch[i] = temp(int64(100+i%sensors), now.Add(time.Duration(i/sensors)*time.Millisecond), 5)
					}
					if err := s.Readings(b.Context(), e.ws, batch); err != nil {
						b.Fatal(err)
					}
					n += len(batch)
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "readings/s")
			})
		}
	}
}
