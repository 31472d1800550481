package tlspin_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/tlspin"
)

func TestParse(t *testing.T) {
	cert := testenv.CertFile(t, first(testenv.SelfSignedCert(t)))
	want := tlspin.Fingerprint(cert)
	sum := sha256.Sum256(cert.Raw)
	hexes := strings.ToUpper(hex.EncodeToString(sum[:]))
	var pairs []string
	for i := 0; i < len(hexes); i += 2 {
		pairs = append(pairs, hexes[i:i+2])
	}
	colons := strings.Join(pairs, ":")
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"as runlet prints it", want, true},
		{"padded base64", want + "=", true},
		{"as openssl prints it", "sha256 Fingerprint=" + colons, true},
		{"hex pairs", colons, true},
		{"lower-case hex", strings.ToLower(hexes), true},
		{"surrounding space", "  " + want + "\n", true},
		{"too short", want[:20], false},
		{"SHA-1 from openssl", "SHA1 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01", false},
		{"nonsense", "yes please", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tlspin.Parse(tc.in)
			if tc.ok && (err != nil || got != want) {
				t.Fatalf("Parse(%q) = %q, %v; want %q", tc.in, got, err, want)
			}
			if !tc.ok && err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tc.in, got)
			}
		})
	}
}

// TestConfig dials a server with a self-signed certificate: its pin lets
// the client in, another pin fails the handshake with a ChangedError that
// names both fingerprints, and a certificate an authority vouches for is
// taken whatever the pin.
func TestConfig(t *testing.T) {
	if tlspin.Config("", nil) != nil {
		t.Error("Config with no pin and no roots is not nil")
	}
	self := serve(t)(testenv.SelfSignedCert(t))
	fp := tlspin.Fingerprint(self.Certificate())
	if err := get(self.URL, tlspin.Config(fp, nil)); err != nil {
		t.Fatalf("the pinned certificate is refused: %v", err)
	}
	other := tlspin.Fingerprint(testenv.CertFile(t, first(testenv.SelfSignedCert(t))))
	err := get(self.URL, tlspin.Config(other, nil))
	var changed *tlspin.ChangedError
	if !errors.As(err, &changed) || changed.Was != other || changed.Now != fp {
		t.Fatalf("another pin: err %v, want a ChangedError from %s to %s", err, other, fp)
	}
	for _, want := range []string{other, fp, "runlet @signin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	if tlspin.Refusal(err) != changed.Error() {
		t.Errorf("Refusal = %q", tlspin.Refusal(err))
	}
	if err := get(self.URL, nil); tlspin.Refusal(err) == "" {
		t.Errorf("an unpinned self-signed certificate: err %v, want a refusal", err)
	}

	ca := testenv.NewCA(t)
	signed := serve(t)(ca.Issue(t))
	if err := get(signed.URL, tlspin.Config(other, ca.Pool)); err != nil {
		t.Errorf("a certificate of a trusted authority is refused: %v", err)
	}
	if err := get(signed.URL, tlspin.Config("", ca.Pool)); err != nil {
		t.Errorf("a certificate of a trusted authority is refused without a pin: %v", err)
	}
}

// TestProbe reads the certificate without sending a request, and tells
// whether an authority vouches for it.
func TestProbe(t *testing.T) {
	ca := testenv.NewCA(t)
	s := serve(t)(ca.Issue(t))
	before := requests.Load()
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		trusted bool
		err     bool
		url     string
	}{
		{"the system's roots", false, false, s.URL},
		{"the test's CA", true, false, s.URL},
		{"plain HTTP", false, true, "http://" + s.Listener.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roots := ca.Pool
			if !tc.trusted {
				roots = nil
			}
			leaf, trusted, err := tlspin.Probe(ctx, tc.url, roots)
			if tc.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil || trusted != tc.trusted || tlspin.Fingerprint(leaf) != tlspin.Fingerprint(s.Certificate()) {
				t.Fatalf("Probe: trusted %v, err %v", trusted, err)
			}
		})
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("the probes sent %d requests", n)
	}
}

func first(a, _ string) string { return a }

// requests counts the requests the test servers answered.
var requests atomic.Int32

// serve starts an HTTPS server with the certificate of the files given
// to the function it returns.
func serve(t *testing.T) func(certFile, keyFile string) *httptest.Server {
	return func(certFile, keyFile string) *httptest.Server {
		t.Helper()
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
		s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
		s.StartTLS()
		t.Cleanup(s.Close)
		return s
	}
}

func get(url string, cfg *tls.Config) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
