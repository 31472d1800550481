package wire

import (
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

func TestHeartbeatCheck(t *testing.T) {
	good := Heartbeat{Device: "pi-1", OS: "linux", Arch: "arm64", Version: "v1.4.0-rc.1+dirty"}
	if err := good.Check(); err != nil {
		t.Errorf("%+v: %v", good, err)
	}
	for _, c := range []struct {
		edit func(*Heartbeat)
		want string
	}{
		{func(h *Heartbeat) { h.OS = "\x1b]0;pwned\x07" }, "OS may not contain a control character"},
		{func(h *Heartbeat) { h.Arch = "arm\x1b[2J" }, "arch may not contain"},
		{func(h *Heartbeat) { h.Version = "1.0\u009b" }, "version may not contain"},
		{func(h *Heartbeat) { h.Device = "pi-1\n" }, "device name may not contain"},
		{func(h *Heartbeat) { h.Version = strings.Repeat("9", MaxHeartbeatText+1) }, "at most 64 characters"},
		{func(h *Heartbeat) { h.OS = "linux\xff" }, "not UTF-8"},
	} {
		h := good
		c.edit(&h)
		err := h.Check()
		if err == nil || runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check of %+v = %v, want EINVALID saying %q", h, err, c.want)
		}
	}
}
