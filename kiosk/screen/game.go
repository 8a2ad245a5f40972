package screen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/ui"
)

// Options configure the screen.
type Options struct {
	Fonts      *ui.Fonts
	Link       *ui.Link       // the daemon connection; its onChange must call Wake
	Views      *ui.ViewServer // optional: receives every painted scene for /ui
	Version    string
	Fullscreen bool
	Language   string           // shown until the daemon's first snapshot says the room's ("" = English)
	Now        func() time.Time // defaults to time.Now
	Log        zerolog.Logger
	// DisplayLost is called once if the connection to the X server breaks,
	// before the process exits with ExitDisplayLost (X cannot be used any
	// more, so Run cannot return). It should log one line and return.
	DisplayLost func()
}

// Game is the ebiten game: it rebuilds the scene only when the snapshot,
// the local state or the clock shown on screen changes, and paints only
// then. With ebiten's minimum FPS mode the process sleeps in the X event
// loop the rest of the time, which keeps an idle door screen near 0% CPU.
type Game struct {
	opts    Options
	ctx     context.Context
	painter *Painter

	scene   *ui.Scene
	input   ui.Input
	local   ui.Local
	version uint64
	rebuild bool
	dirty   bool
	frames  uint64
	skipped uint64 // rebuilt scenes that painted the same picture
	taps    uint64
	outW    int
	outH    int

	pressed   string
	dragging  bool      // a drag in the scroll area is under way
	dragY0    float64   // where it started
	scroll0   int       // the scroll position it started from
	unpressAt time.Time // when to drop a fired target's highlight if no snapshot came
	touches   map[ebiten.TouchID][2]float64
	ids       []ebiten.TouchID
	presses   *PressWatch // nil when the X server offers no raw events
	catcher   tapCatcher

	timerMu sync.Mutex
	timer   *time.Timer

	pendingView int // frames to wait before reporting a painted frame on /ui

	// asleep: the daemon says the backlight is dimmed. The screen then
	// builds no scene and paints no frame (a check round or the minute on
	// the door would otherwise repaint a dark panel) until it wakes, and
	// wakes by building the scene of the state current then.
	asleep bool

	sendOnce sync.Once
	sends    chan room.Intent
}

// New returns a game for opts.
func New(opts Options) *Game {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Game{opts: opts, painter: NewPainter(opts.Fonts), touches: map[ebiten.TouchID][2]float64{}, rebuild: true}
}

// Wake asks for a frame soon; safe from any goroutine. The link calls it on
// every snapshot.
//
// ebiten drops a ScheduleFrame that comes before its loop runs, so until
// the next Update has run, a helper goroutine repeats the request every
// 50 ms. It sleeps on a channel while nothing is wanted, so idle costs
// nothing.
func Wake() {
	wake.once.Do(func() {
		wake.ch = make(chan struct{}, 1)
		go wake.repeat()
	})
	wake.wanted.Store(true)
	select {
	case wake.ch <- struct{}{}:
	default:
	}
	ebiten.ScheduleFrame()
}

type waker struct {
	once   sync.Once
	ch     chan struct{}
	wanted atomic.Bool
}

var wake waker

func (w *waker) repeat() {
	for range w.ch {
		for {
			time.Sleep(50 * time.Millisecond)
			if !w.wanted.Load() {
				break
			}
			ebiten.ScheduleFrame()
		}
	}
}

// Run opens the window and runs until ctx ends or the window is closed.
func (g *Game) Run(ctx context.Context) error {
	g.ctx = ctx
	ebiten.SetWindowTitle("roomkiosk")
	ebiten.SetWindowSize(ui.Width, ui.Height)
	ebiten.SetRunnableOnUnfocused(true)
	// Paint only when something changed: the screen keeps its pixels
	// between frames, and frames happen only on input or ScheduleFrame.
	ebiten.SetScreenClearedEveryFrame(false)
	ebiten.SetFPSMode(ebiten.FPSModeVsyncOffMinimum) //nolint:staticcheck // the one mode that sleeps in the event loop
	// One Update per frame. With the default 60 TPS a frame that follows
	// another within 16 ms (a press right after a pointer move) runs no
	// Update, and the press is never seen.
	ebiten.SetTPS(ebiten.SyncWithFPS)
	if g.opts.Fullscreen {
		ebiten.SetFullscreen(true)
		ebiten.SetCursorMode(ebiten.CursorModeHidden)
	}
	stop := context.AfterFunc(ctx, Wake)
	defer stop()
	watchDisplay(g.opts.DisplayLost)
	// Presses that begin and end between two frames (findings F2): the
	// watcher wakes a frame when one ends, and Update makes up for those
	// ebiten did not see.
	presses, stopWatch, err := watchPresses(Wake)
	if err != nil {
		g.opts.Log.Warn().Err(err).Msg("quick taps may be missed")
	} else {
		g.presses = presses
		defer stopWatch()
	}
	err = ebiten.RunGame(g)
	if errors.Is(err, ebiten.Termination) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run screen: %w", err)
	}
	return nil
}

// Update handles taps and rebuilds the scene when needed.
func (g *Game) Update() error {
	if g.ctx != nil && g.ctx.Err() != nil {
		return ebiten.Termination
	}
	wake.wanted.Store(false)
	snap, connected, ver := g.opts.Link.State()
	if asleep := connected && snap.ScreenDimmed; asleep != g.asleep {
		g.asleep = asleep
		if asleep {
			g.fallAsleep()
		} else {
			g.rebuild = true // the state now, whatever happened while dark
		}
	}
	if g.asleep {
		// Only input matters: the first touch wakes the screen.
		g.handleInput()
		return nil
	}
	if g.pendingView > 0 {
		g.pendingView--
		if g.pendingView == 0 {
			if g.opts.Views != nil {
				g.opts.Views.Publish(g.view())
			}
		} else {
			go Wake()
		}
	}
	g.handleInput()
	now := g.opts.Now()
	if ver != g.version || g.scene == nil || (!g.scene.NextChange.IsZero() && !now.Before(g.scene.NextChange)) {
		g.rebuild = true
	}
	if !g.unpressAt.IsZero() && (g.rebuild || !now.Before(g.unpressAt)) {
		g.unpressAt = time.Time{}
		g.rebuild = true
	}
	if g.rebuild {
		g.version = ver
		if snap.Language == "" {
			snap.Language = g.opts.Language
		}
		g.input = ui.Input{Connected: connected, Snap: snap, Local: g.local, Now: now, Version: g.opts.Version}
		prev := g.scene
		g.scene = ui.Build(g.opts.Fonts, g.input)
		g.local = g.scene.Local
		g.rebuild = false
		if !g.dirty && prev.SamePicture(g.scene) {
			// The screen shows it already (a snapshot with no visible
			// change: a level within its step, a heartbeat): no frame to
			// paint, only /ui to tell (its sequence number moved).
			g.skipped++
			if g.pendingView == 0 {
				g.pendingView = 1
				go Wake()
			}
		} else {
			g.dirty = true
		}
		g.armTimer(now)
		for _, o := range g.scene.Overflows {
			g.opts.Log.Warn().Str("text", o).Msg("text does not fit its box")
		}
	}
	return nil
}

// fallAsleep stops the clock's timer and tells /ui, once, that the screen
// sleeps (with the scene it last painted); nothing more is published until
// it wakes.
func (g *Game) fallAsleep() {
	g.timerMu.Lock()
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.timerMu.Unlock()
	g.pendingView = 0
	g.pressed, g.local.Pressed, g.dragging = "", "", false
	if g.opts.Views != nil && g.scene != nil {
		v := g.view()
		v.Asleep = true
		g.opts.Views.Publish(v)
	}
}

// armTimer schedules a frame for the scene's next clock change (the minute
// on the door, a lockout's seconds).
func (g *Game) armTimer(now time.Time) {
	g.timerMu.Lock()
	defer g.timerMu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	// A sleeping screen builds no scene, so this runs only awake; the
	// timer is stopped when it falls asleep (issue 16, the appliance at
	// rest).
	if next := g.scene.NextChange; !next.IsZero() {
		g.timer = time.AfterFunc(next.Sub(now)+5*time.Millisecond, Wake)
	}
}

// Draw paints the scene if it changed; otherwise the screen keeps the last
// frame's pixels.
func (g *Game) Draw(screen *ebiten.Image) {
	if !g.dirty || g.scene == nil || g.asleep {
		return
	}
	screen.Fill(ui.ColBG)
	g.painter.Paint(screen, g.scene)
	g.dirty = false
	g.frames++
	g.pendingView = presentDelay
	// More frames, right after this one, to publish it once it is on the
	// X screen. (Not from this goroutine: ebiten waits on it while it
	// could block.)
	go Wake()
}

// presentDelay is how many frames pass before a painted frame is on the X
// screen. Measured under Xvfb with Mesa's llvmpipe: a frame's pixels reach
// the server with the next frame's buffer swap, so /ui reports a scene after
// two more frames; a screenshot taken on its word then shows that scene.
// (Those frames paint nothing and cost little.)
const presentDelay = 2

// Layout keeps the 800x480 logical screen; ebiten scales it to the window.
func (g *Game) Layout(outsideWidth, outsideHeight int) (int, int) {
	if outsideWidth != g.outW || outsideHeight != g.outH {
		g.outW, g.outH = outsideWidth, outsideHeight
		g.dirty = true
	}
	return ui.Width, ui.Height
}

func (g *Game) view() ui.View {
	w, h := float64(g.outW), float64(g.outH)
	if w == 0 || h == 0 {
		w, h = ui.Width, ui.Height
	}
	scale := math.Min(w/ui.Width, h/ui.Height)
	offX, offY := (w-ui.Width*scale)/2, (h-ui.Height*scale)/2
	var wx, wy int
	if !ebiten.IsFullscreen() {
		wx, wy = ebiten.WindowPosition()
	}
	return ui.NewView(g.scene, g.input, ui.R(float64(wx), float64(wy), w, h), scale, offX, offY, g.frames, g.taps)
}

// handleInput turns presses and releases into taps. A tap fires on release
// over the target it started on, like a platform button, so a finger that
// slides off cancels, and the next scene never receives the same tap.
func (g *Game) handleInput() {
	justPressed := inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft)
	pressed := ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft)
	justReleased := inpututil.IsMouseButtonJustReleased(ebiten.MouseButtonLeft)
	if justPressed {
		x, y := ebiten.CursorPosition()
		g.press(float64(x), float64(y))
	} else if g.dragging && pressed {
		_, y := ebiten.CursorPosition()
		g.drag(float64(y))
	}
	if justReleased {
		x, y := ebiten.CursorPosition()
		g.release(float64(x), float64(y))
	}
	if g.presses != nil && g.catcher.update(justPressed, pressed, justReleased, g.presses.Ups()) {
		// A press and release between two frames: a tap where the pointer
		// is (a finger or a click does not move while it taps). Not its
		// position in the log: on the PIN pad that would be a digit.
		x, y := ebiten.CursorPosition()
		g.opts.Log.Debug().Msg("tap between two frames")
		g.press(float64(x), float64(y))
		g.release(float64(x), float64(y))
	}
	g.ids = inpututil.AppendJustPressedTouchIDs(g.ids[:0])
	for _, id := range g.ids {
		x, y := ebiten.TouchPosition(id)
		g.touches[id] = [2]float64{float64(x), float64(y)}
		g.press(float64(x), float64(y))
	}
	for id, pos := range g.touches {
		if inpututil.IsTouchJustReleased(id) {
			delete(g.touches, id)
			g.release(pos[0], pos[1]) // a released touch has no position: use the last one
			continue
		}
		x, y := ebiten.TouchPosition(id)
		g.touches[id] = [2]float64{float64(x), float64(y)}
		if g.dragging {
			g.drag(float64(y))
		}
	}
}

// drag scrolls the agreement by whole lines as the finger moves.
func (g *Game) drag(y float64) {
	if g.scene == nil || g.scene.ScrollLine <= 0 {
		return
	}
	lines := int(math.Round((g.dragY0 - y) / g.scene.ScrollLine))
	if s := max(g.scroll0+lines, 0); s != g.local.Scroll {
		g.local.Scroll = s
		g.rebuild = true
	}
}

func (g *Game) press(x, y float64) {
	if g.scene == nil {
		return
	}
	if g.asleep {
		// A dark screen: the first touch only wakes it (what it would have
		// hit is not what the person saw).
		g.send(room.Intent{Kind: room.IntentWake})
		return
	}
	t, ok := g.scene.Hit(x, y)
	if !ok {
		if g.scene.ScrollArea.Contains(x, y) {
			g.dragging, g.dragY0, g.scroll0 = true, y, g.local.Scroll
		}
		return
	}
	g.pressed = t.ID
	g.local.Pressed = t.ID
	g.rebuild = true
}

func (g *Game) release(x, y float64) {
	if g.dragging {
		g.drag(y)
		g.dragging = false
	}
	pressed := g.pressed
	g.pressed = ""
	g.local.Pressed = ""
	if g.scene == nil || pressed == "" {
		return
	}
	t, ok := g.scene.Hit(x, y)
	if !ok || t.ID != pressed {
		g.rebuild = true // drop the highlight now
		return
	}
	if t.Intent != nil && t.Local == ui.LocalNone {
		// The daemon's answer repaints the screen in a moment: keep the
		// highlight until then rather than paint a frame in between, which
		// would delay the answer's frame. If no answer comes, drop it soon.
		g.unpressAt = time.Now().Add(300 * time.Millisecond)
		time.AfterFunc(310*time.Millisecond, Wake)
	} else {
		g.rebuild = true
	}
	g.fire(t)
}

func (g *Game) fire(t ui.Target) {
	g.taps++
	if g.pendingView == 0 {
		// Publish the new tap count without painting.
		g.pendingView = 1
		go Wake()
	}
	if t.Local != ui.LocalNone {
		g.local.Apply(t.Local, g.scene.Page)
		g.rebuild = true
	}
	if t.Intent == nil {
		return
	}
	g.send(*t.Intent)
}

// send queues an intent for the daemon.
func (g *Game) send(in room.Intent) {
	// Never block the UI goroutine on the socket; the daemon's next
	// snapshot shows the effect. One sender keeps the taps' order (PIN
	// digits).
	g.sendOnce.Do(func() {
		g.sends = make(chan room.Intent, 32)
		go g.sender()
	})
	select {
	case g.sends <- in:
	default:
		g.opts.Log.Warn().Str("intent", string(in.Kind)).Msg("intent dropped: the daemon is not keeping up")
	}
}

func (g *Game) sender() {
	for in := range g.sends {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := g.opts.Link.Send(ctx, in)
		cancel()
		if err != nil {
			// The intent kind only: a PIN digit or a consent is never logged.
			g.opts.Log.Warn().Err(err).Str("intent", string(in.Kind)).Msg("intent not taken")
		}
	}
}

// Scene returns the scene last built (for tests in this package).
func (g *Game) Scene() *ui.Scene { return g.scene }
