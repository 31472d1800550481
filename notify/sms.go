package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// DefaultSMSBody is the body template of a provider whose settings give
// none: a form as Twilio's Messages API takes it.
const DefaultSMSBody = `To={{urlquery .To}}&Body={{urlquery .Text}}`

// MaxSMSText bounds .Text, in bytes: Twilio takes at most 1,600
// characters, split into segments.
const MaxSMSText = 1600

// SMS sends a notification through the workspace's HTTP SMS provider
// (store.SMSSettings): a request whose body, and URL and header values
// when they hold "{{", are rendered from text/templates with SMSData.
type SMS struct {
	Client *http.Client
}

var _ Sender = (*SMS)(nil)

// SMSData is what the SMS templates see.
type SMSData struct {
	To      string // the channel's phone number
	Text    string // the message: the notification's body on one line, cut to MaxSMSText
	Subject string // the notification's subject
	Key     string // the idempotency key
}

// smsFuncs are the templates' functions beside text/template's own
// (urlquery, print, …): json writes a value as JSON, quotes included.
var smsFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

// Send renders the provider's request and sends it: 2xx is sent; 408, 429
// and 5xx are temporary; any other answer is permanent.
func (s *SMS) Send(ctx context.Context, n runlet.Notification, ch runlet.Channel, _ string, set store.NotifySettings) error {
	p := set.SMS
	if p.URL == "" {
		return permanentf("the workspace has no SMS provider; set its URL and body template in the notification settings")
	}
	data := SMSData{To: target(n, ch), Text: smsText(n), Subject: n.Subject, Key: n.Key}
	to := p.URL
	if strings.Contains(to, "{{") {
		var err error
		if to, err = render("URL", to, data); err != nil {
			return err
		}
	}
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Not quoted: it may hold the provider's token.
		return permanentf("the SMS provider's URL is not an http:// or https:// URL")
	}
	tmpl := p.Body
	if tmpl == "" {
		tmpl = DefaultSMSBody
	}
	body, err := render("body", tmpl, data)
	if err != nil {
		return err
	}
	method := strings.ToUpper(p.Method)
	if method == "" {
		method = http.MethodPost
	}
	var rd io.Reader // a GET carries the message in its URL
	if method != http.MethodGet {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, to, rd)
	if err != nil {
		return permanentf("the SMS provider's request: %w", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", smsContentType(p.ContentType, body))
	}
	req.Header.Set("User-Agent", "runlet-notify")
	req.Header.Set(HeaderIdempotencyKey, n.Key)
	for k, v := range p.Headers {
		if strings.Contains(v, "{{") {
			if v, err = render("header "+k, v, data); err != nil {
				return err
			}
		}
		req.Header.Set(k, v)
	}
	if p.Username != "" {
		req.SetBasicAuth(p.Username, p.Password)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return transportError("send to the SMS provider", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return httpStatusError("the SMS provider", resp)
}

// render executes one of the provider's templates; a template that does
// not parse or run is a permanent error that says where.
func render(what, text string, data SMSData) (string, error) {
	t, err := template.New("sms " + what).Funcs(smsFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", permanentf("the SMS provider's %s template does not parse: %w", what, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", permanentf("the SMS provider's %s template fails: %w", what, err)
	}
	return b.String(), nil
}

// smsText is the message of an SMS: the body on one line, or the subject
// when there is no body.
func smsText(n runlet.Notification) string {
	text := n.Body
	if strings.TrimSpace(text) == "" {
		text = n.Subject
	}
	return oneLine(text, MaxSMSText)
}

// smsContentType is the given type, or JSON for a body that looks like
// JSON, else a form.
func smsContentType(given, body string) string {
	if given != "" {
		return given
	}
	if b := strings.TrimSpace(body); strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[") {
		return "application/json"
	}
	return "application/x-www-form-urlencoded"
}
