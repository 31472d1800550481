package api

import (
	"github.com/runlet/runlet"
)

// Alerting (issue 14, R-TEL-3 to R-TEL-5): the alerts and the
// notifications sent of them, the channels that carry them, and the
// workspace's alert settings (runlet.AlertSettings, as they are) and
// notification providers (NotifySettings, without their secrets).

// AlertQuery selects alerts (GET /alerts): only open ones when Open, of
// one kind, sensor or device when set. Before is the Next of the page
// before (0 for the newest); Limit 0 means 50, at most 1000.
type AlertQuery struct {
	Open   bool
	Kind   runlet.AlertKind
	Sensor int64
	Device string
	Before int64
	Limit  int
}

// Alerts is a page of alerts, newest first, and the cursor of the page
// after it (0 for the last page): pass it as before.
type Alerts struct {
	Alerts []runlet.Alert `json:"alerts"`
	Next   int64          `json:"next,omitempty"`
}

// AlertDetail is the answer of GET /alerts/{id}: the alert and every
// notification sent (or being sent) of it, newest first.
type AlertDetail struct {
	Alert         runlet.Alert          `json:"alert"`
	Notifications []runlet.Notification `json:"notifications"`
}

// NotificationQuery selects notifications (GET /notifications): of one
// state or alert when set; Before and Limit as in AlertQuery.
type NotificationQuery struct {
	State  runlet.NotificationState
	Alert  int64
	Before int64
	Limit  int
}

// Notifications is a page of notifications, newest first, and the cursor
// of the page after it (0 for the last page).
type Notifications struct {
	Notifications []runlet.Notification `json:"notifications"`
	Next          int64                 `json:"next,omitempty"`
}

// The values of NewChannel.User besides a user's id or e-mail address.
const (
	// ChannelOfWorkspace: a channel of the workspace, which carries every
	// alert of its routes (admins only).
	ChannelOfWorkspace = ""
	// ChannelOfCaller: a channel of the caller, which carries what is
	// routed to the caller.
	ChannelOfCaller = "me"
)

// NewChannel adds a channel (POST /channels). Target is an e-mail
// address, an http(s) URL or a phone number in E.164 form (+441234567890)
// for the kinds email, webhook and sms. User is "" for a channel of the
// workspace, "me" for the caller's own, or another member's id or e-mail
// address (admins only). Routes limit a channel of the workspace to those
// routes (none: every route). Secret, for webhooks only, signs each
// request; it is never answered.
type NewChannel struct {
	Kind     runlet.ChannelKind `json:"kind"`
	Target   string             `json:"target"`
	User     string             `json:"user,omitempty"`
	Routes   []runlet.Route     `json:"routes,omitempty"`
	Secret   string             `json:"secret,omitempty"`
	Disabled bool               `json:"disabled,omitempty"`
}

// ChannelUpdate changes a channel (PATCH /channels/{id}): each field
// given replaces the channel's, each left out keeps it. A Secret that is
// empty or left out keeps the stored one; ClearSecret removes it.
type ChannelUpdate struct {
	Target      *string         `json:"target,omitempty"`
	Routes      *[]runlet.Route `json:"routes,omitempty"`
	Disabled    *bool           `json:"disabled,omitempty"`
	Secret      *string         `json:"secret,omitempty"`
	ClearSecret bool            `json:"clearSecret,omitempty"`
}

// Channels is the answer of GET /channels: the channels the caller may
// see (the workspace's and the caller's own; an admin sees every one),
// by creation. No secret is ever part of it.
type Channels struct {
	Channels []runlet.Channel `json:"channels"`
}

// NotifySettings are a workspace's notification providers as the API
// takes and answers them: passwords and SMS headers are write-only.
type NotifySettings struct {
	SMTP SMTPSettings `json:"smtp"`
	SMS  SMSSettings  `json:"sms"`
}

// SMTPSettings reach the SMTP server of the e-mail channels. TLS is
// "starttls" (the default), "tls" (implicit, usually port 465) or "none"
// (loopback and tests only); Port 0 takes the usual port of TLS.
//
// Password is write-only: never answered (HasPassword says whether one is
// stored); left out or empty, the stored one stays; ClearPassword removes
// it.
type SMTPSettings struct {
	Host               string  `json:"host,omitempty"`
	Port               int     `json:"port,omitempty"`
	TLS                string  `json:"tls,omitempty"`
	Username           string  `json:"username,omitempty"`
	Password           *string `json:"password,omitempty"`
	ClearPassword      bool    `json:"clearPassword,omitempty"`
	HasPassword        bool    `json:"hasPassword"`
	From               string  `json:"from,omitempty"`
	InsecureSkipVerify bool    `json:"insecureSkipVerify,omitempty"`
}

// SMSSettings describe the HTTP SMS provider of the SMS channels: a
// request to URL with Method (POST when empty), Body a Go text/template
// with .To, .Text, .Subject and .Key, ContentType, Headers, and HTTP
// Basic auth when Username is set (see docs/notifications.md).
//
// Password and Headers are write-only, since they carry the provider's
// keys: the answer has HasPassword and HeaderNames. Left out, the stored
// ones stay; Headers given replace them all; ClearPassword and
// ClearHeaders remove them.
type SMSSettings struct {
	URL           string            `json:"url,omitempty"`
	Method        string            `json:"method,omitempty"`
	Body          string            `json:"body,omitempty"`
	ContentType   string            `json:"contentType,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	ClearHeaders  bool              `json:"clearHeaders,omitempty"`
	HeaderNames   []string          `json:"headerNames,omitempty"`
	Username      string            `json:"username,omitempty"`
	Password      *string           `json:"password,omitempty"`
	ClearPassword bool              `json:"clearPassword,omitempty"`
	HasPassword   bool              `json:"hasPassword"`
}

// ChannelTest is the answer of POST /channels/{id}/test: the test
// notification queued in the outbox; follow it with GET /notifications.
type ChannelTest struct {
	Notification runlet.Notification `json:"notification"`
}
