package cli

// Ctrl-D: a terminal's end-of-file key.
const ctrlD = 0x04

// inputEnd tells a job that runlet's standard input ended when that input
// is not a terminal (a pipe, a file): the job reads a terminal, which has
// no end of its own, so runlet types what a person would, Ctrl-D at the
// start of a line, or twice after a partial line (the first Ctrl-D hands
// over the line without a newline, the second is then at the start of
// one). A job reading lines (read, cat) then sees the end of its input, as
// with `echo y | ssh host job`; one reading keys in raw mode gets the
// Ctrl-D key.
type inputEnd struct {
	midLine bool // the last key sent was not Enter
}

// sent notes keys sent to the job.
func (e *inputEnd) sent(p []byte) {
	if len(p) > 0 {
		last := p[len(p)-1]
		e.midLine = last != '\n' && last != '\r'
	}
}

// keys is what ends the input after what was sent.
func (e *inputEnd) keys() []byte {
	if e.midLine {
		return []byte{ctrlD, ctrlD}
	}
	return []byte{ctrlD}
}
