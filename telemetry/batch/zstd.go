package batch

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// coders are one zstd encoder and decoder for the process: EncodeAll and
// DecodeAll are safe for concurrent use, and each keeps a pool of states,
// so that a batch costs no new compressor.
type coders struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

var shared = sync.OnceValues(func() (coders, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithLowerEncoderMem(true))
	if err != nil {
		return coders{}, fmt.Errorf("batch: start the zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(MaxDecoded),
		zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return coders{}, fmt.Errorf("batch: start the zstd decoder: %w", err)
	}
	return coders{enc: enc, dec: dec}, nil
})

// compress returns the message whose header and plain body is plain,
// compressed if that makes it smaller.
func compress(plain []byte) ([]byte, error) {
	c, err := shared()
	if err != nil {
		return nil, err
	}
	body := plain[headerLen:]
	out := make([]byte, headerLen, headerLen+binary.MaxVarintLen64+len(body)/2)
	copy(out, plain[:headerLen])
	out[3] |= flagZstd
	out = binary.AppendUvarint(out, uint64(len(body)))
	out = c.enc.EncodeAll(body, out)
	if len(out) >= len(plain) {
		return plain, nil
	}
	return out, nil
}

// decompress reads a compressed body: its declared length, bounded by
// MaxDecoded, then a zstd frame that must decode to exactly that length.
func decompress(p []byte) ([]byte, error) {
	size, n := binary.Uvarint(p)
	if n <= 0 || size > MaxDecoded {
		return nil, fmt.Errorf("%w: a compressed body's length is missing or above %d bytes", ErrFormat, MaxDecoded)
	}
	c, err := shared()
	if err != nil {
		return nil, err
	}
	body, err := c.dec.DecodeAll(p[n:], make([]byte, 0, size))
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %w", ErrFormat, err)
	}
	if uint64(len(body)) != size {
		return nil, fmt.Errorf("%w: the body is %d bytes once decompressed, not the %d declared", ErrFormat, len(body), size)
	}
	return body, nil
}
