package castlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/runlet/runlet"
)

func TestGenerateAndUnseal(t *testing.T) {
	recipient, sealed, id, err := GenerateKey("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if recipient != id.Recipient().String() || !strings.HasPrefix(recipient, "age1") {
		t.Errorf("recipient %q, identity's %q", recipient, id.Recipient())
	}
	if !strings.HasPrefix(sealed, "-----BEGIN AGE ENCRYPTED FILE-----") || strings.Contains(sealed, "AGE-SECRET-KEY") {
		t.Errorf("sealed is not armored age text:\n%s", sealed)
	}
	if err := CheckSealed(sealed); err != nil {
		t.Errorf("CheckSealed: %v", err)
	}
	if _, err := ParseRecipient(recipient); err != nil {
		t.Errorf("ParseRecipient: %v", err)
	}
	got, err := Unseal(sealed, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != id.String() {
		t.Error("Unseal gave another identity")
	}

	tests := []struct {
		name, sealed, passphrase string
		wrong                    bool // ErrWrongPassphrase (EFORBIDDEN)
	}{
		{"wrong passphrase", sealed, "Correct horse", true},
		{"empty passphrase", sealed, "", false},
		{"not armored", "AGE-SECRET-KEY-1…", "correct horse", false},
		{"empty", "", "correct horse", false},
		{"to a recipient", encryptArmored(t, id.Recipient()), "correct horse", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unseal(tt.sealed, tt.passphrase)
			if tt.wrong {
				if !errors.Is(err, ErrWrongPassphrase) || runlet.ErrorCode(err) != runlet.EFORBIDDEN {
					t.Errorf("Unseal: %v, want ErrWrongPassphrase, EFORBIDDEN", err)
				}
				return
			}
			if runlet.ErrorCode(err) != runlet.EINVALID || errors.Is(err, ErrWrongPassphrase) {
				t.Errorf("Unseal: %v, want EINVALID", err)
			}
		})
	}
}

// TestSealDefaultCost seals at age's own cost, as the CLI does.
func TestSealDefaultCost(t *testing.T) {
	if testing.Short() {
		t.Skip("scrypt at age's cost takes seconds")
	}
	defer func(n int) { scryptWorkFactor = n }(scryptWorkFactor)
	scryptWorkFactor = 0
	id, _ := newKey(t)
	sealed, err := Seal(id, "pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSealed(sealed); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sealedHeader(t, sealed), "-> scrypt ") || !strings.Contains(sealedHeader(t, sealed), " 18\n") {
		t.Errorf("header %q, want one scrypt stanza of cost 18", sealedHeader(t, sealed))
	}
	got, err := Unseal(sealed, "pass")
	if err != nil || got.String() != id.String() {
		t.Errorf("Unseal: %v", err)
	}
}

// sealedHeader is the age header of armored text.
func sealedHeader(t *testing.T, sealed string) string {
	t.Helper()
	h, _, _ := strings.Cut(dearmor(t, sealed), "\n---")
	return h + "\n"
}

func dearmor(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(armor.NewReader(strings.NewReader(s))); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func rearmor(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	aw.Write([]byte(s))
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// encryptArmored encrypts a line to recipients, armored.
func encryptArmored(t *testing.T, recipients ...age.Recipient) string {
	t.Helper()
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("AGE-SECRET-KEY-1\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestCheckSealed(t *testing.T) {
	id, _ := newKey(t)
	other, _ := newKey(t)
	sealed, err := Seal(id, "pass")
	if err != nil {
		t.Fatal(err)
	}
	// Sealing at cost 23 takes minutes: edit the header instead (its MAC
	// breaks, which CheckSealed does not look at).
	expensive := rearmor(t, strings.Replace(dearmor(t, sealed), " 10\n", " 23\n", 1))
	tests := []struct {
		name, sealed string
		ok           bool
	}{
		{"sealed", sealed, true},
		{"with blank lines around", "\n" + sealed + "\n\n", true},
		{"to an X25519 recipient", encryptArmored(t, other.Recipient()), false},
		{"to two recipients", encryptArmored(t, id.Recipient(), other.Recipient()), false},
		{"cost above age's limit", expensive, false},
		{"cut short", sealed[:len(sealed)/2], false},
		{"plain identity", id.String(), false},
		{"a recipient", id.Recipient().String(), false},
		{"empty", "", false},
		{"huge", strings.Repeat("A", 1<<20), false},
		{"armored garbage", "-----BEGIN AGE ENCRYPTED FILE-----\naGVsbG8=\n-----END AGE ENCRYPTED FILE-----\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSealed(tt.sealed)
			if tt.ok && err != nil {
				t.Errorf("CheckSealed: %v", err)
			}
			if !tt.ok && runlet.ErrorCode(err) != runlet.EINVALID {
				t.Errorf("CheckSealed: %v, want EINVALID", err)
			}
		})
	}
}

func TestParseRecipient(t *testing.T) {
	id, _ := newKey(t)
	for _, s := range []string{"", "age1", id.String(), " " + id.Recipient().String(), "ssh-ed25519 AAAA"} {
		if _, err := ParseRecipient(s); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("ParseRecipient(%q): %v, want EINVALID", s, err)
		}
	}
	r, err := ParseRecipient(id.Recipient().String())
	if err != nil || r.String() != id.Recipient().String() {
		t.Errorf("ParseRecipient: %v, %v", r, err)
	}
}

func TestEmptyPassphrase(t *testing.T) {
	id, _ := newKey(t)
	if _, _, _, err := GenerateKey(""); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("GenerateKey: %v, want EINVALID", err)
	}
	if _, err := Seal(id, ""); runlet.ErrorCode(err) != runlet.EINVALID {
		t.Errorf("Seal: %v, want EINVALID", err)
	}
}
