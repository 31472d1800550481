package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

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
// the final records in the order of devices.
func (s *session) prefixed(ctx context.Context, devices []string, w io.Writer) ([]runlet.Execution, error) {
	p := newPrefixer(w, devices)
	recs := make([]runlet.Execution, len(devices))
	errs := make([]error, len(devices))
	var wg sync.WaitGroup
	for i, d := range devices {
		wg.Go(func() {
			recs[i], errs[i] = s.follow(ctx, s.viewer(d), d, func(f wire.Frame) error {
				return p.write(d, f.Data)
			})
			_ = p.flush(d)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return recs, fmt.Errorf("follow %s: %w", devices[i], err)
		}
	}
	return recs, nil
}

// prefixer interleaves the output of several devices line by line, each
// line led by its device's name.
type prefixer struct {
	mu      sync.Mutex
	out     io.Writer
	width   int
	pending map[string][]byte // each device's unfinished line
}

func newPrefixer(out io.Writer, devices []string) *prefixer {
	p := &prefixer{out: out, pending: map[string][]byte{}}
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
	return nil
}

// flush prints the device's unfinished last line, if any.
func (p *prefixer) flush(device string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	buf := p.pending[device]
	delete(p.pending, device)
	if len(buf) == 0 {
		return nil
	}
	return p.line(device, buf)
}

func (p *prefixer) line(device string, text []byte) error {
	text = bytes.TrimSuffix(text, []byte("\r"))
	// The device name is escaped; the job's own output is not.
	_, err := fmt.Fprintf(p.out, "%-*s | %s\n", p.width, safe(device), text)
	return err
}
