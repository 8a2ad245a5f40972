//go:build !linux || !cgo

package screen

// watchDisplay is only needed under X on Linux.
func watchDisplay(func()) {}

func displayLost() {}
