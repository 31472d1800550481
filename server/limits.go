package server

// The longest text people may give the server, in characters.
// runlet.CheckText refuses control characters in it as well: these values
// reach other people's terminals and pages. (A device's own name, OS, arch
// and version have their rules in checkDeviceName and wire.Heartbeat.Check.)
const (
	maxEmail         = 254 // RFC 5321's longest path
	maxWorkspaceName = 64
	maxUserName      = 100
)
