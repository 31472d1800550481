package amqp_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/testenv"
)

// wait bounds every wait for an event: generous, the machine may be loaded.
const wait = 60 * time.Second

func testCtx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// states records the changes an adapter reports through Options.OnState.
type states struct {
	mu  sync.Mutex
	all []bus.State
}

func (s *states) record(st bus.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, st)
}

func (s *states) list() []bus.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bus.State(nil), s.all...)
}

// waitFor waits until st was reported after the first `after` reports and
// returns how many reports there are then.
func (s *states) waitFor(t testing.TB, st bus.State, after int) int {
	t.Helper()
	n := 0
	testenv.Eventually(t, "state "+st.String(), wait, func() bool {
		all := s.list()
		for i := after; i < len(all); i++ {
			if all[i] == st {
				n = i + 1
				return true
			}
		}
		return false
	})
	return n
}

// idSet counts what a handler received, by message ID.
type idSet struct {
	mu    sync.Mutex
	count map[string]int
	redel map[string]bool
}

func newIDSet() *idSet { return &idSet{count: map[string]int{}, redel: map[string]bool{}} }

func (s *idSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count[id]++
}

func (s *idSet) addDelivery(d bus.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count[d.ID]++
	s.redel[d.ID] = s.redel[d.ID] || d.Redelivered
}

func (s *idSet) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.count))
	for id := range s.count {
		out = append(out, id)
	}
	return out
}

func (s *idSet) missing(want []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range want {
		if s.count[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// closeConnection makes the broker close the connection named name, as a
// network drop or an operator would.
func closeConnection(t testing.TB, name string) {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "-s", "list_connections", "pid", "client_properties").CombinedOutput()
	if err != nil {
		t.Fatalf("list connections: %v\n%s", err, out)
	}
	var pid string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, `"`+name+`"`) || strings.Contains(line, "<<\""+name+"\">>") {
			pid = strings.Fields(line)[0]
		}
	}
	if pid == "" {
		t.Fatalf("no connection named %s in:\n%s", name, out)
	}
	if out, err := exec.Command("rabbitmqctl", "-q", "close_connection", pid, "runlet test: dropped on purpose").CombinedOutput(); err != nil {
		t.Fatalf("close connection %s: %v\n%s", pid, err, out)
	}
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func msg(key bus.Key, id string) bus.Message {
	return bus.Message{ID: id, Key: key, Body: []byte(fmt.Sprint("body of ", id))}
}

// probe publishes a new message every 100ms until one of them reaches got:
// a subscription that is being re-established misses the first ones.
func probe(t testing.TB, publish func(id string) error, got *idSet) {
	t.Helper()
	var sent []string
	testenv.EventuallyEvery(t, "a probe to arrive", wait, 100*time.Millisecond, func() bool {
		id := fmt.Sprint("probe-", len(sent))
		must(t, "publish probe", publish(id))
		sent = append(sent, id)
		return len(got.missing(sent)) < len(sent)
	})
}
