package testenv

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy relays TCP connections from a loopback port of its own to a
// target (a service of the machine), and lets a test cut the service off
// and give it back: Cut closes every connection and refuses new ones
// (each is accepted and closed at once, as a peer that is gone) until
// Restore. A program pointed at Addr instead of the service sees the
// service unreachable for as long as the test wants, without the service
// being stopped under other tests.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartProxy listens on a free loopback port and relays every connection
// to target. The proxy closes when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatalf("start a proxy to %s: %v", target, err)
	}
	t.Cleanup(p.Close)
	return p
}

// NewProxy is StartProxy for code without a testing.TB; the caller
// closes it.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the host:port to connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection through the proxy and refuses new ones
// until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// Close stops accepting, closes every connection and waits until the
// relays are done.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.connect(c)
	}
}

// connect dials the target for the accepted connection c and relays
// both ways, unless the proxy is cut.
func (p *Proxy) connect(c net.Conn) {
	defer p.wg.Done()
	if p.isCut() {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	// Cut may have come while dialling: track both under the lock, or
	// close them.
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var relays sync.WaitGroup
	relays.Add(2)
	go p.relay(&relays, up, c)
	go p.relay(&relays, c, up)
	relays.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
	c.Close()
	up.Close()
}

// relay copies src to dst; when src ends it closes dst for writing, so
// that the other side sees the end, or whole when that fails.
func (p *Proxy) relay(wg *sync.WaitGroup, dst, src net.Conn) {
	defer wg.Done()
	_, err := io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok && (err == nil || errors.Is(err, io.EOF)) {
		if tc.CloseWrite() == nil {
			return
		}
	}
	dst.Close()
	src.Close()
}

func (p *Proxy) isCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}
