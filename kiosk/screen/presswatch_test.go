package screen

import (
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hajimehoshi/ebiten/v2"

	"roomkiosk/internal/testenv"
)

func TestTapCatcher(t *testing.T) {
	type frame struct {
		justPressed, pressed, justReleased bool
		ups                                uint64
		want                               bool
	}
	cases := []struct {
		name   string
		frames []frame
	}{
		{"tap over two frames", []frame{
			{justPressed: true, pressed: true, ups: 0},
			{justReleased: true, ups: 1},
			{ups: 1},
		}},
		{"watcher behind ebiten", []frame{
			{justPressed: true, pressed: true},
			{justReleased: true},
			{},
			{ups: 1},
		}},
		{"press and release inside one frame", []frame{
			{ups: 1, want: true},
			{ups: 1},
		}},
		{"watcher reports the lost tap a frame later", []frame{
			{},
			{ups: 1, want: true},
		}},
		{"no make-up while a press is under way", []frame{
			{justPressed: true, pressed: true, ups: 0},
			{pressed: true, ups: 0},
			{justReleased: true, ups: 1},
			{ups: 2, want: true}, // then a quick one ebiten missed
			{ups: 2},
		}},
		{"two lost taps in one frame make one", []frame{
			{ups: 2, want: true},
			{ups: 2},
		}},
		{"a later seen tap after a made-up one", []frame{
			{ups: 1, want: true},
			{justPressed: true, pressed: true, ups: 1},
			{justReleased: true, ups: 2},
			{ups: 2},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tc tapCatcher
			for i, f := range c.frames {
				if got := tc.update(f.justPressed, f.pressed, f.justReleased, f.ups); got != f.want {
					t.Fatalf("frame %d: make up a tap = %v, want %v", i, got, f.want)
				}
			}
		})
	}
}

func TestPressWatchCountsOneUpPerPress(t *testing.T) {
	var w PressWatch
	// A touch that emulates the pointer: touch begin, button press, button
	// release, touch end is one press.
	w.down()
	w.down()
	if !w.up() || w.up() {
		t.Fatal("one press must complete exactly once")
	}
	if w.up() {
		t.Error("an up without a down completed a press")
	}
	if got := w.Ups(); got != 1 {
		t.Errorf("Ups = %d, want 1", got)
	}
	var nilWatch *PressWatch
	if nilWatch.Ups() != 0 {
		t.Error("a nil watch counts presses")
	}
}

// TestWatchPressesSeesQuickClick: a press and release with no pause (what
// ebiten's frame sampling misses) on this process's window reaches the
// watcher through the X server; a press elsewhere on the X screen, or with
// another button, is no tap.
func TestWatchPressesSeesQuickClick(t *testing.T) {
	xdotool := testenv.Tool(t, "xdotool")
	var woken atomic.Int32
	w, stop, err := watchPresses(func() { woken.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(xdotool, args...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, out)
		}
	}
	wx, wy := ebiten.WindowPosition()
	ww, wh := ebiten.WindowSize()
	if wx < 20 && wy < 20 {
		t.Fatalf("window at %d,%d: the test needs X screen outside it (xvfb-run's default 1280x1024)", wx, wy)
	}
	inside := []string{strconv.Itoa(wx + ww/2), strconv.Itoa(wy + wh/2)}
	for i := 1; i <= 3; i++ {
		run("mousemove", inside[0], inside[1], "mousedown", "1", "mouseup", "1")
		deadline := time.Now().Add(5 * time.Second)
		for w.Ups() < uint64(i) {
			if time.Now().After(deadline) {
				t.Fatalf("watcher counted %d presses after %d clicks on the window", w.Ups(), i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if got := woken.Load(); got != 3 {
		t.Errorf("woken %d times, want 3", got)
	}
	run("mousemove", inside[0], inside[1], "click", "3")
	run("mousemove", "5", "5", "click", "1")
	time.Sleep(200 * time.Millisecond)
	if got := w.Ups(); got != 3 {
		t.Errorf("Ups = %d after a right click and a click off the window, want 3", got)
	}
}
