package batch

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/runlet/runlet"
)

// A secret is written as a uvarint head, then its value: head&1 set, the
// secret is the decimal text of the uvarint that follows (the seed's
// secrets are integers above 2^53: 8 bytes instead of 17); clear, it is
// head>>1 bytes of text.
const secretNumeric = 1

// appendSecrets appends the secrets table: a count, then per sensor in
// ascending id, the id as a delta from the previous one and the secret.
// It returns the ids it wrote, in order.
func appendSecrets(out []byte, secrets map[int64]string) ([]byte, []int64, error) {
	ids := slices.Sorted(maps.Keys(secrets))
	out = binary.AppendUvarint(out, uint64(len(ids)))
	prev := int64(0)
	for _, id := range ids {
		s := secrets[id]
		if len(s) > runlet.MaxSensorSecret {
			return nil, nil, fmt.Errorf("batch: sensor %d's secret is %d bytes, more than the %d a secret may have", id, len(s), runlet.MaxSensorSecret)
		}
		out = binary.AppendVarint(out, id-prev)
		prev = id
		if v, ok := numeric(s); ok {
			out = binary.AppendUvarint(out, secretNumeric)
			out = binary.AppendUvarint(out, v)
			continue
		}
		out = binary.AppendUvarint(out, uint64(len(s))<<1)
		out = append(out, s...)
	}
	return out, ids, nil
}

// numeric returns the number whose decimal text s is, if s is exactly
// that text (digits, no leading zero) and fits in 64 bits.
func numeric(s string) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// secrets reads the secrets table into a map (nil when empty), all of
// the secrets sharing one string, and returns the ids in order too.
func (d *decoder) secrets() (map[int64]string, []int64) {
	n := d.count("secrets", 2)
	if n == 0 {
		return nil, nil
	}
	type span struct {
		id       int64
		from, to int
	}
	spans := make([]span, n)
	var text []byte
	id := int64(0)
	for i := range spans {
		id += d.varint()
		if i > 0 && id <= spans[i-1].id {
			d.fail("the secrets are out of order")
		}
		from := len(text)
		switch head := d.uvarint(); {
		case head == secretNumeric:
			text = strconv.AppendUint(text, d.uvarint(), 10)
		case head&secretNumeric != 0 || head>>1 > runlet.MaxSensorSecret:
			d.fail("a secret is too long or of an unknown kind")
		default:
			text = append(text, d.bytes(head>>1)...)
		}
		spans[i] = span{id, from, len(text)}
	}
	if d.err != nil {
		return nil, nil
	}
	all := string(text)
	secrets := make(map[int64]string, n)
	ids := make([]int64, n)
	for i, s := range spans {
		secrets[s.id] = all[s.from:s.to]
		ids[i] = s.id
	}
	return secrets, ids
}
