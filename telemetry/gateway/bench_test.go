package gateway_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// BenchmarkAccept is the spool's intake through Accept, 1000 readings a
// call (one fsync each): readings/s.
func BenchmarkAccept(b *testing.B) {
	sp := openSpool(b, b.TempDir())
	g := newGateway(b, sp, nil, "")
	msgs, refused := sensormsg.Parse([]byte(ndjson(1, 0, 1000)))
	if len(refused) > 0 {
		b.Fatal(refused)
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := g.Accept(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/time.Since(start).Seconds(), "readings/s")
}

// BenchmarkPostNDJSON is POST /v1/readings with 1000 lines of
// newline-delimited JSON, parsing included: readings/s.
func BenchmarkPostNDJSON(b *testing.B) {
	sp := openSpool(b, b.TempDir())
	g := newGateway(b, sp, nil, "")
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	body := ndjson(1, 0, 1000)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		resp, err := http.Post(srv.URL+"/v1/readings", "application/x-ndjson", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
	b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "readings/s")
}

// BenchmarkDrain is the sender emptying a spool of 600,000 pending
// readings (100 sensors) into the embedded NATS broker, each batch
// confirmed: readings/s, and bytes on the wire per reading.
func BenchmarkDrain(b *testing.B) {
	const pending = 600_000
	for range b.N {
		b.StopTimer()
		br := startBroker(b)
		srv := br.open("server", serverPassword)
		ctx := context.Background()
		if err := srv.DeclareQueue(ctx, br.ws, bus.Queue{Name: bus.TelemetryQueue, Pattern: bus.AllTelemetry}); err != nil {
			b.Fatal(err)
		}
		sp := openSpool(b, b.TempDir())
		g := newGateway(b, sp, br.device(device), br.ws)
		// 100 sensors, one reading a second each, temperatures wandering
		// by hundredths: what a fridge room sends.
		rng := rand.New(rand.NewPCG(1, 2))
		temps := make([]float64, 100)
		t0 := time.Now().Add(-2 * time.Hour).Unix()
		for chunk := range pending / 5000 {
			var lines strings.Builder
			for i := range 5000 {
				s := i % 100
				temps[s] += float64(rng.IntN(21)-10) / 100
				fmt.Fprintf(&lines, `{"device":{"id":%d,"auth":"s3cret-%d"},"reading":{"temp":%.2f,"batt":%d,"time":%d}}`+"\n",
					1000+s, s, 4+temps[s], 90-chunk/20, t0+int64(chunk*50+i/100))
			}
			msgs, refused := sensormsg.Parse([]byte(lines.String()))
			if len(refused) > 0 {
				b.Fatal(refused)
			}
			if _, err := g.Accept(ctx, msgs); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		stop := run(b, g)
		for sp.Stats().Pending > 0 {
			time.Sleep(5 * time.Millisecond) // a benchmark's poll, not a test's synchronisation
		}
		elapsed := time.Since(start)
		stop()
		st := g.Stats()
		b.ReportMetric(float64(pending)/elapsed.Seconds(), "readings/s")
		b.ReportMetric(float64(st.SentBytes)/float64(st.SentReadings), "wireB/reading")
		b.ReportMetric(float64(st.SentBatches), "batches")
	}
}
