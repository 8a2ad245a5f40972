package session

// Sync waits until the core has handled everything posted before it,
// including reports parked by RecorderChanged and ChecksUpdated.
func Sync(c *Core) { c.sync() }

// SetVerify replaces the PIN check (call before Run).
func SetVerify(c *Core, f func(hash, pin string) bool) { c.verify = f }
