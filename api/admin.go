package api

import (
	"encoding/json"
	"time"
)

// The admin API (R-TEL-7, the seed's appendix D) under Prefix+"/admin":
// the seed's shapes, so that its scripts and gateways keep working. The
// seed's names map to ours: its "device" is our sensor, its "gateway" our
// device, its "user" our user with a membership of the workspace. Lists
// are bare JSON arrays and keys are spelt as the seed spells them.

// AdminToken is the answer of POST /admin/token: a JWT valid one hour.
type AdminToken struct {
	Token string `json:"token"`
	// Expires and Workspace are ours: when the token expires and the ID
	// of the workspace it administers.
	Expires   time.Time `json:"expires"`
	Workspace string    `json:"workspace"`
}

// AdminTokenInfo is the answer of GET /admin/token for a valid token.
type AdminTokenInfo struct {
	Valid     bool      `json:"valid"`
	User      string    `json:"user"`      // the user's email
	Workspace string    `json:"workspace"` // the workspace's ID
	Expires   time.Time `json:"expires,omitzero"`
}

// AdminUser is the body of POST and PUT /admin/users: the seed's
// username (our email), password and permission (our role: owner, admin
// or member).
type AdminUser struct {
	Username   string `json:"username"`
	Password   string `json:"password,omitempty"`
	Permission string `json:"permission,omitempty"`
}

// AdminUserInfo is what the admin API shows of a user. Unlike the seed,
// which answers the password's hash, it never holds one.
type AdminUserInfo struct {
	Username   string `json:"username"`
	Permission string `json:"permission"`
	// ID is the user's ID (ours).
	ID string `json:"id"`
}

// AdminSensorCreated is the answer of POST /admin/devices: the new
// sensor's id and secret ("auth", a JSON number with its digits exact)
// and state (false: inactive).
type AdminSensorCreated struct {
	ID    int64       `json:"id"`
	Auth  json.Number `json:"auth"`
	State bool        `json:"state"`
}

// AdminSensor is a sensor as the seed lists it: its id, whether it is
// active, and its thresholds as strings, the seed's config.
type AdminSensor struct {
	ID     int64             `json:"id"`
	State  bool              `json:"state"`
	Config map[string]string `json:"config,omitempty"`
}

// AdminLogin is the body of POST /admin/devices/{device}/login and
// /admin/gateways/{gateway}/login: the secret to check, a JSON number or
// string.
type AdminLogin struct {
	Auth SensorSecret `json:"auth"`
}

// LegacySensor is the body of PUT /admin/devices, the seed's legacy
// create: comfort_interval becomes the temperature thresholds, name the
// name, group the location, and user's name and phone the owner and
// contact.
type LegacySensor struct {
	ComfortInterval *struct {
		Min *float64 `json:"min"`
		Max *float64 `json:"max"`
	} `json:"comfort_interval"`
	Group string `json:"group"`
	Name  string `json:"name"`
	User  struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
	} `json:"user"`
}

// LegacySensorCreated is the answer of PUT /admin/devices, with the seed's
// capitalised keys and numeric values.
type LegacySensorCreated struct {
	ID     int64              `json:"Id"`
	Auth   json.Number        `json:"Auth"`
	State  bool               `json:"State"`
	Config map[string]float64 `json:"Config"`
}

// AdminGatewayCreated is the answer of POST /admin/gateways: the new
// device's ID (ours, a string) and its enrollment secret, 40 hexadecimal
// digits, with which a daemon joins as that device (runlet @signin
// --token AUTH, or POST /enroll).
type AdminGatewayCreated struct {
	ID   string `json:"id"`
	Auth string `json:"auth"`
	// Name is the device's name (ours).
	Name string `json:"name"`
}

// AdminGateway is a device as the seed lists a gateway: its ID and its
// labels, the seed's config.
type AdminGateway struct {
	ID     string            `json:"id"`
	Config map[string]string `json:"config,omitempty"`
	// Name is the device's name (ours).
	Name string `json:"name"`
}

// AdminGatewayNew is the optional body of POST /admin/gateways (the seed
// sends none): the device's name, made up when empty.
type AdminGatewayNew struct {
	Name string `json:"name,omitempty"`
}

// AuditEvent is one entry of the workspace's audit log (GET /admin/audit):
// what happened (kind), to what (subject), by whom (user, an ID) and from
// where (source), and when.
type AuditEvent struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Subject string    `json:"subject,omitempty"`
	User    string    `json:"user,omitempty"`
	Source  string    `json:"source,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Time    time.Time `json:"time"`
}

// AuditLog is the answer of GET /admin/audit, newest first.
type AuditLog struct {
	Events []AuditEvent `json:"events"`
}
