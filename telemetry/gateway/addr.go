package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/atomicfile"
)

// AddrFile is the file, in the device's home, where a running daemon
// writes the address its readings endpoint is bound to (mode 0600), so
// that `runlet telemetry push` finds it whatever port it took. The daemon
// removes it when it stops.
const AddrFile = "telemetry.addr"

// DefaultListen is where the daemon serves POST /v1/readings unless told
// otherwise: loopback only, so that only this machine's programs and the
// sensors' local bridges reach it.
const DefaultListen = "127.0.0.1:8736"

// WriteAddr writes addr to path durably.
func WriteAddr(path, addr string) error {
	if err := atomicfile.Write(path, []byte(addr+"\n")); err != nil {
		return fmt.Errorf("gateway: write the endpoint's address to %s: %w", path, err)
	}
	return nil
}

// ReadAddr reads the address a daemon wrote to path; ENOTFOUND when no
// daemon wrote one.
func ReadAddr(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", runlet.Errorf(runlet.ENOTFOUND, "No daemon is listening for readings on this device (%s does not exist): start it with `runlet daemon`.", path)
	}
	if err != nil {
		return "", fmt.Errorf("gateway: read the endpoint's address: %w", err)
	}
	addr := strings.TrimSpace(string(b))
	if addr == "" {
		return "", runlet.Errorf(runlet.ENOTFOUND, "No daemon is listening for readings on this device (%s is empty): start it with `runlet daemon`.", path)
	}
	return addr, nil
}
