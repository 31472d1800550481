package castlog

// SetScryptWorkFactorForTests sets the scrypt cost of Seal and GenerateKey
// to 2^n (0: age's default, 2^18) and returns the function that restores
// the previous cost. It is for the tests of other packages (the CLI's
// 'runlet keys'), where a seal at age's cost takes seconds, ten under the
// race detector; Unseal reads the cost from the sealed text. Call it
// before any goroutine seals, and never outside tests.
func SetScryptWorkFactorForTests(n int) (restore func()) {
	old := scryptWorkFactor
	scryptWorkFactor = n
	return func() { scryptWorkFactor = old }
}
