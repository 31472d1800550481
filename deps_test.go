package runlet_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The boundaries between the packages, as a test (tailscale's deptest, on
// go list). layout is the only statement of them: docs/CONTRIBUTING.md's
// table is generated from it (go test -run TestLayoutDoc -update-layout .),
// and TestDeps checks the code against it.

const module = "github.com/runlet/runlet"

// pkg is a row of the layout: a package, what it is, the packages of this
// module it may import directly, and what it must never depend on, even
// through another package (a module package or an outside module path).
type pkg struct {
	path  string   // relative to the module; "." is the root
	what  string   // for people, in the doc
	may   []string // module packages; "x/..." is x and everything under it; "*" is any
	never []string // module packages or outside modules, never in its dependencies
	other string   // what else it may import, for the doc (outside modules)
}

// Who may depend on the concrete edges: only the wiring, the connectors,
// the adapters themselves, their tests and the programs.
var (
	adapters = []string{"bus/amqp", "bus/amqp/rabbitauth", "bus/nats", "bus/nats/embedded", "bus/connect", "store/sqlite", "store/postgres", "store/connect", "blob/dir", "blob/s3", "blob/connect"}
	drivers  = []string{"github.com/jackc/pgx", "modernc.org/sqlite", "github.com/rabbitmq/amqp091-go", "github.com/nats-io/nats-server", "github.com/nats-io/nats.go", "github.com/creack/pty", "github.com/minio/minio-go"}
	services = []string{"auth", "dispatch", "intake", "scheduler"}
	edges    = concat(adapters, drivers, []string{"server", "daemon", "cli", "apiclient", "runner", "pty", "cmd/assemble"})
)

var layout = []pkg{
	{path: ".", what: "the domain: `Execution`, its `Status` and `Outcome` (Stopped, Killed), the records the API returns (workspace, user, device, token, device code), the terminal `Size`, application `Error` codes, safe text", never: edges},
	{path: "api", what: "the HTTP API's contract: request and response bodies, the error body, RFC 8628 error codes, the one OpenAPI document (`api/openapi.json`)", may: []string{".", "jobspec"}, never: edges},
	{path: "jobspec", what: "job YAML: parse, validate, templates, schedules (`every`)", may: []string{"."}, never: concat(edges, []string{"bus", "store"}), other: "yaml, cron"},
	{path: "pty", what: "the pseudo-terminal seam: Unix (`creack/pty`) and Windows (ConPTY)", may: []string{"."}, other: "creack/pty, x/sys"},
	{path: "runner", what: "device-side executor: FIFO queue, parallelism, PTY, numbered frames, replay; the execution log through `Config.Logs` (`LogStore`; default `FileLogs`, one file per execution)", may: []string{".", "home", "pty"}, never: concat([]string{"bus", "server", "store", "daemon"}, adapters)},
	{path: "bus", what: "the broker contract: `Bus`, `Message`, routing keys (`key.go` is the only place keys are spelt and parsed), `Policy` (`policy.go`, the only place broker permissions are decided), credentials in broker URLs", may: []string{".", "internal/redact"}, never: concat(edges, []string{"store", "wire"})},
	{path: "bus/bustest", what: "the contract suite every adapter passes", may: []string{".", "bus", "internal/testenv"}, never: concat(services, []string{"server", "store"})},
	{path: "bus/nats", what: "NATS adapter (JetStream)", may: []string{".", "bus", "internal/redact"}, never: concat(services, []string{"server", "daemon", "cli", "store"}), other: "nats.go"},
	{path: "bus/nats/embedded", what: "the embedded NATS server: permissions from `bus.Policy`, storage limits from free space", may: []string{".", "bus", "bus/nats", "internal/disk"}, never: concat(services, []string{"server", "daemon", "cli", "store"}), other: "nats-server"},
	{path: "bus/amqp", what: "RabbitMQ adapter (AMQP 0-9-1), and the management API client that closes a revoked user's connections", may: []string{".", "bus", "internal/redact"}, never: concat(services, []string{"server", "daemon", "cli", "store"}), other: "amqp091-go"},
	{path: "bus/amqp/rabbitauth", what: "RabbitMQ's HTTP auth backend answered from `bus.PolicyFor`, with its cache", may: []string{".", "bus", "bus/amqp", "internal/redact"}, never: concat(services, []string{"server", "daemon", "cli", "store"})},
	{path: "bus/connect", what: "`Open(url)`: picks the bus adapter by URL scheme", may: []string{".", "bus", "bus/amqp", "bus/nats", "internal/redact"}, never: concat(services, []string{"server", "daemon", "cli", "store"})},
	{path: "store", what: "the relational store contract: one interface per concern, the store's own update and filter types", may: []string{"."}, never: concat(edges, []string{"bus"})},
	{path: "store/internal/sqlstore", what: "the SQL shared by the dialects", may: []string{".", "store"}, never: concat(services, []string{"bus", "server"})},
	{path: "store/sqlite", what: "SQLite dialect (modernc, no cgo)", may: []string{".", "store", "store/internal/sqlstore", "internal/disk"}, never: concat(services, []string{"bus", "server"}), other: "modernc sqlite"},
	{path: "store/postgres", what: "PostgreSQL dialect (pgx)", may: []string{".", "store", "store/internal/sqlstore"}, never: concat(services, []string{"bus", "server"}), other: "pgx"},
	{path: "store/storetest", what: "the contract suite every dialect passes", may: []string{".", "store"}, never: concat(services, []string{"bus", "server"})},
	{path: "store/connect", what: "`Open(url)`: picks the dialect by URL scheme", may: []string{".", "store", "store/sqlite", "store/postgres", "internal/redact"}, never: concat(services, []string{"bus", "server"})},
	{path: "blob", what: "the object store contract (R-LOG-2): `Store` (put whole or nothing, checked against its length and sha256; ranged reads; list in key order), `Meta`, `CheckKey` (the one rule for keys)", may: []string{"."}, never: concat(edges, []string{"store", "bus", "blob/dir", "blob/s3", "blob/connect", "github.com/minio/minio-go"})},
	{path: "blob/blobtest", what: "the contract suite every object store adapter passes", may: []string{".", "blob"}, never: concat(services, []string{"server", "store", "bus"})},
	{path: "blob/dir", what: "the directory object store (the default, `DATA/blobs`): one file per object, its meta in a header, written beside and renamed over", may: []string{".", "blob"}, never: concat(services, []string{"server", "store", "bus", "daemon", "cli"})},
	{path: "blob/s3", what: "the S3 object store (MinIO, AWS): one checked PUT per object (x-amz-checksum-sha256), meta as user metadata, outages as `EUNAVAILABLE`", may: []string{".", "blob"}, never: concat(services, []string{"server", "store", "bus", "daemon", "cli"}), other: "minio-go"},
	{path: "blob/connect", what: "`Open(url)`: picks the object store by URL (`dir:///path`, a path, `s3://`, `s3+http://`)", may: []string{".", "blob", "blob/dir", "blob/s3", "internal/redact"}, never: concat(services, []string{"server", "store", "bus", "daemon", "cli"})},
	{path: "castlog", what: "a run's log as a device records it (R-LOG-1): an asciicast v2 recording encrypted with age (X25519) in independent segments, with an index; writer (sealing by size, age, flush), resume after a crash, scan, segment reading, export; the log keys (generate, seal and unseal with a passphrase, check)", may: []string{"."}, never: concat(edges, []string{"store", "bus", "blob", "vault"}), other: "filippo.io/age"},
	{path: "wire", what: "what the parts say over the bus: dispatch, frames, input, control, status, heartbeat, events", may: []string{".", "bus"}, never: edges},
	{path: "home", what: "a device's own directory: credentials (0600), logs, daemon state", may: []string{".", "internal/atomicfile"}, never: edges},
	{path: "outbox", what: "a durable queue of bus messages on a device (one fsynced file each, bounded): `Put`, then `Drain` publishes in order and removes a message once the broker confirmed it; the daemon's statuses, later telemetry and log uploads", may: []string{".", "bus", "internal/atomicfile"}, never: edges},
	{path: "telemetry/sensormsg", what: "the sensors' JSON messages (the seed's `{\"device\":{\"id\",\"auth\"},\"reading\":{…}}`): one, an array, or newline-delimited; exact integers; refusals per field and reason", may: []string{"."}, never: edges},
	{path: "telemetry/batch", what: "telemetry's wire format: readings in a compact binary batch (delta-coded, compressed) with the sensors' secrets once each", may: []string{"."}, never: edges, other: "klauspost/compress"},
	{path: "telemetry/spool", what: "a device's outbox of readings: fsynced segment files, group commit, an acknowledged cursor, bounded (drops the oldest, counted)", may: []string{".", "internal/atomicfile", "internal/lockfile"}, never: edges},
	{path: "telemetry/gateway", what: "the device as its sensors' gateway: the local HTTP endpoint and MQTT subscription, readings into the spool, batches from the spool onto the bus", may: []string{".", "bus", "internal/atomicfile", "internal/redact", "telemetry/batch", "telemetry/sensormsg", "telemetry/spool"}, never: concat(adapters, services, []string{"store", "server", "github.com/jackc/pgx", "modernc.org/sqlite"}), other: "paho.mqtt.golang"},
	{path: "telemetry/ingest", what: "the server's telemetry pipeline, one consumer per workspace: authenticate device and sensor, archive raw, store the series, publish `ReadingsKey`, ack after commit; replay; retention", may: []string{".", "bus", "store", "telemetry/batch"}, never: concat(adapters, drivers, []string{"server", "auth", "dispatch", "daemon", "apiclient"})},
	{path: "telemetry/sim", what: "the simulator of gateways and sensors: a deterministic schedule with its oracle, a scripted day with the oracle of its alerts, an endless random mode, fault scripts", may: []string{".", "telemetry/batch", "telemetry/sensormsg"}, never: concat(adapters, drivers, []string{"server", "daemon"})},
	{path: "viewer", what: "follows one execution over the bus: ordered frames without gaps (replay), input, resize, stop, kill", may: []string{".", "bus", "wire"}, never: edges},
	{path: "tlspin", what: "TLS certificate pinning by SHA-256 fingerprint", may: []string{}, never: edges},
	{path: "web", what: "the browser UI: pages as ES modules (`router.js` owns navigation) and vendored xterm.js and uPlot, embedded with `go:embed` (`web/static/`)", may: []string{}, never: edges},
	{path: "daemon", what: "the device agent: dispatch queue → runner, frames → bus, status outbox, heartbeats, replay; each run's log encrypted as it is written (castlog), recovered after a crash and uploaded through a durable queue; it is handed a way to dial the broker", may: []string{".", "api", "apiclient", "bus", "castlog", "home", "internal/atomicfile", "internal/lockfile", "outbox", "runner", "telemetry/gateway", "telemetry/sensormsg", "telemetry/spool", "tlspin", "wire"}, never: concat(adapters, services, []string{"store", "server", "github.com/jackc/pgx", "modernc.org/sqlite"}), other: "filippo.io/age"},
	{path: "auth", what: "who a request or broker connection is, and whether it may still be: tokens, passwords and the limits of sign-in, sessions and CSRF, the first start's admin and enrollment token, broker principals (the embedded NATS authenticator, the RabbitMQ backend's `Directory`), revocation (`Cutter` closes a revoked device's broker connections), the admin API's Ed25519 JWTs", may: []string{".", "api", "bus", "store"}, never: concat(adapters, drivers, []string{"server", "dispatch", "intake", "daemon", "apiclient"}), other: "x/crypto, golang-jwt/jwt/v5"},
	{path: "intake", what: "what the server takes in from the bus per workspace: statuses into the store, heartbeats into presence, registered consumers, workspace events, the sweeps", may: []string{".", "bus", "store", "wire"}, never: concat(adapters, drivers, []string{"server", "auth", "dispatch", "daemon", "apiclient"})},
	{path: "dispatch", what: "starts and stops runs for any client (user, device, system actor): targets, rendering, the durable dispatch, stop and kill; owns the job set: loading it, saving it (a save that removes jobs needs prune), its history and rollback", may: []string{".", "bus", "jobspec", "store", "wire"}, never: concat(adapters, drivers, []string{"server", "auth", "intake", "daemon", "apiclient"})},
	{path: "lease", what: "the leader lease in the store that lets one server process of several do a piece of work alone (the scheduler, the silence and device alerts): take, renew when half spent, release on close, log changes of leader", may: []string{".", "store"}, never: concat(adapters, drivers, []string{"server", "auth", "dispatch", "intake", "daemon", "apiclient"})},
	{path: "alert", what: "the alert service (R-TEL-3, R-TEL-4): thresholds decided on each batch the ingest commits, silence and device alerts by the lease's holder, routing to channels, notifications queued in the decision's transaction", may: []string{".", "lease", "store"}, never: concat(adapters, drivers, []string{"server", "auth", "dispatch", "intake", "telemetry/ingest", "daemon", "apiclient"})},
	{path: "vault", what: "the run log service (R-LOG-1 to R-LOG-3): log key generations (recipients and passphrase-sealed identities it cannot open), uploads from the device itself into the object store with their records (object first, record after, idempotent by sha256), downloads by range, why a target's log is not there yet, the retention sweep by the holder of a lease; `ObjectKey` is the one place the objects' layout is spelled", may: []string{".", "api", "blob", "castlog", "lease", "store"}, never: concat(adapters, drivers, []string{"blob/dir", "blob/s3", "blob/connect", "server", "auth", "dispatch", "intake", "daemon", "apiclient"}), other: "filippo.io/age"},
	{path: "notify", what: "sends the outbox of notifications (R-TEL-5) by e-mail (SMTP with STARTTLS or TLS), signed webhook and HTTP SMS provider: claims due ones, sends each concurrently with a timeout, records every attempt (sent, retried with backoff, failed with the reason); `VerifyWebhook` for receivers", may: []string{".", "lease", "store"}, never: concat(adapters, drivers, []string{"server", "auth", "dispatch", "intake", "alert", "daemon", "apiclient"})},
	{path: "scheduler", what: "runs the jobs that have a schedule (`every`, R-JOB-7) through `dispatch`, as the client \"scheduler\": one server at a time through a lease in the store, each tick claimed once per workspace, job and instant, at most one missed tick caught up", may: []string{".", "dispatch", "jobspec", "lease", "store"}, never: concat(adapters, drivers, []string{"server", "auth", "intake", "daemon", "apiclient"})},
	{path: "server", what: "HTTP only: routes, one handler file per concern (sign-in, sessions, jobs, runs, devices, settings), the terminal WebSocket, TLS, the OpenAPI route; it is handed the store, the bus and the services", may: []string{".", "api", "auth", "bus", "dispatch", "home", "intake", "internal/redact", "jobspec", "scheduler", "store", "telemetry/batch", "telemetry/ingest", "tlspin", "vault", "viewer", "web", "wire"}, never: concat(adapters, drivers, []string{"daemon", "apiclient", "cli", "runner", "pty"}), other: "coder/websocket, yaml"},
	{path: "apiclient", what: "the Go client of the HTTP API (CLI, `runlet up`)", may: []string{".", "api", "home", "jobspec"}, never: concat(adapters, drivers, services, []string{"store", "pty", "server", "bus"})},
	{path: "cli", what: "the `runlet` verbs; `runlet server` and `runlet up` run what `cmd/assemble` assembles", may: []string{".", "api", "apiclient", "bus", "castlog", "cmd/assemble", "daemon", "home", "internal/atomicfile", "internal/osservice", "jobspec", "runner", "server", "telemetry/gateway", "telemetry/sensormsg", "tlspin", "viewer", "wire"}, other: "cobra, x/term, qrterminal, filippo.io/age"},
	{path: "cmd/assemble", what: "the wiring: opens the store, the bus and the embedded broker from URLs, builds the services and hands them to the HTTP server, the daemon or the CLI; no logic of its own", may: []string{"*"}},
	{path: "cmd/runlet", what: "`main`: signals and exit code, nothing else", may: []string{"cli", "cmd/assemble"}},
	{path: "e2e", what: "end-to-end tests: the real binary as server, daemons and CLIs in separate processes", may: []string{"*"}},
	{path: "bench/...", what: "benchmark programs (`go run ./bench/NAME`), each printing a results table or `--json`; `bench/internal/benchkit` is their shared harness", may: []string{"*"}},
	{path: "internal/atomicfile", what: "write a file whole or not at all, and durably (temp file, fsync, rename, fsync the directory)", may: []string{}},
	{path: "internal/disk", what: "free space of a file system", may: []string{}, other: "x/sys"},
	{path: "internal/lockfile", what: "an exclusive lock on a directory (flock, LockFileEx) holding the holder's pid: one server per data directory, one daemon per home", may: []string{}, other: "x/sys"},
	{path: "internal/osservice", what: "runlet as the operating system's service: systemd units (system or user), launchd daemons and agents, Windows services (x/sys/windows/svc/mgr), rendered from one `Spec` and golden-tested; install, uninstall, start, stop, status; `Serve` hosts a command under the Windows SCM", may: []string{".", "internal/atomicfile"}, other: "x/sys"},
	{path: "internal/redact", what: "URL redaction: the one mask for credentials in logs and errors", may: []string{}},
	{path: "internal/termtest", what: "terminal helpers for tests", may: []string{}},
	{path: "internal/testenv", what: "real services for tests (vhost/database per test, a Mailpit SMTP server and a MinIO of its own, skip or fail), and the test helpers written once (polling, a locked buffer)", may: []string{"internal/disk"}, other: "x/sys"},
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// listed is one package as go list sees it.
type listed struct {
	path    string // relative to the module
	imports []string
	deps    []string
}

func goList(t *testing.T) []listed {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var ps []listed
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		ps = append(ps, listed{path: rel(f[0]), imports: strings.Fields(f[1]), deps: strings.Fields(f[2])})
	}
	return ps
}

// rel is a module package's path relative to the module ("." for the
// root), or "" for a path outside the module.
func rel(p string) string {
	switch {
	case p == module:
		return "."
	case strings.HasPrefix(p, module+"/"):
		return strings.TrimPrefix(p, module+"/")
	}
	return ""
}

// matches reports whether pattern names p: itself, or with "/..." p and
// everything under it; "*" names every package.
func matches(pattern, p string) bool {
	if pattern == "*" || pattern == p {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return false
}

func ruleFor(p string) (pkg, bool) {
	for _, r := range layout {
		if matches(r.path, p) {
			return r, true
		}
	}
	return pkg{}, false
}

// violations returns what breaks the layout in ps: a package without a
// row, an import its row does not allow, a dependency it must never have.
func violations(ps []listed) []string {
	var out []string
	for _, p := range ps {
		r, ok := ruleFor(p.path)
		if !ok {
			out = append(out, fmt.Sprintf("%s has no row in layout (deps_test.go): say what it is and what it may import", p.path))
			continue
		}
		for _, imp := range p.imports {
			m := rel(imp)
			if m == "" && !std(imp) && r.other == "" && !slices.Contains(r.may, "*") {
				out = append(out, fmt.Sprintf("%s imports %s, an outside module, which its row in layout does not name (it may import %s)", p.path, imp, mayText(r)))
			}
			if m == "" || m == p.path {
				continue
			}
			if !slices.ContainsFunc(r.may, func(pat string) bool { return matches(pat, m) }) {
				out = append(out, fmt.Sprintf("%s imports %s; it may import only %s", p.path, m, mayText(r)))
			}
		}
		for _, n := range r.never {
			// One line per forbidden entry: its first package says enough.
			for _, d := range p.deps {
				if hit := rel(d); hit != "" && matches(n, hit) || hit == "" && strings.Contains(n, ".") && strings.HasPrefix(d, n) {
					out = append(out, fmt.Sprintf("%s depends on %s, which it must never depend on (through %s)", p.path, d, via(ps, p, d)))
					break
				}
			}
		}
	}
	return out
}

// std reports whether an import path is the standard library's: its
// first element has no dot.
func std(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// via names a direct import of p that brings in dep, to point at the
// import to remove.
func via(ps []listed, p listed, dep string) string {
	for _, imp := range p.imports {
		if imp == dep {
			return "a direct import"
		}
		for _, q := range ps {
			if q.path == rel(imp) && slices.Contains(q.deps, dep) {
				return rel(imp)
			}
		}
	}
	return "an outside module"
}

func TestDeps(t *testing.T) {
	for _, v := range violations(goList(t)) {
		t.Error(v)
	}
}

// TestDepsCatchesForbiddenImports shows the test can fail: the server
// importing a store dialect, the runner the bus, and a new package
// without a row are each reported.
func TestDepsCatchesForbiddenImports(t *testing.T) {
	ps := goList(t)
	for i := range ps {
		switch ps[i].path {
		case "server":
			ps[i].imports = append(ps[i].imports, module+"/store/postgres")
			ps[i].deps = append(ps[i].deps, module+"/store/postgres", "github.com/jackc/pgx/v5")
		case "store":
			ps[i].imports = append(ps[i].imports, "go.yaml.in/yaml/v3")
		case "runner":
			ps[i].imports = append(ps[i].imports, module+"/bus")
			ps[i].deps = append(ps[i].deps, module+"/bus")
		}
	}
	ps = append(ps, listed{path: "newthing"})
	got := strings.Join(violations(ps), "\n")
	for _, want := range []string{
		"server imports store/postgres",
		"server depends on github.com/jackc/pgx/v5",
		"runner imports bus",
		"runner depends on " + module + "/bus",
		"newthing has no row",
		"store imports go.yaml.in/yaml/v3, an outside module",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("violations lack %q:\n%s", want, got)
		}
	}
}

var updateLayout = flag.Bool("update-layout", false, "rewrite the layout table of docs/CONTRIBUTING.md from deps_test.go")

const (
	layoutBegin = "<!-- layout: generated by deps_test.go (go test -run TestLayoutDoc -update-layout .); edit the table there -->"
	layoutEnd   = "<!-- end of layout -->"
)

func mayText(r pkg) string {
	if slices.Contains(r.may, "*") {
		return "anything"
	}
	var names []string
	for _, m := range r.may {
		if m == "." {
			m = "runlet"
		}
		names = append(names, "`"+m+"`")
	}
	if r.other != "" {
		names = append(names, r.other)
	}
	if len(names) == 0 {
		return "stdlib only"
	}
	return strings.Join(names, ", ")
}

func layoutTable() string {
	var b strings.Builder
	b.WriteString("| path | what it is | may import | never depends on |\n| --- | --- | --- | --- |\n")
	for _, r := range layout {
		path := "`" + r.path + "/`"
		if r.path == "." {
			path = "`runlet` (the root)"
		}
		never := "—"
		if len(r.never) > 0 {
			never = strings.Join(r.never, ", ")
			if len(r.never) >= len(edges) && slices.Equal(r.never[:len(edges)], edges) {
				never = strings.Join(append([]string{"the edges (adapters, drivers, server, daemon, cli, apiclient, runner, pty)"}, r.never[len(edges):]...), ", ")
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", path, r.what, mayText(r), never)
	}
	return b.String()
}

// TestLayoutDoc keeps docs/CONTRIBUTING.md's table the layout's.
func TestLayoutDoc(t *testing.T) {
	const file = "docs/CONTRIBUTING.md"
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, layoutBegin), strings.Index(s, layoutEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q around the layout table", file, layoutBegin, layoutEnd)
	}
	want := s[:i] + layoutBegin + "\n" + layoutTable() + s[j:]
	if want == s {
		return
	}
	if *updateLayout {
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's layout table differs from deps_test.go's layout: run go test -run TestLayoutDoc -update-layout .", file)
}
