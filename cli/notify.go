package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
)

// The workspace's notification providers (R-TEL-5): the SMTP server of
// its e-mail channels and the HTTP SMS provider of its SMS channels.
// `runlet notify settings` prints them (never a password or a header's
// value) or changes what its flags name (admins only).

func (m *Main) notifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "The workspace's notification providers: SMTP for e-mail, HTTP for SMS",
		Long: `notify holds what the server needs to send notifications: the SMTP server
of the e-mail channels and the HTTP SMS provider of the SMS channels
('runlet notify settings'). Webhooks need neither.`,
		Example: `  runlet notify settings
  runlet notify settings --smtp-host smtp.example.com --smtp-user alerts --smtp-password-file smtp.pass --smtp-from alerts@example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(m.notifySettingsCommand())
	return cmd
}

// notifyFlags change the providers; each text flag replaces its field.
type notifyFlags struct {
	smtpHost, smtpUser, smtpPasswordFile, smtpFrom, smtpTLS string
	smtpPort                                                int
	smtpInsecure, smtpClearPassword                         bool
	smsURL, smsMethod, smsBodyFile, smsContentType          string
	smsUser, smsPasswordFile                                string
	smsHeaders                                              []string
	smsClearPassword, smsClearHeaders                       bool
	admin                                                   string
	asJSON                                                  bool
}

func (m *Main) notifySettingsCommand() *cobra.Command {
	var f notifyFlags
	cmd := &cobra.Command{
		Use:   "settings [--smtp-host H ...] [--sms-url U ...]",
		Short: "Show or change the SMTP server and the SMS provider",
		Long: `settings prints the workspace's notification providers, or changes what its
flags name (admins only) and prints them. Passwords and the SMS provider's
header values are never printed (nor answered by the server): read them
from files with --smtp-password-file and --sms-password-file ('-' for
stdin), so that they stay out of the shell's history.

E-mail: --smtp-tls is starttls (the default, port 587), tls (port 465) or
none (port 25; loopback and tests only).

SMS: the server sends a request to --sms-url (POST unless --sms-method
says otherwise) with the body of --sms-body-file, a Go text/template with
.To, .Text, .Subject and .Key, and HTTP Basic auth when --sms-user is set.
A Twilio-like API and a local gateway both fit: see docs/notifications.md.`,
		Example: `  runlet notify settings
  runlet notify settings --smtp-host smtp.example.com --smtp-port 587 --smtp-user alerts \
      --smtp-password-file smtp.pass --smtp-from "Runlet <alerts@example.com>" --smtp-tls starttls
  runlet notify settings --sms-url https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json \
      --sms-user AC123 --sms-password-file twilio.token --sms-body-file twilio.tmpl \
      --sms-content-type application/x-www-form-urlencoded`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.notifySettings(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.smtpHost, "smtp-host", "", "the SMTP server's host name")
	fl.IntVar(&f.smtpPort, "smtp-port", 0, "its port (0: 587 with starttls, 465 with tls, 25 with none)")
	fl.StringVar(&f.smtpTLS, "smtp-tls", "", "starttls, tls or none")
	fl.StringVar(&f.smtpUser, "smtp-user", "", "the user to sign in as (none: no auth)")
	fl.StringVar(&f.smtpPasswordFile, "smtp-password-file", "", "read the SMTP password from this file ('-' for stdin)")
	fl.BoolVar(&f.smtpClearPassword, "smtp-clear-password", false, "remove the stored SMTP password")
	fl.StringVar(&f.smtpFrom, "smtp-from", "", "the sender's address")
	fl.BoolVar(&f.smtpInsecure, "smtp-insecure-skip-verify", false, "do not check the SMTP server's certificate")
	fl.StringVar(&f.smsURL, "sms-url", "", "the SMS provider's http(s) URL")
	fl.StringVar(&f.smsMethod, "sms-method", "", "POST (the default), PUT, PATCH or GET")
	fl.StringVar(&f.smsBodyFile, "sms-body-file", "", "read the request body's template from this file")
	fl.StringVar(&f.smsContentType, "sms-content-type", "", "the body's content type (application/json, application/x-www-form-urlencoded)")
	fl.StringVar(&f.smsUser, "sms-user", "", "the HTTP Basic user (an account id)")
	fl.StringVar(&f.smsPasswordFile, "sms-password-file", "", "read the HTTP Basic password from this file ('-' for stdin)")
	fl.BoolVar(&f.smsClearPassword, "sms-clear-password", false, "remove the stored SMS password")
	fl.StringArrayVar(&f.smsHeaders, "sms-header", nil, "NAME=VALUE: a header of each request, such as an API key (replaces the stored headers; repeat for several)")
	fl.BoolVar(&f.smsClearHeaders, "sms-clear-headers", false, "remove the stored SMS headers")
	fl.StringVar(&f.admin, "admin", m.getenv("RUNLET_ADMIN"), adminFlagHelp)
	fl.BoolVar(&f.asJSON, "json", false, "print the settings as JSON")
	cmd.MarkFlagsMutuallyExclusive("smtp-password-file", "smtp-clear-password")
	cmd.MarkFlagsMutuallyExclusive("sms-password-file", "sms-clear-password")
	cmd.MarkFlagsMutuallyExclusive("sms-header", "sms-clear-headers")
	return cmd
}

func (m *Main) notifySettings(cmd *cobra.Command, f *notifyFlags) error {
	ctx := cmd.Context()
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	st, err := client.NotifySettings(ctx)
	if err != nil {
		return err
	}
	changes := false
	for _, name := range []string{"smtp-host", "smtp-port", "smtp-tls", "smtp-user", "smtp-password-file", "smtp-clear-password", "smtp-from",
		"smtp-insecure-skip-verify", "sms-url", "sms-method", "sms-body-file", "sms-content-type", "sms-user", "sms-password-file",
		"sms-clear-password", "sms-header", "sms-clear-headers"} {
		changes = changes || cmd.Flags().Changed(name)
	}
	if changes {
		if err := m.applyNotifyFlags(cmd, f, &st); err != nil {
			return err
		}
		err = m.asAdmin(ctx, f.admin, "changing the notification settings", func(c *apiclient.Client) error {
			st, err = c.SetNotifySettings(ctx, st)
			return err
		})
		if err != nil {
			return err
		}
	}
	if f.asJSON {
		return m.printJSON(st)
	}
	m.printNotifySettings(st)
	return nil
}

// applyNotifyFlags changes st (as the server answered it, without
// secrets) as the flags given say; the secrets left alone stay stored.
func (m *Main) applyNotifyFlags(cmd *cobra.Command, f *notifyFlags, st *api.NotifySettings) error {
	changed := cmd.Flags().Changed
	for _, x := range []struct {
		flag string
		v    string
		to   *string
	}{
		{"smtp-host", f.smtpHost, &st.SMTP.Host}, {"smtp-tls", f.smtpTLS, &st.SMTP.TLS}, {"smtp-user", f.smtpUser, &st.SMTP.Username},
		{"smtp-from", f.smtpFrom, &st.SMTP.From}, {"sms-url", f.smsURL, &st.SMS.URL}, {"sms-method", f.smsMethod, &st.SMS.Method},
		{"sms-content-type", f.smsContentType, &st.SMS.ContentType}, {"sms-user", f.smsUser, &st.SMS.Username},
	} {
		if changed(x.flag) {
			*x.to = x.v
		}
	}
	if changed("smtp-port") {
		st.SMTP.Port = f.smtpPort
	}
	if changed("smtp-insecure-skip-verify") {
		st.SMTP.InsecureSkipVerify = f.smtpInsecure
	}
	if changed("sms-body-file") {
		b, err := os.ReadFile(f.smsBodyFile)
		if err != nil {
			return runlet.Errorf(runlet.EINVALID, "read the SMS body template: %v", err)
		}
		st.SMS.Body = string(b)
	}
	for _, p := range []struct {
		file  string
		clear bool
		to    **string
		flag  *bool
	}{{f.smtpPasswordFile, f.smtpClearPassword, &st.SMTP.Password, &st.SMTP.ClearPassword}, {f.smsPasswordFile, f.smsClearPassword, &st.SMS.Password, &st.SMS.ClearPassword}} {
		if p.clear {
			*p.flag = true
		}
		if p.file == "" {
			continue
		}
		pw, err := m.readSecretFile(p.file, "password", 4096)
		if err != nil {
			return err
		}
		*p.to = &pw
	}
	if len(f.smsHeaders) > 0 {
		st.SMS.Headers = map[string]string{}
		for _, h := range f.smsHeaders {
			name, v, ok := strings.Cut(h, "=")
			if !ok || strings.TrimSpace(name) == "" {
				return runlet.Errorf(runlet.EINVALID, "--sms-header %q: give NAME=VALUE, such as X-Api-Key=...", safe(name))
			}
			st.SMS.Headers[strings.TrimSpace(name)] = v
		}
	}
	st.SMS.ClearHeaders = f.smsClearHeaders
	return nil
}

func (m *Main) printNotifySettings(st api.NotifySettings) {
	set := func(b bool) string {
		if b {
			return "set (never shown)"
		}
		return "none"
	}
	tls := st.SMTP.TLS
	if tls == "" {
		tls = "starttls"
	}
	port := "default"
	if st.SMTP.Port != 0 {
		port = fmt.Sprint(st.SMTP.Port)
	}
	method := st.SMS.Method
	if method == "" {
		method = "POST"
	}
	body := "none"
	if st.SMS.Body != "" {
		body = fmt.Sprintf("%d bytes", len(st.SMS.Body))
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	for _, r := range [][2]string{
		{"SMTP host", dash(st.SMTP.Host)},
		{"SMTP port", port},
		{"SMTP TLS", safe(tls)},
		{"SMTP user", dash(st.SMTP.Username)},
		{"SMTP password", set(st.SMTP.HasPassword)},
		{"SMTP from", dash(st.SMTP.From)},
		{"SMS URL", dash(st.SMS.URL)},
		{"SMS method", safe(method)},
		{"SMS content type", dash(st.SMS.ContentType)},
		{"SMS body template", body},
		{"SMS user", dash(st.SMS.Username)},
		{"SMS password", set(st.SMS.HasPassword)},
		{"SMS headers", dash(safe(strings.Join(st.SMS.HeaderNames, ", ")))},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	_ = tw.Flush()
}
