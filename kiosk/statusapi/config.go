// Package statusapi serves the daemon's loopback status endpoint: /healthz,
// /status and /metrics.
package statusapi

import (
	"fmt"
	"net"
)

// Config is the [status] section.
type Config struct {
	Listen string `toml:"listen"` // loopback only, e.g. "127.0.0.1:8089"
}

// Default returns the [status] defaults.
func Default() Config { return Config{Listen: "127.0.0.1:8089"} }

// Validate refuses anything but a loopback address.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("status.listen: %q is not host:port: %w", c.Listen, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("status.listen: %q is not a loopback address (the endpoint is local only)", c.Listen)
	}
	if port == "" {
		return fmt.Errorf("status.listen: %q has no port", c.Listen)
	}
	return nil
}
