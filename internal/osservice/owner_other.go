//go:build !unix

package osservice

// Owner is "" where files have no Unix owner: a Windows service runs as
// LocalSystem unless told otherwise.
func Owner(string) (string, error) { return "", nil }

// chown does nothing where the service control manager, not file
// ownership, decides what the service may write.
func chown(string, string) error { return nil }
