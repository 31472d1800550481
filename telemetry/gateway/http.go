package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// MaxBody bounds the body of POST /v1/readings: larger is refused (413)
// without reading it all.
const MaxBody = 4 << 20

// Answer is the body of POST /v1/readings: how many readings the spool
// kept, and each message refused.
type Answer struct {
	Accepted int                 `json:"accepted"`
	Refused  []sensormsg.Refusal `json:"refused"`
}

// errorBody is the body of a request that failed as a whole.
type errorBody struct {
	Error string `json:"error"`
}

// Handler serves the device's local telemetry endpoint:
//
//	POST /v1/readings  one sensor message, a JSON array of them, or
//	                   newline-delimited JSON (at most MaxBody bytes).
//	                   200 {"accepted":n,"refused":[…]} once the readings
//	                   are in the spool on disk; 400 when every message
//	                   was refused; 413 beyond MaxBody; 503 when the
//	                   spool cannot write (the disk is full).
//	GET /v1/stats      the gateway's Stats.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/readings", g.postReadings)
	mux.HandleFunc("GET /v1/stats", g.getStats)
	return mux
}

func (g *Gateway) postReadings(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "The body is larger than 4 MiB: send the readings in smaller requests."})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "The body could not be read: " + err.Error()})
		return
	}
	msgs, refused := sensormsg.Parse(body)
	g.Refused("http", refused)
	if len(msgs) > 0 {
		if _, err := g.Accept(r.Context(), msgs); err != nil {
			g.log.Error("readings posted to the local endpoint were not kept", "readings", len(msgs), "err", err)
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: runlet.ErrorMessage(err)})
			return
		}
	}
	status := http.StatusOK
	if len(msgs) == 0 && len(refused) > 0 {
		status = http.StatusBadRequest
	}
	if refused == nil {
		refused = []sensormsg.Refusal{}
	}
	writeJSON(w, status, Answer{Accepted: len(msgs), Refused: refused})
}

func (g *Gateway) getStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, g.Stats())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
