package castlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/runlet/runlet"
)

// The log keys (R-LOG-1): an age X25519 key pair made on a person's
// machine; the server keeps its recipient and its identity sealed with the
// workspace's log passphrase (age's scrypt recipient, armored).

// scryptWorkFactor is the sealing's scrypt cost, 2^N; 0 is age's default.
// Tests lower it.
var scryptWorkFactor = 0

// maxScryptWorkFactor is the highest cost a sealed identity may ask of
// whoever unseals it: age's own limit.
const maxScryptWorkFactor = 22

// GenerateKey makes a new X25519 log key: its recipient ("age1…"), its
// identity sealed with passphrase (age scrypt, armored), and the identity.
func GenerateKey(passphrase string) (recipient, sealed string, id *age.X25519Identity, err error) {
	if passphrase == "" {
		return "", "", nil, emptyPassphrase()
	}
	id, err = age.GenerateX25519Identity()
	if err != nil {
		return "", "", nil, fmt.Errorf("generate a log key: %w", err)
	}
	sealed, err = Seal(id, passphrase)
	if err != nil {
		return "", "", nil, err
	}
	return id.Recipient().String(), sealed, id, nil
}

// Seal encrypts identity with passphrase (age scrypt, armored).
func Seal(id *age.X25519Identity, passphrase string) (string, error) {
	if passphrase == "" {
		return "", emptyPassphrase()
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return "", fmt.Errorf("seal the log key: %w", err)
	}
	if scryptWorkFactor > 0 {
		r.SetWorkFactor(scryptWorkFactor)
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return "", fmt.Errorf("seal the log key: %w", err)
	}
	if _, err := io.WriteString(w, id.String()+"\n"); err != nil {
		return "", fmt.Errorf("seal the log key: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("seal the log key: %w", err)
	}
	if err := aw.Close(); err != nil {
		return "", fmt.Errorf("seal the log key: %w", err)
	}
	return buf.String(), nil
}

// Unseal opens a sealed identity. An error wrapping ErrWrongPassphrase
// (EFORBIDDEN) when passphrase does not open it; EINVALID for text that
// is not a sealed identity, and for an empty passphrase.
func Unseal(sealed, passphrase string) (*age.X25519Identity, error) {
	if passphrase == "" {
		return nil, emptyPassphrase()
	}
	bin, err := checkSealed(sealed)
	if err != nil {
		return nil, err
	}
	sid, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("unseal the log key: %w", err)
	}
	r, err := age.Decrypt(bytes.NewReader(bin), sid)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "the sealed log key is damaged: %v", err)
	}
	text, err := io.ReadAll(io.LimitReader(r, maxSealedBytes))
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "the sealed log key is damaged: %v", err)
	}
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(text)))
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "the sealed text opens, but does not hold a log key (an age X25519 identity)")
	}
	return id, nil
}

// CheckSealed reports whether s is a sealed identity as Seal makes them:
// armored age text whose header has exactly one scrypt stanza, with a cost
// that Unseal accepts. It reads the header without decrypting (the server
// checks uploads of keys with it). EINVALID when it is not.
func CheckSealed(s string) error {
	_, err := checkSealed(s)
	return err
}

// checkSealed is CheckSealed, returning the age file without armor.
func checkSealed(s string) ([]byte, error) {
	invalid := func(why string, args ...any) error {
		return runlet.Errorf(runlet.EINVALID, "this is not a sealed log key: "+why, args...)
	}
	if len(s) > maxSealedBytes {
		return nil, invalid("it is %d bytes long, a sealed key is a few hundred", len(s))
	}
	bin, err := io.ReadAll(armor.NewReader(strings.NewReader(s)))
	if err != nil {
		return nil, invalid("it is not armored age text (-----BEGIN AGE ENCRYPTED FILE-----): %v", err)
	}
	probe := &stanzaProbe{}
	_, err = age.Decrypt(bytes.NewReader(bin), probe)
	var noMatch *age.NoIdentityMatchError
	if !errors.As(err, &noMatch) {
		return nil, invalid("its age header is damaged: %v", err)
	}
	if len(probe.stanzas) != 1 || probe.stanzas[0].Type != "scrypt" {
		return nil, invalid("it is not encrypted with a passphrase alone (age scrypt)")
	}
	st := probe.stanzas[0]
	if len(st.Args) != 2 {
		return nil, invalid("its scrypt stanza is damaged")
	}
	n, err := strconv.Atoi(st.Args[1])
	if err != nil || n < 1 || n > maxScryptWorkFactor {
		return nil, invalid("its scrypt cost %q is not between 1 and %d", st.Args[1], maxScryptWorkFactor)
	}
	return bin, nil
}

// stanzaProbe is an identity that opens nothing: it keeps the stanzas of
// the header age parsed for it.
type stanzaProbe struct{ stanzas []*age.Stanza }

func (p *stanzaProbe) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	p.stanzas = stanzas
	return nil, age.ErrIncorrectIdentity
}

// ParseRecipient parses an age X25519 recipient, EINVALID when it is not one.
func ParseRecipient(s string) (*age.X25519Recipient, error) {
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "%q is not a log key's recipient (an age X25519 recipient, age1…): %v", s, err)
	}
	return r, nil
}

func emptyPassphrase() error {
	return runlet.Errorf(runlet.EINVALID, "the log passphrase is empty: give one")
}
