package server_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"
)

type answer struct {
	status int
	body   string
}

func get(t testing.TB, u string) answer {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func postForm(t testing.TB, u string, v url.Values) answer {
	t.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t testing.TB, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, string(b)}
}
