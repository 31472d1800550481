package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/runlet/runlet"
	"golang.org/x/term"
)

// sizeEvent is a new window size of the user's terminal.
type sizeEvent = runlet.Size

// terminal is the user's terminal when runlet runs in one; with streams
// that are not terminals (pipes, tests) every method is a harmless no-op.
type terminal struct {
	in, out *os.File
	state   *term.State
}

func openTerminal(stdin io.Reader, stdout io.Writer) *terminal {
	t := &terminal{}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		t.in = f
	}
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		t.out = f
	}
	return t
}

// size is the terminal's window size, or pty.DefaultSize when there is no
// terminal.
func (t *terminal) size() runlet.Size {
	if t.out == nil {
		return runlet.DefaultSize
	}
	cols, rows, err := term.GetSize(int(t.out.Fd()))
	if err != nil || cols <= 0 || rows <= 0 {
		return runlet.DefaultSize
	}
	return runlet.Size{Cols: uint16(cols), Rows: uint16(rows)}
}

// makeRaw puts the input terminal in raw mode, so that every key, Ctrl-C
// included, reaches the job instead of acting on runlet.
func (t *terminal) makeRaw() error {
	if t.in == nil {
		return nil
	}
	st, err := term.MakeRaw(int(t.in.Fd()))
	if err != nil {
		return fmt.Errorf("put the terminal in raw mode: %w", err)
	}
	t.state = st
	return nil
}

// restore undoes makeRaw.
func (t *terminal) restore() {
	if t.state != nil {
		_ = term.Restore(int(t.in.Fd()), t.state)
		t.state = nil
	}
}

// followSize calls fn with the new size each time the window changes, until
// ctx is done or the returned stop is called.
func (t *terminal) followSize(ctx context.Context, fn func(runlet.Size)) (stop func()) {
	if t.out == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchSize(ctx, t.size, fn)
	}()
	return func() { cancel(); <-done }
}
