//go:build !linux || !cgo

package screen

import "errors"

// watchPresses is only available under X on Linux.
func watchPresses(func()) (*PressWatch, func(), error) {
	return nil, nil, errors.New("watch presses: not available on this platform")
}
