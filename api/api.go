// Package api is the contract of Runlet's HTTP API: the request and
// response bodies, the error body, the RFC 8628 error codes and the OpenAPI
// document. The server, the Go client (apiclient), the CLI and the web
// tests all take the API's shapes from here, so that none of them needs
// another's package to speak to the others. It imports only the domain
// (runlet, jobspec) and the standard library.
package api

import _ "embed"

// Prefix is the path every API endpoint is under.
const Prefix = "/api/v1"

// OpenAPI is the hand-written OpenAPI 3.1 document of the API, served at
// Prefix+"/openapi.json". It is the only copy: edit it here.
//
//go:embed openapi.json
var OpenAPI []byte

// RFC 8628 3.5 error codes of the device token endpoint.
const (
	AuthorizationPending = "authorization_pending"
	SlowDown             = "slow_down"
	ExpiredToken         = "expired_token"
	AccessDenied         = "access_denied"
)
