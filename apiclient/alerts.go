package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// Alerts returns a page of the workspace's alerts, newest first; Next of
// the answer, as q.Before, asks for the page after.
func (c *Client) Alerts(ctx context.Context, q api.AlertQuery) (api.Alerts, error) {
	v := url.Values{}
	if q.Open {
		v.Set("open", "true")
	}
	setNonEmpty(v, "kind", string(q.Kind))
	setNonEmpty(v, "device", q.Device)
	setID(v, "sensor", q.Sensor)
	setID(v, "before", q.Before)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out api.Alerts
	err := c.do(ctx, http.MethodGet, withQuery("/alerts", v), nil, &out)
	return out, err
}

// Alert returns one alert of the workspace with its notifications.
// ENOTFOUND when the workspace has none of that id.
func (c *Client) Alert(ctx context.Context, id int64) (api.AlertDetail, error) {
	var out api.AlertDetail
	err := c.do(ctx, http.MethodGet, "/alerts/"+strconv.FormatInt(id, 10), nil, &out)
	return out, err
}

// Notifications returns a page of the workspace's notifications, newest
// first; Next of the answer, as q.Before, asks for the page after.
func (c *Client) Notifications(ctx context.Context, q api.NotificationQuery) (api.Notifications, error) {
	v := url.Values{}
	setNonEmpty(v, "state", string(q.State))
	setID(v, "alert", q.Alert)
	setID(v, "before", q.Before)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out api.Notifications
	err := c.do(ctx, http.MethodGet, withQuery("/notifications", v), nil, &out)
	return out, err
}

// AlertSettings returns the workspace's alert settings.
func (c *Client) AlertSettings(ctx context.Context) (runlet.AlertSettings, error) {
	var out runlet.AlertSettings
	err := c.do(ctx, http.MethodGet, "/alerts/settings", nil, &out)
	return out, err
}

// SetAlertSettings replaces the workspace's alert settings (admins only)
// and returns them as stored.
func (c *Client) SetAlertSettings(ctx context.Context, s runlet.AlertSettings) (runlet.AlertSettings, error) {
	var out runlet.AlertSettings
	err := c.do(ctx, http.MethodPut, "/alerts/settings", s, &out)
	return out, err
}

// NotifySettings returns the workspace's notification providers, without
// their passwords and header values.
func (c *Client) NotifySettings(ctx context.Context) (api.NotifySettings, error) {
	var out api.NotifySettings
	err := c.do(ctx, http.MethodGet, "/notify/settings", nil, &out)
	return out, err
}

// SetNotifySettings replaces the workspace's notification providers
// (admins only), keeping the stored passwords and headers s leaves out,
// and returns them without secrets.
func (c *Client) SetNotifySettings(ctx context.Context, s api.NotifySettings) (api.NotifySettings, error) {
	var out api.NotifySettings
	err := c.do(ctx, http.MethodPut, "/notify/settings", s, &out)
	return out, err
}

// Channels returns the channels the caller may see, by creation.
func (c *Client) Channels(ctx context.Context) ([]runlet.Channel, error) {
	var out api.Channels
	err := c.do(ctx, http.MethodGet, "/channels", nil, &out)
	return out.Channels, err
}

// AddChannel adds a channel and returns it (without its secret).
func (c *Client) AddChannel(ctx context.Context, req api.NewChannel) (runlet.Channel, error) {
	var out runlet.Channel
	err := c.do(ctx, http.MethodPost, "/channels", req, &out)
	return out, err
}

// UpdateChannel changes the fields of the channel that upd gives.
func (c *Client) UpdateChannel(ctx context.Context, id string, upd api.ChannelUpdate) (runlet.Channel, error) {
	var out runlet.Channel
	err := c.do(ctx, http.MethodPatch, channelPath(id, ""), upd, &out)
	return out, err
}

// RemoveChannel removes the channel; its notifications stay.
func (c *Client) RemoveChannel(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, channelPath(id, ""), nil, nil)
}

// TestChannel queues a test notification on the channel and returns it.
// ENOTIMPLEMENTED when the server cannot test channels.
func (c *Client) TestChannel(ctx context.Context, id string) (runlet.Notification, error) {
	var out api.ChannelTest
	err := c.do(ctx, http.MethodPost, channelPath(id, "/test"), nil, &out)
	return out.Notification, err
}

func channelPath(id, rest string) string { return "/channels/" + url.PathEscape(id) + rest }

func setID(v url.Values, k string, id int64) {
	if id > 0 {
		v.Set(k, strconv.FormatInt(id, 10))
	}
}
