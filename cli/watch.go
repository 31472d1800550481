package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

// interactive attaches this terminal to the execution on device: its
// output here, every key typed there, the window size followed. With
// sendSize the terminal's size is sent at once (attach: the job takes the
// size of whoever joined last).
func (s *session) interactive(ctx context.Context, device string, sendSize bool) (runlet.Execution, error) {
	m := s.m
	v := s.viewer(device)
	term := openTerminal(m.Stdin, m.Stdout)
	// Raw mode waits for the first frame: until the job starts, Ctrl-C
	// stops runlet instead of going to a job that is not there.
	raw := false
	defer term.restore()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if sendSize && term.out != nil {
		_ = v.Resize(ctx, term.size())
	}
	stopResize := term.followSize(ctx, func(size runlet.Size) { _ = v.Resize(ctx, size) })
	defer stopResize()
	// The reader may stay blocked on the terminal after the job ends; it
	// sends nothing once ctx is done, and the process exits soon after.
	// From a terminal, "~." at the start of a line detaches, as in ssh.
	var esc *escaper
	detached := make(chan struct{})
	if term.in != nil {
		esc = &escaper{}
	}
	go forwardInput(ctx, m.Stdin, v, esc, func() { close(detached); cancel() })
	rec, err := s.follow(ctx, v, device, func(f wire.Frame) error {
		if !raw {
			raw = true
			if err := term.makeRaw(); err != nil {
				return err
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
// detach instead.
func forwardInput(ctx context.Context, in io.Reader, v *viewer.Viewer, esc *escaper, detach func()) {
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
			}
		}
		if err != nil {
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
