package pty

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func init() { debugFlags = 0 }

func TestZZDebug(t *testing.T) {
	{
		term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/c", "echo", "grüße-日本-✓"}})
		out.waitText(t, "grüße-日本-✓")
		out.waitEOF(t)
		term.Close()
	}
	term, out := startWin(t, Command{Argv: []string{"cmd.exe", "/v:on", "/c", "set /p LINE=name? & echo got:!LINE!"}})
	out.waitText(t, "name?")
	term.Write([]byte("runlet\r"))
	out.waitText(t, "got:runlet")
	time.Sleep(20 * time.Second)
	out.mu.Lock()
	e := out.err
	out.mu.Unlock()
	t.Logf("exited=%v eof=%v", term.hasExited(), e)
	if e == nil {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		os.Stderr.Write(buf[:n])
	}
}
