package store

import (
	"context"
	"time"

	"github.com/runlet/runlet"
)

// Alerts stores alerting's durable state (R-TEL-3 to R-TEL-5): each
// workspace's alert settings and notification providers, the channels,
// the alerts, the state of each alert key (AlertMark) and the outbox of
// notifications. Every decision to open, remind of or resolve an alert is
// taken in ChangeAlert's transaction, with the key's state locked and the
// notifications it queues written in the same transaction, so that
// neither a restart nor a second server process tells anyone twice.
type Alerts interface {
	// AlertSettings returns the workspace's alert settings: the zero
	// value when it never set them. ENOTFOUND: no such workspace.
	AlertSettings(ctx context.Context, workspace string) (runlet.AlertSettings, error)
	// SetAlertSettings stores them. EINVALID: s.Check fails. ENOTFOUND.
	SetAlertSettings(ctx context.Context, workspace string, s runlet.AlertSettings) error
	// NotifySettings returns the workspace's notification providers,
	// secrets included (the notifier needs them; the API masks them).
	// The zero value when never set. ENOTFOUND.
	NotifySettings(ctx context.Context, workspace string) (NotifySettings, error)
	// SetNotifySettings stores them. ENOTFOUND.
	SetNotifySettings(ctx context.Context, workspace string, s NotifySettings) error

	// AddChannel stores c with its secret (a webhook's signing key; may be
	// empty), setting c.ID when empty, c.Created and c.HasSecret.
	// EINVALID: an unknown kind, no target. ENOTFOUND: no such workspace
	// or user. ECONFLICT: the ID is taken.
	AddChannel(ctx context.Context, c *runlet.Channel, secret string) error
	// Channels returns the workspace's channels, by creation.
	Channels(ctx context.Context, workspace string) ([]runlet.Channel, error)
	// Channel returns one channel and its secret. ENOTFOUND.
	Channel(ctx context.Context, workspace, id string) (runlet.Channel, string, error)
	// UpdateChannel stores c's target, routes and disabled flag, and a
	// new secret when secret is not nil. EINVALID, ENOTFOUND.
	UpdateChannel(ctx context.Context, c runlet.Channel, secret *string) (runlet.Channel, error)
	// DeleteChannel removes the channel; its notifications stay, with
	// their target. ENOTFOUND.
	DeleteChannel(ctx context.Context, workspace, id string) error

	// ChangeAlert runs decide in a write transaction holding the key's
	// mark locked (created empty when the key has none), and applies
	// what decide returns in that transaction: decide sees the state as
	// committed, so of two processes deciding on one key at once the
	// second sees the first's decision. decide may be called more than
	// once (a retried transaction) and must not act outside the store.
	// An error from decide rolls back and is returned. ChangeAlert
	// returns the change applied, with the alert's and notifications'
	// IDs set. EINVALID: a change that opens an alert while one is open,
	// or resolves or reminds with none open.
	ChangeAlert(ctx context.Context, workspace, key string, decide func(m AlertMark) (AlertChange, error)) (AlertChange, error)
	// HeardSensors records that the server took readings of sensors:
	// each mark's Heard, Device, Due and Sensor are set (the mark is
	// created when missing, keyed by h.Key), nothing else changes.
	HeardSensors(ctx context.Context, workspace string, heard []SensorHeard) error
	// DueMarks returns, across workspaces, the marks whose Due is at or
	// before now and which have no open alert, earliest first, at most
	// limit (0: DefaultLimit).
	DueMarks(ctx context.Context, now time.Time, limit int) ([]AlertMark, error)
	// NextDue returns the earliest Due of a mark without an open alert;
	// ok is false when there is none.
	NextDue(ctx context.Context) (due time.Time, ok bool, err error)
	// OpenAlerts returns the workspace's open alerts, by ID.
	OpenAlerts(ctx context.Context, workspace string) ([]runlet.Alert, error)
	// Alert returns one alert. ENOTFOUND.
	Alert(ctx context.Context, workspace string, id int64) (runlet.Alert, error)
	// ListAlerts returns the workspace's alerts that match f, newest
	// first. EINVALID: a negative limit, an unknown kind.
	ListAlerts(ctx context.Context, workspace string, f AlertFilter) ([]runlet.Alert, error)

	// ClaimNotifications takes, across workspaces, up to limit pending
	// notifications whose Next is at or before Now and which no other
	// holder claims until a time after Now, oldest first, and claims
	// them for holder until until: another sender takes them only when
	// the claim runs out (its holder died mid-send).
	ClaimNotifications(ctx context.Context, holder string, until time.Time, limit int) ([]runlet.Notification, error)
	// FinishNotification records an attempt of a notification holder
	// claims: Attempts grows by one; State becomes r.State (sent, failed,
	// or pending again to be retried at r.Next), Error r.Error, Sent Now
	// when sent; the claim ends. ENOTFOUND. ECONFLICT: holder no longer
	// claims it or it is not pending.
	FinishNotification(ctx context.Context, id int64, holder string, r NotificationResult) (runlet.Notification, error)
	// QueueNotification queues n, a channel's test (Event
	// runlet.EventTest, Alert 0), pending and due at Now, setting its ID,
	// State, Created and Next. EINVALID: another event, no workspace,
	// channel, kind or key. ECONFLICT: the key is taken. ENOTFOUND: no
	// such workspace.
	QueueNotification(ctx context.Context, n *runlet.Notification) error
	// ListNotifications returns the workspace's notifications that match
	// f, newest first. EINVALID: a negative limit, an unknown state.
	ListNotifications(ctx context.Context, workspace string, f NotificationFilter) ([]runlet.Notification, error)
}

// AlertMark is the durable state of one alert key: its open alert, when
// people were last told of it, and, for a key that watches a sensor's
// silence, when the sensor was last heard and when it counts as silent.
type AlertMark struct {
	Workspace string
	Key       string
	// Open is the key's open alert, nil when none.
	Open *runlet.Alert
	// Notified is when people were last told of an alert of the key
	// (opened or reminded; recoveries do not count); zero: never.
	Notified time.Time
	// Evaluated is the time of the newest reading decided on for the key
	// (AlertChange.Evaluated): a reading not newer is decided already,
	// so that a batch delivered again (one that went out of range and
	// back) decides nothing twice. Zero: none.
	Evaluated time.Time
	// Sensor, Device, Heard and Due are set by HeardSensors: the sensor
	// the key watches, the device that relayed its last reading, when
	// the server took it, and when the sensor counts as silent. A zero
	// Due is not watched.
	Sensor int64
	Device string
	Heard  time.Time
	Due    time.Time
}

// AlertChange is what ChangeAlert's decide asks for; the zero value
// changes nothing.
type AlertChange struct {
	// Open opens this alert (Workspace and Key are the mark's; ID and
	// Opened are set by the store). With a mark that has an open alert,
	// EINVALID.
	Open *runlet.Alert
	// Resolve resolves the open alert at Now with Recovery as its
	// recovery sentence.
	Resolve  bool
	Recovery string
	// Remind counts a reminder on the open alert.
	Remind bool
	// Update, when set, replaces the open alert's Value, Limit, At and
	// Summary (the latest breach), without opening another.
	Update *runlet.Alert
	// Notify queues these notifications in the outbox, pending, due at
	// Now, with Alert set to the alert opened, reminded or resolved, and
	// their Key as given (runlet.NotificationKey).
	Notify []runlet.Notification
	// Render, when set, is called on each notification of Notify once
	// the alert's ID and the notification's Key are known, before it is
	// stored, so that its Subject, Body and Payload may name them (an
	// alert being opened has no ID when decide runs). a is the alert as
	// the change leaves it. Render must not act outside the store; what
	// it sets other than Subject, Body and Payload is ignored.
	Render func(a runlet.Alert, n *runlet.Notification)
	// Notified moves the mark's Notified (and the alert's) to Now: people
	// were told of the key.
	Notified bool
	// Unwatch clears the mark's Due: the sensor is no longer watched for
	// silence (deleted or inactive) until it is heard again.
	Unwatch bool
	// Evaluated, when later than the mark's, becomes its Evaluated: the
	// reading the change decided on.
	Evaluated time.Time
}

// SensorHeard is one sensor taken by the ingest, for HeardSensors.
type SensorHeard struct {
	Key    string // runlet.SilenceKey(Sensor)
	Sensor int64
	Device string
	Heard  time.Time
	Due    time.Time
}

// AlertFilter selects alerts for ListAlerts; empty fields match all.
type AlertFilter struct {
	Kind   runlet.AlertKind
	Sensor int64
	Device string
	// Open: only open alerts when true.
	Open bool
	// Before: alerts with an ID below it (the next page); 0: from the
	// newest.
	Before int64
	Limit  int // 0: DefaultLimit; at most MaxLimit
}

// NotificationFilter selects notifications for ListNotifications.
type NotificationFilter struct {
	Alert  int64
	State  runlet.NotificationState
	Before int64
	Limit  int
}

// NotificationResult is the outcome of one attempt to send.
type NotificationResult struct {
	State runlet.NotificationState
	Error string
	// Next is when to try again, for State pending.
	Next time.Time
}

// NotifySettings are a workspace's notification providers: the SMTP
// server of its e-mail channels and the HTTP SMS provider of its SMS
// channels. Secrets are kept as given (the notifier must present them)
// and never returned by the API.
type NotifySettings struct {
	SMTP SMTPSettings `json:"smtp"`
	SMS  SMSSettings  `json:"sms"`
}

// SMTPSettings reach an SMTP server.
type SMTPSettings struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"` // 0: 587 with starttls, 465 with tls, 25 with none
	// TLS is "starttls" (the default), "tls" (implicit, port 465) or
	// "none" (loopback and tests only).
	TLS      string `json:"tls,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	From     string `json:"from,omitempty"`
	// InsecureSkipVerify skips checking the server's certificate.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// SMSSettings describe an HTTP SMS provider: a request to URL with
// Method (POST when empty), the Body rendered from a text/template with
// .To, .Text, .Subject and .Key (the idempotency key), the given
// ContentType and Headers, and HTTP Basic auth when Username is set. A
// 2xx answer is sent. Twilio's API and a local gateway both fit.
type SMSSettings struct {
	URL         string            `json:"url,omitempty"`
	Method      string            `json:"method,omitempty"`
	Body        string            `json:"body,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Username    string            `json:"username,omitempty"`
	Password    string            `json:"password,omitempty"`
}

// Keys stores the server's own signing keys (the admin API's Ed25519
// key), so that every server process on one database signs and checks
// with the same.
type Keys interface {
	// ServerKey returns the key called name, storing gen() first when
	// there is none: of two processes asking at once, both get the one
	// stored first.
	ServerKey(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
}
