package alert_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/runlet/runlet"
)

// BenchmarkReadings measures the alert service on the ingest's path: the
// readings of 1,000 sensors, all in range, 1,000 a batch (one each), as
// readings/s through Readings. Its cost is one HeardSensors write and one
// OpenAlerts read a batch.
func BenchmarkReadings(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			e := newEnv(b, d.make(b))
			const sensors = 1000
			for id := int64(100); id < 100+sensors; id++ {
				e.addSensor(runlet.Sensor{ID: id, Name: fmt.Sprintf("Sensor %d", id), Owner: "ann@example.com"})
			}
			s := e.service("bench")
			batch := make([]runlet.RawReading, sensors)
			n := 0
			b.ResetTimer()
			for b.Loop() {
				e.clock.Advance(time.Second)
				now := e.clock.Now()
				for i := range batch {
					batch[i] = temp(int64(100+i), now, 5)
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
