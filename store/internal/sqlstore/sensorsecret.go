package sqlstore

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// A sensor secret is kept as PBKDF2-HMAC-SHA256 of the secret with a
// random 16-byte salt, encoded in one string: "pbkdf2-sha256$ITER$SALT$KEY"
// (base64 without padding). The iterations make a copied database slow to
// search (the seed's secrets are random integers of about 56 bits) while
// a check stays near a millisecond: the ingest caches successful checks,
// so it pays that once per sensor. The count is in each hash, so that it
// can be raised later without invalidating stored secrets.
const (
	secretScheme = "pbkdf2-sha256"
	secretIter   = 4096
	secretSalt   = 16
	secretKeyLen = 32
)

var b64 = base64.RawStdEncoding

// hashSensorSecret returns the encoded hash of secret with a new salt.
func hashSensorSecret(secret string) (string, error) {
	salt := make([]byte, secretSalt)
	_, _ = rand.Read(salt) // never fails (crypto/rand)
	key, err := pbkdf2.Key(sha256.New, secret, salt, secretIter, secretKeyLen)
	if err != nil {
		return "", fmt.Errorf("hash the sensor secret: %w", err)
	}
	return secretScheme + "$" + strconv.Itoa(secretIter) + "$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// checkSensorSecret reports whether secret matches the encoded hash.
func checkSensorSecret(encoded, secret string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != secretScheme {
		return false, fmt.Errorf("a stored sensor secret is not a %s hash", secretScheme)
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 {
		return false, fmt.Errorf("a stored sensor secret has a bad iteration count %q", parts[1])
	}
	salt, err1 := b64.DecodeString(parts[2])
	want, err2 := b64.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, fmt.Errorf("a stored sensor secret is not valid base64")
	}
	got, err := pbkdf2.Key(sha256.New, secret, salt, iter, len(want))
	if err != nil {
		return false, fmt.Errorf("hash the sensor secret: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
