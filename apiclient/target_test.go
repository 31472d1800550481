package apiclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
)

// Target asks for one device's target; a server that ignores ?device
// (older) answers every target, and Target still picks the device's, or
// says it is not there.
func TestTargetPicksTheDevicesOwn(t *testing.T) {
	var asked string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.String()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"targets":[{"id":"x1","device":"mac","status":"Running"},{"id":"x1","device":"pi 1","status":"Pending"}]}`))
	}))
	defer srv.Close()
	c := apiclient.New(srv.URL, "t")
	e, err := c.Target(context.Background(), "x1", "pi 1")
	if err != nil || e.Device != "pi 1" || e.Status != runlet.StatusPending {
		t.Errorf("Target = %+v, %v; want pi 1's, Pending", e, err)
	}
	if asked != "/api/v1/executions/x1?device=pi+1" {
		t.Errorf("asked %s, want the device in the query", asked)
	}
	if _, err := c.Target(context.Background(), "x1", "pi-9"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("Target on a device that is none: %v, want not found", err)
	}
}
