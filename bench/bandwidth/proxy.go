package main

import (
	"net"
	"sync"
)

// parser attributes the bytes of one direction of a connection.
type parser interface{ feed(p []byte) }

// parserFunc lets a function be a parser.
type parserFunc func(p []byte)

func (f parserFunc) feed(p []byte) { f(p) }

// proxy relays TCP connections to target and counts every byte in each
// direction: what the device's sockets carry, before IP, TCP (and TLS)
// headers.
type proxy struct {
	ln     net.Listener
	target string
	m      *meter
	// parsers makes the two parsers (up, down) of a new connection.
	parsers func() [2]parser

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// startProxy listens on a free loopback port and relays to target.
func startProxy(target string, m *meter, parsers func() [2]parser) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, m: m, parsers: parsers}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is where devices connect instead of target.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		t, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, t)
		p.mu.Unlock()
		p.m.connected()
		ps := p.parsers()
		p.wg.Add(2)
		go p.relay(t, c, up, ps[up])
		go p.relay(c, t, down, ps[down])
	}
}

// relay copies from src to dst, counting and parsing what passes.
func (p *proxy) relay(dst, src net.Conn, dir int, ps parser) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.m.raw(dir, int64(n))
			ps.feed(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	// Half-close so that the other side sees the end, then let the
	// other relay finish.
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		_ = dst.Close()
	}
}

// Close stops accepting, cuts every connection and waits for the relays.
func (p *proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
