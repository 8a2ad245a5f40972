package screentest

import (
	"strconv"
	"testing"
	"time"

	"roomkiosk/kiosk/ui"
)

// TestQuickClicksAreSeen: a press and release with no pause between them
// (xdotool click, a brisk tap) both arrive before the screen's next frame;
// ebiten, which samples the button once a frame, sees neither (findings F2:
// 6 in 10 seen before the press watcher). Every one must be seen on the
// first try, and none twice.
func TestQuickClicksAreSeen(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	x := StartX(t)
	s := StartScreen(t, BuildScreen(t), x, d.Socket)
	s.WaitScene(t, "door")
	v0, err := s.View()
	if err != nil {
		t.Fatal(err)
	}
	const clicks = 10
	for i := range clicks {
		v, err := s.View()
		if err != nil {
			t.Fatal(err)
		}
		id, next := "start", "pin"
		if v.Scene == "pin" {
			id, next = "cancel", "door"
		}
		tg := s.Target(t, id)
		cx, cy := int(v.Window.X+tg.Rect.X+tg.Rect.W/2), int(v.Window.Y+tg.Rect.Y+tg.Rect.H/2)
		s.xdotool(t, "mousemove", strconv.Itoa(cx), strconv.Itoa(cy), "sleep", "0.1", "mousedown", "1", "mouseup", "1")
		s.WaitFor(t, "click "+strconv.Itoa(i+1)+" on "+id+" seen", 5*time.Second, func(w ui.View) bool {
			return w.Taps == v.Taps+1 && w.Scene == next
		})
	}
	time.Sleep(300 * time.Millisecond)
	if v, _ := s.View(); v.Taps-v0.Taps != clicks {
		t.Errorf("screen counted %d taps for %d clicks", v.Taps-v0.Taps, clicks)
	}
}
