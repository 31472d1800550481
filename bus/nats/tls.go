package nats

import (
	"crypto/tls"
	"errors"

	natsgo "github.com/nats-io/nats.go"
)

// tlsConfig hands cfg to nats.go for when TLS is used (a tls:// URL, or a
// server that requires it) without demanding TLS of a server that has
// none, as nats.Secure would.
func tlsConfig(cfg *tls.Config) natsgo.Option {
	return func(o *natsgo.Options) error {
		if cfg != nil {
			o.TLSConfig = cfg
		}
		return nil
	}
}

// certError tells whether err is a refused server certificate: no use
// trying again.
func certError(err error) bool {
	var ve *tls.CertificateVerificationError
	return errors.As(err, &ve)
}

// reconnectFailed logs a refused certificate when reconnecting, once per
// distinct error, so that a daemon whose server changed its certificate
// says why it stays away.
func (b *Bus) reconnectFailed(_ *natsgo.Conn, err error) {
	if !certError(err) {
		return
	}
	b.mu.Lock()
	seen := b.certErr == err.Error()
	b.certErr = err.Error()
	b.mu.Unlock()
	if !seen {
		b.log.Error("the broker's certificate is refused; reconnecting", "err", err)
	}
}
