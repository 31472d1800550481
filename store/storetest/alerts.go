package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// The alerting parts of the suite (R-TEL-3 to R-TEL-5): settings,
// channels, ChangeAlert and its marks, the outbox and the server's keys.

func f64(v float64) *float64 { return &v }

// testAlertSettings: the zero value until set, a round trip with
// durations and routing, EINVALID and ENOTFOUND.
func testAlertSettings(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	s, err := e.AlertSettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "settings never set", s, runlet.AlertSettings{})
	_, err = e.AlertSettings(e.ctx, "nowhere")
	code(t, err, runlet.ENOTFOUND)
	code(t, e.SetAlertSettings(e.ctx, "nowhere", runlet.AlertSettings{}), runlet.ENOTFOUND)

	want := runlet.AlertSettings{
		Defaults: runlet.SensorRules{
			Thresholds: runlet.Thresholds{TempMin: f64(2), TempMax: f64(8.5), BattMin: f64(20)},
			Silence:    runlet.Duration(90 * time.Minute),
		},
		Every:        runlet.Duration(30 * time.Minute),
		OfflineLimit: runlet.Duration(45 * time.Second),
		Routing:      map[runlet.Route]runlet.Audience{"threshold.temp": runlet.AudienceBoth, "offline": runlet.AudienceOwner},
	}
	ok(t, e.SetAlertSettings(e.ctx, ws.ID, want))
	s, err = e.AlertSettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "alert settings", s, want)
	equal(t, "period", s.Period(), 30*time.Minute)

	for name, bad := range map[string]runlet.AlertSettings{
		"min above max":  {Defaults: runlet.SensorRules{Thresholds: runlet.Thresholds{TempMin: f64(9), TempMax: f64(8)}}},
		"short period":   {Every: runlet.Duration(time.Millisecond)},
		"unknown route":  {Routing: map[runlet.Route]runlet.Audience{"weather": runlet.AudienceOwner}},
		"unknown people": {Routing: map[runlet.Route]runlet.Audience{"silence": "everyone"}},
	} {
		if err := e.SetAlertSettings(e.ctx, ws.ID, bad); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("SetAlertSettings with %s: %v, want EINVALID", name, err)
		}
	}
	s, err = e.AlertSettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "alert settings after refused changes", s, want)

	// Notification settings are kept apart, secrets included.
	n, err := e.NotifySettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "notify settings never set", n, store.NotifySettings{})
	_, err = e.NotifySettings(e.ctx, "nowhere")
	code(t, err, runlet.ENOTFOUND)
	code(t, e.SetNotifySettings(e.ctx, "nowhere", store.NotifySettings{}), runlet.ENOTFOUND)
	wantN := store.NotifySettings{
		SMTP: store.SMTPSettings{Host: "smtp.example.com", Port: 2525, TLS: "none", Username: "ops", Password: "pa55", From: "runlet@example.com"},
		SMS: store.SMSSettings{URL: "https://sms.example.com/send", Body: `{"to":"{{.To}}"}`, ContentType: "application/json",
			Headers: map[string]string{"X-Api": "k"}, Username: "acct", Password: "tok"},
	}
	ok(t, e.SetNotifySettings(e.ctx, ws.ID, wantN))
	n, err = e.NotifySettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "notify settings", n, wantN)
	s, err = e.AlertSettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "alert settings after the notify settings", s, want)
}

// testChannels: CRUD, secrets, validation, and a member's channels going
// with the membership.
func testChannels(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	ann, bob := e.user(t, "ann@example.com"), e.user(t, "bob@example.com")
	ok(t, e.PutMembership(e.ctx, &runlet.Membership{Workspace: ws.ID, User: ann.ID, Role: runlet.RoleOwner}))

	hook := runlet.Channel{Workspace: ws.ID, Kind: runlet.ChannelWebhook, Target: " https://hooks.example.com/x ",
		Routes: []runlet.Route{"silence", "threshold.temp"}}
	ok(t, e.AddChannel(e.ctx, &hook, "signing-key"))
	if hook.ID == "" || !hook.Created.Equal(e.clock.Now()) || !hook.HasSecret || hook.Target != "https://hooks.example.com/x" {
		t.Fatalf("added channel %+v: want an ID, Created now, HasSecret, the target trimmed", hook)
	}
	e.clock.Advance(time.Second)
	mail := runlet.Channel{ID: "ann-mail", Workspace: ws.ID, User: ann.ID, Kind: runlet.ChannelEmail, Target: "ann@example.com"}
	ok(t, e.AddChannel(e.ctx, &mail, ""))
	if mail.HasSecret || mail.ID != "ann-mail" {
		t.Fatalf("added channel %+v: want the given ID and no secret", mail)
	}

	got, secret, err := e.Channel(e.ctx, ws.ID, hook.ID)
	ok(t, err)
	equal(t, "Channel", got, hook)
	equal(t, "secret", secret, "signing-key")
	list, err := e.Channels(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "Channels, by creation", list, []runlet.Channel{hook, mail})
	list, err = e.Channels(e.ctx, other.ID)
	ok(t, err)
	equal(t, "another workspace's channels", len(list), 0)
	_, _, err = e.Channel(e.ctx, other.ID, hook.ID)
	code(t, err, runlet.ENOTFOUND)

	code(t, e.AddChannel(e.ctx, &runlet.Channel{ID: "ann-mail", Workspace: ws.ID, Kind: runlet.ChannelSMS, Target: "+4412"}, ""), runlet.ECONFLICT)
	code(t, e.AddChannel(e.ctx, &runlet.Channel{Workspace: "nowhere", Kind: runlet.ChannelSMS, Target: "+4412"}, ""), runlet.ENOTFOUND)
	code(t, e.AddChannel(e.ctx, &runlet.Channel{Workspace: ws.ID, User: "nobody", Kind: runlet.ChannelSMS, Target: "+4412"}, ""), runlet.ENOTFOUND)
	// bob is no member of the workspace.
	code(t, e.AddChannel(e.ctx, &runlet.Channel{Workspace: ws.ID, User: bob.ID, Kind: runlet.ChannelSMS, Target: "+4412"}, ""), runlet.ENOTFOUND)
	for name, c := range map[string]runlet.Channel{
		"unknown kind":  {Workspace: ws.ID, Kind: "pigeon", Target: "loft"},
		"no target":     {Workspace: ws.ID, Kind: runlet.ChannelEmail, Target: "  "},
		"unknown route": {Workspace: ws.ID, Kind: runlet.ChannelEmail, Target: "x@example.com", Routes: []runlet.Route{"weather"}},
	} {
		if err := e.AddChannel(e.ctx, &c, ""); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("AddChannel with %s: %v, want EINVALID", name, err)
		}
	}

	// Updates: a nil secret keeps it, "" removes it, another replaces it.
	upd := hook
	upd.Target, upd.Routes, upd.Disabled = "https://hooks.example.com/y", nil, true
	got, err = e.UpdateChannel(e.ctx, upd, nil)
	ok(t, err)
	want := hook
	want.Target, want.Routes, want.Disabled = upd.Target, nil, true
	equal(t, "updated channel", got, want)
	_, secret, err = e.Channel(e.ctx, ws.ID, hook.ID)
	ok(t, err)
	equal(t, "secret kept", secret, "signing-key")
	empty, newer := "", "new-key"
	got, err = e.UpdateChannel(e.ctx, upd, &empty)
	ok(t, err)
	equal(t, "HasSecret after removing it", got.HasSecret, false)
	got, err = e.UpdateChannel(e.ctx, upd, &newer)
	ok(t, err)
	_, secret, err = e.Channel(e.ctx, ws.ID, hook.ID)
	ok(t, err)
	equal(t, "secret replaced", []any{got.HasSecret, secret}, []any{true, "new-key"})
	upd.Target = ""
	_, err = e.UpdateChannel(e.ctx, upd, nil)
	code(t, err, runlet.EINVALID)
	upd.Target, upd.ID = "x", "missing"
	_, err = e.UpdateChannel(e.ctx, upd, nil)
	code(t, err, runlet.ENOTFOUND)

	ok(t, e.DeleteChannel(e.ctx, ws.ID, hook.ID))
	code(t, e.DeleteChannel(e.ctx, ws.ID, hook.ID), runlet.ENOTFOUND)
	_, _, err = e.Channel(e.ctx, ws.ID, hook.ID)
	code(t, err, runlet.ENOTFOUND)

	// Removing the member removes the member's channels.
	ok(t, e.DeleteMembership(e.ctx, ws.ID, ann.ID))
	list, err = e.Channels(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "channels after the member left", len(list), 0)
}

// alertOf returns a threshold alert of sensor 7's temperature.
func alertOf(v float64) *runlet.Alert {
	return &runlet.Alert{Kind: runlet.AlertThreshold, Sensor: 7, Device: "pi-3", Metric: runlet.MetricTemp, Bound: runlet.BoundMax,
		Value: v, Limit: 8, At: time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC), Summary: fmt.Sprintf("%g °C is above 8 °C", v)}
}

// note returns a notification of event e through channel ch.
func note(e runlet.AlertEvent, ch string) runlet.Notification {
	return runlet.Notification{Event: e, Channel: ch, Kind: runlet.ChannelEmail, Target: ch + "@example.com",
		Subject: string(e), Body: "body", Payload: `{"event":"` + string(e) + `"}`}
}

// change runs ChangeAlert with a decide that records the mark it saw and
// asks for c.
func (e *env) change(t *testing.T, ws, key string, c store.AlertChange) (store.AlertMark, store.AlertChange) {
	t.Helper()
	var seen store.AlertMark
	got, err := e.ChangeAlert(e.ctx, ws, key, func(m store.AlertMark) (store.AlertChange, error) {
		seen = m
		return c, nil
	})
	ok(t, err)
	return seen, got
}

// testChangeAlert: opening, notifying, reminding, updating and resolving
// an alert of a key, what decide sees, and what is refused.
func testChangeAlert(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	key := runlet.ThresholdKey(7, runlet.MetricTemp)

	// A key never seen: an empty mark.
	m, got := e.change(t, ws.ID, key, store.AlertChange{})
	equal(t, "a new key's mark", m, store.AlertMark{Workspace: ws.ID, Key: key})
	equal(t, "an empty change", got, store.AlertChange{})

	// Open, told through two channels.
	opened := e.clock.Now()
	decided := opened.Add(-time.Minute)
	_, got = e.change(t, ws.ID, key, store.AlertChange{Open: alertOf(9.5), Notified: true, Evaluated: decided,
		Notify: []runlet.Notification{note(runlet.EventOpened, "a"), note(runlet.EventOpened, "b")}})
	// Evaluated moves forward only.
	if m, _ = e.change(t, ws.ID, key, store.AlertChange{Evaluated: decided.Add(-time.Hour)}); !m.Evaluated.Equal(decided) {
		t.Fatalf("mark's Evaluated %v: want %v, the reading decided on", m.Evaluated, decided)
	}
	if m, _ = e.change(t, ws.ID, key, store.AlertChange{}); !m.Evaluated.Equal(decided) {
		t.Fatalf("mark's Evaluated %v after an earlier one: want %v kept", m.Evaluated, decided)
	}
	a := got.Open
	if a == nil || a.ID == 0 {
		t.Fatalf("opened %+v: want the alert with its ID", got)
	}
	want := *alertOf(9.5)
	want.ID, want.Workspace, want.Key, want.Opened, want.Notified = a.ID, ws.ID, key, opened, opened
	equal(t, "opened alert", *a, want)
	if len(got.Notify) != 2 {
		t.Fatalf("notifications %+v: want 2", got.Notify)
	}
	for i, n := range got.Notify {
		ch := []string{"a", "b"}[i]
		if n.ID == 0 || n.Alert != a.ID || n.Workspace != ws.ID || n.State != runlet.NotificationPending ||
			!n.Next.Equal(opened) || !n.Created.Equal(opened) || n.Key != runlet.NotificationKey(ws.ID, a.ID, runlet.EventOpened, 0, ch) {
			t.Fatalf("queued notification %+v: want its ID, alert, workspace, pending, due now, key filled", n)
		}
	}
	stored, err := e.Alert(e.ctx, ws.ID, a.ID)
	ok(t, err)
	equal(t, "Alert", stored, want)
	open, err := e.OpenAlerts(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "OpenAlerts", open, []runlet.Alert{want})
	_, err = e.Alert(e.ctx, ws.ID, a.ID+1000)
	code(t, err, runlet.ENOTFOUND)
	other := e.workspace(t, "other")
	_, err = e.Alert(e.ctx, other.ID, a.ID)
	code(t, err, runlet.ENOTFOUND)

	// decide sees the open alert and when people were told.
	e.clock.Advance(10 * time.Minute)
	m, _ = e.change(t, ws.ID, key, store.AlertChange{})
	if m.Open == nil || !m.Notified.Equal(opened) {
		t.Fatalf("mark %+v: want the open alert and Notified at its opening", m)
	}
	equal(t, "the mark's open alert", *m.Open, want)

	// A second opening is refused, and so is all of its change.
	_, err = e.ChangeAlert(e.ctx, ws.ID, key, func(store.AlertMark) (store.AlertChange, error) {
		return store.AlertChange{Open: alertOf(10), Notified: true, Notify: []runlet.Notification{note(runlet.EventOpened, "c")}}, nil
	})
	code(t, err, runlet.EINVALID)
	// An error of decide is returned and nothing changes.
	boom := errors.New("boom")
	_, err = e.ChangeAlert(e.ctx, ws.ID, key, func(store.AlertMark) (store.AlertChange, error) { return store.AlertChange{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("ChangeAlert with a failing decide: %v, want its error", err)
	}
	// Update without a reminder: the latest breach, nobody told.
	upd := alertOf(11)
	upd.At = upd.At.Add(time.Minute)
	e.change(t, ws.ID, key, store.AlertChange{Update: upd})
	m, _ = e.change(t, ws.ID, key, store.AlertChange{})
	want.Value, want.At, want.Summary = 11, upd.At, upd.Summary
	equal(t, "updated alert", *m.Open, want)
	equal(t, "Notified after an update", m.Notified, opened)

	// A reminder: counted, Notified moves, its key numbered.
	e.clock.Advance(time.Hour)
	reminded := e.clock.Now()
	_, got = e.change(t, ws.ID, key, store.AlertChange{Remind: true, Notified: true, Update: alertOf(12),
		Notify: []runlet.Notification{note(runlet.EventReminder, "a")}})
	equal(t, "reminder key", got.Notify[0].Key, runlet.NotificationKey(ws.ID, a.ID, runlet.EventReminder, 1, "a"))
	e.clock.Advance(time.Hour)
	_, got = e.change(t, ws.ID, key, store.AlertChange{Remind: true, Notified: true,
		Notify: []runlet.Notification{note(runlet.EventReminder, "a")}})
	equal(t, "second reminder key", got.Notify[0].Key, runlet.NotificationKey(ws.ID, a.ID, runlet.EventReminder, 2, "a"))
	reminded2 := e.clock.Now()
	stored, err = e.Alert(e.ctx, ws.ID, a.ID)
	ok(t, err)
	equal(t, "reminded alert", []any{stored.Reminders, stored.Notified, stored.Value}, []any{2, reminded2, 12.0})
	_ = reminded

	// Two notifications with one key in a change: refused, all of it.
	_, err = e.ChangeAlert(e.ctx, ws.ID, key, func(store.AlertMark) (store.AlertChange, error) {
		n := note(runlet.EventReminder, "a")
		n.Key = "same"
		return store.AlertChange{Remind: true, Notify: []runlet.Notification{n, n}}, nil
	})
	code(t, err, runlet.EINVALID)
	stored, err = e.Alert(e.ctx, ws.ID, a.ID)
	ok(t, err)
	equal(t, "reminders after a refused change", stored.Reminders, 2)
	// A key given is kept.
	e.clock.Advance(time.Minute)
	n := note(runlet.EventReminder, "a")
	n.Key = "custom-key"
	_, got = e.change(t, ws.ID, key, store.AlertChange{Notify: []runlet.Notification{n}})
	equal(t, "a given key", got.Notify[0].Key, "custom-key")
	// A key taken already: refused.
	_, err = e.ChangeAlert(e.ctx, ws.ID, key, func(store.AlertMark) (store.AlertChange, error) {
		return store.AlertChange{Notify: []runlet.Notification{n}}, nil
	})
	code(t, err, runlet.EINVALID)

	// Resolve: told, Notified does not move.
	e.clock.Advance(time.Minute)
	resolved := e.clock.Now()
	_, got = e.change(t, ws.ID, key, store.AlertChange{Resolve: true, Recovery: "back to 6 °C",
		Notify: []runlet.Notification{note(runlet.EventResolved, "a")}})
	equal(t, "resolved key", got.Notify[0].Key, runlet.NotificationKey(ws.ID, a.ID, runlet.EventResolved, 0, "a"))
	stored, err = e.Alert(e.ctx, ws.ID, a.ID)
	ok(t, err)
	if stored.Open() || !stored.Resolved.Equal(resolved) || stored.Recovery != "back to 6 °C" || !stored.Notified.Equal(reminded2) {
		t.Fatalf("resolved alert %+v: want Resolved now, its recovery, Notified kept", stored)
	}
	open, err = e.OpenAlerts(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "open alerts after resolving", len(open), 0)
	m, _ = e.change(t, ws.ID, key, store.AlertChange{})
	if m.Open != nil || !m.Notified.Equal(reminded2) {
		t.Fatalf("mark after resolving %+v: want no open alert, Notified kept", m)
	}

	// With none open: resolving, reminding, updating and notifying are
	// refused.
	for name, c := range map[string]store.AlertChange{
		"resolve": {Resolve: true},
		"remind":  {Remind: true},
		"update":  {Update: alertOf(3)},
		"notify":  {Notify: []runlet.Notification{note(runlet.EventOpened, "a")}},
		"kind":    {Open: &runlet.Alert{Kind: "weather"}},
	} {
		_, err := e.ChangeAlert(e.ctx, ws.ID, key, func(store.AlertMark) (store.AlertChange, error) { return c, nil })
		if runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("ChangeAlert to %s with no open alert: %v, want EINVALID", name, err)
		}
	}

	// A second alert of the key, not told (the period had not passed):
	// the mark's Notified stays, the alert's is zero.
	_, got = e.change(t, ws.ID, key, store.AlertChange{Open: alertOf(9)})
	if got.Open.ID == a.ID || !got.Open.Notified.IsZero() {
		t.Fatalf("second alert %+v: want a new ID, never notified", got.Open)
	}
	m, _ = e.change(t, ws.ID, key, store.AlertChange{})
	equal(t, "Notified after an untold alert", m.Notified, reminded2)

	_, err = e.ChangeAlert(e.ctx, "nowhere", key, func(store.AlertMark) (store.AlertChange, error) { return store.AlertChange{}, nil })
	code(t, err, runlet.ENOTFOUND)

	// Render names the new alert's ID and the key in what is sent.
	_, got = e.change(t, ws.ID, runlet.SilenceKey(7), store.AlertChange{Open: &runlet.Alert{Kind: runlet.AlertSilence, Sensor: 7},
		Notify: []runlet.Notification{note(runlet.EventOpened, "a")},
		Render: func(a runlet.Alert, n *runlet.Notification) {
			n.Body = fmt.Sprintf("alert %d (%s)", a.ID, a.Key)
			n.Payload = fmt.Sprintf(`{"key":%q}`, n.Key)
			n.Alert, n.Key = -1, "changed" // ignored
		}})
	ns, err := e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{Alert: got.Open.ID})
	ok(t, err)
	wantKey := runlet.NotificationKey(ws.ID, got.Open.ID, runlet.EventOpened, 0, "a")
	equal(t, "a rendered notification", []any{ns[0].Body, ns[0].Payload, ns[0].Key, ns[0].Alert},
		[]any{fmt.Sprintf("alert %d (%s)", got.Open.ID, runlet.SilenceKey(7)), fmt.Sprintf(`{"key":%q}`, wantKey), wantKey, got.Open.ID})
	equal(t, "the rendered notification returned", got.Notify, ns)
}

// testAlertRace: processes deciding at once on one key see each other's
// decisions: of many "open if none is open", exactly one opens.
func testAlertRace(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	key := runlet.DeviceKey("pi-3", runlet.AlertOffline)
	const deciders = 24
	errs := make([]error, deciders)
	var wg sync.WaitGroup
	for i := range deciders {
		wg.Go(func() {
			_, errs[i] = e.ChangeAlert(e.ctx, ws.ID, key, func(m store.AlertMark) (store.AlertChange, error) {
				if m.Open != nil {
					return store.AlertChange{}, nil
				}
				return store.AlertChange{Open: &runlet.Alert{Kind: runlet.AlertOffline, Device: "pi-3", Summary: "offline"}, Notified: true,
					Notify: []runlet.Notification{note(runlet.EventOpened, fmt.Sprint("ch", i))}}, nil
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		ok(t, err)
	}
	as, err := e.ListAlerts(e.ctx, ws.ID, store.AlertFilter{})
	ok(t, err)
	equal(t, "alerts opened by racing deciders", len(as), 1)
	ns, err := e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{})
	ok(t, err)
	equal(t, "notifications queued by racing deciders", len(ns), 1)
}

// testAlertMarks: HeardSensors, DueMarks and NextDue, and how alerts and
// Unwatch take a mark out of them.
func testAlertMarks(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	_, none, err := e.NextDue(e.ctx)
	ok(t, err)
	equal(t, "NextDue with no marks", none, false)
	now := e.clock.Now()
	heard := func(ws string, sensor int64, device string, due time.Duration) store.SensorHeard {
		return store.SensorHeard{Key: runlet.SilenceKey(sensor), Sensor: sensor, Device: device, Heard: now, Due: now.Add(due)}
	}
	ok(t, e.HeardSensors(e.ctx, ws.ID, []store.SensorHeard{heard(ws.ID, 1, "pi-1", time.Hour), heard(ws.ID, 2, "pi-1", 2*time.Hour)}))
	ok(t, e.HeardSensors(e.ctx, other.ID, []store.SensorHeard{heard(other.ID, 3, "pi-9", 30*time.Minute)}))
	ok(t, e.HeardSensors(e.ctx, ws.ID, nil))
	code(t, e.HeardSensors(e.ctx, "nowhere", []store.SensorHeard{heard("", 4, "pi", time.Hour)}), runlet.ENOTFOUND)

	due, has, err := e.NextDue(e.ctx)
	ok(t, err)
	equal(t, "NextDue", []any{has, due}, []any{true, now.Add(30 * time.Minute)})
	ms, err := e.DueMarks(e.ctx, now.Add(59*time.Minute), 0)
	ok(t, err)
	equal(t, "marks due in 59 minutes", ms, []store.AlertMark{{Workspace: other.ID, Key: runlet.SilenceKey(3), Sensor: 3, Device: "pi-9",
		Heard: now, Due: now.Add(30 * time.Minute)}})
	ms, err = e.DueMarks(e.ctx, now.Add(3*time.Hour), 0)
	ok(t, err)
	equal(t, "marks due in 3 hours, earliest first", len(ms), 3)
	equal(t, "their keys", []string{ms[0].Key, ms[1].Key, ms[2].Key}, []string{runlet.SilenceKey(3), runlet.SilenceKey(1), runlet.SilenceKey(2)})
	ms, err = e.DueMarks(e.ctx, now.Add(3*time.Hour), 1)
	ok(t, err)
	equal(t, "marks due, limited", len(ms), 1)
	_, err = e.DueMarks(e.ctx, now, -1)
	code(t, err, runlet.EINVALID)

	// A silence alert opens for sensor 3: its mark is not due any more,
	// and hearing it moves Due without touching the alert.
	_, got := e.change(t, other.ID, runlet.SilenceKey(3), store.AlertChange{Notified: true,
		Open: &runlet.Alert{Kind: runlet.AlertSilence, Sensor: 3, Device: "pi-9", At: now.Add(30 * time.Minute), Value: 1800, Limit: 1800}})
	due, _, err = e.NextDue(e.ctx)
	ok(t, err)
	equal(t, "NextDue with sensor 3 silent", due, now.Add(time.Hour))
	e.clock.Advance(time.Hour)
	later := e.clock.Now()
	ok(t, e.HeardSensors(e.ctx, other.ID, []store.SensorHeard{{Key: runlet.SilenceKey(3), Sensor: 3, Device: "pi-8", Heard: later, Due: later.Add(time.Hour)}}))
	m, _ := e.change(t, other.ID, runlet.SilenceKey(3), store.AlertChange{})
	if m.Open == nil || m.Open.ID != got.Open.ID || !m.Notified.Equal(now) || m.Device != "pi-8" || !m.Heard.Equal(later) || !m.Due.Equal(later.Add(time.Hour)) {
		t.Fatalf("mark heard with an open alert %+v: want the alert still open, Notified kept, Device, Heard and Due moved", m)
	}
	ms, err = e.DueMarks(e.ctx, later.Add(2*time.Hour), 0)
	ok(t, err)
	equal(t, "due marks exclude those with an open alert", len(ms), 2)
	// Resolved, it is watched again.
	e.change(t, other.ID, runlet.SilenceKey(3), store.AlertChange{Resolve: true, Recovery: "heard again"})
	ms, err = e.DueMarks(e.ctx, later.Add(2*time.Hour), 0)
	ok(t, err)
	equal(t, "due marks after resolving", len(ms), 3)

	// A reading heard earlier than the mark's does not move it back.
	ok(t, e.HeardSensors(e.ctx, other.ID, []store.SensorHeard{{Key: runlet.SilenceKey(3), Sensor: 3, Device: "old", Heard: now, Due: now.Add(time.Minute)}}))
	m, _ = e.change(t, other.ID, runlet.SilenceKey(3), store.AlertChange{})
	equal(t, "mark after a late batch", []any{m.Device, m.Due}, []any{"pi-8", later.Add(time.Hour)})
	// A key heard twice in one call keeps the latest.
	ok(t, e.HeardSensors(e.ctx, ws.ID, []store.SensorHeard{
		{Key: runlet.SilenceKey(1), Sensor: 1, Device: "new", Heard: later, Due: later.Add(time.Hour)},
		{Key: runlet.SilenceKey(1), Sensor: 1, Device: "older", Heard: now, Due: now.Add(time.Hour)},
	}))
	m, _ = e.change(t, ws.ID, runlet.SilenceKey(1), store.AlertChange{})
	equal(t, "mark heard twice in one call", m.Device, "new")

	// Unwatch: not due until heard again.
	e.change(t, ws.ID, runlet.SilenceKey(2), store.AlertChange{Unwatch: true})
	ms, err = e.DueMarks(e.ctx, later.Add(24*time.Hour), 0)
	ok(t, err)
	for _, m := range ms {
		if m.Key == runlet.SilenceKey(2) && m.Workspace == ws.ID {
			t.Fatalf("an unwatched mark is due: %+v", m)
		}
	}
	ok(t, e.HeardSensors(e.ctx, ws.ID, []store.SensorHeard{{Key: runlet.SilenceKey(2), Sensor: 2, Heard: later, Due: later.Add(time.Hour)}}))
	ms, err = e.DueMarks(e.ctx, later.Add(24*time.Hour), 0)
	ok(t, err)
	equal(t, "due marks once heard again", len(ms), 3)

	// Many sensors in one call.
	var many []store.SensorHeard
	for i := range 250 {
		many = append(many, store.SensorHeard{Key: runlet.SilenceKey(int64(1000 + i)), Sensor: int64(1000 + i), Device: "pi", Heard: later, Due: later.Add(time.Minute)})
	}
	ok(t, e.HeardSensors(e.ctx, ws.ID, many))
	ms, err = e.DueMarks(e.ctx, later.Add(time.Minute), store.MaxLimit)
	ok(t, err)
	equal(t, "marks of a large call", len(ms), 250)
}

// queueNotes opens an alert of key in ws told through n channels and
// returns the notifications.
func (e *env) queueNotes(t *testing.T, ws, key string, n int) []runlet.Notification {
	t.Helper()
	var ns []runlet.Notification
	for i := range n {
		ns = append(ns, note(runlet.EventOpened, fmt.Sprint("ch", i)))
	}
	_, got := e.change(t, ws, key, store.AlertChange{Open: &runlet.Alert{Kind: runlet.AlertOutbox, Device: key}, Notified: true, Notify: ns})
	return got.Notify
}

// testOutbox: claims, their expiry, FinishNotification and
// ListNotifications.
func testOutbox(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	queued := e.queueNotes(t, ws.ID, "device/a/outbox", 3)
	e.clock.Advance(time.Second)
	queued = append(queued, e.queueNotes(t, ws.ID, "device/b/outbox", 1)...)
	until := e.clock.Now().Add(time.Minute)

	got, err := e.ClaimNotifications(e.ctx, "s1", until, 2)
	ok(t, err)
	equal(t, "first claim, oldest first", ids(got), ids(queued[:2]))
	equal(t, "a claimed notification", got[0], queued[0])
	got, err = e.ClaimNotifications(e.ctx, "s2", until, 0)
	ok(t, err)
	equal(t, "second claim takes the rest", ids(got), ids(queued[2:]))
	got, err = e.ClaimNotifications(e.ctx, "s3", until, 0)
	ok(t, err)
	equal(t, "third claim", len(got), 0)
	_, err = e.ClaimNotifications(e.ctx, "", until, 0)
	code(t, err, runlet.EINVALID)
	_, err = e.ClaimNotifications(e.ctx, "s3", until, -1)
	code(t, err, runlet.EINVALID)

	// Only the claimer finishes.
	_, err = e.FinishNotification(e.ctx, queued[0].ID, "s2", store.NotificationResult{State: runlet.NotificationSent})
	code(t, err, runlet.ECONFLICT)
	_, err = e.FinishNotification(e.ctx, 999999, "s1", store.NotificationResult{State: runlet.NotificationSent})
	code(t, err, runlet.ENOTFOUND)
	_, err = e.FinishNotification(e.ctx, queued[0].ID, "s1", store.NotificationResult{State: "lost"})
	code(t, err, runlet.EINVALID)
	e.clock.Advance(time.Second)
	sent, err := e.FinishNotification(e.ctx, queued[0].ID, "s1", store.NotificationResult{State: runlet.NotificationSent})
	ok(t, err)
	if sent.State != runlet.NotificationSent || sent.Attempts != 1 || !sent.Sent.Equal(e.clock.Now()) {
		t.Fatalf("sent notification %+v: want sent, one attempt, Sent now", sent)
	}
	_, err = e.FinishNotification(e.ctx, queued[0].ID, "s1", store.NotificationResult{State: runlet.NotificationSent})
	code(t, err, runlet.ECONFLICT) // finished already

	// Pending again: not claimable before Next.
	retry := e.clock.Now().Add(10 * time.Second)
	again, err := e.FinishNotification(e.ctx, queued[1].ID, "s1", store.NotificationResult{State: runlet.NotificationPending, Error: "timeout", Next: retry})
	ok(t, err)
	equal(t, "retried notification", []any{again.State, again.Attempts, again.Error, again.Next}, []any{runlet.NotificationPending, 1, "timeout", retry})
	got, err = e.ClaimNotifications(e.ctx, "s3", e.clock.Now().Add(time.Minute), 0)
	ok(t, err)
	equal(t, "claim before the retry is due", len(got), 0)
	e.clock.Advance(10 * time.Second)
	got, err = e.ClaimNotifications(e.ctx, "s3", e.clock.Now().Add(time.Minute), 0)
	ok(t, err)
	equal(t, "claim of the retry", ids(got), ids(queued[1:2]))
	failed, err := e.FinishNotification(e.ctx, queued[1].ID, "s3", store.NotificationResult{State: runlet.NotificationFailed, Error: "550 no such user"})
	ok(t, err)
	equal(t, "failed notification", []any{failed.State, failed.Attempts, failed.Error}, []any{runlet.NotificationFailed, 2, "550 no such user"})

	// s2 died holding two: they are taken over when its claim runs out,
	// and s2 can no longer finish them.
	e.clock.Advance(time.Minute)
	got, err = e.ClaimNotifications(e.ctx, "s4", e.clock.Now().Add(time.Minute), 0)
	ok(t, err)
	equal(t, "claims taken over", ids(got), ids(queued[2:]))
	_, err = e.FinishNotification(e.ctx, queued[2].ID, "s2", store.NotificationResult{State: runlet.NotificationSent})
	code(t, err, runlet.ECONFLICT)
	_, err = e.FinishNotification(e.ctx, queued[2].ID, "s4", store.NotificationResult{State: runlet.NotificationSent})
	ok(t, err)

	// Listing: newest first, by state and alert, paged.
	all, err := e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{})
	ok(t, err)
	equal(t, "ListNotifications", ids(all), []int64{queued[3].ID, queued[2].ID, queued[1].ID, queued[0].ID})
	l, err := e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{State: runlet.NotificationSent})
	ok(t, err)
	equal(t, "sent notifications", ids(l), []int64{queued[2].ID, queued[0].ID})
	l, err = e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{Alert: queued[3].Alert})
	ok(t, err)
	equal(t, "an alert's notifications", ids(l), []int64{queued[3].ID})
	l, err = e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{Before: queued[2].ID, Limit: 1})
	ok(t, err)
	equal(t, "a page of notifications", ids(l), []int64{queued[1].ID})
	_, err = e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{State: "lost"})
	code(t, err, runlet.EINVALID)
	_, err = e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{Limit: -1})
	code(t, err, runlet.EINVALID)
	other := e.workspace(t, "other")
	l, err = e.ListNotifications(e.ctx, other.ID, store.NotificationFilter{})
	ok(t, err)
	equal(t, "another workspace's notifications", len(l), 0)
}

func ids(ns []runlet.Notification) []int64 {
	out := []int64{}
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

// testClaimRace: claimers at once never get the same notification, and
// between them they get all.
func testClaimRace(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	const alerts, per, claimers = 10, 6, 8
	for i := range alerts {
		e.queueNotes(t, ws.ID, fmt.Sprint("device/d", i, "/outbox"), per)
	}
	until := e.clock.Now().Add(time.Minute)
	got := make([][]runlet.Notification, claimers)
	errs := make([]error, claimers)
	var wg sync.WaitGroup
	for i := range claimers {
		wg.Go(func() {
			for {
				ns, err := e.ClaimNotifications(e.ctx, fmt.Sprint("holder-", i), until, 3)
				if err != nil || len(ns) == 0 {
					errs[i] = err
					return
				}
				got[i] = append(got[i], ns...)
			}
		})
	}
	wg.Wait()
	seen := map[int64]int{}
	for i := range claimers {
		ok(t, errs[i])
		for _, n := range got[i] {
			if j, dup := seen[n.ID]; dup {
				t.Fatalf("notification %d claimed by holder-%d and holder-%d", n.ID, j, i)
			}
			seen[n.ID] = i
		}
	}
	equal(t, "notifications claimed", len(seen), alerts*per)
}

// testListAlerts: filters and pages.
func testListAlerts(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	var opened []runlet.Alert
	open := func(key string, a runlet.Alert) {
		_, got := e.change(t, ws.ID, key, store.AlertChange{Open: &a})
		opened = append(opened, *got.Open)
	}
	open(runlet.ThresholdKey(1, runlet.MetricTemp), runlet.Alert{Kind: runlet.AlertThreshold, Sensor: 1, Device: "pi-1", Metric: runlet.MetricTemp})
	open(runlet.SilenceKey(2), runlet.Alert{Kind: runlet.AlertSilence, Sensor: 2, Device: "pi-1"})
	open(runlet.DeviceKey("pi-1", runlet.AlertOffline), runlet.Alert{Kind: runlet.AlertOffline, Device: "pi-1"})
	open(runlet.DeviceKey("pi-2", runlet.AlertRefused), runlet.Alert{Kind: runlet.AlertRefused, Device: "pi-2"})
	e.change(t, ws.ID, runlet.SilenceKey(2), store.AlertChange{Resolve: true})
	alertIDs := func(as []runlet.Alert) []int64 {
		out := []int64{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	for name, c := range map[string]struct {
		f    store.AlertFilter
		want []int
	}{
		"all":         {store.AlertFilter{}, []int{3, 2, 1, 0}},
		"open":        {store.AlertFilter{Open: true}, []int{3, 2, 0}},
		"kind":        {store.AlertFilter{Kind: runlet.AlertSilence}, []int{1}},
		"sensor":      {store.AlertFilter{Sensor: 1}, []int{0}},
		"device":      {store.AlertFilter{Device: "pi-1"}, []int{2, 1, 0}},
		"open device": {store.AlertFilter{Device: "pi-1", Open: true}, []int{2, 0}},
		"page":        {store.AlertFilter{Before: opened[2].ID, Limit: 1}, []int{1}},
	} {
		as, err := e.ListAlerts(e.ctx, ws.ID, c.f)
		ok(t, err)
		want := []int64{}
		for _, i := range c.want {
			want = append(want, opened[i].ID)
		}
		equal(t, "ListAlerts "+name, alertIDs(as), want)
	}
	_, err := e.ListAlerts(e.ctx, ws.ID, store.AlertFilter{Kind: "weather"})
	code(t, err, runlet.EINVALID)
	_, err = e.ListAlerts(e.ctx, ws.ID, store.AlertFilter{Limit: -1})
	code(t, err, runlet.EINVALID)
	open2, err := e.OpenAlerts(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "OpenAlerts by ID", alertIDs(open2), []int64{opened[0].ID, opened[2].ID, opened[3].ID})
}

// testServerKey: the first key stored is everyone's.
func testServerKey(t *testing.T, e *env) {
	const callers = 8
	keys := make([][]byte, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			keys[i], errs[i] = e.ServerKey(e.ctx, "admin-jwt", func() ([]byte, error) { return []byte(fmt.Sprint("key-", i)), nil })
		})
	}
	wg.Wait()
	for i := range callers {
		ok(t, errs[i])
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("ServerKey gave %q and %q", keys[0], keys[i])
		}
	}
	again, err := e.ServerKey(e.ctx, "admin-jwt", func() ([]byte, error) { return nil, errors.New("not called") })
	ok(t, err)
	equal(t, "the stored key", again, keys[0])
	other, err := e.ServerKey(e.ctx, "other", func() ([]byte, error) { return []byte("o"), nil })
	ok(t, err)
	equal(t, "another key", other, []byte("o"))
	_, err = e.ServerKey(e.ctx, "failing", func() ([]byte, error) { return nil, errors.New("no entropy") })
	if err == nil {
		t.Fatal("ServerKey with a failing gen: no error")
	}
}

// testSensorRules: a sensor's rules round trip through AddSensor,
// UpdateSensor and the reads; DeleteSensor forgets its alert keys and
// resolves its open alerts.
func testSensorRules(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	rules := runlet.SensorRules{Thresholds: runlet.Thresholds{TempMin: f64(-1.5), TempMax: f64(8)}, Silence: runlet.Duration(20 * time.Minute)}
	s := runlet.Sensor{ID: 7, Workspace: ws.ID, Name: "fridge", Rules: rules}
	ok(t, e.AddSensor(e.ctx, &s, secret1))
	got, err := e.Sensor(e.ctx, ws.ID, 7)
	ok(t, err)
	equal(t, "rules added", got.Rules, rules)
	list, err := e.ListSensors(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "rules listed", list[0].Rules, rules)
	got, err = e.CheckSensor(e.ctx, 7, secret1)
	ok(t, err)
	equal(t, "rules checked", got.Rules, rules)

	s.Rules = runlet.SensorRules{Thresholds: runlet.Thresholds{BattMin: f64(15), BattMax: f64(100)}}
	got, err = e.UpdateSensor(e.ctx, s, "")
	ok(t, err)
	equal(t, "rules updated", got.Rules, s.Rules)
	got, err = e.Sensor(e.ctx, ws.ID, 7)
	ok(t, err)
	equal(t, "rules read after the update", got.Rules, s.Rules)

	bad := s
	bad.Rules = runlet.SensorRules{Thresholds: runlet.Thresholds{TempMin: f64(9), TempMax: f64(8)}}
	_, err = e.UpdateSensor(e.ctx, bad, "")
	code(t, err, runlet.EINVALID)
	bad.Rules = runlet.SensorRules{Silence: runlet.Duration(time.Millisecond)}
	_, err = e.UpdateSensor(e.ctx, bad, "")
	code(t, err, runlet.EINVALID)
	bad.ID = 8
	code(t, e.AddSensor(e.ctx, &bad, secret1), runlet.EINVALID)

	// Deleting the sensor: its marks go, its open alerts are resolved.
	now := e.clock.Now()
	ok(t, e.HeardSensors(e.ctx, ws.ID, []store.SensorHeard{{Key: runlet.SilenceKey(7), Sensor: 7, Heard: now, Due: now.Add(time.Hour)}}))
	_, opened := e.change(t, ws.ID, runlet.ThresholdKey(7, runlet.MetricTemp), store.AlertChange{Open: alertOf(10), Notified: true})
	ok(t, e.DeleteSensor(e.ctx, ws.ID, 7))
	ms, err := e.DueMarks(e.ctx, now.Add(24*time.Hour), 0)
	ok(t, err)
	equal(t, "due marks after deleting the sensor", len(ms), 0)
	a, err := e.Alert(e.ctx, ws.ID, opened.Open.ID)
	ok(t, err)
	if a.Open() {
		t.Fatalf("alert of a deleted sensor still open: %+v", a)
	}
	m, _ := e.change(t, ws.ID, runlet.ThresholdKey(7, runlet.MetricTemp), store.AlertChange{})
	equal(t, "the deleted sensor's mark", m, store.AlertMark{Workspace: ws.ID, Key: runlet.ThresholdKey(7, runlet.MetricTemp)})
}

// testQueueNotification: a channel's test is queued outside any alert,
// claimed and listed like the others.
func testQueueNotification(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	n := runlet.Notification{Workspace: ws.ID, Event: runlet.EventTest, Channel: "c1", Kind: runlet.ChannelWebhook,
		Target: "https://hooks.example.com/", Key: "test-c1-1", Subject: "test", Body: "a test", Payload: `{"event":"test"}`}
	ok(t, e.QueueNotification(e.ctx, &n))
	if n.ID == 0 || n.State != runlet.NotificationPending || !n.Next.Equal(e.clock.Now()) || n.Alert != 0 {
		t.Fatalf("queued test %+v: want its ID, pending, due now, no alert", n)
	}
	dup := n
	code(t, e.QueueNotification(e.ctx, &dup), runlet.ECONFLICT)
	bad := n
	bad.Key, bad.Event = "test-c1-2", runlet.EventOpened
	code(t, e.QueueNotification(e.ctx, &bad), runlet.EINVALID)
	bad = n
	bad.Key, bad.Workspace = "test-c1-3", "nope"
	code(t, e.QueueNotification(e.ctx, &bad), runlet.ENOTFOUND)

	got, err := e.ClaimNotifications(e.ctx, "s1", e.clock.Now().Add(time.Minute), 0)
	ok(t, err)
	equal(t, "claimed test", got, []runlet.Notification{n})
	list, err := e.ListNotifications(e.ctx, ws.ID, store.NotificationFilter{})
	ok(t, err)
	equal(t, "listed test", list, []runlet.Notification{n})
}
