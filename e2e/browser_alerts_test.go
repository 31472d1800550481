//go:build !windows

package e2e_test

// Telemetry and alerts in the real browser (R-TEL-6): a sensor registered
// with thresholds through the API, readings pushed through a daemon's
// local endpoint, an excursion that opens an alert and its notification
// to a webhook; then the pages: the sensors' table with the status badge,
// the sensor's chart (uPlot's data, the threshold lines on the canvas, a
// live point, zoom and reset), the rules form with the API's validation
// message, the alerts with their notifications, and the alerting settings
// (a channel disabled, the period changed, a write-only password).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/internal/testenv"
)

func TestBrowserAlerts(t *testing.T) {
	needChromium(t)
	f := newFleetOn(t, embedded, []string{}...) // the daemons start with their readings endpoint
	tf := newTelemetryFleet(t, f)
	ctx := ctxFor(t)

	// A webhook of the workspace: it carries every alert.
	hook := newHook(t)
	var ch runlet.Channel
	tf.call(t, http.MethodPost, "/channels", api.NewChannel{Kind: runlet.ChannelWebhook, Target: hook.srv.URL, Secret: hookSecret}, &ch)

	// A fridge between 2 and 8 °C, whose owner is the admin, with ten
	// readings in range over the last ten minutes.
	const id = 4201
	tempMin, tempMax := 2.0, 8.0
	_, err := tf.admin.AddSensor(ctx, api.NewSensor{
		ID: id, Name: "Fridge 1", Secret: "789", Owner: "admin@localhost", Location: "Kitchen", Contact: "+15550100",
		Rules: &runlet.SensorRules{Thresholds: runlet.Thresholds{TempMin: &tempMin, TempMax: &tempMax}},
	})
	if err != nil {
		t.Fatalf("register the sensor: %v", err)
	}
	now := time.Now()
	var temps []float64
	var msgs []string
	for i := range 10 {
		v := 4 + float64(i%3)
		temps = append(temps, v)
		msgs = append(msgs, reading(id, "789", v, 90-float64(i), now.Add(time.Duration(i-10)*time.Minute)))
	}
	tf.push(t, "pi-1", msgs...)

	b := newBrowser(t, f.url)
	p := b.newPage("alerts")

	// The sensors' table: the fridge, ok, with its latest values.
	p.open("/sensors")
	p.waitVisible(`form[data-form=login]`)
	p.signIn(adminPassword)
	sensorRow := fmt.Sprintf(`tr[data-sensor="%d"]`, id)
	p.waitVisible(sensorRow + `[data-status=ok] .badge[data-status=ok]`)
	if got, want := p.text(sensorRow+` [data-latest=temp]`), fmt.Sprintf("%.1f °C", temps[len(temps)-1]); got != want {
		t.Errorf("the sensors' table shows the temperature %q, want %s", got, want)
	}

	// The sensor's page: every reading of the last hour in uPlot's data,
	// the thresholds as series of their own, drawn on the canvas.
	p.click(fmt.Sprintf(`a[data-sensor-link="%d"]`, id))
	p.waitVisible(`main[data-page=sensor] [data-chart][data-points="10"] canvas`)
	want, _ := json.Marshal(temps)
	p.waitJS("uPlot's data to hold the readings and the thresholds", fmt.Sprintf(`(() => {
		const d = window.runlet.chart.plot.data;
		return d[0].length === 10 && JSON.stringify(d[1]) === %q &&
			d[3].every((v) => v === 2) && d[4].every((v) => v === 8) && d[5].every((v) => v === null);
	})()`, want))
	p.waitJS("the temperature and its maximum to be drawn", drawnJS(8))

	// Zoom: a drag across the chart narrows the time axis; reset widens it.
	p.do("drag across the chart", dragAcross(`[data-chart] .u-over`, 0.3, 0.6))
	p.waitVisible(`[data-chart][data-zoomed=true]`)
	p.waitJS("the x scale to be narrower than the data", `(() => { const u = window.runlet.chart.plot, x = u.data[0]; return u.scales.x.min > x[0] && u.scales.x.max < x[x.length - 1]; })()`)
	p.click(`[data-reset-zoom]`)
	p.waitJS("the x scale to hold every point again", `(() => { const u = window.runlet.chart.plot, x = u.data[0]; return document.querySelector('[data-chart]').dataset.zoomed === 'false' && u.scales.x.min <= x[0] && u.scales.x.max >= x[x.length - 1]; })()`)

	// The rules: a maximum below the minimum is the API's message, beside
	// the form; a new maximum is saved and drawn.
	p.do("set a maximum below the minimum",
		chromedp.SetValue(chromedp.CSS(`form[data-form=sensor-rules] [data-field=tempMax]`), "1"),
		chromedp.Click(chromedp.CSS(`[data-save-rules]`)))
	p.waitJS("the API's message beside the form", `document.querySelector('form[data-form=sensor-rules] [data-form-error]').textContent.includes('minimum')`)
	p.do("set the maximum to 10 and the silence period to 30m",
		chromedp.SetValue(chromedp.CSS(`form[data-form=sensor-rules] [data-field=tempMax]`), "10"),
		chromedp.SetValue(chromedp.CSS(`form[data-form=sensor-rules] [data-field=silence]`), "30m"),
		chromedp.Click(chromedp.CSS(`[data-save-rules]`)))
	p.waitVisible(`form[data-form=sensor-rules][data-saved]`)
	p.waitJS("the new maximum on the chart", `window.runlet.chart.plot.data[4].every((v) => v === 10) && !document.querySelector('[data-form-error]').textContent`)
	sn, err := tf.admin.Sensor(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r := sn.Rules; r.TempMax == nil || *r.TempMax != 10 || r.TempMin == nil || *r.TempMin != 2 || time.Duration(r.Silence) != 30*time.Minute {
		t.Errorf("after the form, the sensor's rules are %+v, want temp 2 to 10 and silence 30m", r)
	}

	// The ranges: the last day in buckets (the step the server chose), a
	// range of one's own, then the last hour again, every reading.
	p.click(`[data-range="24h"]`)
	p.waitJS("the last day in buckets", `(() => { const c = document.querySelector('[data-chart]'); return c.dataset.range === '24h' && c.dataset.step !== '' && +c.dataset.points > 0; })()`)
	p.click(`[data-range=custom]`)
	p.waitVisible(`form[data-form=range] [data-field=from]`)
	p.evalTrue(`(() => {
		const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
		document.querySelector('form[data-form=range] [data-field=from]').value = local(new Date(Date.now() - 30 * 60000));
		document.querySelector('form[data-form=range] [data-field=to]').value = local(new Date(Date.now() + 60000));
		return true;
	})()`)
	p.click(`form[data-form=range] button[type=submit]`)
	p.waitVisible(`[data-chart][data-range=custom][data-step=""][data-points="10"]`)
	p.click(`[data-range="1h"]`)
	p.waitVisible(`[data-chart][data-range="1h"][data-step=""][data-points="10"]`)

	// Live: a reading at 12.5 °C appears without a reload, the alert it
	// opens turns the sensor out of range, and the webhook is told.
	tf.push(t, "pi-1", reading(id, "789", 12.5, 80, time.Now()))
	p.waitVisible(`[data-chart][data-points="11"]`)
	p.waitJS("the live point to be the last", `window.runlet.chart.plot.data[1][10] === 12.5`)
	p.waitVisible(`[data-sensor-status] [data-status=out_of_range]`)
	p.waitVisible(`[data-sensor-alerts] tr[data-kind=threshold][data-open=true]`)
	p.evalTrue(`(window.scrollTo(0, 0), true)`) // the form's button scrolled it; the header is sticky
	p.shot("sensor")
	var alerts api.Alerts
	tf.call(t, http.MethodGet, fmt.Sprintf("/alerts?open=true&sensor=%d", id), nil, &alerts)
	if len(alerts.Alerts) != 1 {
		t.Fatalf("the open alerts of the sensor are %+v, want one", alerts.Alerts)
	}
	alert := alerts.Alerts[0]
	if alert.Kind != runlet.AlertThreshold || alert.Metric != runlet.MetricTemp || alert.Value != 12.5 || alert.Limit != 10 {
		t.Errorf("the open alert is %+v, want temp 12.5 above 10", alert)
	}
	p.open("/sensors")
	p.waitVisible(sensorRow + `[data-status=out_of_range] .badge[data-status=out_of_range]`)
	p.shot("sensors")

	// The alerts page: the alert, open, with its notification to the
	// webhook, sent.
	p.click(`header.top a[data-nav=alerts]`)
	openRow := fmt.Sprintf(`[data-open-alerts] tr[data-alert="%d"][data-kind=threshold][data-open=true]`, alert.ID)
	p.waitVisible(openRow)
	p.click(fmt.Sprintf(`[data-open-alerts] [data-show-notifications="%d"]`, alert.ID))
	sent := fmt.Sprintf(`[data-open-alerts] tr[data-notifications-of="%d"] tr[data-notification][data-state=sent][data-event=%%s][data-channel=%q]`, alert.ID, ch.ID)
	p.waitVisible(fmt.Sprintf(sent, "opened")) // the page polls every 5 s
	if got := p.text(fmt.Sprintf(sent, "opened") + ` [data-target]`); got != hook.srv.URL {
		t.Errorf("the notification's target shows %q, want %s", got, hook.srv.URL)
	}
	if n := len(hook.calls()); n != 1 {
		t.Errorf("the webhook received %d requests, want 1", n)
	}
	p.shot("alerts")

	// Back in range: the alert resolves, and the page moves it from the
	// open ones to the past ones with its second notification.
	tf.push(t, "pi-1", reading(id, "789", 7.5, 79, time.Now()))
	p.waitVisible(`[data-open-alerts] [data-none-open]`)
	p.open("/alerts")
	p.click(fmt.Sprintf(`[data-alert-history] tr[data-alert="%d"][data-open=false] [data-show-notifications]`, alert.ID))
	past := strings.ReplaceAll(sent, "[data-open-alerts]", "[data-alert-history]")
	p.waitVisible(fmt.Sprintf(past, "resolved"))
	p.waitVisible(fmt.Sprintf(past, "opened"))

	// The alerting settings: the period changed, a password written and
	// never shown, the channel disabled.
	p.open("/settings/alerting")
	p.do("change the period",
		chromedp.SetValue(chromedp.CSS(`[data-field=every]`), "30m"),
		chromedp.Click(chromedp.CSS(`[data-save-alert-settings]`)))
	p.waitVisible(`form[data-form=alert-settings][data-saved]`)
	var settings runlet.AlertSettings
	tf.call(t, http.MethodGet, "/alerts/settings", nil, &settings)
	if settings.Period() != 30*time.Minute {
		t.Errorf("after the form, the alert period is %v, want 30m", settings.Period())
	}
	p.do("set the SMTP server and its password",
		chromedp.SetValue(chromedp.CSS(`[data-field=smtp-host]`), "127.0.0.1"),
		chromedp.SetValue(chromedp.CSS(`[data-field=smtp-port]`), "2525"),
		chromedp.SendKeys(chromedp.CSS(`[data-field=smtp-password]`), "mail password"),
		chromedp.Click(chromedp.CSS(`[data-save-providers]`)))
	p.waitVisible(`form[data-form=providers][data-saved]`)
	p.open("/settings/alerting")
	p.waitVisible(`[data-field=smtp-password][data-has-password=true]`)
	p.evalTrue(`document.querySelector('[data-field=smtp-password]').value === '' && document.querySelector('[data-field=smtp-host]').value === '127.0.0.1'`)
	chRow := fmt.Sprintf(`tr[data-channel=%q]`, ch.ID)
	p.waitVisible(chRow + `[data-disabled=false]`)
	// A test of the channel is a notification of its own, sent.
	p.click(fmt.Sprintf(`[data-test-channel=%q]`, ch.ID))
	p.waitVisible(fmt.Sprintf(`[data-recent-notifications] tr[data-event=test][data-channel=%q]`, ch.ID))
	testenv.EventuallyEvery(t, "the webhook to receive the test", 60*time.Second, pace, func() bool { return len(hook.calls()) == 3 })
	p.click(fmt.Sprintf(`[data-toggle-channel=%q]`, ch.ID))
	p.waitVisible(chRow + `[data-disabled=true]`)
	var chans api.Channels
	tf.call(t, http.MethodGet, "/channels", nil, &chans)
	if len(chans.Channels) != 1 || !chans.Channels[0].Disabled {
		t.Errorf("after Disable, the channels are %+v, want the webhook disabled", chans.Channels)
	}
	p.evalTrue(`(window.scrollTo(0, 0), true)`)
	p.shot("alerting")

	// A member reads the sensor and the settings but changes neither;
	// the member's own channel is the member's to add and change.
	var invite api.InviteResponse
	tf.call(t, http.MethodPost, "/members", api.InviteRequest{Email: "bob@example.com", Role: "member"}, &invite)
	bob := b.newIsolatedPage("bob")
	bob.do("open the invitation", chromedp.Navigate(invite.InviteURL))
	bob.do("accept the invitation",
		chromedp.SendKeys(chromedp.CSS(`input[data-field=name]`), "Bob"),
		chromedp.SendKeys(chromedp.CSS(`input[data-field=password]`), "bob's long password"),
		chromedp.Click(chromedp.CSS(`form[data-form=invite] button[type=submit]`)))
	bob.waitVisible(`header.top [data-user="bob@example.com"]`)
	bob.open(fmt.Sprintf("/sensors/%d", id))
	bob.waitVisible(`[data-chart] canvas`)
	bob.evalTrue(`[...document.querySelectorAll('form[data-form=sensor-rules] input')].every((i) => i.disabled) && document.querySelector('[data-save-rules]').disabled`)
	bob.open("/settings/alerting")
	bob.waitVisible(chRow)
	bob.evalTrue(fmt.Sprintf(`!document.querySelector('[data-save-alert-settings]') && !document.querySelector('[data-save-providers]') &&
		!document.querySelector('[data-toggle-channel=%q]') && [...document.querySelector('[data-field=channel-user]').options].map((o) => o.value).join() === 'me'`, ch.ID))
	bob.do("add an e-mail channel of bob's own",
		chromedp.SetValue(chromedp.CSS(`[data-field=channel-kind]`), "email"),
		chromedp.SendKeys(chromedp.CSS(`[data-field=channel-target]`), "bob@example.com"),
		chromedp.Click(chromedp.CSS(`[data-add-channel]`)))
	bob.waitVisible(`tr[data-channel][data-kind=email] [data-toggle-channel]`)
	tf.call(t, http.MethodGet, "/channels", nil, &chans)
	if len(chans.Channels) != 2 || chans.Channels[1].Target != "bob@example.com" || chans.Channels[1].User == "" {
		t.Errorf("after bob's form, the channels are %+v, want the webhook and bob's own e-mail", chans.Channels)
	}
}

// needChromium skips (or fails, with RUNLET_REQUIRE_SERVICES=1) a test
// that needs the browser.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if testenv.Required() {
			t.Fatalf("RUNLET_REQUIRE_SERVICES=1 and there is no Chromium at %s: %v", chromium, err)
		}
		t.Skipf("the browser tests need Chromium at %s (apt-get install chromium): %v", chromium, err)
	}
}

// reading is one seed message of sensor id.
func reading(id int64, secret string, temp, batt float64, at time.Time) string {
	return fmt.Sprintf(`{"device":{"id":%d,"auth":%q},"reading":{"temp":%g,"batt":%g,"time":%d}}`, id, secret, temp, batt, at.UnixMilli())
}

// push posts messages to the readings endpoint of device's daemon.
func (tf *telemetryFleet) push(t *testing.T, device string, msgs ...string) {
	t.Helper()
	d := &telemetryDriver{tf: tf, t: t}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Feed(ctx, slices.Index(devices, device), []byte(strings.Join(msgs, "\n")+"\n")); err != nil {
		t.Fatalf("push readings through %s: %v", device, err)
	}
}

// call sends a request of the API as the admin and decodes the answer
// into out (when not nil), failing the test on an error.
func (tf *telemetryFleet) call(t *testing.T, method, path string, in, out any) {
	t.Helper()
	apiCall(t, tf.f.url, tf.admin.Token, method, path, in, out)
}

// drawnJS is true once the chart's canvas shows the temperature line and,
// on the row of limit °C, a dashed line of the thresholds' colour across
// most of the plot.
func drawnJS(limit float64) string {
	return fmt.Sprintf(`(() => {
		const u = window.runlet.chart.plot, c = u.ctx.canvas, g = u.ctx;
		const px = g.getImageData(0, 0, c.width, c.height).data;
		let drawn = 0;
		for (let i = 3; i < px.length; i += 4) if (px[i]) drawn++;
		const y = Math.round(u.valToPos(%g, '°C', true)), b = u.bbox;
		let red = 0;
		for (let dy = -1; dy <= 1; dy++) {
			const row = g.getImageData(b.left, y + dy, b.width, 1).data;
			for (let i = 0; i < row.length; i += 4) if (row[i + 3] && row[i] > 120 && row[i] > 1.8 * row[i + 1]) red++;
		}
		return drawn > 1000 && red > b.width * 0.3;
	})()`, limit)
}

// dragAcross drags the mouse over the element sel from fraction a to b of
// its width, at half its height, as a person selects a range.
func dragAcross(sel string, a, b float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		box, err := chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`, sel))(ctx, t)
		if err != nil {
			return fmt.Errorf("find %s: %w", sel, err)
		}
		x0, x1, y := box[0]+a*box[2], box[0]+b*box[2], box[1]+box[3]/2
		steps := []*input.DispatchMouseEventParams{
			{Type: input.DispatchMouseEventTypeMouseMoved, X: x0, Y: y},
			{Type: input.DispatchMouseEventTypeMousePressed, X: x0, Y: y, Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1},
		}
		for i := 1; i <= 10; i++ {
			steps = append(steps, &input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseMoved, X: x0 + (x1-x0)*float64(i)/10, Y: y, Button: input.MouseButtonLeft, Buttons: 1})
		}
		steps = append(steps, &input.DispatchMouseEventParams{Type: input.DispatchMouseEventTypeMouseReleased, X: x1, Y: y, Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1})
		for _, ev := range steps {
			if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, *ev); err != nil {
				return fmt.Errorf("mouse %s at %.0f,%.0f: %w", ev.Type, ev.X, ev.Y, err)
			}
		}
		return nil
	})
}
