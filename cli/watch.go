package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

// joining says how interactive joins an execution.
type joining struct {
	// endInput types Ctrl-D when a standard input that is not a terminal
	// ends (inputEnd): @run, whose input is the job's. attach joins a
	// job others may be typing into, and leaves it open.
	endInput bool
}

// interactive attaches this terminal to the execution on device: its
// output here, every key typed there, the window size followed. Joining
// to type counts as acting: once the output flows, the job takes this
// terminal's size, as it does whenever this viewer types (the policy is in
// daemon/sizes.go).
func (s *session) interactive(ctx context.Context, device string, how joining) (runlet.Execution, error) {
	m := s.m
	v := s.viewer(device)
	term := openTerminal(m.Stdin, m.Stdout)
	// Raw mode waits for the first frame: until the job starts, Ctrl-C
	// stops runlet instead of going to a job that is not there.
	raw := false
	defer term.restore()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopResize := term.followSize(ctx, func(size runlet.Size) { _ = v.Resize(ctx, size) })
	defer stopResize()
	// The reader may stay blocked on the terminal after the job ends; it
	// sends nothing once ctx is done, and the process exits soon after.
	// From a terminal, "~." at the start of a line detaches, as in ssh.
	// Keys typed before the job starts are kept by the device until it
	// does (piped input too).
	var esc *escaper
	var end *inputEnd
	detached := make(chan struct{})
	if term.in != nil {
		esc = &escaper{}
	} else if how.endInput {
		end = &inputEnd{}
	}
	go forwardInput(ctx, m.Stdin, v, esc, end, func() { close(detached); cancel() })
	rec, err := s.follow(ctx, v, device, func(f wire.Frame) error {
		if !raw {
			raw = true
			if err := term.makeRaw(); err != nil {
				return err
			}
			// Not before: until its first frame the execution may not
			// have reached its device, which would drop the size.
			if term.out != nil {
				_ = v.Activate(ctx, term.size())
			}
		}
		if _, err := m.Stdout.Write(f.Data); err != nil {
			return fmt.Errorf("write to terminal: %w", err)
		}
		return nil
	})
	select {
	case <-detached:
		if err != nil {
			return rec, &exitError{code: 0} // follow said how to rejoin
		}
	default:
	}
	return rec, err
}

// forwardInput sends what is read from in to the execution until in ends
// or ctx is done. With an escaper, "~." at the start of a line calls
// detach instead. With an inputEnd, the end of in is sent as Ctrl-D.
func forwardInput(ctx context.Context, in io.Reader, v *viewer.Viewer, esc *escaper, end *inputEnd, detach func()) {
	buf := make([]byte, 4096)
	for {
		n, err := in.Read(buf)
		if ctx.Err() != nil {
			return
		}
		if n > 0 {
			data := bytes.Clone(buf[:n])
			if esc != nil {
				var quit bool
				if data, quit = esc.filter(data); quit {
					if len(data) > 0 {
						_ = v.Input(ctx, data)
					}
					detach()
					return
				}
			}
			if len(data) > 0 {
				_ = v.Input(ctx, data)
				if end != nil {
					end.sent(data)
				}
			}
		}
		if err != nil {
			if end != nil && errors.Is(err, io.EOF) {
				_ = v.Input(ctx, end.keys())
			}
			return
		}
	}
}

// prefixed follows the execution on every device at once, printing to w
// each line of output after the name of the device it came from, and returns
// the final records in the order of devices. Standard input goes where
// input says (fanIn).
func (s *session) prefixed(ctx context.Context, devices []string, w io.Writer, input string) ([]runlet.Execution, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := newPrefixer(w, devices)
	viewers := make([]*viewer.Viewer, len(devices))
	for i, d := range devices {
		viewers[i] = s.viewer(d)
	}
	term := openTerminal(s.m.Stdin, s.m.Stdout)
	defer term.restore()
	fan := newFanIn(s.m, term, p, devices, viewers, input, cancel)
	fan.announce(s.exec)
	// The reader may stay blocked on the terminal after the jobs end; it
	// sends nothing once ctx is done, and the process exits soon after.
	go fan.run(ctx, s.m.Stdin)
	recs := make([]runlet.Execution, len(devices))
	errs := make([]error, len(devices))
	var wg sync.WaitGroup
	for i, d := range devices {
		wg.Go(func() {
			recs[i], errs[i] = s.follow(ctx, viewers[i], d, func(f wire.Frame) error {
				if err := fan.started(); err != nil {
					return err
				}
				return p.write(d, f.Data)
			})
			_ = p.flush(d)
		})
	}
	wg.Wait()
	if fan.wasDetached() {
		return recs, &exitError{code: 0} // follow said how to rejoin
	}
	for i, err := range errs {
		if err != nil {
			return recs, fmt.Errorf("follow %s: %w", devices[i], err)
		}
	}
	return recs, nil
}

// promptQuiet is how long a device's unfinished line (a prompt such as
// "Continue? [Y/n] ") waits for the rest of it before the prefixer shows
// it as it is.
const promptQuiet = 300 * time.Millisecond

// prefixer interleaves the output of several devices line by line, each
// line led by its device's name. A line that stays unfinished for quiet
// (a prompt) is shown as it is, led by its device's name and without a
// line end; what the device prints next continues it on the same line,
// unless another device's output came in between: then the rest starts a
// new line, led by the name again.
type prefixer struct {
	mu      sync.Mutex
	out     io.Writer
	width   int
	quiet   time.Duration          // 0 holds unfinished lines until their end
	eol     string                 // "\n", or "\r\n" to a terminal in raw mode
	pending map[string][]byte      // each device's unfinished line, not shown yet
	timers  map[string]*time.Timer // each device's quiet time
	open    string                 // the device whose line is shown unfinished
}

func newPrefixer(out io.Writer, devices []string) *prefixer {
	p := &prefixer{out: out, quiet: promptQuiet, eol: "\n", pending: map[string][]byte{}, timers: map[string]*time.Timer{}}
	for _, d := range devices {
		p.width = max(p.width, len(d))
	}
	return p
}

func (p *prefixer) write(device string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	buf := append(p.pending[device], data...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		if err := p.line(device, buf[:i]); err != nil {
			return err
		}
		buf = buf[i+1:]
	}
	p.pending[device] = bytes.Clone(buf)
	if len(buf) > 0 && p.quiet > 0 {
		if t := p.timers[device]; t != nil {
			t.Reset(p.quiet)
		} else {
			p.timers[device] = time.AfterFunc(p.quiet, func() { _ = p.showPartial(device) })
		}
	}
	return nil
}

// showPartial shows the device's unfinished line, once it has been quiet.
func (p *prefixer) showPartial(device string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	buf := p.pending[device]
	if len(buf) == 0 {
		return nil
	}
	delete(p.pending, device)
	if err := p.lead(device); err != nil {
		return err
	}
	p.open = device
	_, err := p.out.Write(buf)
	return err
}

// lead ends another device's unfinished line, and starts one for device
// unless its own unfinished line is the one shown.
func (p *prefixer) lead(device string) error {
	if p.open == device {
		return nil
	}
	if p.open != "" {
		p.open = ""
		if _, err := io.WriteString(p.out, p.eol); err != nil {
			return err
		}
	}
	// The device name is escaped; the job's own output is not.
	_, err := fmt.Fprintf(p.out, "%-*s | ", p.width, safe(device))
	return err
}

// setEOL sets how lines end: "\r\n" once the terminal is in raw mode.
func (p *prefixer) setEOL(eol string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eol = eol
}

// note ends the unfinished line shown, if any, and writes msg to w (runlet's
// own messages, on standard error, between lines of output).
func (p *prefixer) note(w io.Writer, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open != "" {
		p.open = ""
		_, _ = io.WriteString(p.out, p.eol)
	}
	_, _ = io.WriteString(w, msg)
}

// flush prints the device's unfinished last line, if any, and ends it.
func (p *prefixer) flush(device string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.timers[device]; t != nil {
		t.Stop()
		delete(p.timers, device)
	}
	buf := p.pending[device]
	delete(p.pending, device)
	if len(buf) == 0 && p.open != device {
		return nil
	}
	return p.line(device, buf)
}

func (p *prefixer) line(device string, text []byte) error {
	text = bytes.TrimSuffix(text, []byte("\r"))
	if err := p.lead(device); err != nil {
		return err
	}
	p.open = ""
	_, err := fmt.Fprintf(p.out, "%s%s", text, p.eol)
	return err
}
