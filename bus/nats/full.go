package nats

import (
	"errors"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// JetStream's API error codes for a store without space: the account's
// limit (which the embedded server keeps in step with the disk), the
// server's, and too little left for a new stream.
const (
	codeAccountResourcesExceeded jetstream.ErrorCode = 10002
	codeInsufficientResources    jetstream.ErrorCode = 10023
	codeStorageResourcesExceeded jetstream.ErrorCode = 10047
	codeStreamStoreFailed        jetstream.ErrorCode = 10077
)

// storeFull reports whether JetStream refused for lack of disk space.
func storeFull(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode {
	case codeAccountResourcesExceeded, codeInsufficientResources, codeStorageResourcesExceeded:
		return true
	case codeStreamStoreFailed:
		return strings.Contains(api.Description, "no space left")
	}
	return false
}
