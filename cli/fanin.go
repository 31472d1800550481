package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/runlet/runlet/viewer"
)

// inputAll is the value of @run --input that sends standard input to
// every device of the run.
const inputAll = "all"

// fanIn sends what a person types, or a pipe holds, to the devices of a
// run on several devices. At a terminal (raw mode once output flows) the
// ssh-style escapes at the start of a line pick where keys go: ~1 to ~9
// the first nine devices in the order shown, ~* all of them, ~. detaches
// (the jobs go on); ~~ types one ~. Until a device is picked keys go
// nowhere, and Ctrl-C stops following. --input all or --input DEVICE picks
// at the start. Piped input goes only where --input says, its end typed as
// Ctrl-D (inputEnd). Without --input its content goes nowhere (runlet says
// so once, when some arrives); the devices it does not go to read an
// empty input, as with ssh -n: its end reaches them all.
type fanIn struct {
	m       *Main
	term    *terminal
	p       *prefixer
	devices []string
	viewers []*viewer.Viewer
	cancel  context.CancelFunc

	mu       sync.Mutex
	to       []int // the devices input goes to, by index
	raw      bool
	detached bool
	rawOnce  sync.Once
	rawErr   error
}

func newFanIn(m *Main, term *terminal, p *prefixer, devices []string, viewers []*viewer.Viewer, input string, cancel context.CancelFunc) *fanIn {
	f := &fanIn{m: m, term: term, p: p, devices: devices, viewers: viewers, cancel: cancel}
	switch i := slices.Index(devices, input); {
	case input == inputAll:
		f.to = f.all()
	case i >= 0:
		f.to = []int{i}
	case input != "":
		fmt.Fprintf(m.Stderr, "runlet: --input %s: not a device of this run (%s): input goes to no device\n", safe(input), safe(strings.Join(devices, ", ")))
	}
	return f
}

func (f *fanIn) all() []int {
	to := make([]int, len(f.devices))
	for i := range to {
		to[i] = i
	}
	return to
}

// announce says, at the start, how to attach to one device and where
// input goes.
func (f *fanIn) announce(exec string) {
	w := f.m.Stderr
	fmt.Fprintf(w, "runlet: execution %s on %s; follow one device alone with 'runlet attach %s --device NAME'\n",
		safe(exec), safe(strings.Join(f.devices, ", ")), safe(exec))
	if f.term.in == nil {
		return
	}
	fmt.Fprintf(w, "runlet: input goes to %s; at the start of a line type %s to pick a device, ~* for all of them, ~. to detach\n",
		f.target(), f.keys())
}

// keys lists the escapes that pick a device: "~1 pi-1, ~2 pi-2".
func (f *fanIn) keys() string {
	var picks []string
	for i, d := range f.devices[:min(len(f.devices), 9)] {
		picks = append(picks, fmt.Sprintf("~%d %s", i+1, safe(d)))
	}
	return strings.Join(picks, ", ")
}

// target says where input goes now.
func (f *fanIn) target() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(f.to) == 0:
		return "no device"
	case len(f.to) == len(f.devices) && len(f.devices) > 1:
		return "every device"
	}
	names := make([]string, len(f.to))
	for i, d := range f.to {
		names[i] = safe(f.devices[d])
	}
	return strings.Join(names, ", ")
}

// started puts the terminal in raw mode at the first frame of output, as
// a single-device @run does: until then Ctrl-C stops runlet.
func (f *fanIn) started() error {
	f.rawOnce.Do(func() {
		if f.term.in == nil {
			return
		}
		if f.rawErr = f.term.makeRaw(); f.rawErr != nil {
			return
		}
		f.mu.Lock()
		f.raw = true
		f.mu.Unlock()
		if f.term.out != nil {
			f.p.setEOL("\r\n")
		}
	})
	return f.rawErr
}

// say prints a line of runlet's on standard error, after ending a device's
// unfinished line.
func (f *fanIn) say(format string, args ...any) {
	f.mu.Lock()
	eol := "\n"
	if f.raw {
		eol = "\r\n"
	}
	f.mu.Unlock()
	f.p.note(f.m.Stderr, "runlet: "+fmt.Sprintf(format, args...)+eol)
}

// run copies in to the devices picked until in ends or ctx is done.
func (f *fanIn) run(ctx context.Context, in io.Reader) {
	var esc *escaper
	if f.term.in != nil {
		esc = &escaper{}
	}
	var end inputEnd
	warned := false
	buf := make([]byte, 4096)
	for {
		n, err := in.Read(buf)
		if ctx.Err() != nil {
			return
		}
		data := bytes.Clone(buf[:n])
		if esc == nil && len(data) > 0 {
			if !f.send(ctx, data) && !warned {
				warned = true
				f.say("standard input goes to no device: this run has several; say where with --input all or --input DEVICE")
			}
			end.sent(data)
		}
		if esc != nil && f.typed(ctx, esc, data) {
			return
		}
		if err != nil {
			if esc == nil && errors.Is(err, io.EOF) {
				f.end(ctx, end.keys())
			}
			return
		}
	}
}

// typed handles keys from the terminal, and reports whether the person
// detached or stopped following.
func (f *fanIn) typed(ctx context.Context, esc *escaper, data []byte) (stop bool) {
	var batch []byte
	flush := func() {
		if len(batch) > 0 {
			if !f.send(ctx, batch) {
				f.say("input goes to no device yet: type %s, or ~* for all, to pick one (Ctrl-C stops following)", f.keys())
			}
			batch = nil
		}
	}
	defer flush()
	for _, b := range data {
		if esc.tilde {
			if to, ok := f.pickKey(b); ok {
				esc.tilde = false
				flush()
				f.mu.Lock()
				f.to = to
				f.mu.Unlock()
				f.say("input goes to %s", f.target())
				continue
			}
		}
		if b == 0x03 && f.none() { // Ctrl-C with nowhere to go
			f.cancel()
			return true
		}
		send, quit := esc.filter([]byte{b})
		batch = append(batch, send...)
		if quit {
			flush()
			f.mu.Lock()
			f.detached = true
			f.mu.Unlock()
			f.cancel()
			return true
		}
		if f.none() {
			esc.midLine = false // nothing was typed anywhere: escapes still work
		}
	}
	return false
}

func (f *fanIn) none() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.to) == 0
}

// pickKey is the choice that the key after a ~ at the start of a line
// makes, if it makes one.
func (f *fanIn) pickKey(b byte) ([]int, bool) {
	switch {
	case b == '*':
		return f.all(), true
	case b >= '1' && b <= '9' && int(b-'1') < len(f.devices):
		return []int{int(b - '1')}, true
	}
	return nil, false
}

// send sends data to the devices picked, and reports whether there were
// any.
func (f *fanIn) send(ctx context.Context, data []byte) bool {
	f.mu.Lock()
	to := slices.Clone(f.to)
	f.mu.Unlock()
	for _, i := range to {
		_ = f.viewers[i].Input(ctx, data)
	}
	return len(to) > 0
}

// end ends the input of every device: with keys where the input went,
// with Ctrl-D elsewhere (as with ssh -n, they read an empty input).
func (f *fanIn) end(ctx context.Context, keys []byte) {
	f.mu.Lock()
	to := slices.Clone(f.to)
	f.mu.Unlock()
	for i, v := range f.viewers {
		if slices.Contains(to, i) {
			_ = v.Input(ctx, keys)
		} else {
			_ = v.Input(ctx, []byte{ctrlD})
		}
	}
}

func (f *fanIn) wasDetached() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.detached
}
