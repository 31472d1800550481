package termtest

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Emulator is a small terminal emulator: it applies what a program writes
// to a grid of cells, as xterm does, so that a test can compare the screen
// one viewer shows with the screen another shows, or with what the program
// meant to draw. It knows what full-screen programs (vim, less, htop) use
// to draw: cursor moves, erasing, inserting and deleting lines and
// characters, scroll regions (DECSTBM), the alternate screen, saved
// cursors and autowrap; colours and attributes are read and dropped, and
// every character is one cell wide. It is safe for concurrent use.
type Emulator struct {
	mu          sync.Mutex
	cols, rows  int
	main, alt   [][]rune
	grid        [][]rune // main or alt
	x, y        int      // the cursor, from 0
	wrapNext    bool     // a character in the last column was written: the next one wraps
	top, bottom int      // the scroll region, rows from 0, inclusive
	origin      bool     // DECOM: cursor rows count from the region's top
	noWrap      bool     // DECAWM off
	saved       [2]cursor
	esc         []byte // an unfinished escape sequence
	utf         []byte // an unfinished UTF-8 character
}

type cursor struct {
	x, y   int
	origin bool
	set    bool
}

// NewEmulator returns an emulator of a blank screen of cols×rows.
func NewEmulator(cols, rows int) *Emulator {
	e := &Emulator{cols: cols, rows: rows}
	e.reset()
	return e
}

// reset blanks both screens and forgets every mode and saved cursor.
func (e *Emulator) reset() {
	e.main, e.alt = blank(e.cols, e.rows), blank(e.cols, e.rows)
	e.grid = e.main
	e.x, e.y, e.wrapNext = 0, 0, false
	e.top, e.bottom = 0, e.rows-1
	e.origin, e.noWrap = false, false
	e.saved = [2]cursor{}
}

func blank(cols, rows int) [][]rune {
	g := make([][]rune, rows)
	for i := range g {
		g[i] = blankLine(cols)
	}
	return g
}

func blankLine(cols int) []rune {
	l := make([]rune, cols)
	for i := range l {
		l[i] = ' '
	}
	return l
}

// Write applies p, which may end in the middle of a sequence; it never
// fails.
func (e *Emulator) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range p {
		e.byte(b)
	}
	return len(p), nil
}

// Resize changes the screen's size as a terminal window does: the text
// stays at the top left, the cursor stays inside, and the scroll region
// becomes the whole screen again.
func (e *Emulator) Resize(cols, rows int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fit := func(g [][]rune) [][]rune {
		n := blank(cols, rows)
		for y := 0; y < min(rows, len(g)); y++ {
			copy(n[y], g[y])
		}
		return n
	}
	alt := &e.grid[0] == &e.alt[0]
	e.main, e.alt = fit(e.main), fit(e.alt)
	e.grid = e.main
	if alt {
		e.grid = e.alt
	}
	e.cols, e.rows = cols, rows
	e.x, e.y = min(e.x, cols-1), min(e.y, rows-1)
	e.wrapNext = false
	e.top, e.bottom = 0, rows-1
}

// Lines is the screen, one string a row, trailing blanks trimmed.
func (e *Emulator) Lines() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, e.rows)
	for y, l := range e.grid {
		out[y] = strings.TrimRight(string(l), " ")
	}
	return out
}

// String is the screen as text: Lines joined by newlines, with trailing
// empty rows dropped.
func (e *Emulator) String() string {
	l := e.Lines()
	for len(l) > 0 && l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return strings.Join(l, "\n")
}

func (e *Emulator) byte(b byte) {
	if len(e.esc) > 0 {
		e.escape(b)
		return
	}
	if len(e.utf) > 0 || b >= 0x80 {
		e.utf = append(e.utf, b)
		if utf8.FullRune(e.utf) {
			r, _ := utf8.DecodeRune(e.utf)
			e.utf = e.utf[:0]
			e.print(r)
		}
		return
	}
	switch b {
	case 0x1b:
		e.esc = append(e.esc, b)
	case '\r':
		e.x, e.wrapNext = 0, false
	case '\n', '\v', '\f':
		e.lineFeed()
	case '\b':
		if e.x > 0 {
			e.x--
		}
		e.wrapNext = false
	case '\t':
		e.x = min((e.x/8+1)*8, e.cols-1)
		e.wrapNext = false
	default:
		if b >= 0x20 && b != 0x7f {
			e.print(rune(b))
		}
	}
}

func (e *Emulator) print(r rune) {
	if e.wrapNext {
		e.x, e.wrapNext = 0, false
		e.lineFeed()
	}
	e.grid[e.y][e.x] = r
	if e.x == e.cols-1 {
		e.wrapNext = !e.noWrap
	} else {
		e.x++
	}
}

// lineFeed moves the cursor down; at the bottom of the scroll region the
// region scrolls up, and below it the cursor stops at the last row.
func (e *Emulator) lineFeed() {
	e.wrapNext = false
	switch {
	case e.y == e.bottom:
		e.scrollUp(e.top, e.bottom, 1)
	case e.y < e.rows-1:
		e.y++
	}
}

// reverseIndex moves the cursor up, scrolling the region down at its top.
func (e *Emulator) reverseIndex() {
	e.wrapNext = false
	switch {
	case e.y == e.top:
		e.scrollDown(e.top, e.bottom, 1)
	case e.y > 0:
		e.y--
	}
}

func (e *Emulator) scrollUp(top, bottom, n int) {
	n = min(n, bottom-top+1)
	copy(e.grid[top:bottom+1], e.grid[top+n:bottom+1])
	for y := bottom - n + 1; y <= bottom; y++ {
		e.grid[y] = blankLine(e.cols)
	}
}

func (e *Emulator) scrollDown(top, bottom, n int) {
	n = min(n, bottom-top+1)
	copy(e.grid[top+n:bottom+1], e.grid[top:bottom+1-n])
	for y := top; y < top+n; y++ {
		e.grid[y] = blankLine(e.cols)
	}
}

// escape adds b to the escape sequence being read and applies it once it
// is whole.
func (e *Emulator) escape(b byte) {
	e.esc = append(e.esc, b)
	s := e.esc
	if len(s) == 2 {
		switch b {
		case '[', ']', 'P', '_', '^', '(', ')', '*', '+', '#', '%', ' ':
			return // more to come
		}
		e.esc = e.esc[:0]
		e.escFinal(b)
		return
	}
	switch s[1] {
	case '[':
		if b >= 0x40 && b <= 0x7e {
			e.esc = e.esc[:0]
			e.csi(string(s[2:len(s)-1]), b)
		}
	case ']', 'P', '_', '^': // OSC, DCS, APC, PM: until BEL or ST
		if b == 0x07 && s[1] == ']' || b == '\\' && s[len(s)-2] == 0x1b {
			e.esc = e.esc[:0]
		}
	default: // a charset or line attribute: one more byte
		e.esc = e.esc[:0]
	}
}

func (e *Emulator) escFinal(b byte) {
	switch b {
	case '7':
		e.saveCursor()
	case '8':
		e.restoreCursor()
	case 'D':
		e.lineFeed()
	case 'E':
		e.x = 0
		e.lineFeed()
	case 'M':
		e.reverseIndex()
	case 'c': // RIS
		e.reset()
	}
}

func (e *Emulator) saveCursor() {
	e.saved[e.screen()] = cursor{x: e.x, y: e.y, origin: e.origin, set: true}
}

func (e *Emulator) restoreCursor() {
	c := e.saved[e.screen()]
	if !c.set {
		c = cursor{}
	}
	e.x, e.y, e.origin, e.wrapNext = min(c.x, e.cols-1), min(c.y, e.rows-1), c.origin, false
}

// screen is 0 on the main screen, 1 on the alternate one: each has its
// own saved cursor, as in xterm.
func (e *Emulator) screen() int {
	if &e.grid[0] == &e.alt[0] {
		return 1
	}
	return 0
}

// csi applies the control sequence with parameters params (a private
// marker such as '?' first, if any) and final byte f.
func (e *Emulator) csi(params string, f byte) {
	private := ""
	if params != "" && strings.ContainsRune("?>=<", rune(params[0])) {
		private, params = params[:1], params[1:]
	}
	if i := strings.IndexFunc(params, func(r rune) bool { return r < '0' || r > ';' }); i >= 0 {
		return // intermediate bytes (DECSCUSR "\e[2 q", ...): nothing on screen
	}
	var ps []int
	if params != "" {
		for p := range strings.SplitSeq(params, ";") {
			n, _ := strconv.Atoi(strings.SplitN(p, ":", 2)[0])
			ps = append(ps, n)
		}
	}
	arg := func(i, def int) int {
		if i < len(ps) && ps[i] > 0 {
			return ps[i]
		}
		return def
	}
	if private != "" {
		if private == "?" && (f == 'h' || f == 'l') {
			for _, p := range ps {
				e.privateMode(p, f == 'h')
			}
		}
		return
	}
	e.wrapNext = false
	switch f {
	case 'A':
		e.y = max(e.y-arg(0, 1), e.upperLimit())
	case 'B', 'e':
		e.y = min(e.y+arg(0, 1), e.lowerLimit())
	case 'C', 'a':
		e.x = min(e.x+arg(0, 1), e.cols-1)
	case 'D':
		e.x = max(e.x-arg(0, 1), 0)
	case 'E':
		e.x, e.y = 0, min(e.y+arg(0, 1), e.lowerLimit())
	case 'F':
		e.x, e.y = 0, max(e.y-arg(0, 1), e.upperLimit())
	case 'G', '`':
		e.x = min(arg(0, 1), e.cols) - 1
	case 'H', 'f':
		e.moveTo(arg(1, 1)-1, arg(0, 1)-1)
	case 'd':
		e.moveTo(e.x, arg(0, 1)-1)
	case 'J':
		e.eraseDisplay(arg(0, 0))
	case 'K':
		e.eraseLine(arg(0, 0))
	case 'L':
		if e.y >= e.top && e.y <= e.bottom {
			e.scrollDown(e.y, e.bottom, arg(0, 1))
			e.x = 0
		}
	case 'M':
		if e.y >= e.top && e.y <= e.bottom {
			e.scrollUp(e.y, e.bottom, arg(0, 1))
			e.x = 0
		}
	case '@':
		l, n := e.grid[e.y], min(arg(0, 1), e.cols-e.x)
		copy(l[e.x+n:], l[e.x:])
		fill(l[e.x : e.x+n])
	case 'P':
		l, n := e.grid[e.y], min(arg(0, 1), e.cols-e.x)
		copy(l[e.x:], l[e.x+n:])
		fill(l[e.cols-n:])
	case 'X':
		fill(e.grid[e.y][e.x:min(e.x+arg(0, 1), e.cols)])
	case 'S':
		e.scrollUp(e.top, e.bottom, arg(0, 1))
	case 'T':
		e.scrollDown(e.top, e.bottom, arg(0, 1))
	case 'r':
		top, bottom := arg(0, 1)-1, min(arg(1, e.rows), e.rows)-1
		if top < bottom {
			e.top, e.bottom = top, bottom
			e.moveTo(0, 0)
		}
	case 's':
		e.saveCursor()
	case 'u':
		e.restoreCursor()
	}
}

// upperLimit and lowerLimit bound vertical cursor moves: the scroll
// region's margins when the cursor is inside it, else the screen's.
func (e *Emulator) upperLimit() int {
	if e.y >= e.top {
		return e.top
	}
	return 0
}

func (e *Emulator) lowerLimit() int {
	if e.y <= e.bottom {
		return e.bottom
	}
	return e.rows - 1
}

// moveTo puts the cursor at column x and row y, rows counted from the
// scroll region's top in origin mode.
func (e *Emulator) moveTo(x, y int) {
	lo, hi := 0, e.rows-1
	if e.origin {
		y += e.top
		lo, hi = e.top, e.bottom
	}
	e.x, e.y = max(0, min(x, e.cols-1)), max(lo, min(y, hi))
}

func (e *Emulator) eraseDisplay(mode int) {
	switch mode {
	case 0:
		fill(e.grid[e.y][e.x:])
		for y := e.y + 1; y < e.rows; y++ {
			fill(e.grid[y])
		}
	case 1:
		fill(e.grid[e.y][:e.x+1])
		for y := 0; y < e.y; y++ {
			fill(e.grid[y])
		}
	case 2, 3:
		for y := range e.grid {
			fill(e.grid[y])
		}
	}
}

func (e *Emulator) eraseLine(mode int) {
	l := e.grid[e.y]
	switch mode {
	case 0:
		fill(l[e.x:])
	case 1:
		fill(l[:e.x+1])
	case 2:
		fill(l)
	}
}

func fill(l []rune) {
	for i := range l {
		l[i] = ' '
	}
}

func (e *Emulator) privateMode(p int, set bool) {
	switch p {
	case 6:
		e.origin = set
		e.moveTo(0, 0)
	case 7:
		e.noWrap = !set
	case 47, 1047, 1049:
		if set == (e.screen() == 1) {
			return
		}
		if set {
			if p == 1049 {
				e.saveCursor()
			}
			e.grid = e.alt
			if p != 47 {
				for y := range e.grid {
					fill(e.grid[y])
				}
			}
			return
		}
		e.grid = e.main
		if p == 1049 {
			e.restoreCursor()
		}
	}
}
