//go:build !windows

package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// castagnoli is the CRC every reader keeps of the bytes it received: cheap
// enough (SSE 4.2) that ten viewers hashing in one process do not become
// what is measured.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Output is one kind of job output: its script and what a reader of the
// terminal must receive.
type Output struct {
	Name   string // "newlines"
	Script string // reads the payload file at %s
	Len    int64  // bytes a reader of the terminal gets
	CRC    uint32 // their CRC-32C
}

// payload writes mb MiB of random bytes to a file in dir and returns its
// path and the two outputs the benchmark prints from it: `base64` (76
// columns, each \n turned into \r\n by the terminal's ONLCR) and `base64
// -w0` (one long line). The bytes come from a file rather than from
// /dev/urandom in the job so that the job's own CPU is only base64's and
// the expected output can be checked byte for byte.
func payload(dir string, mb int) (path string, outs []Output, err error) {
	path = filepath.Join(dir, "payload")
	f, err := os.Create(path)
	if err != nil {
		return "", nil, err
	}
	rng := rand.NewChaCha8([32]byte{6})
	if _, err := io.CopyN(f, rng, int64(mb)<<20); err != nil {
		f.Close()
		return "", nil, fmt.Errorf("write the payload: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", nil, err
	}
	for _, o := range []struct {
		name, script string
		wrap         bool
		crlf         bool
	}{
		{"newlines", "base64 %s", true, true},
		{"no newlines", "base64 -w0 %s", false, false},
	} {
		n, sum, err := expect(path, o.wrap, o.crlf)
		if err != nil {
			return "", nil, err
		}
		outs = append(outs, Output{Name: o.name, Script: o.script, Len: n, CRC: sum})
	}
	return path, outs, nil
}

// expect computes what `base64` of the file prints, as a terminal shows it:
// lines of 76 columns ending in \r\n (crlf) or \n, or one line (no wrap).
func expect(path string, wrap, crlf bool) (int64, uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	go func() {
		enc := base64.NewEncoder(base64.StdEncoding, pw)
		_, err := io.Copy(enc, bufio.NewReaderSize(f, 1<<20))
		if err == nil {
			err = enc.Close()
		}
		pw.CloseWithError(err)
	}()
	h := crc32.New(castagnoli)
	var n int64
	eol := []byte("\n")
	if crlf {
		eol = []byte("\r\n")
	}
	line := make([]byte, 76)
	for {
		k, err := io.ReadFull(pr, line)
		if k > 0 {
			h.Write(line[:k])
			n += int64(k)
			if wrap {
				h.Write(eol)
				n += int64(len(eol))
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return n, h.Sum32(), nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// counter counts and checksums the bytes a reader receives.
type counter struct {
	n   int64
	crc uint32
}

func (c *counter) add(p []byte) {
	c.n += int64(len(p))
	c.crc = crc32.Update(c.crc, castagnoli, p)
}

// check says whether c received exactly o's output.
func (c *counter) check(o Output) error {
	if c.n != o.Len || c.crc != o.CRC {
		return fmt.Errorf("%s: received %d bytes (CRC %08x), want %d (CRC %08x)", o.Name, c.n, c.crc, o.Len, o.CRC)
	}
	return nil
}
