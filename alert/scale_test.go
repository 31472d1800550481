//go:build linux

package alert_test

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

var (
	silenceSensors = flag.Int("silence-sensors", 10_000, "sensors of BenchmarkSilenceTimers (issue 14 measures 100,000)")
	silenceWaves   = flag.Int("silence-waves", 10, "waves of BenchmarkSilenceTimers: the sensors fall silent a wave at a time")
	silenceOpen    = flag.Int("silence-open", 0, "waves of BenchmarkSilenceTimers whose alerts the leader opens; 0: all")
)

// BenchmarkSilenceTimers measures the silence timers of many sensors
// (issue 14, row 4; R-TEL-4): it registers -silence-sensors sensors
// through the store, records them heard in batches of 1,000 (as the
// ingest's transactions do), a wave of them a simulated minute apart,
// times NextDue and DueMarks over all the marks, then lets the waves'
// dues pass one at a time and runs the leader (Service.Step) until it has
// opened every silence alert of the wave (of the first -silence-open
// waves, when set). It reports the time per Step
// pass, silence alerts opened a second, this process's CPU time
// (getrusage: with SQLite the database's work too, with PostgreSQL only
// the client's), its heap and its peak RSS.
//
//	go test -run XXX -bench SilenceTimers -benchtime 1x ./alert/ -args -silence-sensors 100000
func BenchmarkSilenceTimers(b *testing.B) {
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			for b.Loop() {
				silenceTimers(b, d.make(b))
			}
		})
	}
}

func silenceTimers(b *testing.B, d dialect) {
	ctx := b.Context()
	e := newEnv(b, d)
	n, waves := *silenceSensors, max(*silenceWaves, 1)
	perWave := (n + waves - 1) / waves
	const first = int64(1_000_000)

	// Register the sensors, several writers at a time on PostgreSQL
	// (SQLite has one writer).
	t0 := time.Now()
	var wg sync.WaitGroup
	writers := 1
	if d.name != "SQLite" {
		writers = 16
	}
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				sn := runlet.Sensor{Workspace: e.ws, ID: first + int64(i), Name: fmt.Sprintf("Sensor %d", i), Owner: "ann@example.com", State: runlet.SensorActive}
				if err := e.db.AddSensor(ctx, &sn, "secret"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("add the sensors: %v", err)
	}
	b.Logf("%s: registered %d sensors in %v", d.name, n, time.Since(t0).Round(time.Millisecond))

	// Record them heard, wave w at start + w minutes, 1,000 a batch.
	const batch = 1000
	var heardTime time.Duration
	for w := range waves {
		e.clock.Set(start.Add(time.Duration(w) * time.Minute))
		now := e.clock.Now()
		for lo := w * perWave; lo < min((w+1)*perWave, n); lo += batch {
			var hs []store.SensorHeard
			for i := lo; i < min(lo+batch, (w+1)*perWave, n); i++ {
				id := first + int64(i)
				hs = append(hs, store.SensorHeard{Key: runlet.SilenceKey(id), Sensor: id, Device: "pi-3", Heard: now, Due: now.Add(time.Hour)})
			}
			t := time.Now()
			if err := e.db.HeardSensors(ctx, e.ws, hs); err != nil {
				b.Fatalf("HeardSensors: %v", err)
			}
			heardTime += time.Since(t)
		}
	}
	b.Logf("%s: HeardSensors of %d marks, %d a call: %v (%.0f marks/s)", d.name, n, batch, heardTime.Round(time.Millisecond), float64(n)/heardTime.Seconds())

	// The leader's queries with every mark waiting.
	const q = 200
	t := time.Now()
	for range q {
		if _, ok, err := e.db.NextDue(ctx); err != nil || !ok {
			b.Fatalf("NextDue: %v %v", ok, err)
		}
	}
	nextDue := time.Since(t) / q
	late := start.Add(time.Hour + time.Duration(waves)*time.Minute)
	t = time.Now()
	for range q / 10 {
		if _, err := e.db.DueMarks(ctx, late, 500); err != nil {
			b.Fatalf("DueMarks: %v", err)
		}
	}
	dueMarks := time.Since(t) / (q / 10)
	t = time.Now()
	for range q {
		if _, err := e.db.DueMarks(ctx, start, 500); err != nil {
			b.Fatalf("DueMarks: %v", err)
		}
	}
	dueNone := time.Since(t) / q
	b.Logf("%s: with %d marks: NextDue %v, DueMarks of 500 due %v, DueMarks with none due %v", d.name, n, nextDue, dueMarks, dueNone)
	b.ReportMetric(float64(nextDue.Microseconds()), "µs/NextDue")
	b.ReportMetric(float64(dueMarks.Microseconds()), "µs/DueMarks-500")

	// The waves fall due one at a time; the leader opens their alerts.
	s := e.service("bench")
	runtime.GC()
	cpu0 := cpuTime()
	var passes, opened int
	var stepTime time.Duration
	open := waves
	if *silenceOpen > 0 {
		open = min(*silenceOpen, waves)
	}
	for w := range open {
		opened = min((w+1)*perWave, n)
		e.clock.Set(start.Add(time.Hour + time.Duration(w)*time.Minute))
		for {
			t := time.Now()
			if err := s.Step(ctx); err != nil {
				b.Fatalf("Step: %v", err)
			}
			stepTime += time.Since(t)
			passes++
			due, ok, err := e.db.NextDue(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if !ok || due.After(e.clock.Now()) {
				break
			}
		}
	}
	cpu := cpuTime() - cpu0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms, err := e.db.DueMarks(ctx, e.clock.Now(), 1); len(ms) > 0 || err != nil {
		b.Fatalf("a silence timer is still due after the leader's passes (%v)", err)
	}
	rate := float64(opened) / stepTime.Seconds()
	b.Logf("%s: %d silence alerts in %d passes (%d waves of %d): %v (%v a pass, %.0f alerts/s), CPU %v, heap %d MiB, RSS %d MiB",
		d.name, opened, passes, open, perWave, stepTime.Round(time.Millisecond), (stepTime / time.Duration(passes)).Round(time.Millisecond),
		rate, cpu.Round(time.Millisecond), ms.HeapAlloc>>20, rss()>>20)
	b.ReportMetric(rate, "alerts/s")
	b.ReportMetric(float64((stepTime / time.Duration(passes)).Milliseconds()), "ms/pass")
	b.ReportMetric(cpu.Seconds(), "cpu-s")
	b.ReportMetric(float64(ms.HeapAlloc>>20), "heap-MiB")
	b.ReportMetric(float64(rss()>>20), "rss-MiB")
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is this process's resident set now, in bytes.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
