//go:build !linux

package sim

// watch is Linux only (inotify); elsewhere the state file is polled.
func (s *Sim) watch() bool { return false }
