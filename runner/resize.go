package runner

import "github.com/runlet/runlet"

// MarginReset is what the runner writes into an execution's output where
// its terminal's size changed, before what the job draws for the new size:
// it gives the viewer's terminal back the whole screen to scroll (DECSTBM
// with no margins), keeping the cursor where it was (DECSC, DECRC:
// DECSTBM moves it to the top). A terminal does that by itself when its
// own window changes size, and a full-screen program redraws on SIGWINCH
// expecting it; but a viewer's terminal does not change size with the
// job's, and a late viewer's replay goes through every size the job had.
// Without it, vim's scroll region of 24 rows, set when it started at
// 80x24, stays in force in a terminal of 30 rows and shifts everything vim
// draws at 100x30 (issue 17 defect 4).
//
// A program that draws at the very moment of the resize may have some of
// its output for the old size read after the reset; a scroll region that
// output sets lasts until the program sets another.
const MarginReset = "\x1b7\x1b[r\x1b8"

// Size is the terminal's size: the first, or the latest Resize.
func (e *Execution) Size() runlet.Size {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.size
}

// publishOutput records data read from the terminal as the next frame,
// after a MarginReset frame when the size changed since the last read.
// Only the run goroutine calls it.
func (e *Execution) publishOutput(data []byte) error {
	e.mu.Lock()
	resized := e.resized
	e.resized = false
	e.mu.Unlock()
	if resized {
		if err := e.publish([]byte(MarginReset)); err != nil {
			return err
		}
	}
	return e.publish(data)
}
