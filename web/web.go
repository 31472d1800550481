// Package web is Runlet's browser UI (R-GUI-1): static pages and ES modules
// embedded in the binary, plus vendored third-party browser code (xterm.js
// and its addons, uPlot for the sensors' charts; see scripts/vendor-web.sh).
// The server mounts Handler at "/"; the pages talk to the JSON API under
// /api/v1 with the session cookie and to the terminal WebSocket.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
	"sync"
)

// all: because vendored modules have names starting with "_" (@noble's
// _md.js, _u64.js), which go:embed leaves out otherwise.
//
//go:embed all:static
var static embed.FS

// Files is the embedded tree served under /static/.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}

// policy is the Content-Security-Policy of the pages: scripts, styles and
// connections only from the server itself (the terminal WebSocket
// included), inline styles because xterm.js writes its own, and no framing.
const policy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// etags holds a strong ETag per embedded file, the start of its SHA-256:
// browsers revalidate (Cache-Control: no-cache) and get 304 until an
// upgrade changes the file.
var etags = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Files(), name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[name] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return m
})

// Handler serves the web UI: /static/... from Files, and index.html for
// every page of the app (the pages route themselves by path).
func Handler() http.Handler {
	files := Files()
	fileServer := http.StripPrefix("/static", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if name, ok := strings.CutPrefix(r.URL.Path, "/static/"); ok && name != "" {
			tag, ok := etags()[name]
			if !ok { // not a file: no directory listings
				http.NotFound(w, r)
				return
			}
			h.Set("ETag", tag)
			h.Set("Cache-Control", "no-cache")
			fileServer.ServeHTTP(w, r)
			return
		}
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Frame-Options", "DENY")
		http.ServeFileFS(w, r, files, "index.html")
	})
}
