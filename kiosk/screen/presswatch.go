package screen

import "sync/atomic"

// PressWatch counts completed presses (down, then up) of the primary button
// or of a touch, as the X server sends them, independently of ebiten's
// frames.
//
// Why: ebiten reads the button state once per frame, and in its minimum
// FPS mode (the one that sleeps while idle) it turns GLFW's sticky buttons
// off (ebiten #1791). A press and its release that both arrive while a
// frame is being made, or while the process waits for the CPU, are never
// seen: a quick tap, or any tap on a loaded device, is lost (findings F2).
// The X server's raw events are queued for this watcher's own connection,
// so none is lost however late it reads them; the game compares the count
// with the presses ebiten saw and makes up for the missing one.
//
// A touch that also emulates a pointer may arrive both as a raw touch and as
// a raw button event: the watcher follows one "down" state, so either order
// counts one press.
type PressWatch struct {
	isDown bool          // the watcher goroutine's only
	ups    atomic.Uint64 // completed presses so far
}

func (w *PressWatch) down() { w.isDown = true }

// up reports whether it completed a press.
func (w *PressWatch) up() bool {
	if !w.isDown {
		return false
	}
	w.isDown = false
	w.ups.Add(1)
	return true
}

// Ups is the number of completed presses so far.
func (w *PressWatch) Ups() uint64 {
	if w == nil {
		return 0
	}
	return w.ups.Load()
}

// tapCatcher decides, each Update, whether a press happened that ebiten did
// not see: the watcher counted more completed presses than ebiten reported
// press edges, and ebiten shows no press under way. The watcher may lag
// ebiten (each reads its own connection), never the reverse for long: a
// press ebiten saw is in the watcher's count by the time it is complete.
type tapCatcher struct {
	seen uint64 // press edges ebiten reported, plus presses made up for
}

// update takes this Update's ebiten mouse state and the watcher's count and
// reports whether to make up a tap (press and release at the cursor).
func (c *tapCatcher) update(justPressed, pressed, justReleased bool, ups uint64) bool {
	if justPressed {
		c.seen++
	}
	if justPressed || pressed || justReleased || ups <= c.seen {
		return false
	}
	c.seen = ups
	return true
}
