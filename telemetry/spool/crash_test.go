package spool

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// crashEnv names the spool directory of the child of TestKill9.
const crashEnv = "RUNLET_SPOOL_CRASH_CHILD"

// A real crash: a child process appends in a loop from several
// goroutines and prints each record whose Append returned; it is killed
// with SIGKILL at some point, three times over, and every record it
// printed must be in the spool after each reopen, with its data.
func TestKill9(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	printed := map[uint64]string{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			seq, data, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				t.Fatalf("child printed %q", sc.Text())
			}
			q, err := strconv.ParseUint(seq, 10, 64)
			if err != nil {
				t.Fatalf("child printed %q", sc.Text())
			}
			if old, dup := printed[q]; dup {
				t.Fatalf("round %d: seq %d given twice (%q, then %q)", round, q, old, data)
			}
			printed[q] = data
			if n++; n == 2000+1000*round {
				cmd.Process.Kill() // SIGKILL; the lines already in the pipe are still read
			}
		}
		err = cmd.Wait()
		if n < 2000+1000*round {
			t.Fatalf("round %d: the child stopped after %d records: %v\n%s", round, n, err, stderr.String())
		}
		s, logs := open(t, dir, Options{SegmentBytes: 32 << 10})
		found := map[uint64]string{}
		for _, r := range readAll(t, s, 0) {
			found[r.Seq] = string(r.Data)
		}
		for q, data := range printed {
			if found[q] != data {
				t.Fatalf("round %d: record %d, appended and acknowledged to the child as %q, reads %q after kill -9\nrecovery log:\n%s", round, q, data, found[q], logs)
			}
		}
		t.Logf("round %d: %d records printed, %d in the spool; recovery said: %s", round, len(printed), len(found), strings.TrimSpace(logs.String()))
		s.Close()
	}
}

// crashChild appends until it is killed, printing "<seq> <data>" for
// each record once its Append has returned.
func crashChild(dir string) {
	s, err := Open(dir, Options{SegmentBytes: 32 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				recs := make([][]byte, 1+i%5)
				for j := range recs {
					recs[j] = fmt.Appendf(nil, "pid%d-w%d-i%d-j%d", os.Getpid(), w, i, j)
				}
				first, err := s.Append(context.Background(), recs...)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				var b []byte
				for j, r := range recs {
					b = fmt.Appendf(b, "%d %s\n", first+uint64(j), r)
				}
				mu.Lock()
				os.Stdout.Write(b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
