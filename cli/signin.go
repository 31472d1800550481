package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mdp/qrterminal/v3"
	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/home"
)

func (m *Main) signinCommand() *cobra.Command {
	var server, name, token, fingerprint string
	var labels []string
	cmd := &cobra.Command{
		Use:     "@signin --server URL [--name NAME] [--token TOKEN]",
		Aliases: []string{"signin"},
		Short:   "Sign this device in to a Runlet server",
		Long: `@signin makes this machine (this --home) a device of a workspace on the
server at URL, so that it can run jobs there and start them elsewhere.

Without --token it uses the device authorization flow (RFC 8628): runlet
prints a web address, a short code and a QR code of the same address; open
it on any browser or phone, sign in there and approve the device. runlet
waits for the approval and saves the device's credentials in --home (mode
0600).

With --token (the enrollment token the server printed at its first start
and wrote to DATA/enroll-token) it signs in unattended, for scripts and
provisioning.

The device's name (default: this machine's host name) must be unique among
the workspace's devices. Several homes on one machine are several devices.
--label tags the device for targeting ('runlet @run JOB --on label:lab');
admins change labels later with 'runlet devices label'.

When the server's certificate is not signed by an authority this machine
trusts (the self-signed one 'runlet server' makes), runlet shows its
SHA-256 fingerprint and asks to confirm it, as ssh does; unattended, pass
the fingerprint the server printed with --fingerprint. The device then
accepts that certificate only, for the API and the broker. When the
server's certificate changes, run @signin again to confirm the new one.`,
		Example: `  runlet @signin --server https://runlet.example.com
  runlet @signin --server http://10.0.0.2:8080 --name pi-1
  runlet --home /var/lib/runlet/pi-2 @signin --server https://10.0.0.2:8080 --name pi-2 --token "$(cat enroll-token)" --fingerprint SHA256:...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.signin(cmd.Context(), server, name, token, fingerprint, labels)
		},
	}
	cmd.Flags().StringVar(&server, "server", m.getenv("RUNLET_SERVER"), "the server's URL (env RUNLET_SERVER)")
	cmd.Flags().StringVar(&name, "name", "", "this device's name (default: the host name)")
	cmd.Flags().StringVar(&token, "token", "", "sign in unattended with an enrollment token")
	cmd.Flags().StringSliceVar(&labels, "label", nil, "a label for this device, KEY or KEY=VALUE, for targeting with --on label:KEY; repeat or separate with commas")
	cmd.Flags().StringVar(&fingerprint, "fingerprint", "", "the SHA-256 fingerprint of the server's certificate to trust (SHA256:... as the server prints it), when no authority vouches for it")
	return cmd
}

func (m *Main) signin(ctx context.Context, server, name, token, fingerprint string, labels []string) error {
	server = strings.TrimRight(server, "/")
	// Bad labels are said before anything is asked of the server.
	if _, err := runlet.ParseLabels(labels); err != nil {
		return err
	}
	dir := home.Dir(m.home)
	if c, err := dir.Credentials(); err == nil {
		if server == "" || server == c.Server {
			if done, err := m.repin(ctx, dir, c, fingerprint); done {
				return err
			}
		}
		return runlet.Errorf(runlet.ECONFLICT, "this device is already signed in to %s as %q (home %s); run '%s' first, or use another --home", c.Server, c.Device, m.home, m.command("@signout"))
	}
	if server == "" {
		return runlet.Errorf(runlet.EINVALID, "which server? give its URL with --server (or RUNLET_SERVER)")
	}
	if err := checkServerURL(server); err != nil {
		return err
	}
	if name == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return runlet.Errorf(runlet.EINVALID, "cannot tell this machine's host name (%v); give a device name with --name", err)
		}
		name = strings.ToLower(strings.Split(h, ".")[0])
	}
	pin, err := m.trustServer(ctx, server, fingerprint, "")
	if err != nil {
		return err
	}
	client := m.apiClient(server, "")
	client.HTTP = m.pinnedHTTP(pin)
	var cred *home.Credentials
	if token != "" {
		cred, err = client.Enroll(ctx, api.EnrollRequest{Token: token, Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: Version, Labels: labels})
	} else {
		cred, err = m.deviceFlow(ctx, client, name, labels)
	}
	if err != nil {
		return signinError(err, name)
	}
	if cred.Server == "" {
		cred.Server = server
	}
	cred.ServerFingerprint = pin
	if err := dir.SaveCredentials(cred); err != nil {
		return err
	}
	ws := cred.WorkspaceName
	if ws == "" {
		ws = cred.Workspace
	}
	fmt.Fprintf(m.Stdout, "Signed in to workspace %q at %s as device %q.\n", ws, safe(cred.Server), cred.Device)
	fmt.Fprintf(m.Stdout, "Credentials saved in %s. Start '%s' so that this device runs jobs.\n", dir.Path("credentials.json"), m.command("daemon"))
	return nil
}

// command is the runlet command line of verb for this home: with --home
// unless it is the default one, so that it can be pasted in any shell.
func (m *Main) command(verb string) string {
	if m.home == "" || filepath.Clean(m.home) == string(home.Default()) {
		return "runlet " + verb
	}
	return "runlet --home " + shellQuote(m.home) + " " + verb
}

// shellQuote quotes s for a shell when it needs it: single quotes for a
// POSIX shell, double quotes on Windows.
func shellQuote(s string) string {
	plain := s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("/._-+:@=,", r) || r == filepath.Separator)
	})
	switch {
	case plain:
		return s
	case runtime.GOOS == "windows":
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// checkServerURL refuses a --server that is not an http:// or https://
// URL with a host, suggesting what was probably meant: "10.0.0.2:8080"
// alone reads as a scheme and a path, and Go's parser says only "first
// path segment in URL cannot contain colon".
func checkServerURL(server string) error {
	u, err := url.Parse(server)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return nil
	}
	if !strings.Contains(server, "://") {
		return runlet.Errorf(runlet.EINVALID, "the server URL %q has no scheme: give it as http://%s, or https://%s when the server serves TLS", server, server, server)
	}
	return runlet.Errorf(runlet.EINVALID, "the server URL %q is not valid: give it as http://HOST:PORT or https://HOST:PORT", server)
}

// signinError says what a failed sign-in means for the person.
func signinError(err error, name string) error {
	switch runlet.ErrorCode(err) {
	case runlet.ECONFLICT:
		// The server's own sentence would say it again, without the flag.
		return runlet.Errorf(runlet.ECONFLICT, "the workspace already has a device named %q: choose another with --name, or have an admin remove that one first (runlet devices rm %s)", name, name)
	case runlet.EUNAUTHORIZED:
		return runlet.Errorf(runlet.EUNAUTHORIZED, "sign-in refused: %s", message(err))
	}
	return err
}

// deviceFlow runs RFC 8628: show the code, poll until approved.
func (m *Main) deviceFlow(ctx context.Context, client *apiclient.Client, name string, labels []string) (*home.Credentials, error) {
	code, err := client.DeviceCode(ctx, api.DeviceCodeRequest{Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH, Version: Version})
	if err != nil {
		return nil, err
	}
	m.showDeviceCode(code, name)
	return m.pollDeviceToken(ctx, client, code, labels)
}

func (m *Main) showDeviceCode(code *api.DeviceCodeResponse, name string) {
	w := m.Stdout
	fmt.Fprintf(w, "To sign in this device as %q, open\n\n    %s\n\nand enter the code\n\n    %s\n\n", name, safe(code.VerificationURI), safe(code.UserCode))
	if u := code.VerificationURIComplete; u != "" && len(u) < 1000 {
		fmt.Fprintf(w, "or scan this QR code, which opens %s:\n\n", safe(u))
		qrterminal.GenerateHalfBlock(u, qrterminal.L, w)
		fmt.Fprintln(w)
	}
}

// pollDeviceToken asks for the outcome every interval (5 s more after each
// slow_down) until approval, denial or expiry, keeping one progress line up
// to date.
func (m *Main) pollDeviceToken(ctx context.Context, client *apiclient.Client, code *api.DeviceCodeResponse, labels []string) (*home.Credentials, error) {
	interval := time.Duration(code.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	expires := time.Now().Add(time.Duration(code.ExpiresIn) * time.Second)
	if code.ExpiresIn <= 0 {
		expires = time.Now().Add(15 * time.Minute)
	}
	progress := newProgress(m.Stdout)
	defer progress.done()
	for {
		left := time.Until(expires)
		if left <= 0 {
			return nil, errCodeExpired
		}
		progress.show(fmt.Sprintf("Waiting for approval (the code expires in %s)…", left.Round(time.Second)))
		select {
		case <-ctx.Done():
			return nil, runlet.Errorf(runlet.EINVALID, "sign-in cancelled")
		case <-time.After(min(interval, left)):
		}
		cred, err := client.DeviceToken(ctx, code.DeviceCode, labels...)
		var oe *apiclient.OAuthError
		switch {
		case err == nil:
			return cred, nil
		case errors.As(err, &oe) && oe.Code == api.AuthorizationPending:
		case errors.As(err, &oe) && oe.Code == api.SlowDown:
			interval += 5 * time.Second
		case errors.As(err, &oe) && oe.Code == api.ExpiredToken:
			return nil, errCodeExpired
		case errors.As(err, &oe) && oe.Code == api.AccessDenied:
			return nil, runlet.Errorf(runlet.EFORBIDDEN, "the sign-in of this device was denied on the server")
		case runlet.ErrorCode(err) == runlet.EUNAVAILABLE:
			// The server may be restarting: keep polling until expiry.
			progress.show("The server does not answer; trying again…")
		case time.Now().After(expires):
			// A server may forget an expired code before saying so.
			return nil, errCodeExpired
		case errors.As(err, &oe):
			return nil, runlet.Errorf(runlet.EUNAUTHORIZED, "sign-in refused: %s", oe.Error())
		default:
			return nil, err
		}
	}
}

var errCodeExpired = runlet.Errorf(runlet.EUNAUTHORIZED, "the code expired before anyone approved it; run 'runlet @signin' again")

// progress keeps one line of status: rewritten in place on a terminal,
// printed once per change elsewhere.
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: openTerminal(nil, w).out != nil}
}

func (p *progress) show(s string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", s)
		p.last = s
		return
	}
	// Not a terminal: the countdown would fill a log; print the gist once.
	gist, _, _ := strings.Cut(s, " (")
	if gist != p.last {
		fmt.Fprintln(p.w, gist)
		p.last = gist
	}
}

func (p *progress) done() {
	if p.tty && p.last != "" {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
