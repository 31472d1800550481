package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
)

// TestLogsLocalAndRemoteCopies is R-LOG-3 through 'runlet logs': no local
// copy, download; the same copy, nothing sent; a local copy older and
// different, replaced; newer and different, kept. A damaged or truncated
// object on the server is refused and the local copy kept. A log not
// uploaded yet says why: its device is uploading it, or is offline since
// a time.
func TestLogsLocalAndRemoteCopies(t *testing.T) {
	var dataDir string
	f := startFleet(t, func(c *assemble.Config) { dataDir = c.DataDir })
	// pi-1 reaches the API through a proxy that refuses its uploads when
	// the test says so.
	api := startLogProxy(t, f.url)
	pi := f.signinVia("pi-1", api.URL)
	pass := writeTemp(t, "pass", logPass)
	if r := runEnv(t, pi, "", adminEnv, "keys", "init", "--passphrase-file", pass); r.code != 0 {
		t.Fatalf("keys init: exit %d %q %q", r.code, r.out, r.err)
	}
	stopPi := f.startDaemon("pi-1", pi)
	proxy := startLogProxy(t, f.url)
	laptop := f.signinVia("laptop", proxy.URL)
	waitOnline(t, laptop, "pi-1")
	applyJobs(t, laptop, logJobs)
	exec1, secret1 := runSecret(t, laptop, "pi-1")
	exec2, secret2 := runSecret(t, laptop, "pi-1")
	waitFinal(t, laptop, exec1)
	waitFinal(t, laptop, exec2)
	up1 := waitUploaded(t, laptop, exec1, "pi-1")
	waitUploaded(t, laptop, exec2, "pi-1")
	if r := runIn(t, pi, "", "keys", "unlock", "--save", "--passphrase-file", pass); r.code != 0 {
		t.Fatalf("keys unlock --save: exit %d %q", r.code, r.err)
	}
	ids := home.Dir(pi).IdentityFile()
	logs := func(h, exec string) result {
		t.Helper()
		return runIn(t, h, "", "logs", exec, "--identity", ids)
	}
	own1, _ := home.Dir(pi).CastPath(exec1)
	own2, _ := home.Dir(pi).CastPath(exec2)
	local1, _ := home.Dir(laptop).FetchedCastPath("pi-1", exec1)

	// No local copy: downloaded.
	if r := logs(laptop, exec1); r.code != 0 || !strings.Contains(r.out, secret1) {
		t.Fatalf("logs: exit %d %q %q", r.code, r.out, r.err)
	}
	if n := proxy.count("GET OK"); n != 1 || !sameFile(t, local1, own1) {
		t.Fatalf("%d downloads, want 1 making the local copy", n)
	}
	// The same copy: nothing downloaded.
	if r := logs(laptop, exec1); r.code != 0 || !strings.Contains(r.out, secret1) || proxy.count("GET OK") != 1 {
		t.Errorf("logs with the same local copy: exit %d, %d downloads %q", r.code, proxy.count("GET OK"), r.err)
	}
	// A local copy older and different: replaced.
	copyFile(t, own2, local1, up1.Object.Modified.Add(-time.Hour))
	if r := logs(laptop, exec1); r.code != 0 || !strings.Contains(r.out, secret1) || strings.Contains(r.out, secret2) {
		t.Errorf("logs with an older local copy: exit %d %q %q", r.code, r.out, r.err)
	}
	if n := proxy.count("GET OK"); n != 2 || !sameFile(t, local1, own1) {
		t.Errorf("an older local copy: %d downloads, want 2 replacing it", n)
	}
	// A local copy newer and different: kept, and read.
	copyFile(t, own2, local1, time.Now().Add(time.Hour))
	if r := logs(laptop, exec1); r.code != 0 || !strings.Contains(r.out, secret2) {
		t.Errorf("logs with a newer local copy: exit %d %q %q, want the local copy", r.code, r.out, r.err)
	}
	if n := proxy.count("GET OK"); n != 2 || !sameFile(t, local1, own2) {
		t.Errorf("a newer local copy: %d downloads, want 2, and the local copy kept", n)
	}

	// A damaged object: refused, the local copy kept.
	blob := blobOf(t, dataDir, exec1)
	good, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(string(good))
	bad[len(bad)/2] ^= 0x55
	if err := os.WriteFile(blob, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	copyFile(t, own2, local1, up1.Object.Modified.Add(-time.Hour))
	r := logs(laptop, exec1)
	if r.code != 1 || !strings.Contains(r.err, "the server's copy of the log of execution "+exec1+" on pi-1 is damaged") ||
		!strings.Contains(r.err, "kept the local copy") || !strings.Contains(r.out, secret2) {
		t.Errorf("logs of a damaged object: exit %d %q %q", r.code, r.out, r.err)
	}
	if !sameFile(t, local1, own2) {
		t.Error("the damaged download replaced the local copy")
	}
	phone := f.signin("phone")
	r = logs(phone, exec1)
	if r.code != 1 || !strings.Contains(r.err, "is damaged") || !strings.Contains(r.err, "and there is no local copy") || r.out != "" {
		t.Errorf("logs of a damaged object without a local copy: exit %d %q %q", r.code, r.out, r.err)
	}
	// A truncated object.
	if err := os.WriteFile(blob, good[:len(good)-100], 0o600); err != nil {
		t.Fatal(err)
	}
	r = logs(phone, exec1)
	if r.code != 1 || !strings.Contains(r.err, "and there is no local copy") || r.out != "" {
		t.Errorf("logs of a truncated object: exit %d %q %q", r.code, r.out, r.err)
	}
	fetchedDir := filepath.Join(home.Dir(phone).LogDir(), "fetched")
	if names := filesUnder(t, fetchedDir); len(names) != 0 {
		t.Errorf("refused downloads left %v", names)
	}
	if err := os.WriteFile(blob, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := logs(phone, exec1); r.code != 0 || !strings.Contains(r.out, secret1) {
		t.Errorf("logs of the repaired object: exit %d %q %q", r.code, r.out, r.err)
	}

	// pi-1's uploads fail: its run ends, its upload waits.
	api.refuse.Store(true)
	exec3, secret3 := runSecret(t, laptop, "pi-1")
	waitFinal(t, laptop, exec3)
	if r := logs(laptop, exec3); r.code != 1 || !strings.Contains(r.err, "still uploading") {
		t.Errorf("logs of a log being uploaded: exit %d %q %q", r.code, r.out, r.err)
	}
	stopPi()
	if !testenv.Poll(60*time.Second, 100*time.Millisecond, func() bool {
		r = logs(laptop, exec3)
		return strings.Contains(r.err, "offline since")
	}) || r.code != 1 || !strings.Contains(r.err, "pi-1 is offline since") || !strings.Contains(r.err, "has not uploaded the log of execution "+exec3) {
		t.Errorf("logs of a log whose device is offline: exit %d %q %q", r.code, r.out, r.err)
	}
	// Back: it uploads.
	api.refuse.Store(false)
	f.startDaemon("pi-1", pi)
	waitUploaded(t, laptop, exec3, "pi-1")
	if r := logs(laptop, exec3); r.code != 0 || !strings.Contains(r.out, secret3) {
		t.Errorf("logs once uploaded: exit %d %q %q", r.code, r.out, r.err)
	}
}

func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	return names
}

// TestLogsKeyRotation: after 'runlet keys rotate', new logs are encrypted
// to the new generation; the new passphrase reads old and new logs, the
// old one nothing; a member who left with the old key saved reads the
// logs they could read before, not the new ones. attach to an ended run
// whose device keeps only the encrypted log reads it.
func TestLogsKeyRotation(t *testing.T) {
	f := startFleet(t)
	pi := f.signin("pi-1")
	pass := writeTemp(t, "pass", logPass)
	newPass := writeTemp(t, "new", newLogPass)
	if r := runEnv(t, pi, "", adminEnv, "keys", "init", "--passphrase-file", pass); r.code != 0 {
		t.Fatalf("keys init: exit %d %q %q", r.code, r.out, r.err)
	}
	stopPi := f.startDaemon("pi-1", pi)
	laptop := f.signin("laptop")
	leaver := f.signin("leaver")
	if r := runIn(t, leaver, "", "keys", "unlock", "--save", "--passphrase-file", pass); r.code != 0 || !strings.Contains(r.out, "Saved log key generations 1") {
		t.Fatalf("keys unlock --save: exit %d %q %q", r.code, r.out, r.err)
	}
	waitOnline(t, laptop, "pi-1")
	applyJobs(t, laptop, logJobs)
	exec1, secret1 := runSecret(t, laptop, "pi-1")
	waitFinal(t, laptop, exec1)
	waitUploaded(t, laptop, exec1, "pi-1")
	oldEnv := map[string]string{"RUNLET_LOG_PASSPHRASE": logPass}

	// attach to the ended run: its device keeps no plaintext of it any
	// more, the encrypted log has it.
	if plain, _ := home.Dir(pi).LogPath(exec1); fileExists(plain) {
		t.Errorf("the plaintext log %s is still there after the upload", plain)
	}
	if r := runEnv(t, laptop, "", oldEnv, "attach", exec1); r.code != 0 || !strings.Contains(r.out, "the secret is "+secret1) {
		t.Errorf("attach to an ended run: exit %d %q %q", r.code, r.out, r.err)
	}

	// Rotation.
	if r := runIn(t, laptop, "", "keys", "rotate", "--passphrase-file", pass, "--new-passphrase-file", newPass); r.code != 2 || !strings.Contains(r.err, "needs a workspace admin") {
		t.Errorf("keys rotate without an admin: exit %d %q", r.code, r.err)
	}
	if r := runEnv(t, laptop, "", adminEnv, "keys", "rotate", "--passphrase-file", newPass, "--new-passphrase-file", newPass); r.code != 1 || !strings.Contains(r.err, "wrong log passphrase") {
		t.Errorf("keys rotate with a wrong passphrase: exit %d %q", r.code, r.err)
	}
	// The admin rotates from a device that saved the keys: they are
	// saved again, the new one with them.
	admin := f.signin("admin-box")
	if r := runIn(t, admin, "", "keys", "unlock", "--save", "--passphrase-file", pass); r.code != 0 {
		t.Fatalf("keys unlock --save: exit %d %q %q", r.code, r.out, r.err)
	}
	r := runEnv(t, admin, "", adminEnv, "keys", "rotate", "--passphrase-file", pass, "--new-passphrase-file", newPass)
	if r.code != 0 || !strings.Contains(r.out, "generation 2") || !strings.Contains(r.out, "new passphrase") ||
		!strings.Contains(r.out, "Removed members cannot read new logs") || !strings.Contains(r.out, "Updated the identities saved on this device") {
		t.Fatalf("keys rotate: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runIn(t, laptop, "", "keys", "list"); r.code != 0 || !strings.Contains(r.out, "2 (active)") || strings.Contains(r.out, "1 (active)") {
		t.Errorf("keys list after the rotation: %q %q", r.out, r.err)
	}
	// The daemon learns the new key at its start.
	stopPi()
	f.startDaemon("pi-1", pi)
	waitOnline(t, laptop, "pi-1")
	exec2, secret2 := runSecret(t, laptop, "pi-1")
	waitFinal(t, laptop, exec2)
	if up := waitUploaded(t, laptop, exec2, "pi-1"); up.Object.Generation != 2 {
		t.Fatalf("the log after the rotation is encrypted to generation %d, want 2", up.Object.Generation)
	}

	newEnv := map[string]string{"RUNLET_LOG_PASSPHRASE": newLogPass}
	for exec, secret := range map[string]string{exec1: secret1, exec2: secret2} {
		if r := runEnv(t, laptop, "", newEnv, "logs", exec); r.code != 0 || !strings.Contains(r.out, "the secret is "+secret) {
			t.Errorf("logs %s with the new passphrase: exit %d %q %q", exec, r.code, r.out, r.err)
		}
		if r := runEnv(t, laptop, "", oldEnv, "logs", exec); r.code != 1 || !strings.Contains(r.err, "wrong log passphrase") || strings.Contains(r.out, secret) {
			t.Errorf("logs %s with the old passphrase: exit %d %q %q", exec, r.code, r.out, r.err)
		}
	}
	if r := runIn(t, admin, "", "logs", exec2); r.code != 0 || !strings.Contains(r.out, "the secret is "+secret2) {
		t.Errorf("logs of a new log with the keys saved at the rotation: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runIn(t, leaver, "", "logs", exec1); r.code != 0 || !strings.Contains(r.out, "the secret is "+secret1) {
		t.Errorf("the leaver's saved key on an old log: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runIn(t, leaver, "", "logs", exec2); r.code != 1 || !strings.Contains(r.err, "encrypted to log key generation 2, which they do not hold") || strings.Contains(r.out, secret2) {
		t.Errorf("the leaver's saved key on a new log: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runIn(t, leaver, "", "keys", "unlock", "--passphrase-file", pass); r.code != 1 || !strings.Contains(r.err, "wrong log passphrase") {
		t.Errorf("the old passphrase after the rotation: exit %d %q", r.code, r.err)
	}
}

// TestLogsWithoutLogKey: a workspace without a log key keeps its logs on
// its devices, unencrypted: its device prints its own, the others say
// what to do.
func TestLogsWithoutLogKey(t *testing.T) {
	f := startFleet(t)
	pi := f.device("pi-1")
	laptop := f.signin("laptop")
	waitOnline(t, laptop, "pi-1")
	applyJobs(t, laptop, logJobs)
	exec, secret := runSecret(t, laptop, "pi-1")
	waitFinal(t, laptop, exec)
	if r := runIn(t, laptop, "", "logs", exec); r.code != 1 || !strings.Contains(r.err, "no log key yet") || !strings.Contains(r.err, "runlet keys init") {
		t.Errorf("logs on another device: exit %d %q %q", r.code, r.out, r.err)
	}
	if r := runIn(t, pi, "", "logs", exec, "--timestamps"); r.code != 0 || !strings.Contains(r.out, "Z the secret is "+secret) || !strings.Contains(r.err, "no log key yet") {
		t.Errorf("logs on its device: exit %d %q %q", r.code, r.out, r.err)
	}
	for _, verb := range []string{"rotate", "unlock"} {
		if r := runEnv(t, laptop, "", withEnv(adminEnv, "RUNLET_LOG_PASSPHRASE", logPass), "keys", verb); r.code != 1 || !strings.Contains(r.err, "runlet keys init") {
			t.Errorf("keys %s without a key: exit %d %q", verb, r.code, r.err)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
