package ui

import (
	"fmt"
	"image/color"
	"reflect"
	"roomkiosk/internal/room"
	"slices"
	"time"
)

// Kind is the kind of a display-list element.
type Kind int

const (
	KindFill   Kind = iota // filled rectangle, corners rounded by Radius
	KindStroke             // outlined rectangle, line Width
	KindCircle             // filled circle inscribed in Rect
	KindRing               // circle outline inscribed in Rect, line Width
	KindPath               // polyline through Points, line Width; filled polygon when Width is 0
	KindText               // one fitted line of text; Box is the box it must stay in
)

// Pt is a point in logical pixels.
type Pt struct{ X, Y float64 }

// Element is one thing to paint. The renderer paints elements in order.
type Element struct {
	Kind   Kind
	Rect   Rect
	Color  color.RGBA
	Radius float64
	Width  float64
	Points []Pt

	// Text: the line, its pixel size and weight, the pen position (X at the
	// left of the line, Y at the baseline), the box the line was fitted to
	// and, for scrolled text, the clip rectangle.
	Text     string
	Size     float64
	Bold     bool
	X, Y     float64
	Box      Rect
	Clip     Rect
	Clipped  bool
	Advance  float64 // measured width of the line
	Ascent   float64
	Descent  float64
	FromKey  Msg // catalog key the text came from, if any
	Overflow bool
	Source   string // the whole text this line was cut from, WordBreak marks included
}

// SamePicture reports whether o paints exactly what s paints: the screen
// then keeps its pixels (a snapshot whose change is not shown, such as a
// level that stays in its step, costs no frame).
func (s *Scene) SamePicture(o *Scene) bool {
	if s == nil || o == nil {
		return false
	}
	// Every field of an element matters to the painter; a few hundred
	// elements compare in microseconds, a frame costs milliseconds.
	return reflect.DeepEqual(s.Elements, o.Elements)
}

// LocalAction is what a tap on a target does on the screen itself, without
// the daemon: scrolling the agreement, opening the override reasons.
type LocalAction int

const (
	LocalNone LocalAction = iota
	LocalScrollUp
	LocalScrollDown
	LocalOpenOverride
	LocalCloseOverride
	LocalChildMore // participants: one child more (family.go)
	LocalChildLess
)

// Target is a touch target with a stable id (see issue 6 item 9).
type Target struct {
	ID      string
	Rect    Rect
	Enabled bool
	Intent  *room.Intent // sent to the daemon on a tap
	Local   LocalAction  // or handled here
}

// Local is the screen's own state. None of it matters: a restarted screen
// starts with the zero value and shows the same scene.
type Local struct {
	Pressed   string // target under the finger, drawn highlighted
	Override  bool   // override reason picker open
	Scroll    int    // first agreement line shown
	ScrollKey string // turn and language the scroll belongs to
	SeenTo    int    // furthest Scroll shown for ScrollKey: "I agree" waits until it reaches the end
	Children  int    // participants screen: how many children the counselor set (family.go)
}

// Apply performs a local action.
func (l *Local) Apply(a LocalAction, page int) {
	switch a {
	case LocalScrollUp:
		l.Scroll -= page
	case LocalScrollDown:
		l.Scroll += page
	case LocalOpenOverride:
		l.Override = true
	case LocalCloseOverride:
		l.Override = false
	case LocalChildMore:
		l.Children++
	case LocalChildLess:
		l.Children = max(l.Children-1, 0)
	}
	if l.Scroll < 0 {
		l.Scroll = 0
	}
}

// Input is everything a scene is built from.
type Input struct {
	Connected bool
	Snap      room.Snapshot
	Local     Local
	Now       time.Time
	Version   string // software version, shown on the maintenance screen
}

// Scene is one laid-out screen.
type Scene struct {
	Name       string
	Lang       string
	Elements   []Element
	Targets    []Target
	NextChange time.Time // when the scene must be rebuilt although nothing else changed; zero for never
	Locked     bool      // the PIN pad is locked out
	Local      Local     // the local state, normalised (scroll clamped, reset on a new turn)
	Page       int       // agreement scroll step in lines
	Pages      int       // agreement pages in the language shown (consent scene)
	PagesSeen  int       // how many of them the participant has paged to
	ScrollArea Rect      // where a vertical drag scrolls the agreement (zero: none)
	ScrollLine float64   // pixels per agreement line
	Overflows  []string  // text that did not fit its box; always empty unless there is a bug
	Used       map[Msg]bool
}

// Target returns the target with id, if the scene has it.
func (s *Scene) Target(id string) (Target, bool) {
	for _, t := range s.Targets {
		if t.ID == id {
			return t, true
		}
	}
	return Target{}, false
}

// Hit returns the enabled target at a point; later targets win (overlays).
func (s *Scene) Hit(x, y float64) (Target, bool) {
	for i := len(s.Targets) - 1; i >= 0; i-- {
		t := s.Targets[i]
		if t.Enabled && t.Rect.Contains(x, y) {
			return t, true
		}
	}
	return Target{}, false
}

// Texts returns every text line of the scene, in paint order.
func (s *Scene) Texts() []string {
	var out []string
	for _, e := range s.Elements {
		if e.Kind == KindText {
			out = append(out, e.Text)
		}
	}
	return out
}

// builder accumulates a scene.
type builder struct {
	f    *Fonts
	in   Input
	lang string
	sc   *Scene
}

// Build lays out the scene for the input.
func Build(f *Fonts, in Input) *Scene {
	lang := in.Snap.Language
	if !Supported(lang) {
		lang = "en"
	}
	b := &builder{f: f, in: in, lang: lang, sc: &Scene{Lang: lang, Local: in.Local, Used: map[Msg]bool{}}}
	b.fill(R(0, 0, Width, Height), ColBG, 0)
	switch {
	case !in.Connected:
		b.connecting()
	default:
		switch in.Snap.Step {
		case room.StepDoor, "":
			b.door()
		case room.StepPIN, room.StepEndPIN, room.StepMaintenancePIN:
			b.pin()
		case room.StepChecklist:
			if in.Local.Override && in.Snap.Blocked {
				b.override()
			} else {
				b.sc.Local.Override = false
				b.checklist()
			}
		case room.StepParticipants:
			b.participants()
		case room.StepRecordChoice:
			b.recordChoice()
		case room.StepConsent:
			b.consent()
		case room.StepInSession:
			b.inSession()
		case room.StepWithdrawChoice, room.StepHeldChoice:
			// A held recording's client chooses on the same screen.
			b.withdrawChoice()
		case room.StepFeedback:
			b.feedback()
		case room.StepMaintenance:
			b.maintenance()
		default:
			// A step this screen does not know (a newer daemon): show the door
			// rather than nothing.
			b.door()
		}
	}
	if in.Snap.Step != room.StepChecklist {
		b.sc.Local.Override = false
	}
	if in.Snap.Step != room.StepParticipants {
		b.sc.Local.Children = 0 // the next session starts from none
	}
	return b.sc
}

// t translates and records that the key was shown. The text keeps its
// WordBreak marks for the layout (textKey), which never draws them.
func (b *builder) t(m Msg, kv ...string) string {
	b.sc.Used[m] = true
	return translate(b.lang, m, kv...)
}

func (b *builder) fill(r Rect, c color.RGBA, radius float64) {
	b.sc.Elements = append(b.sc.Elements, Element{Kind: KindFill, Rect: r, Color: c, Radius: radius})
}

func (b *builder) stroke(r Rect, c color.RGBA, radius, width float64) {
	b.sc.Elements = append(b.sc.Elements, Element{Kind: KindStroke, Rect: r, Color: c, Radius: radius, Width: width})
}

func (b *builder) circle(cx, cy, radius float64, c color.RGBA) {
	b.sc.Elements = append(b.sc.Elements, Element{Kind: KindCircle, Rect: R(cx-radius, cy-radius, 2*radius, 2*radius), Color: c})
}

func (b *builder) ring(cx, cy, radius, width float64, c color.RGBA) {
	b.sc.Elements = append(b.sc.Elements, Element{Kind: KindRing, Rect: R(cx-radius, cy-radius, 2*radius, 2*radius), Color: c, Width: width})
}

func (b *builder) path(c color.RGBA, width float64, pts ...Pt) {
	b.sc.Elements = append(b.sc.Elements, Element{Kind: KindPath, Color: c, Width: width, Points: pts})
}

// msg lays out a catalog message in a box.
func (b *builder) msg(r Rect, c color.RGBA, st TextStyle, m Msg, kv ...string) {
	b.textKey(r, c, st, b.t(m, kv...), m)
}

// text lays out a string that does not come from the catalog (room name,
// config text, measured values).
func (b *builder) text(r Rect, c color.RGBA, st TextStyle, s string) {
	b.textKey(r, c, st, s, "")
}

func (b *builder) textKey(r Rect, c color.RGBA, st TextStyle, s string, key Msg) {
	// Catalog messages break only between words; config text (the
	// agreement, checklist lines) has no marks and breaks as before.
	st.words = key != ""
	lines, size, ok := b.f.Fit(s, r.W, r.H, st)
	if !ok {
		b.sc.Overflows = append(b.sc.Overflows, fmt.Sprintf("%s/%s: %q does not fit %.0fx%.0f", b.sc.Name, b.lang, stripBreaks(s), r.W, r.H))
	}
	face := b.f.face(size, st.Bold)
	lh := b.f.lineHeight(size, st)
	// Vertical placement: the block of lines, centred or at the top.
	asc, desc := face.lineMetrics(stripBreaks(s))
	blockH := asc + desc + float64(len(lines)-1)*lh
	y := r.Y + asc
	if !st.Top {
		y = r.Y + (r.H-blockH)/2 + asc
	}
	for _, l := range lines {
		adv := face.advance(l)
		x := r.X
		switch st.Align {
		case AlignCenter:
			x = r.X + (r.W-adv)/2
		case AlignRight:
			x = r.X + r.W - adv
		}
		b.sc.Elements = append(b.sc.Elements, Element{
			Kind: KindText, Text: l, Size: size, Bold: st.Bold, Color: c,
			X: x, Y: y, Box: r, Advance: adv, Ascent: asc, Descent: desc, FromKey: key, Overflow: !ok, Source: s,
		})
		y += lh
	}
}

// target registers a touch target.
func (b *builder) target(id string, r Rect, enabled bool, in *room.Intent, local LocalAction) {
	b.sc.Targets = append(b.sc.Targets, Target{ID: id, Rect: r, Enabled: enabled, Intent: in, Local: local})
}

// ButtonKind picks a button's colours.
type buttonKind int

const (
	btnPrimary buttonKind = iota
	btnSecondary
	btnDanger
	btnGood
	btnGhost
)

// button draws a button with a catalog label and registers its target.
func (b *builder) button(id string, r Rect, kind buttonKind, enabled bool, st TextStyle, in *room.Intent, local LocalAction, m Msg, kv ...string) {
	b.buttonText(id, r, kind, enabled, st, in, local, b.t(m, kv...), m)
}

func (b *builder) buttonText(id string, r Rect, kind buttonKind, enabled bool, st TextStyle, in *room.Intent, local LocalAction, label string, key Msg) {
	bg, fg := b.buttonColors(kind, enabled, b.in.Local.Pressed == id)
	b.fill(r, bg, 14)
	if kind == btnGhost {
		b.stroke(r, ColMuted, 14, 2)
	}
	if st.Size == 0 {
		st = TextStyle{Size: 24, MinSize: 14, Bold: true, Align: AlignCenter, Wrap: true}
	}
	b.textKey(r.Inset(10), fg, st, label, key)
	b.target(id, r, enabled, in, local)
}

func (b *builder) buttonColors(kind buttonKind, enabled, pressed bool) (bg, fg color.RGBA) {
	fg = ColText
	switch kind {
	case btnPrimary:
		bg = ColAccent
	case btnSecondary:
		bg = ColPanelHi
	case btnDanger:
		bg = ColDanger
	case btnGood:
		bg = ColFree
	case btnGhost:
		bg = ColBG
	}
	if !enabled {
		bg = ColPanel
		fg = ColMuted
	}
	if pressed && enabled {
		bg = lighten(bg, 0.35)
	}
	return bg, fg
}

func lighten(c color.RGBA, k float64) color.RGBA {
	l := func(v uint8) uint8 { return uint8(float64(v) + (255-float64(v))*k) }
	return color.RGBA{l(c.R), l(c.G), l(c.B), c.A}
}

// langSwitch draws a button per room language, ending at right edge x.
// A room with one language gets none.
func (b *builder) langSwitch(right, y, h float64) {
	var langs []string
	for _, l := range Languages {
		if slices.Contains(b.in.Snap.Languages, l) {
			langs = append(langs, l)
		}
	}
	if len(langs) < 2 {
		return
	}
	const w, gap = 84.0, 8.0
	x := right - float64(len(langs))*w - float64(len(langs)-1)*gap
	for _, l := range langs {
		kind := btnGhost
		if l == b.lang {
			kind = btnSecondary
		}
		b.button("lang-"+l, R(x, y, w, h), kind, true, TextStyle{Size: 20, MinSize: 14, Bold: l == b.lang, Align: AlignCenter},
			&room.Intent{Kind: room.IntentLanguage, Language: l}, LocalNone, Msg("lang."+l))
		x += w + gap
	}
}

// header draws a scene title at the top left.
func (b *builder) header(m Msg, w float64, kv ...string) {
	b.msg(R(28, 14, w, 46), ColText, TextStyle{Size: 32, MinSize: 18, Bold: true}, m, kv...)
}
