package cli

// escaper finds SSH's escape sequence in what a person types into an
// interactive session: "~." at the start of a line detaches (the job goes
// on), "~~" sends one "~", and a "~" followed by anything else is sent as
// typed. A line starts after Enter (CR or LF) and at the first key.
type escaper struct {
	midLine bool // a key other than Enter was the last one sent
	tilde   bool // a "~" at the start of a line is held back
}

// filter returns what of p goes to the job, and whether the person asked
// to detach (what follows the "~." is dropped).
func (e *escaper) filter(p []byte) (send []byte, detach bool) {
	send = make([]byte, 0, len(p))
	for _, b := range p {
		if e.tilde {
			e.tilde = false
			switch b {
			case '.':
				return send, true
			case '~':
				send = append(send, '~')
				e.midLine = true
				continue
			}
			send = append(send, '~')
			e.midLine = true
		}
		if b == '~' && !e.midLine {
			e.tilde = true
			continue
		}
		send = append(send, b)
		e.midLine = b != '\r' && b != '\n'
	}
	return send, false
}
