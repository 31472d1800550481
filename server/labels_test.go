package server_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
)

// TestDeviceLabels: labels come with a sign-in (enrollment and the device
// flow) and from admins (PUT /devices/{name}/labels); bad ones are refused
// before anything is stored or a device code is used, and only an admin
// of the workspace may change them.
func TestDeviceLabels(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	tok, err := s.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	c := s.client()
	if _, err := c.Enroll(ctx, api.EnrollRequest{Token: tok, Name: "bad", Labels: []string{"lab-"}}); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("enroll with a bad label: %v, want EINVALID", err)
	}
	pi, err := c.Enroll(ctx, api.EnrollRequest{Token: tok, Name: "pi-1", Labels: []string{"lab,room=attic"}})
	if err != nil {
		t.Fatal(err)
	}

	// The device flow: bad labels on the last poll leave the code usable.
	code, err := c.DeviceCode(ctx, api.DeviceCodeRequest{Name: "mac"})
	if err != nil {
		t.Fatal(err)
	}
	ok := postForm(t, s.URL()+"/device", url.Values{"code": {code.UserCode}, "email": {server.AdminEmail}, "password": {"pw-admin"}, "action": {"approve"}})
	if ok.status != 200 {
		t.Fatalf("approval: %d\n%s", ok.status, ok.body)
	}
	s.clock.Advance(server.DefaultPollInterval + time.Second)
	if _, err := c.DeviceToken(ctx, code.DeviceCode, "a b"); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("device token with a bad label: %v, want EINVALID", err)
	}
	if _, err := c.DeviceToken(ctx, code.DeviceCode, "desk"); err != nil {
		t.Fatalf("device token with a label: %v", err)
	}

	admin := s.adminClient(t)
	labelsOf := func(name string) map[string]string {
		devs, err := admin.Devices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			if d.Name == name {
				return d.Labels
			}
		}
		t.Fatalf("no device %s in %+v", name, devs)
		return nil
	}
	if got := runlet.FormatLabels(labelsOf("pi-1")); got != "lab,room=attic" {
		t.Errorf("pi-1's labels from enrollment: %q", got)
	}
	if got := runlet.FormatLabels(labelsOf("mac")); got != "desk" {
		t.Errorf("mac's labels from the device flow: %q", got)
	}

	got, err := admin.SetDeviceLabels(ctx, "pi-1", map[string]string{"lab": "", "room": "cellar"})
	if err != nil || runlet.FormatLabels(got) != "lab,room=cellar" {
		t.Errorf("set pi-1's labels: %v, %v", got, err)
	}
	if _, err := admin.SetDeviceLabels(ctx, "pi-1", nil); err != nil || len(labelsOf("pi-1")) != 0 {
		t.Errorf("clearing pi-1's labels: %v, left %v", err, labelsOf("pi-1"))
	}
	for _, tc := range []struct {
		what   string
		client *apiclient.Client
		name   string
		labels map[string]string
		code   string
	}{
		{"a bad key", admin, "pi-1", map[string]string{"-x": ""}, runlet.EINVALID},
		{"a bad value", admin, "pi-1", map[string]string{"k": "a b"}, runlet.EINVALID},
		{"an unknown device", admin, "ghost", map[string]string{"k": ""}, runlet.ENOTFOUND},
		{"a device's own token", apiclient.New(s.URL(), pi.Token), "pi-1", map[string]string{"k": ""}, runlet.EFORBIDDEN},
		{"no token", s.client(), "pi-1", map[string]string{"k": ""}, runlet.EUNAUTHORIZED},
	} {
		if _, err := tc.client.SetDeviceLabels(ctx, tc.name, tc.labels); runlet.ErrorCode(err) != tc.code {
			t.Errorf("labels with %s: %v, want %s", tc.what, err, tc.code)
		}
	}
	if n := len(labelsOf("pi-1")); n != 0 {
		t.Errorf("the refused changes left labels on pi-1: %v", labelsOf("pi-1"))
	}
}
