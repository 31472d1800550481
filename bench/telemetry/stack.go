package main

import "github.com/runlet/runlet/bench/internal/benchkit"

// The stacks the bench runs on.
const (
	natsSQLite     = benchkit.NATSSQLite
	rabbitPostgres = benchkit.RabbitPostgres
)

// stack is benchkit's server on one stack, with this bench's phases as
// methods.
type stack struct{ *benchkit.Stack }
