package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/tlspin"
)

// brokerWait bounds how long a verb waits for the broker before saying so.
const brokerWait = 20 * time.Second

// signedIn returns this device's credentials and an API client acting as
// it, or the error that tells the person to sign in.
func (m *Main) signedIn() (*home.Credentials, *apiclient.Client, error) {
	cred, err := home.Dir(m.home).Credentials()
	if err != nil {
		return nil, nil, err
	}
	return cred, m.deviceClient(cred), nil
}

func (m *Main) apiClient(server, token string) *apiclient.Client {
	c := apiclient.New(server, token)
	c.UserAgent = "runlet/" + Version
	return c
}

// openBus connects to the workspace's broker with the device's own broker
// credentials.
func (m *Main) openBus(ctx context.Context, cred *home.Credentials) (bus.Bus, error) {
	if cred.Broker == "" {
		return nil, runlet.Errorf(runlet.EINVALID, "the credentials in %s name no broker; sign in again", m.home)
	}
	u, err := bus.WithCredentials(cred.Broker, cred.BrokerUser, cred.BrokerPassword)
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "the broker URL in %s is not valid (%v); sign in again", m.home, err)
	}
	ctx, cancel := context.WithTimeout(ctx, brokerWait)
	defer cancel()
	b, err := assemble.Dial(ctx, u, bus.Options{Name: "runlet-cli " + cred.Device, Logger: m.logger(), TLS: tlspin.Config(cred.ServerFingerprint, m.RootCAs)})
	if r := tlspin.Refusal(err); r != "" {
		return nil, runlet.Errorf(runlet.EUNAUTHORIZED, "not connecting to the message broker %s: %s", cred.Broker, r)
	}
	if err != nil {
		return nil, runlet.Errorf(runlet.EUNAVAILABLE, "cannot reach the message broker %s: %v", cred.Broker, err)
	}
	return b, nil
}

// printJSON writes v as indented JSON on standard output.
func (m *Main) printJSON(v any) error {
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
