package screen

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/internal/uitest"
	"roomkiosk/kiosk/ui"
)

// fakeConn records intents; its snapshot channel is fed by the test.
type fakeConn struct {
	ch   chan room.Snapshot
	mu   sync.Mutex
	sent []room.Intent
}

func (c *fakeConn) Snapshots() <-chan room.Snapshot { return c.ch }
func (c *fakeConn) Send(_ context.Context, in room.Intent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, in)
	return nil
}
func (c *fakeConn) Close() {}
func (c *fakeConn) intents() []room.Intent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]room.Intent(nil), c.sent...)
}

// newTestGame returns a game connected to a fake daemon showing snap.
func newTestGame(t *testing.T, snap room.Snapshot) (*Game, *fakeConn) {
	t.Helper()
	conn := &fakeConn{ch: make(chan room.Snapshot, 1)}
	link := ui.NewLink(func(context.Context) (ui.Conn, error) { return conn, nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go link.Run(ctx)
	conn.ch <- snap
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s, ok, _ := link.State(); ok && s.Seq == snap.Seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("link did not deliver the snapshot")
		}
		time.Sleep(time.Millisecond)
	}
	g := New(Options{Fonts: testFonts(t), Link: link, Now: func() time.Time { return uitest.Now }, Log: zerolog.Nop()})
	if err := g.Update(); err != nil {
		t.Fatal(err)
	}
	return g, conn
}

func centre(t *testing.T, g *Game, id string) (float64, float64) {
	t.Helper()
	tg, ok := g.Scene().Target(id)
	if !ok {
		t.Fatalf("scene %s has no %s", g.Scene().Name, id)
	}
	return tg.Rect.X + tg.Rect.W/2, tg.Rect.Y + tg.Rect.H/2
}

func waitIntents(t *testing.T, c *fakeConn, n int) []room.Intent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(c.intents()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got intents %+v, want %d", c.intents(), n)
		}
		time.Sleep(time.Millisecond)
	}
	return c.intents()
}

func TestTapSendsIntentOnRelease(t *testing.T) {
	g, conn := newTestGame(t, uitest.Cases("en")[0].Snap)
	x, y := centre(t, g, "start")
	g.press(x, y)
	if err := g.Update(); err != nil {
		t.Fatal(err)
	}
	if g.Scene().Local.Pressed != "start" {
		t.Error("pressed target not highlighted")
	}
	if len(conn.intents()) != 0 {
		t.Fatal("intent sent on press")
	}
	g.release(x+5, y+5) // a finger moves a little
	got := waitIntents(t, conn, 1)
	if got[0].Kind != room.IntentStart {
		t.Errorf("sent %+v", got)
	}
}

func TestSlideOffCancelsTap(t *testing.T) {
	g, conn := newTestGame(t, uitest.Cases("en")[0].Snap)
	x, y := centre(t, g, "start")
	g.press(x, y)
	ex, ey := centre(t, g, "lang-zh")
	g.release(ex, ey)
	if err := g.Update(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got := conn.intents(); len(got) != 0 {
		t.Errorf("sent %+v after sliding off", got)
	}
	if g.Scene().Local.Pressed != "" {
		t.Error("highlight stays after sliding off")
	}
}

func TestPINDigitsKeepTheirOrder(t *testing.T) {
	var snap room.Snapshot
	for _, c := range uitest.Cases("en") {
		if c.Name == "pin" {
			snap = c.Snap
		}
	}
	snap.PINDigits = 0
	g, conn := newTestGame(t, snap)
	for _, d := range []string{"4", "3", "2", "1", "9", "0"} {
		x, y := centre(t, g, "pin-"+d)
		g.press(x, y)
		g.release(x, y)
	}
	got := waitIntents(t, conn, 6)
	for i, want := range []int{4, 3, 2, 1, 9, 0} {
		if got[i].Kind != room.IntentPINDigit || got[i].Digit != want {
			t.Fatalf("intents %+v", got)
		}
	}
}

func TestScrollIsLocal(t *testing.T) {
	var snap room.Snapshot
	for _, c := range uitest.Cases("en") {
		if c.Name == "consent" {
			snap = c.Snap
		}
	}
	g, conn := newTestGame(t, snap)
	first := g.Scene().Texts()
	x, y := centre(t, g, "consent-scroll-down")
	g.press(x, y)
	g.release(x, y)
	if err := g.Update(); err != nil {
		t.Fatal(err)
	}
	if g.Scene().Local.Scroll == 0 || slices.Equal(first, g.Scene().Texts()) {
		t.Error("scroll down did not scroll")
	}
	time.Sleep(50 * time.Millisecond)
	if got := conn.intents(); len(got) != 0 {
		t.Errorf("scrolling sent %+v", got)
	}
}

func TestDragScrollsAgreement(t *testing.T) {
	var snap room.Snapshot
	for _, c := range uitest.Cases("en") {
		if c.Name == "consent" {
			snap = c.Snap
		}
	}
	g, conn := newTestGame(t, snap)
	area := g.Scene().ScrollArea
	x, y := area.X+area.W/2, area.Y+area.H-20
	g.press(x, y)
	g.drag(y - 3*g.Scene().ScrollLine) // finger moves up three lines
	if err := g.Update(); err != nil {
		t.Fatal(err)
	}
	if got := g.Scene().Local.Scroll; got == 0 {
		t.Error("dragging up did not scroll")
	}
	g.release(x, y-3*g.Scene().ScrollLine)
	time.Sleep(50 * time.Millisecond)
	if got := conn.intents(); len(got) != 0 {
		t.Errorf("dragging sent %+v", got)
	}
}

// TestUnchangedPictureIsNotRepainted: while recording, a snapshot that moves
// only the sequence number or the level within its step costs no frame, but
// /ui still learns the new sequence number; a visible change repaints.
func TestUnchangedPictureIsNotRepainted(t *testing.T) {
	var snap room.Snapshot
	for _, c := range uitest.Cases("en") {
		if c.Name == "session-recording" {
			snap = c.Snap
		}
	}
	snap.Level.RMSdBFS = -24.5
	g, conn := newTestGame(t, snap)
	g.dirty = false // as after Draw painted it
	g.pendingView = 0
	next := func(change func(*room.Snapshot)) {
		t.Helper()
		snap.Seq++
		change(&snap)
		conn.ch <- snap
		deadline := time.Now().Add(5 * time.Second)
		for {
			if s, _, _ := g.opts.Link.State(); s.Seq == snap.Seq {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("link did not deliver the snapshot")
			}
			time.Sleep(time.Millisecond)
		}
		if err := g.Update(); err != nil {
			t.Fatal(err)
		}
	}
	next(func(s *room.Snapshot) { s.Level.RMSdBFS += 1 })
	if g.dirty || g.skipped != 1 || g.pendingView == 0 {
		t.Errorf("level within its step: dirty %v, skipped %d, pendingView %d; want no paint and a /ui update", g.dirty, g.skipped, g.pendingView)
	}
	if g.input.Snap.Seq != snap.Seq {
		t.Errorf("/ui would report seq %d, want %d", g.input.Snap.Seq, snap.Seq)
	}
	next(func(s *room.Snapshot) { s.Recording = false })
	if !g.dirty {
		t.Error("recording stopped: not repainted")
	}
}
