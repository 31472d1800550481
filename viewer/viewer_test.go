package viewer_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

// result is what one Follow delivered.
type result struct {
	out  string
	last uint64
	err  error
}

// follow runs v.Follow in the background, checking that frames come in
// sequence, and returns where its result will arrive.
func follow(t *testing.T, v *viewer.Viewer) <-chan result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	done := make(chan result, 1)
	go func() {
		defer cancel()
		var b strings.Builder
		var want uint64 = 1
		last, err := v.Follow(ctx, func(f wire.Frame) error {
			if f.Seq != want {
				t.Errorf("viewer %s got frame %d, want %d", v.ID(), f.Seq, want)
			}
			want = f.Seq + 1
			b.Write(f.Data)
			return nil
		})
		done <- result{out: b.String(), last: last, err: err}
	}()
	return done
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("follow: %v", r.err)
		}
		return r
	case <-time.After(90 * time.Second):
		t.Fatal("the viewer did not finish")
	}
	return result{}
}

// lossy returns 1..n shuffled in small windows, with about one in eight
// left out: what a viewer may see of live output after a broker hiccup.
func lossy(rng *rand.Rand, n int) []uint64 {
	var seqs []uint64
	for i := 1; i <= n; i++ {
		if rng.IntN(8) != 0 {
			seqs = append(seqs, uint64(i))
		}
	}
	for i := 0; i+4 <= len(seqs); i += 4 {
		w := seqs[i : i+4]
		rng.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
	}
	return seqs
}

func newViewer(t *testing.T, url string, d *device, silence time.Duration) *viewer.Viewer {
	return viewer.New(openBus(t, url), viewer.Config{
		Workspace: workspace, Execution: d.exec, Device: d.name, Silence: silence, Logger: quiet,
	})
}

func TestFollowRepairsLossAndReordering(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec1", "pi-1")
		rng := rand.New(rand.NewPCG(1, 2))
		v := newViewer(t, url, d, time.Minute)
		res := follow(t, v)
		d.waitReplays(t, 1) // the viewer is subscribed
		for round := range 5 {
			d.produce(40)
			seqs := lossy(rng, 40)
			for i := range seqs {
				seqs[i] += uint64(round * 40)
			}
			d.publishLive(seqs)
		}
		d.finish(true)
		r := wait(t, res)
		if r.out != d.output() {
			t.Fatalf("viewer output differs from the device's:\n got %q\nwant %q", r.out, d.output())
		}
		if r.last != 200 {
			t.Fatalf("last = %d, want 200", r.last)
		}
	})
}

func TestFollowLateViewerGetsEverything(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec2", "mac")
		d.produce(300)
		d.publishLive([]uint64{1, 2, 3}) // nobody listens yet
		d.finish(true)
		r := wait(t, follow(t, newViewer(t, url, d, time.Minute)))
		if r.out != d.output() || r.last != 300 {
			t.Fatalf("late viewer got %d bytes up to %d, want %d bytes up to 300", len(r.out), r.last, len(d.output()))
		}
	})
}

// A viewer that reconnects passes From = last seen + 1: the replay starts
// there, and earlier frames, live or replayed, are never delivered.
func TestFollowFrom(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec9", "pi-8")
		d.produce(50)
		v := viewer.New(openBus(t, url), viewer.Config{Workspace: workspace, Execution: d.exec, Device: d.name, From: 31, Silence: time.Minute, Logger: quiet})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var seqs []uint64
		done := make(chan error, 1)
		go func() {
			_, err := v.Follow(ctx, func(f wire.Frame) error {
				seqs = append(seqs, f.Seq)
				return nil
			})
			done <- err
		}()
		if asked := d.waitReplays(t, 1); asked[0].From != 31 {
			t.Errorf("the first replay asked from %d, want 31", asked[0].From)
		}
		d.publishLive([]uint64{1, 2, 30, 31})
		d.finish(true)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		want := make([]uint64, 0, 20)
		for i := uint64(31); i <= 50; i++ {
			want = append(want, i)
		}
		if !slices.Equal(seqs, want) {
			t.Fatalf("delivered %v, want 31..50 once each", seqs)
		}
	})
}

func TestFollowTwoViewersSeeTheSame(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec3", "pi-2")
		rng := rand.New(rand.NewPCG(3, 4))
		a := follow(t, newViewer(t, url, d, time.Minute))
		b := follow(t, newViewer(t, url, d, time.Minute))
		asked := d.waitReplays(t, 2)
		if asked[0].Viewer == asked[1].Viewer {
			t.Fatalf("both viewers asked replays as %q", asked[0].Viewer)
		}
		d.produce(100)
		d.publishLive(lossy(rng, 100))
		d.finish(true)
		ra, rb := wait(t, a), wait(t, b)
		if ra.out != d.output() || rb.out != d.output() {
			t.Fatalf("viewers differ from the device:\n a %q\n b %q\nwant %q", ra.out, rb.out, d.output())
		}
	})
}

func TestFollowAsksAgainWhenTheDeviceWasAway(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec4", "pi-3")
		d.ignoreReplays.Store(2) // the first two requests go unanswered
		d.produce(20)
		d.finish(false)
		r := wait(t, follow(t, newViewer(t, url, d, 100*time.Millisecond)))
		if r.out != d.output() {
			t.Fatalf("got %q, want %q", r.out, d.output())
		}
	})
}

func TestFollowRecoversALostEndMarker(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec5", "pi-4")
		res := follow(t, newViewer(t, url, d, 100*time.Millisecond))
		d.waitReplays(t, 1)
		d.produce(10)
		d.publishLive([]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
		d.finish(false) // the live end marker is lost
		r := wait(t, res)
		if r.out != d.output() || r.last != 10 {
			t.Fatalf("got %q up to %d, want %q up to 10", r.out, r.last, d.output())
		}
	})
}

// A device that holds an ended run's output only in its encrypted log
// answers a replay with the encrypted end marker: Follow delivers what it
// had and returns ErrLogEncrypted, so the caller reads the encrypted log.
func TestFollowEncryptedLog(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec10", "pi-9")
		d.ignoreReplays.Store(1 << 20) // away until the run is over
		res := follow(t, newViewer(t, url, d, 100*time.Millisecond))
		d.waitReplays(t, 1)
		d.produce(10)
		d.publishLive([]uint64{1, 2, 3, 4})
		d.mu.Lock()
		d.encrypted = true
		d.mu.Unlock()
		d.finish(false) // the live end marker is lost; the replay says where the rest is
		d.ignoreReplays.Store(0)
		var r result
		select {
		case r = <-res:
		case <-time.After(90 * time.Second):
			t.Fatal("the viewer did not finish")
		}
		if !errors.Is(r.err, viewer.ErrLogEncrypted) {
			t.Fatalf("Follow = %v, want ErrLogEncrypted", r.err)
		}
		if r.last != 4 || r.out != d.output()[:len(r.out)] || !strings.HasSuffix(r.out, "frame 004\n") {
			t.Fatalf("got %q up to %d; want frames 1 to 4", r.out, r.last)
		}
	})
}

func TestFollowEmptyOutput(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec6", "pi-5")
		d.finish(false)
		r := wait(t, follow(t, newViewer(t, url, d, time.Minute)))
		if r.out != "" || r.last != 0 {
			t.Fatalf("got %q up to %d from an execution that printed nothing", r.out, r.last)
		}
	})
}

func TestFollowStopsWithContext(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec7", "pi-6")
		v := newViewer(t, url, d, time.Minute)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := v.Follow(ctx, func(wire.Frame) error { return nil })
			done <- err
		}()
		d.waitReplays(t, 1)
		cancel()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Follow returned no error when cancelled before the end")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Follow did not return after its context was cancelled")
		}
	})
}

func TestInputAndControls(t *testing.T) {
	eachBroker(t, func(t *testing.T, url string) {
		d := startDevice(t, url, "exec8", "pi-7")
		v := newViewer(t, url, d, time.Minute)
		ctx := context.Background()
		for _, s := range []string{"a", "\x1b[A", "\r"} {
			if err := v.Input(ctx, []byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for i := range 3 {
			m := receive(t, d.inputs)
			who, seq, data, err := wire.ParseInput(m)
			if err != nil {
				t.Fatal(err)
			}
			if who != v.ID() || seq != uint64(i+1) {
				t.Errorf("input %d came as seq %d from %q, want %d from %q", i, seq, who, i+1, v.ID())
			}
			got = append(got, string(data))
		}
		if !slices.Equal(got, []string{"a", "\x1b[A", "\r"}) {
			t.Errorf("device got input %q", got)
		}

		if err := v.Resize(ctx, runlet.Size{Cols: 120, Rows: 40}); err != nil {
			t.Fatal(err)
		}
		if err := v.Activate(ctx, runlet.Size{Cols: 100, Rows: 30}); err != nil {
			t.Fatal(err)
		}
		if err := v.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := v.Kill(ctx); err != nil {
			t.Fatal(err)
		}
		want := []wire.Control{
			{Op: wire.OpResize, Size: runlet.Size{Cols: 120, Rows: 40}, Viewer: v.ID(), By: v.ID()},
			{Op: wire.OpResize, Size: runlet.Size{Cols: 100, Rows: 30}, Viewer: v.ID(), Active: true, By: v.ID()},
			{Op: wire.OpStop, By: v.ID()},
			{Op: wire.OpKill, By: v.ID()},
		}
		for _, w := range want {
			if c := receive(t, d.controls); c != w {
				t.Errorf("device got control %+v, want %+v", c, w)
			}
		}
		if err := v.Resize(ctx, runlet.Size{}); err == nil {
			t.Error("a resize to 0x0 was sent")
		}
	})
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("nothing reached the device")
	}
	var zero T
	return zero
}
