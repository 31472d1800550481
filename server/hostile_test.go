package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
)

// TestRefusesControlCharacters: text that other people read in their
// terminals and pages (an invited e-mail, the workspace's name, a member's
// name, what a device says it runs) is refused with a 400 that says why
// when it holds control characters, and nothing is stored.
func TestRefusesControlCharacters(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	admin := s.browser(t)
	admin.signIn(server.AdminEmail, "pw-admin")

	refused := func(what string, a answer, says string) {
		t.Helper()
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, says) || strings.Contains(a.body, "\x1b") {
			t.Errorf("%s: %d %s, want 400 saying %q (with the character escaped)", what, a.status, a.body, says)
		}
	}
	refused("invite an e-mail with ESC", admin.do(http.MethodPost, "/api/v1/members",
		api.InviteRequest{Email: "ada\x1b[2J@example.com"}, nil), `The email address may not contain a control character (\\x1b at byte 3)`)
	refused("invite an e-mail with a C1 CSI", admin.do(http.MethodPost, "/api/v1/members",
		api.InviteRequest{Email: "ada\u009b2J@example.com"}, nil), "control character")
	refused("invite a 300-character e-mail", admin.do(http.MethodPost, "/api/v1/members",
		api.InviteRequest{Email: strings.Repeat("a", 290) + "@example.com"}, nil), "too long")
	var members []api.Member
	wantStatus(t, "members", admin.do(http.MethodGet, "/api/v1/members", nil, &members), 200)
	if len(members) != 1 {
		t.Errorf("members after refused invitations: %+v, want the admin alone", members)
	}

	refused("rename the workspace with ESC", admin.do(http.MethodPatch, "/api/v1/workspace",
		map[string]string{"name": "Home\x1b]0;pwned\x07"}, nil), `The workspace name may not contain a control character (\\x1b at byte 4)`)
	refused("rename the workspace with a bidi override", admin.do(http.MethodPatch, "/api/v1/workspace",
		map[string]string{"name": "lab\u202e"}, nil), "formatting character")
	var ws api.WorkspaceInfo
	wantStatus(t, "workspace", admin.do(http.MethodGet, "/api/v1/workspace", nil, &ws), 200)
	if ws.Name != server.DefaultWorkspace {
		t.Errorf("the workspace is named %q after refused renames, want %q", ws.Name, server.DefaultWorkspace)
	}
	wantStatus(t, "rename the workspace to Zoë's lab", admin.do(http.MethodPatch, "/api/v1/workspace", map[string]string{"name": "Zoë's lab"}, nil), 200)

	// An invited person's own name: refused, and the link still works.
	var inv api.InviteResponse
	wantStatus(t, "invite", admin.do(http.MethodPost, "/api/v1/members", api.InviteRequest{Email: "bob@example.com"}, &inv), 201)
	token := inv.InviteURL[strings.Index(inv.InviteURL, "token=")+len("token="):]
	bob := s.browser(t)
	refused("accept with a name with ESC", bob.do(http.MethodPost, "/api/v1/invites/accept",
		api.AcceptInviteRequest{Token: token, Name: "Bob\x1b[8m", Password: "bob-password"}, nil), "The name may not contain a control character")
	wantStatus(t, "accept with a plain name", bob.do(http.MethodPost, "/api/v1/invites/accept",
		api.AcceptInviteRequest{Token: token, Name: "Bob", Password: "bob-password"}, nil), 200)

	// A device signing in: its name, OS, arch and version.
	tok, err := s.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []api.EnrollRequest{
		{Token: tok, Name: "pi\x1b-1", OS: "linux"},
		{Token: tok, Name: "pi-1", OS: "\x1b]0;pwned\x07"},
		{Token: tok, Name: "pi-1", Arch: "arm\x1b[2J"},
		{Token: tok, Name: "pi-1", Version: strings.Repeat("1", 65)},
	} {
		if _, err := s.client().Enroll(ctx, req); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("enroll %+v: %v, want invalid", req, err)
		}
	}
	if devs, err := s.adminClient(t).Devices(ctx); err != nil || len(devs) != 0 {
		t.Errorf("devices after refused sign-ins: %+v, %v; want none", devs, err)
	}
}
