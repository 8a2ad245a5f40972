//go:build linux && cgo

package screen

/*
#cgo LDFLAGS: -lX11
void rk_watch_display(void);
*/
import "C"

import (
	"os"
	"sync"
	"sync/atomic"
)

var (
	lostOnce sync.Once
	lostHook atomic.Pointer[func()]
)

// watchDisplay makes a broken X connection end the process through
// displayLost instead of Xlib's exit(1). Process-wide: the last hook wins.
func watchDisplay(hook func()) {
	lostHook.Store(&hook)
	C.rk_watch_display()
}

//export rkDisplayLost
func rkDisplayLost() { displayLost() }

// displayLost runs the hook (one log line) and exits with ExitDisplayLost.
// It may be called from several threads at once (each X connection sees the
// break); the first exits the process, the others wait for that.
func displayLost() {
	first := false
	lostOnce.Do(func() { first = true })
	if !first {
		select {}
	}
	if h := lostHook.Load(); h != nil && *h != nil {
		(*h)()
	}
	os.Exit(ExitDisplayLost)
}
