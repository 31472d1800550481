package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/notify"
)

// hookSecret signs the bench's webhooks.
const hookSecret = "bench-alerts-hook-secret"

// recorder is the webhook receiver: it checks each request's signature
// and times the alerts' first notifications.
type recorder struct {
	srv *httptest.Server

	mu sync.Mutex
	// pending are the crossings handed to the broker and not yet told, by
	// alert key.
	pending map[string]crossing
	// expected counts the crossings handed to the broker.
	expected  int
	threshold benchkit.Sample
	// unmatched counts "opened" threshold webhooks of no pending crossing.
	unmatched int
	// silence are the latencies of the silence alerts' first webhooks;
	// silenceAt their At (the due time) by sensor.
	silence   benchkit.Sample
	silenceAt map[int64]time.Time
	others    map[string]int // the other webhooks, by "event kind"
	bad       []string
}

// crossing is a reading above its threshold: its time and when its batch
// was handed to the broker.
type crossing struct {
	at     int64 // unix ms
	handed time.Time
}

// payload is what the bench reads of a webhook's body.
type payload struct {
	Event runlet.AlertEvent `json:"event"`
	Kind  runlet.AlertKind  `json:"kind"`
	Alert runlet.Alert      `json:"alert"`
}

func newRecorder() *recorder {
	r := &recorder{pending: map[string]crossing{}, silenceAt: map[int64]time.Time{}, others: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	var p payload
	if err := notify.VerifyWebhook(hookSecret, req, body, time.Minute); err != nil {
		r.refuse(w, http.StatusUnauthorized, fmt.Sprintf("the signature: %v", err))
		return
	}
	if err := json.Unmarshal(body, &p); err != nil {
		r.refuse(w, http.StatusBadRequest, fmt.Sprintf("not the payload: %v", err))
		return
	}
	r.mu.Lock()
	switch {
	case p.Event == runlet.EventOpened && p.Kind == runlet.AlertThreshold:
		c, ok := r.pending[p.Alert.Key]
		if ok && c.at == p.Alert.At.UnixMilli() {
			r.threshold = append(r.threshold, arrived.Sub(c.handed))
			delete(r.pending, p.Alert.Key)
		} else {
			r.unmatched++
		}
	case p.Event == runlet.EventOpened && p.Kind == runlet.AlertSilence:
		if _, seen := r.silenceAt[p.Alert.Sensor]; seen {
			r.others["opened silence, again for its sensor"]++
			break
		}
		r.silence = append(r.silence, arrived.Sub(p.Alert.At))
		r.silenceAt[p.Alert.Sensor] = p.Alert.At
	default:
		r.others[string(p.Event)+" "+string(p.Kind)]++
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *recorder) refuse(w http.ResponseWriter, code int, why string) {
	r.mu.Lock()
	r.bad = append(r.bad, why)
	r.mu.Unlock()
	http.Error(w, why, code)
}

// expect registers a crossing of key, its reading taken at (unix ms),
// its batch handed to the broker now.
func (r *recorder) expect(key string, at int64, handed time.Time) {
	r.mu.Lock()
	r.pending[key] = crossing{at: at, handed: handed}
	r.expected++
	r.mu.Unlock()
}

// unexpect forgets the crossing of key (its batch was not published).
func (r *recorder) unexpect(key string) {
	r.mu.Lock()
	delete(r.pending, key)
	r.expected--
	r.mu.Unlock()
}

// told says whether all of the made crossings were handed to the broker
// and told.
func (r *recorder) told(made int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expected >= made && len(r.pending) == 0
}

func (r *recorder) silences() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.silenceAt)
}
