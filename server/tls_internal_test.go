package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/runlet/runlet/tlspin"
)

func TestBeyondLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", false},
		{"127.0.0.2:8080", false},
		{"[::1]:8080", false},
		{"localhost:8080", false},
		{"LocalHost:0", false},
		{"0.0.0.0:8080", true},
		{"[::]:8080", true},
		{":8080", true},
		{"192.168.1.20:8080", true},
		{"[fe80::1%eth0]:8080", true},
		{"pi-hub.local:8080", true},
		{"10.0.0.2", true},
		{"127.0.0.1", false},
	} {
		if got := beyondLoopback(tc.addr); got != tc.want {
			t.Errorf("beyondLoopback(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// TestSelfSignedKeptAcrossRestarts: the certificate is made once (ECDSA
// P-256, for the hosts given, files 0600) and loaded again after, so that
// devices' pins hold.
func TestSelfSignedKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	hosts := []string{"localhost", "127.0.0.1", "::1", "pi-hub.local", "192.168.1.20"}
	cert, created, err := selfSigned(dir, hosts)
	if err != nil || !created {
		t.Fatalf("first start: created %v, err %v", created, err)
	}
	for _, f := range []string{TLSCertFile, TLSKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	leaf := cert.Leaf
	if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", leaf.PublicKey)
	}
	if !slices.Contains(leaf.DNSNames, "pi-hub.local") || len(leaf.IPAddresses) != 3 {
		t.Errorf("names %v %v, want those of %v", leaf.DNSNames, leaf.IPAddresses, hosts)
	}
	if err := leaf.VerifyHostname("192.168.1.20"); err != nil {
		t.Error(err)
	}
	again, created, err := selfSigned(dir, []string{"other.example"})
	if err != nil || created {
		t.Fatalf("second start: created %v, err %v", created, err)
	}
	if tlspin.Fingerprint(again.Leaf) != tlspin.Fingerprint(leaf) {
		t.Error("the second start made another certificate")
	}

	// A key without its certificate is a mistake to report, not to paper
	// over with a new certificate devices would refuse.
	if err := os.Remove(filepath.Join(dir, TLSCertFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := selfSigned(dir, hosts); err == nil {
		t.Error("a key without its certificate: no error")
	}
}
