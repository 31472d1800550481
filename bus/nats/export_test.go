package nats

// Kill drops b's connection as a crash would: nothing settled, nothing
// closed on the adapter's side.
func Kill(b *Bus) { b.nc.Close() }
