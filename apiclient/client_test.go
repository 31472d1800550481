package apiclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
)

func TestErrorsBecomeRunletErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantCode string
		wantMsg  string
	}{
		{"api error", 409, `{"error":{"code":"conflict","message":"a device named pi-1 is already signed in"}}`, runlet.ECONFLICT, "a device named pi-1 is already signed in"},
		{"proxy page", 502, "<html>Bad Gateway</html>\n<body/>", runlet.EUNAVAILABLE, "The server answered 502 Bad Gateway: <html>Bad Gateway</html>"},
		{"empty 404", 404, "", runlet.ENOTFOUND, "The server answered 404 Not Found"},
		{"too large", 413, `{"error":{"code":"invalid","message":"too big"}}`, runlet.EINVALID, "too big"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := apiclient.New(srv.URL, "t").Whoami(context.Background())
			var re *runlet.Error
			if !errors.As(err, &re) || re.Code != tc.wantCode || re.Message != tc.wantMsg {
				t.Errorf("got %#v, want %s %q", err, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func TestValidationErrorKeepsDetails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Match") != "4" || r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("headers %v", r.Header)
		}
		w.WriteHeader(400)
		w.Write([]byte(`{"error":{"code":"invalid","message":"jobs.yaml:2: bad","details":[{"file":"jobs.yaml","line":2,"job":"a","message":"bad"}]}}`))
	}))
	defer srv.Close()
	_, err := apiclient.New(srv.URL, "tok").PutJobs(context.Background(), []byte("a: 1"), 4)
	var ve *apiclient.ValidationError
	if !errors.As(err, &ve) || len(ve.Details) != 1 || ve.Details[0].Line != 2 {
		t.Fatalf("got %#v", err)
	}
	if runlet.ErrorCode(err) != runlet.EINVALID || runlet.ErrorMessage(err) != "jobs.yaml:2: bad" {
		t.Errorf("code %q message %q", runlet.ErrorCode(err), runlet.ErrorMessage(err))
	}
}

func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = apiclient.New("http://"+addr, "").Devices(context.Background())
	if runlet.ErrorCode(err) != runlet.EUNAVAILABLE {
		t.Errorf("got %v, want unavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := apiclient.New("http://"+addr, "").Devices(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestRemovalErrorNamesTheJobs(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.WriteHeader(409)
		w.Write([]byte(`{"error":{"code":"conflict","message":"would delete a, b","removed":["a","b"]}}`))
	}))
	defer srv.Close()
	c := apiclient.New(srv.URL, "tok")
	_, err := c.PutJobs(context.Background(), []byte("c: 1"), apiclient.NoVersion)
	var re *apiclient.RemovalError
	if !errors.As(err, &re) || len(re.Jobs) != 2 || re.Jobs[1] != "b" || query != "" {
		t.Fatalf("got %#v (query %q)", err, query)
	}
	if runlet.ErrorCode(err) != runlet.ECONFLICT || runlet.ErrorMessage(err) != "would delete a, b" {
		t.Errorf("code %q message %q", runlet.ErrorCode(err), runlet.ErrorMessage(err))
	}
	if _, err := c.PutJobsPrune(context.Background(), []byte("c: 1"), apiclient.NoVersion); err == nil || query != "prune=true" {
		t.Errorf("PutJobsPrune sent the query %q (%v), want prune=true", query, err)
	}
}
