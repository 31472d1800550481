// Package e2e holds the end-to-end tests of Runlet: a real `runlet server`
// and three daemons (pi-1, pi-2, mac) as separate processes, driven by the
// runlet command in pseudo-terminals as a person would (embedded NATS and
// SQLite). It has no code of its own besides the tests.
package e2e
