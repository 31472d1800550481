//go:build !windows

package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/blob"
	blobconnect "github.com/runlet/runlet/blob/connect"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/store"
	storeconnect "github.com/runlet/runlet/store/connect"
)

// End-to-end tests of encrypted run logs (issue 15, R-LOG-1 to R-LOG-3):
// the real binary as server, daemons and CLI, each a process, on embedded
// NATS and SQLite, with the directory object store or a MinIO of the
// test's own.

// logFleet is a fleet whose workspace has a log key, made by `runlet keys
// init` before any daemon started (a daemon asks for the active key at
// start, then at most every 30 s).
type logFleet struct {
	*fleet
	admin *apiclient.Client
	pass  string // the file holding the log passphrase
	minio *testenv.MinIOServer
	blobs string // the --blobs URL; "" for the default directory
}

// newLogFleet starts a server (on MinIO when withMinIO, else on its data
// directory's object store), signs in pi-1, pi-2 and mac, makes the
// workspace's log key and starts the daemons.
func newLogFleet(t *testing.T, withMinIO bool) *logFleet {
	t.Helper()
	return newLogFleetOn(t, embedded, withMinIO)
}

// newLogFleetOn is newLogFleet on stack st.
func newLogFleetOn(t *testing.T, st stack, withMinIO bool) *logFleet {
	t.Helper()
	lf := &logFleet{}
	var args []string
	if withMinIO {
		lf.minio = testenv.MinIO(t)
		lf.blobs = lf.minio.URL()
		args = []string{"--blobs", lf.blobs}
	}
	lf.fleet = newFleetArgs(t, st, args, []string{}...)
	login, err := apiclient.New(lf.url, "").Login(ctxFor(t), server.AdminEmail, adminPassword)
	if err != nil {
		t.Fatalf("sign in as the admin: %v", err)
	}
	lf.admin = apiclient.New(lf.url, login.Token)
	lf.pass = passphraseFile(t, "the first log passphrase "+testenv.RandomName(""))
	out := lf.asAdmin(t, "pi-1", "keys", "init", "--passphrase-file", lf.pass)
	if !strings.Contains(out, "generation 1") {
		t.Fatalf("keys init printed %q, want generation 1", out)
	}
	for _, d := range devices {
		lf.startDaemon(d)
	}
	return lf
}

// passphraseFile writes a passphrase to a file of its own.
func passphraseFile(t *testing.T, pass string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "passphrase")
	writeFile(t, p, pass+"\n")
	return p
}

// asAdmin runs a runlet verb that signs in as the workspace's admin
// (--admin and the password from the environment) from device's home,
// and fails the test unless it succeeds.
func (lf *logFleet) asAdmin(t *testing.T, device string, args ...string) string {
	t.Helper()
	r := runWith(t, lf.homes[device], "", []string{"RUNLET_ADMIN=" + server.AdminEmail, "RUNLET_PASSWORD=" + adminPassword}, args...)
	if r.code != 0 {
		t.Fatalf("runlet %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// logs runs `runlet logs exec ARGS` as device.
func (lf *logFleet) logs(t *testing.T, device, exec string, args ...string) result {
	t.Helper()
	return runCmd(t, lf.homes[device], append([]string{"logs", exec}, args...)...)
}

// mustLogs is logs that fails the test unless it succeeds.
func (lf *logFleet) mustLogs(t *testing.T, device, exec string, args ...string) string {
	t.Helper()
	r := lf.logs(t, device, exec, args...)
	if r.code != 0 {
		t.Fatalf("runlet logs %s %s as %s: exit %d\nstderr: %s", exec, strings.Join(args, " "), device, r.code, r.stderr)
	}
	return r.stdout
}

// waitUploaded waits until the server records the log of exec on device
// and returns the record.
func (lf *logFleet) waitUploaded(t *testing.T, exec, device string, within time.Duration) runlet.LogObject {
	t.Helper()
	var got *runlet.LogObject
	var last string
	testenv.EventuallyEvery(t, "the log of "+exec+" on "+device+" to be uploaded", within, pace, func() bool {
		logs, err := lf.admin.ExecutionLogs(ctxFor(t), exec)
		if err != nil {
			last = err.Error()
			return false
		}
		for _, l := range logs.Logs {
			if l.Device == device {
				last = l.Pending
				got = l.Object
			}
		}
		return got != nil
	})
	t.Logf("the log of %s on %s: %+v (last pending: %q)", exec, device, *got, last)
	return *got
}

// secretJob is a job that prints the secret held in a file on the device
// (the server never sees it: only the file's name is in the job) three
// times, around kb KiB of random base64 lines, and then its line count.
func secretJob(name, secretFile string, kb int) string {
	return fmt.Sprintf(`
%s:
  script: |
    echo "first $(cat %q)"
    head -c %d /dev/urandom | base64
    echo "middle $(cat %q)"
    head -c %d /dev/urandom | base64
    echo "last $(cat %q)"
`, name, secretFile, kb<<9, secretFile, kb<<9, secretFile)
}

// newSecret writes a fresh random secret to a file and returns both.
func newSecret(t *testing.T) (secret, file string) {
	t.Helper()
	secret = testenv.RandomName("s3cret-") + testenv.RandomName("-")
	file = filepath.Join(t.TempDir(), "secret.txt")
	writeFile(t, file, secret+"\n")
	return secret, file
}

// wantSecretLines fails t unless out holds the three lines of secretJob.
func wantSecretLines(t *testing.T, who, out, secret string) {
	t.Helper()
	for _, w := range []string{"first " + secret, "middle " + secret, "last " + secret} {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: the log misses %q (%d bytes read; start: %.300q)", who, w, len(out), out)
		}
	}
}

// R-LOG-1: a job prints a unique secret; every byte the server keeps (its
// data directory: SQLite database and WAL, NATS store, object store
// directory; its own log output) and, with MinIO, every object and MinIO's
// own data directory, and with PostgreSQL a dump of the database, hold it
// in no form (raw, hex, base64); neither does the home of the device that
// ran it once the run ended; the CLI reads it back.
func TestLogsSecretNeverOnServer(t *testing.T) {
	t.Run("directory", func(t *testing.T) { testLogsSecretNeverOnServer(t, embedded, false) })
	t.Run("minio", func(t *testing.T) { testLogsSecretNeverOnServer(t, embedded, true) })
	t.Run("minio-"+string(rabbitPostgres), func(t *testing.T) { testLogsSecretNeverOnServer(t, rabbitPostgres, true) })
}

func testLogsSecretNeverOnServer(t *testing.T, st stack, withMinIO bool) {
	lf := newLogFleetOn(t, st, withMinIO)
	secret, file := newSecret(t)
	lf.applyJobs(secretJob("leak", file, 2048)) // ~2.8 MB of output: several 1 MiB segments
	exec, _ := lf.detach("pi-2", "leak", "pi-1")
	lf.waitStatus(exec, "pi-1", runlet.StatusFinished)
	obj := lf.waitUploaded(t, exec, "pi-1", 2*time.Minute)
	if obj.State != runlet.LogUploaded || obj.Generation != 1 || obj.Segments < 3 {
		t.Errorf("the log's record is %+v, want state uploaded, generation 1, at least 3 segments", obj)
	}

	// Read back: on another device (downloaded), and on the device itself.
	wantSecretLines(t, "runlet logs on pi-2", lf.mustLogs(t, "pi-2", exec, "--passphrase-file", lf.pass), secret)
	wantSecretLines(t, "runlet logs on pi-1", lf.mustLogs(t, "pi-1", exec, "--passphrase-file", lf.pass), secret)
	plain, err := home.Dir(lf.homes["pi-1"]).LogPath(exec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(plain); !os.IsNotExist(err) {
		t.Errorf("the plaintext log %s is still there after the run ended (%v)", plain, err)
	}

	needles := encodings(secret)
	wantFindsEncoded(t, needles, secret)
	grepBytes(t, needles, "the server's own log (its output)", []byte(lf.server.out.String()))
	scanned := grepTree(t, needles, lf.data)
	scanned += grepTree(t, needles, lf.homes["pi-1"])
	if st == rabbitPostgres {
		scanned += grepPostgres(t, needles, lf.serverArgs)
	}
	if withMinIO {
		scanned += grepObjects(t, needles, lf.blobs)
		scanned += grepTree(t, needles, lf.minio.DataDir())
	}
	t.Logf("scanned %d bytes: the secret is in none of them", scanned)
}

// encodings are the forms of secret looked for: itself, hex, and base64
// (standard and URL-safe) at each of the three alignments a secret may
// have inside a longer encoded text (the characters that depend on it
// alone).
func encodings(secret string) map[string][]byte {
	m := map[string][]byte{
		"raw":            []byte(secret),
		"hex":            []byte(hex.EncodeToString([]byte(secret))),
		"upper-case hex": []byte(strings.ToUpper(hex.EncodeToString([]byte(secret)))),
	}
	for pad := range 3 {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", pad) + secret))
		first, end := (pad+2)/3, (pad+len(secret))/3 // whole 3-byte groups of the secret alone
		inner := enc[4*first : 4*end]
		m[fmt.Sprintf("base64 (offset %d)", pad)] = []byte(inner)
		m[fmt.Sprintf("base64url (offset %d)", pad)] = []byte(strings.NewReplacer("+", "-", "/", "_").Replace(inner))
	}
	return m
}

// wantFindsEncoded checks the needles themselves: each encoding of a text
// around secret holds the needle of its form.
func wantFindsEncoded(t *testing.T, needles map[string][]byte, secret string) {
	t.Helper()
	for pad := range 3 {
		text := []byte(strings.Repeat("y", pad) + secret + " and more")
		for form, enc := range map[string]string{
			"raw":                                  string(text),
			"hex":                                  hex.EncodeToString(text),
			fmt.Sprintf("base64 (offset %d)", pad): base64.StdEncoding.EncodeToString(text),
			fmt.Sprintf("base64url (offset %d)", pad): base64.URLEncoding.EncodeToString(text),
		} {
			if !bytes.Contains([]byte(enc), needles[form]) {
				t.Fatalf("the needle %s (%q) is not in %q", form, needles[form], enc)
			}
		}
	}
}

// grepTree fails t if any regular file under root holds a needle, and
// returns the bytes it read.
func grepTree(t *testing.T, needles map[string][]byte, root string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) { // a temporary file that went meanwhile
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		n += int64(len(b))
		grepBytes(t, needles, path, b)
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", root, err)
	}
	return n
}

// grepPostgres fails t if a dump of the server's PostgreSQL database
// (--db in serverArgs) holds a needle.
func grepPostgres(t *testing.T, needles map[string][]byte, serverArgs []string) int64 {
	t.Helper()
	var db string
	for i, a := range serverArgs {
		if a == "--db" && i+1 < len(serverArgs) {
			db = serverArgs[i+1]
		}
	}
	if db == "" {
		t.Fatal("the server has no --db")
	}
	dump := testenv.Run(t, "pg_dump", "--no-owner", db)
	if !strings.Contains(dump, "log_objects") {
		t.Fatalf("the dump of %s has no table log_objects", db)
	}
	grepBytes(t, needles, "the dump of the PostgreSQL database", []byte(dump))
	return int64(len(dump))
}

// grepObjects fails t if any object of the store at url holds a needle.
func grepObjects(t *testing.T, needles map[string][]byte, url string) int64 {
	t.Helper()
	ctx := ctxFor(t)
	st, err := blobconnect.Open(ctx, url)
	if err != nil {
		t.Fatalf("open the object store: %v", err)
	}
	defer st.Close()
	var n int64
	var objects int
	err = st.List(ctx, "", func(info blob.Info) error {
		rc, _, err := st.Open(ctx, info.Key, 0, -1)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		objects++
		n += int64(len(b))
		grepBytes(t, needles, "object "+info.Key, b)
		return nil
	})
	if err != nil {
		t.Fatalf("list the object store: %v", err)
	}
	if objects == 0 {
		t.Fatal("the object store holds no object: the log was not uploaded to it")
	}
	return n
}

func grepBytes(t *testing.T, needles map[string][]byte, where string, b []byte) {
	t.Helper()
	for form, needle := range needles {
		if i := bytes.Index(b, needle); i >= 0 {
			t.Errorf("the secret (%s) is in %s at byte %d", form, where, i)
		}
	}
}

// R-LOG-2: MinIO is down when a run ends. The device keeps the upload
// queued and retries; when MinIO is back the log arrives, once: one object,
// one record, and the CLI reads it.
func TestLogsMinIOStoppedDuringUpload(t *testing.T) {
	lf := newLogFleet(t, true)
	secret, file := newSecret(t)
	lf.applyJobs(secretJob("upload", file, 64))
	lf.minio.Stop()
	exec, _ := lf.detach("pi-2", "upload", "pi-1")
	lf.waitStatus(exec, "pi-1", runlet.StatusFinished)

	queue := home.Dir(lf.homes["pi-1"]).UploadDir()
	testenv.EventuallyEvery(t, "the upload to be queued on pi-1", 30*time.Second, pace, func() bool {
		return dirEntries(t, queue) > 0
	})
	daemon := lf.daemons["pi-1"]
	testenv.EventuallyEvery(t, "pi-1's daemon to say an upload failed", 60*time.Second, pace, func() bool {
		return strings.Contains(daemon.out.String(), "cannot upload a log yet; retrying")
	})
	r := lf.logs(t, "pi-2", exec, "--passphrase-file", lf.pass)
	if r.code == 0 || !strings.Contains(r.stderr, "still uploading") {
		t.Errorf("runlet logs while MinIO is down: exit %d, stderr %q; want a failure saying the log is still uploading", r.code, r.stderr)
	}
	if logs, err := lf.admin.ExecutionLogs(ctxFor(t), exec); err != nil || len(logs.Logs) != 1 || logs.Logs[0].Object != nil {
		t.Fatalf("while MinIO is down the server says %+v (%v), want one target and no object", logs, err)
	}

	lf.minio.Start()
	// The device's backoff (1 s doubling, at most 5 min) decides when.
	obj := lf.waitUploaded(t, exec, "pi-1", 3*time.Minute)
	testenv.EventuallyEvery(t, "pi-1's upload queue to be empty", 60*time.Second, pace, func() bool {
		return dirEntries(t, queue) == 0
	})
	wantSecretLines(t, "runlet logs on pi-2", lf.mustLogs(t, "pi-2", exec, "--passphrase-file", lf.pass), secret)

	ctx := ctxFor(t)
	st, err := blobconnect.Open(ctx, lf.blobs)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var keys []string
	if err := st.List(ctx, "", func(info blob.Info) error {
		keys = append(keys, info.Key)
		if info.SHA256 != obj.SHA256 || info.Size != obj.Size {
			t.Errorf("object %s is %+v, the record says sha256 %s size %d", info.Key, info, obj.SHA256, obj.Size)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.Contains(keys[0], exec) {
		t.Errorf("the bucket holds %q, want one object, the log of %s", keys, exec)
	}
	logs, err := lf.admin.ExecutionLogs(ctx, exec)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.Logs) != 1 || logs.Logs[0].Object == nil || logs.Logs[0].Object.Uploaded != obj.Uploaded {
		t.Errorf("the server's records: %+v, want the one record first seen (uploaded %s)", logs, obj.Uploaded)
	}
}

// dirEntries is how many entries dir holds (0 when it does not exist).
func dirEntries(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(es)
}

// A daemon killed with kill -9 mid-run: at its restart it completes the
// encrypted log from its plaintext frame log, marks it interrupted and
// uploads it. Every line printed before the kill is in it, and the run
// ends as a run whose daemon died does (Error, with a reason).
func TestLogsKill9MidRun(t *testing.T) {
	lf := newLogFleet(t, false)
	dir := t.TempDir()
	printed, never := filepath.Join(dir, "printed"), filepath.Join(dir, "never")
	t.Cleanup(func() { touch(t, never) }) // lets the orphaned job go
	const lines = 3000
	lf.applyJobs(fmt.Sprintf(`
numbered:
  script: |
    for i in $(seq 1 %d); do echo "line-$i of the run"; done
    touch %q
    %s
    echo "never printed"
`, lines, printed, waitForFile(never)))
	exec, _ := lf.detach("pi-2", "numbered", "pi-1")
	waitFile(t, printed)
	// The last line reached the device's runner: a viewer shows it.
	live := startTerm(t, lf.homes["mac"], "attach", exec)
	live.waitFor(t, fmt.Sprintf("line-%d of the run", lines))

	lf.daemons["pi-1"].kill9()
	lf.startDaemon("pi-1")
	e := lf.waitExecution(exec, "pi-1", "ended", func(e runlet.Execution) bool { return e.Status.Final() })
	if e.Status != runlet.StatusError || e.Reason == "" {
		t.Errorf("after the daemon's kill -9: %+v, want status Error with a reason", e)
	}
	obj := lf.waitUploaded(t, exec, "pi-1", 2*time.Minute)
	if obj.State != runlet.LogInterrupted {
		t.Errorf("the log's record is %+v, want state interrupted", obj)
	}
	plain, err := home.Dir(lf.homes["pi-1"]).LogPath(exec)
	if err != nil {
		t.Fatal(err)
	}
	testenv.EventuallyEvery(t, "the recovered run's plaintext log to be removed", 30*time.Second, pace, func() bool {
		_, err := os.Stat(plain)
		return os.IsNotExist(err)
	})
	out := lf.mustLogs(t, "pi-2", exec, "--passphrase-file", lf.pass)
	for i := 1; i <= lines; i++ {
		if w := fmt.Sprintf("line-%d of the run\r\n", i); !strings.Contains(out, w) {
			t.Fatalf("the recovered log misses %q; it ends with %q", w, tail(out, 300))
		}
	}
	if strings.Contains(out, "never printed") {
		t.Errorf("the log holds output after the kill: %q", tail(out, 300))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// R-LOG-3 with a damaged object on the server (the directory store's file
// edited behind the server's back):
//   - a byte flipped in the body, the record unchanged: a device with no
//     copy refuses the download (its sha256 differs from the server's) and
//     keeps nothing; a device with a good copy of the same hash reads its
//     own, as the rule says (the hashes are equal: nothing to download);
//   - the body truncated: refused the same way;
//   - a copy that the server says is newer and different, which is not a
//     log at all: the device with a good copy downloads it (the rule),
//     refuses it after the check, keeps its copy and prints it, and says
//     so with a non-zero exit.
func TestLogsCorruptedObject(t *testing.T) {
	lf := newLogFleet(t, false)
	secret, file := newSecret(t)
	lf.applyJobs(secretJob("precious", file, 256))
	exec, _ := lf.detach("pi-1", "precious", "pi-1")
	lf.waitStatus(exec, "pi-1", runlet.StatusFinished)
	obj := lf.waitUploaded(t, exec, "pi-1", 2*time.Minute)

	// pi-2 reads it once: it now has a good local copy.
	wantSecretLines(t, "pi-2's first read", lf.mustLogs(t, "pi-2", exec, "--passphrase-file", lf.pass), secret)
	pi2Copy, err := home.Dir(lf.homes["pi-2"]).FetchedCastPath("pi-1", exec)
	if err != nil {
		t.Fatal(err)
	}
	good := readFile(t, pi2Copy)
	if sha := sha256Hex(good); sha != obj.SHA256 {
		t.Fatalf("pi-2's copy has sha256 %s, the server's %s", sha, obj.SHA256)
	}
	macCopy, err := home.Dir(lf.homes["mac"]).FetchedCastPath("pi-1", exec)
	if err != nil {
		t.Fatal(err)
	}
	object := lf.objectFile(t, exec, "pi-1")
	header, body := splitObjectFile(t, object)

	// A flipped byte.
	flipped := bytes.Clone(body)
	flipped[len(flipped)/2] ^= 0x55
	writeFile(t, object, string(header)+string(flipped))
	wantLogRefused(t, lf.logs(t, "mac", exec, "--passphrase-file", lf.pass), secret, "damaged", "no local copy")
	if _, err := os.Stat(macCopy); !os.IsNotExist(err) {
		t.Errorf("mac kept %s from a damaged download (%v)", macCopy, err)
	}
	wantSecretLines(t, "pi-2 with its good copy", lf.mustLogs(t, "pi-2", exec, "--passphrase-file", lf.pass), secret)
	wantSecretLines(t, "pi-1, the device's own copy", lf.mustLogs(t, "pi-1", exec, "--passphrase-file", lf.pass), secret)

	// Truncated.
	writeFile(t, object, string(header)+string(body[:len(body)/3]))
	wantLogRefused(t, lf.logs(t, "mac", exec, "--passphrase-file", lf.pass), secret, "truncated", "no local copy")

	// Newer, different, and not a log: the server's record and object say
	// so consistently, so only the reader's check can tell.
	notALog := bytes.Clone(body)
	copy(notALog, "NOTALOG!")
	sum, _ := hex.DecodeString(sha256Hex(notALog))
	newer := obj.Modified.Add(time.Hour)
	writeFile(t, object, string(objectHeader(header, sum, newer))+string(notALog))
	lf.rewriteRecord(t, exec, "pi-1", func(o *runlet.LogObject) {
		o.SHA256, o.Modified = sha256Hex(notALog), newer
	})
	r := lf.logs(t, "pi-2", exec, "--passphrase-file", lf.pass)
	if r.code == 0 || !strings.Contains(r.stderr, "damaged") || !strings.Contains(r.stderr, "kept the local copy") {
		t.Errorf("pi-2 with a newer damaged copy on the server: exit %d, stderr %q; want a failure saying the server's copy is damaged and the local copy was kept", r.code, r.stderr)
	}
	t.Logf("pi-2 kept its copy: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	wantSecretLines(t, "pi-2 after refusing the newer damaged copy", r.stdout, secret)
	if !bytes.Equal(readFile(t, pi2Copy), good) {
		t.Error("pi-2's local copy changed after it refused the server's damaged copy")
	}
}

// wantLogRefused fails t unless r is a failed `runlet logs` that printed no
// part of the log and says every one of says on stderr.
func wantLogRefused(t *testing.T, r result, secret string, says ...string) {
	t.Helper()
	t.Logf("runlet logs refused: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	if r.code == 0 || strings.Contains(r.stdout, secret) {
		t.Errorf("runlet logs of a damaged object: exit %d, stdout %.200q; want a failure that prints nothing of it", r.code, r.stdout)
	}
	for _, s := range says {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("runlet logs of a damaged object said %q; want it to say %q", r.stderr, s)
		}
	}
}

// objectFile is the directory store's file of the log of exec on device:
// blobs/ws/<workspace>/logs/<exec>/<device id>.rcast~ (blob/dir).
func (lf *logFleet) objectFile(t *testing.T, exec, device string) string {
	t.Helper()
	c := lf.credentials(t, device)
	p := filepath.Join(lf.data, "blobs", "ws", c.Workspace, "logs", exec, c.DeviceID+".rcast~")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the log's object file: %v", err)
	}
	return p
}

func (lf *logFleet) credentials(t *testing.T, device string) *home.Credentials {
	t.Helper()
	c, err := home.Dir(lf.homes[device]).Credentials()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The directory store's object file starts with a header (blob/dir):
// magic (8 bytes), sha256 (32), modification time (int64 Unix ns), flags
// (8).
const dirHeaderLen = 8 + 32 + 8 + 8

func splitObjectFile(t *testing.T, path string) (header, body []byte) {
	t.Helper()
	b := readFile(t, path)
	if len(b) < dirHeaderLen {
		t.Fatalf("%s is shorter than its header", path)
	}
	return b[:dirHeaderLen:dirHeaderLen], b[dirHeaderLen:]
}

// objectHeader is header with another sha256 and modification time.
func objectHeader(header, sum []byte, modified time.Time) []byte {
	h := bytes.Clone(header)
	copy(h[8:40], sum)
	binary.BigEndian.PutUint64(h[40:48], uint64(modified.UnixNano()))
	return h
}

// rewriteRecord changes the server's record of a log in its database.
func (lf *logFleet) rewriteRecord(t *testing.T, exec, device string, change func(*runlet.LogObject)) {
	t.Helper()
	ctx := ctxFor(t)
	db, err := storeconnect.Open(ctx, "sqlite:"+filepath.Join(lf.data, "runlet.db"), store.Options{})
	if err != nil {
		t.Fatalf("open the server's database: %v", err)
	}
	defer db.Close()
	c := lf.credentials(t, device)
	o, err := db.LogObject(ctx, c.Workspace, exec, c.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	o.Workspace = c.Workspace
	change(&o)
	if err := db.PutLogObject(ctx, &o); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A wrong passphrase is refused with a clear message and prints nothing;
// the right one reads the log, from a file or the environment; `keys
// unlock --save` makes the passphrase unnecessary on that device until
// `keys lock`.
func TestLogsWrongPassphrase(t *testing.T) {
	lf := newLogFleet(t, false)
	secret, file := newSecret(t)
	lf.applyJobs(secretJob("guarded", file, 16))
	exec, _ := lf.detach("pi-1", "guarded", "pi-1")
	lf.waitStatus(exec, "pi-1", runlet.StatusFinished)
	lf.waitUploaded(t, exec, "pi-1", 2*time.Minute)

	wrong := passphraseFile(t, "not the log passphrase at all")
	r := lf.logs(t, "pi-2", exec, "--passphrase-file", wrong)
	if r.code != 1 || !strings.Contains(r.stderr, "wrong log passphrase") || strings.Contains(r.stdout, secret) {
		t.Errorf("runlet logs with a wrong passphrase: exit %d, stderr %q, stdout %.200q; want exit 1, \"wrong log passphrase\", nothing printed", r.code, r.stderr, r.stdout)
	}
	pass := strings.TrimSpace(string(readFile(t, lf.pass)))
	env := runWith(t, lf.homes["pi-2"], "", []string{"RUNLET_LOG_PASSPHRASE=" + pass}, "logs", exec)
	if env.code != 0 {
		t.Fatalf("runlet logs with RUNLET_LOG_PASSPHRASE: exit %d, %s", env.code, env.stderr)
	}
	wantSecretLines(t, "runlet logs with RUNLET_LOG_PASSPHRASE", env.stdout, secret)

	if r := lf.logs(t, "mac", exec); r.code == 0 || !strings.Contains(r.stderr, "passphrase") {
		t.Errorf("runlet logs without a passphrase nor a terminal: exit %d, stderr %q; want a failure asking for it", r.code, r.stderr)
	}
	mustRun(t, lf.homes["mac"], "keys", "unlock", "--save", "--passphrase-file", lf.pass)
	if fi, err := os.Stat(home.Dir(lf.homes["mac"]).IdentityFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the saved identities: %v, %v; want a file of mode 0600", fi, err)
	}
	wantSecretLines(t, "runlet logs after keys unlock --save", lf.mustLogs(t, "mac", exec), secret)
	mustRun(t, lf.homes["mac"], "keys", "lock")
	if r := lf.logs(t, "mac", exec); r.code == 0 {
		t.Errorf("runlet logs after keys lock succeeded without a passphrase: %.200q", r.stdout)
	}
}

// A member who leaves after the rotation of the log key: B (the device
// pi-2, standing for a person's laptop) reads a log with the passphrase
// and keeps the unsealed key (keys unlock --save). The admin removes B's
// device (its token is revoked) and rotates with a new passphrase. A log of a run
// after that is encrypted to the new generation: the old passphrase opens
// nothing on the server any more (every generation was sealed again), and
// the key B kept does not open the new log, though it still opens the old
// one (what B had, B keeps). The new passphrase reads both.
func TestLogsRemovedMemberAfterRotation(t *testing.T) {
	lf := newLogFleet(t, false)
	oldSecret, oldFile := newSecret(t)
	newSecretText, newFile := newSecret(t)
	lf.applyJobs(secretJob("before", oldFile, 16) + secretJob("after", newFile, 16))
	before, _ := lf.detach("pi-1", "before", "pi-1")
	lf.waitStatus(before, "pi-1", runlet.StatusFinished)
	lf.waitUploaded(t, before, "pi-1", 2*time.Minute)

	mustRun(t, lf.homes["pi-2"], "keys", "unlock", "--save", "--passphrase-file", lf.pass)
	wantSecretLines(t, "B reads the old log", lf.mustLogs(t, "pi-2", before), oldSecret)
	kept := filepath.Join(t.TempDir(), "b-kept-identities.txt")
	writeFile(t, kept, string(readFile(t, home.Dir(lf.homes["pi-2"]).IdentityFile())))

	lf.asAdmin(t, "pi-1", "devices", "rm", "pi-2", "--yes")
	if r := lf.logs(t, "pi-2", before); r.code == 0 {
		t.Errorf("B's removed device still reads logs through the server: %.200q", r.stdout)
	}
	newPass := passphraseFile(t, "the second log passphrase "+testenv.RandomName(""))
	out := lf.asAdmin(t, "pi-1", "keys", "rotate", "--passphrase-file", lf.pass, "--new-passphrase-file", newPass)
	if !strings.Contains(out, "generation 2") {
		t.Errorf("keys rotate printed %q, want generation 2", out)
	}
	// A daemon learns the active key at start and then at most every
	// 30 s: restarting pi-1's makes the next run use generation 2 now.
	lf.daemons["pi-1"].stop()
	lf.startDaemon("pi-1")

	after, _ := lf.detach("pi-1", "after", "pi-1")
	lf.waitStatus(after, "pi-1", runlet.StatusFinished)
	if obj := lf.waitUploaded(t, after, "pi-1", 2*time.Minute); obj.Generation != 2 {
		t.Fatalf("the log after the rotation is encrypted to generation %d, want 2", obj.Generation)
	}

	for _, exec := range []string{after, before} {
		r := lf.logs(t, "mac", exec, "--passphrase-file", lf.pass)
		if r.code == 0 || !strings.Contains(r.stderr, "wrong log passphrase") {
			t.Errorf("the old passphrase after the rotation, log %s: exit %d, stderr %q; want \"wrong log passphrase\"", exec, r.code, r.stderr)
		}
	}
	r := lf.logs(t, "mac", after, "--identity", kept)
	if r.code == 0 || strings.Contains(r.stdout, newSecretText) {
		t.Errorf("B's kept key opens the log made after the rotation: exit %d, stdout %.200q", r.code, r.stdout)
	}
	t.Logf("B's kept key on the new log: %s", strings.TrimSpace(r.stderr))
	wantSecretLines(t, "B's kept key on the old log", lf.mustLogs(t, "mac", before, "--identity", kept), oldSecret)

	wantSecretLines(t, "the new passphrase, new log", lf.mustLogs(t, "mac", after, "--passphrase-file", newPass), newSecretText)
	wantSecretLines(t, "the new passphrase, old log", lf.mustLogs(t, "mac", before, "--passphrase-file", newPass), oldSecret)
}
