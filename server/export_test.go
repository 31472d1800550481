package server

import "golang.org/x/crypto/bcrypt"

// The tests hash passwords with the lowest bcrypt cost: under -race one
// of the default cost takes a second, and a lockout takes ten.
func init() { passwordCost = bcrypt.MinCost }
