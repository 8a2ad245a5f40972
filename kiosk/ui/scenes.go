package ui

import (
	"fmt"
	"image/color"
	"math"
	"roomkiosk/internal/room"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func (b *builder) connecting() {
	b.sc.Name = "connecting"
	// Both languages: the screen does not know the room's language yet.
	b.circle(400, 150, 34, ColPanelHi)
	b.ring(400, 150, 34, 6, ColAccent)
	y := 210.0
	for _, l := range Languages {
		saved := b.lang
		b.lang = l
		b.msg(R(100, y, 600, 56), ColText, TextStyle{Size: 40, MinSize: 24, Bold: true, Align: AlignCenter}, "conn.title")
		b.msg(R(100, y+56, 600, 30), ColMuted, TextStyle{Size: 20, MinSize: 14, Align: AlignCenter}, "conn.sub")
		b.lang = saved
		y += 110
	}
}

// doorColor returns the door state's title and subtitle messages and the
// colour of the panel behind them.
func doorColor(d room.Door) (title, sub Msg, c color.RGBA) {
	switch d {
	case room.DoorInSession:
		return "door.in_session", "door.sub.in_session", ColBusy
	case room.DoorOutOfService:
		return "door.out_of_service", "door.sub.out", ColOut
	default:
		return "door.free", "door.sub.free", ColFree
	}
}

func (b *builder) door() {
	s := b.in.Snap
	b.sc.Name = "door"
	// Top bar: room name, time of day.
	nameW := 560.0
	if b.bookingLine(R(336, 6, 276, 50)) {
		nameW = 300
	}
	b.text(R(28, 10, nameW, 44), ColText, TextStyle{Size: 28, MinSize: 16, Bold: true}, s.RoomName)
	now := b.in.Now
	b.text(R(620, 10, 152, 44), ColText, TextStyle{Size: 28, MinSize: 16, Align: AlignRight}, now.Format("15:04"))
	b.nextAt(now.Truncate(time.Minute).Add(time.Minute))

	// The big state, readable from 2 m.
	title, sub, col := doorColor(s.Door)
	panel := R(24, 62, 752, 214)
	b.fill(panel, col, 22)
	b.msg(R(48, 78, 704, 118), ColBG, TextStyle{Size: 96, MinSize: 40, Bold: true, Align: AlignCenter}, title)
	b.msg(R(48, 200, 704, 56), ColBG, TextStyle{Size: 30, MinSize: 18, Align: AlignCenter}, sub)

	// Privacy line: the red mark only while audio is really being written.
	b.privacy(R(24, 288, 752, 64), 34)

	// Environment and a small check summary.
	if env := envLine(s.Checks); env != "" {
		b.text(R(28, 368, 272, 36), ColText, TextStyle{Size: 24, MinSize: 12}, env)
	}
	b.checkSummary(R(28, 408, 272, 40))

	b.langSwitch(488, 388, 56)
	b.button("maintenance", R(496, 388, 96, 56), btnGhost, true,
		TextStyle{Size: 16, MinSize: 11, Align: AlignCenter, Wrap: true}, &room.Intent{Kind: room.IntentMaintenance}, LocalNone, "door.maintenance")
	// Start stays when the room is out of service: the counselor may
	// still override a failing check, with a reason, on the checklist.
	kind := btnPrimary
	if s.Door == room.DoorOutOfService {
		kind = btnSecondary
	}
	b.button("start", R(600, 372, 176, 88), kind, true,
		TextStyle{Size: 28, MinSize: 16, Bold: true, Align: AlignCenter, Wrap: true}, &room.Intent{Kind: room.IntentStart}, LocalNone, "door.start")
}

// nextAt asks for a rebuild at t (the earliest such time wins).
func (b *builder) nextAt(t time.Time) {
	if b.sc.NextChange.IsZero() || t.Before(b.sc.NextChange) {
		b.sc.NextChange = t
	}
}

// privacy draws "Recording" with a red mark, or "Not recorded". It follows
// the recorder's own state (Snapshot.Recording), never the intent.
func (b *builder) privacy(r Rect, size float64) {
	rec := b.in.Snap.Recording
	b.fill(r, ColPanel, 16)
	cy := r.Y + r.H/2
	if rec {
		b.circle(r.X+36, cy, size*0.42, ColRec)
		b.msg(R(r.X+68, r.Y+4, r.W*0.55, r.H-8), ColRec, TextStyle{Size: size, MinSize: 18, Bold: true}, "privacy.recording")
	} else {
		b.ring(r.X+36, cy, size*0.38, 3, ColMuted)
		b.msg(R(r.X+68, r.Y+4, r.W*0.55, r.H-8), ColMuted, TextStyle{Size: size, MinSize: 18, Bold: true}, "privacy.not")
	}
	if s := b.in.Snap; s.Door == room.DoorInSession && !s.SessionStarted.IsZero() {
		b.msg(R(r.X+r.W*0.55+76, r.Y+4, r.W*0.45-92, r.H-8), ColText, TextStyle{Size: 22, MinSize: 13, Align: AlignRight}, "door.elapsed", "d", b.elapsed())
	}
}

// elapsed formats the session's running time in whole minutes and asks for
// a rebuild when the minute changes.
func (b *builder) elapsed() string {
	s := b.in.Snap
	d := b.in.Now.Sub(s.SessionStarted)
	if d < 0 {
		d = 0
	}
	mins := int(d / time.Minute)
	b.nextAt(s.SessionStarted.Add(time.Duration(mins+1) * time.Minute))
	if mins < 60 {
		return b.t("dur.min", "m", strconv.Itoa(mins))
	}
	return b.t("dur.hmin", "h", strconv.Itoa(mins/60), "m", fmt.Sprintf("%02d", mins%60))
}

// envLine joins the temperature, humidity and light values.
func envLine(cs []room.CheckResult) string {
	var parts []string
	for _, name := range []string{"temperature", "humidity", "light"} {
		for _, c := range cs {
			if c.Name == name && c.Value != "" {
				parts = append(parts, c.Value)
			}
		}
	}
	return strings.Join(parts, "  ·  ")
}

func (b *builder) checkSummary(r Rect) {
	cs := b.in.Snap.Checks
	bad := 0
	for _, c := range cs {
		if c.State == room.CheckAbnormal {
			bad++
		}
	}
	cy := r.Y + r.H/2
	st := TextStyle{Size: 20, MinSize: 12}
	tr := R(r.X+26, r.Y, r.W-26, r.H)
	switch {
	case len(cs) == 0:
		b.ring(r.X+9, cy, 7, 2, ColUnknown)
		b.msg(tr, ColMuted, st, "door.checks.none")
	case bad == 0:
		b.circle(r.X+9, cy, 8, ColGood)
		b.msg(tr, ColMuted, st, "door.checks.ok")
	default:
		b.circle(r.X+9, cy, 8, ColBad)
		b.msg(tr, ColText, st, "door.checks.bad", "n", strconv.Itoa(bad))
	}
}

func checkName(lang, name string) (string, Msg) {
	m := Msg("check." + name)
	if Has(m) {
		return T(lang, m), m
	}
	return name, ""
}

func stateColor(st room.CheckState) (color.RGBA, Msg) {
	switch st {
	case room.CheckGood:
		return ColGood, "check.good"
	case room.CheckAbnormal:
		return ColBad, "check.abnormal"
	default:
		return ColUnknown, "check.unknown"
	}
}

// --- PIN pad --------------------------------------------------------------

func (b *builder) pin() {
	s := b.in.Snap
	b.sc.Name = string(s.Step)
	title := Msg("pin.title.start")
	switch s.Step {
	case room.StepEndPIN:
		title = "pin.title.end"
	case room.StepMaintenancePIN:
		title = "pin.title.maintenance"
	}
	b.msg(R(28, 20, 360, 96), ColText, TextStyle{Size: 32, MinSize: 18, Bold: true, Wrap: true, Top: true}, title)

	locked := s.LockedUntil.After(b.in.Now)
	b.sc.Locked = locked
	// While the daemon checks the hash (70-190 ms here, more on a Pi) the
	// pad says so and takes no input, so OK visibly did something.
	checking := s.PINChecking && !locked
	keys := !locked && !checking

	// Masked digits: one filled dot per typed digit, never the digits.
	slots := max(4, s.PINDigits)
	slots = min(slots, 8)
	box := R(28, 128, 360, 72)
	b.fill(box, ColPanel, 16)
	gap := box.W / float64(slots+1)
	for i := 0; i < slots; i++ {
		cx := box.X + gap*float64(i+1)
		if i < s.PINDigits {
			b.circle(cx, box.Y+box.H/2, 12, ColText)
		} else {
			b.ring(cx, box.Y+box.H/2, 11, 2, ColMuted)
		}
	}

	msgBox := R(28, 214, 360, 150)
	if locked {
		left := s.LockedUntil.Sub(b.in.Now)
		secs := int(math.Ceil(left.Seconds()))
		b.msg(msgBox, ColBad, TextStyle{Size: 26, MinSize: 15, Bold: true, Wrap: true, Top: true}, "pin.locked",
			"d", fmt.Sprintf("%d:%02d", secs/60, secs%60))
		// Rebuild when the shown second changes.
		b.nextAt(s.LockedUntil.Add(-time.Duration(secs-1) * time.Second))
	} else if checking {
		b.msg(msgBox, ColText, TextStyle{Size: 26, MinSize: 15, Bold: true, Wrap: true, Top: true}, "pin.checking")
	} else if s.PINError != "" {
		b.msg(msgBox, ColBad, TextStyle{Size: 26, MinSize: 15, Bold: true, Wrap: true, Top: true}, "pin.wrong")
	}

	b.button("cancel", R(28, 388, 180, 72), btnGhost, true, TextStyle{}, &room.Intent{Kind: room.IntentCancel}, LocalNone, "pin.cancel")

	// Keypad: 1-9, then Delete 0 OK.
	pad := R(420, 20, 356, 440)
	const gapPx = 10.0
	bw := (pad.W - 2*gapPx) / 3
	bh := (pad.H - 3*gapPx) / 4
	cell := func(row, col int) Rect {
		return R(pad.X+float64(col)*(bw+gapPx), pad.Y+float64(row)*(bh+gapPx), bw, bh)
	}
	digit := TextStyle{Size: 44, MinSize: 24, Bold: true, Align: AlignCenter}
	for d := 1; d <= 10; d++ {
		n := d % 10
		row, col := (d-1)/3, (d-1)%3
		if n == 0 {
			row, col = 3, 1
		}
		b.buttonText(fmt.Sprintf("pin-%d", n), cell(row, col), btnSecondary, keys, digit,
			&room.Intent{Kind: room.IntentPINDigit, Digit: n}, LocalNone, strconv.Itoa(n), "")
	}
	small := TextStyle{Size: 24, MinSize: 14, Bold: true, Align: AlignCenter, Wrap: true}
	b.button("pin-back", cell(3, 0), btnSecondary, keys && s.PINDigits > 0, small, &room.Intent{Kind: room.IntentPINBack}, LocalNone, "pin.back")
	if checking {
		// OK stays lit, as pressed, until the answer.
		saved := b.in.Local.Pressed
		b.in.Local.Pressed = "pin-ok"
		b.buttonText("pin-ok", cell(3, 2), btnPrimary, true, small, nil, LocalNone, b.t("pin.ok"), "pin.ok")
		b.in.Local.Pressed = saved
		b.sc.Targets[len(b.sc.Targets)-1].Enabled = false
		return
	}
	b.button("pin-ok", cell(3, 2), btnPrimary, keys && s.PINDigits > 0, small, &room.Intent{Kind: room.IntentPINOK}, LocalNone, "pin.ok")
}

// --- checklist ------------------------------------------------------------

func (b *builder) checklist() {
	s := b.in.Snap
	b.sc.Name = "checklist"
	if b.runsInto(R(396, 12, 388, 48)) {
		b.header("check.title", 356)
	} else {
		b.header("check.title", 740)
	}

	// Automatic checks.
	left := R(16, 66, 476, 326)
	b.fill(left, ColPanel, 16)
	b.msg(R(left.X+16, left.Y+6, left.W-32, 26), ColMuted, TextStyle{Size: 17, MinSize: 12}, "check.auto")
	if len(s.Checks) == 0 {
		b.msg(R(left.X+16, left.Y+40, left.W-32, 40), ColMuted, TextStyle{Size: 20, MinSize: 13}, "check.none")
	}
	rows := R(left.X+12, left.Y+34, left.W-24, left.H-40)
	b.checkRows(rows, s.Checks, 46)

	// Manual items, each a large target.
	right := R(504, 66, 280, 326)
	b.fill(right, ColPanel, 16)
	b.msg(R(right.X+16, right.Y+6, right.W-32, 26), ColMuted, TextStyle{Size: 17, MinSize: 12}, "check.manual")
	allTicked := true
	ih := 72.0
	if n := len(s.ManualItems); n > 0 {
		ih = min(ih, (right.H-44)/float64(n))
	}
	for i, it := range s.ManualItems {
		r := R(right.X+8, right.Y+36+float64(i)*ih, right.W-16, ih-6)
		id := fmt.Sprintf("check-item-%d", i)
		bg := ColPanelHi
		if b.in.Local.Pressed == id {
			bg = lighten(bg, 0.3)
		}
		b.fill(r, bg, 12)
		box := R(r.X+12, r.Y+r.H/2-15, 30, 30)
		if it.Checked {
			b.fill(box, ColGood, 6)
			b.path(ColBG, 4, Pt{box.X + 7, box.Y + 16}, Pt{box.X + 13, box.Y + 22}, Pt{box.X + 24, box.Y + 9})
		} else {
			allTicked = false
			b.stroke(box, ColText, 6, 2.5)
		}
		b.text(R(r.X+54, r.Y+4, r.W-62, r.H-8), ColText, TextStyle{Size: 20, MinSize: 12, Wrap: true}, it.Text)
		b.target(id, r, true, &room.Intent{Kind: room.IntentCheckToggle, Item: i}, LocalNone)
	}

	// Bottom bar.
	b.button("cancel", R(16, 404, 150, 64), btnGhost, true, TextStyle{}, &room.Intent{Kind: room.IntentCancel}, LocalNone, "check.cancel")
	status := R(178, 404, 310, 64)
	switch {
	case s.Blocked:
		b.msg(status, ColBad, TextStyle{Size: 20, MinSize: 12, Bold: true, Wrap: true}, "check.blocked")
	case !allTicked:
		b.msg(status, ColMuted, TextStyle{Size: 20, MinSize: 12, Wrap: true}, "check.tick")
	default:
		b.msg(status, ColGood, TextStyle{Size: 20, MinSize: 12, Bold: true, Wrap: true}, "check.ready")
	}
	if s.Blocked {
		b.button("check-override", R(496, 404, 138, 64), btnDanger, true, TextStyle{Size: 20, MinSize: 12, Bold: true, Align: AlignCenter, Wrap: true},
			nil, LocalOpenOverride, "check.override")
	}
	b.button("check-continue", R(642, 404, 142, 64), btnPrimary, allTicked && !s.Blocked, TextStyle{},
		&room.Intent{Kind: room.IntentCheckContinue}, LocalNone, "check.continue")
}

// checkRows lays out check rows in r: a row with a remedy hint gets extra
// height for it, so the hint is always shown.
func (b *builder) checkRows(r Rect, cs []room.CheckResult, maxRow float64) {
	units := 0.0
	for _, c := range cs {
		units++
		if hasHint(c) {
			units += 0.7
		}
	}
	if units == 0 {
		return
	}
	unit := min(maxRow, r.H/units)
	y := r.Y
	for _, c := range cs {
		h := unit
		if hasHint(c) {
			h = unit * 1.7
		}
		b.checkRow(R(r.X, y, r.W, h), c)
		y += h
	}
}

func hasHint(c room.CheckResult) bool { return c.State != room.CheckGood && c.Hint != "" }

// checkRow draws one automatic check: state dot, name, value, and the hint
// when it is not good.
func (b *builder) checkRow(r Rect, c room.CheckResult) {
	cc, stMsg := stateColor(c.State)
	showHint := hasHint(c)
	top := r
	if showHint {
		top.H = r.H / 1.7
	}
	b.circle(r.X+10, top.Y+top.H/2, 7, cc)
	name, key := checkName(b.lang, c.Name)
	if key != "" {
		b.sc.Used[key] = true
	}
	nameSt := TextStyle{Size: 19, MinSize: 11, Bold: c.Required}
	b.textKey(R(r.X+26, top.Y, r.W*0.46, top.H), ColText, nameSt, name, key)
	if c.Value == "" {
		b.msg(R(r.X+r.W*0.5+30, top.Y, r.W*0.5-30, top.H), cc, TextStyle{Size: 18, MinSize: 11, Align: AlignRight}, stMsg)
	} else {
		b.text(R(r.X+r.W*0.5+30, top.Y, r.W*0.5-30, top.H), cc, TextStyle{Size: 18, MinSize: 11, Align: AlignRight}, c.Value)
	}
	if showHint {
		b.text(R(r.X+26, top.Y+top.H, r.W-26, r.H-top.H-2), ColMuted, TextStyle{Size: 14, MinSize: 9}, c.Hint)
	}
}

func (b *builder) override() {
	b.sc.Name = "override"
	b.msg(R(28, 18, 744, 48), ColBad, TextStyle{Size: 30, MinSize: 16, Bold: true}, "override.title")
	b.msg(R(28, 70, 744, 34), ColMuted, TextStyle{Size: 20, MinSize: 12}, "override.sub")
	for i, code := range room.OverrideReasons() {
		// The intent carries the code, never the label: the daemon refuses
		// anything but a code, and the records read the same in every
		// language.
		in := &room.Intent{Kind: room.IntentCheckOverride, Reason: code}
		b.button(fmt.Sprintf("override-reason-%d", i+1), R(28, 116+float64(i)*92, 744, 80), btnSecondary, true,
			TextStyle{Size: 24, MinSize: 14, Align: AlignCenter, Wrap: true}, in, LocalCloseOverride, Msg("override.reason."+code))
	}
	b.button("override-back", R(28, 400, 180, 64), btnGhost, true, TextStyle{}, nil, LocalCloseOverride, "override.back")
}

// --- session setup --------------------------------------------------------

func (b *builder) participants() {
	if b.in.Snap.MinorAge > 0 {
		b.familyParticipants() // family.go
		return
	}
	b.sc.Name = "participants"
	b.header("participants.title", 744)
	b.msg(R(28, 66, 744, 34), ColMuted, TextStyle{Size: 20, MinSize: 12}, "participants.sub")
	const w, gap = 112.0, 12.0
	x0 := (Width - (6*w + 5*gap)) / 2
	for n := 1; n <= 6; n++ {
		r := R(x0+float64(n-1)*(w+gap), 150, w, 150)
		b.buttonText(fmt.Sprintf("participants-%d", n), r, btnSecondary, true, TextStyle{Size: 64, MinSize: 32, Bold: true, Align: AlignCenter},
			&room.Intent{Kind: room.IntentParticipants, Count: n}, LocalNone, strconv.Itoa(n), "")
	}
	b.button("cancel", R(28, 396, 180, 64), btnGhost, true, TextStyle{}, &room.Intent{Kind: room.IntentCancel}, LocalNone, "participants.back")
}

func (b *builder) recordChoice() {
	b.sc.Name = "record_choice"
	b.header("record.title", 744)
	b.msg(R(28, 70, 744, 70), ColMuted, TextStyle{Size: 22, MinSize: 13, Wrap: true, Top: true}, "record.sub")
	st := TextStyle{Size: 32, MinSize: 18, Bold: true, Align: AlignCenter, Wrap: true}
	b.button("record-yes", R(28, 170, 364, 180), btnPrimary, true, st, &room.Intent{Kind: room.IntentRecord, Yes: true}, LocalNone, "record.yes")
	b.button("record-no", R(408, 170, 364, 180), btnSecondary, true, st, &room.Intent{Kind: room.IntentRecord, Yes: false}, LocalNone, "record.no")
	b.button("cancel", R(28, 396, 180, 64), btnGhost, true, TextStyle{}, &room.Intent{Kind: room.IntentCancel}, LocalNone, "participants.back")
}

// AgreementText returns the agreement text the consent screen shows for a
// snapshot and the language it is in: the screen's language when the
// agreement has it, else the first room language that has a text.
func AgreementText(s room.Snapshot) (lang, text string) {
	if t, ok := s.Agreement.Texts[s.Language]; ok && strings.TrimSpace(t) != "" {
		return s.Language, t
	}
	for _, l := range append(append([]string{}, s.Languages...), Languages...) {
		if t, ok := s.Agreement.Texts[l]; ok && strings.TrimSpace(t) != "" {
			return l, t
		}
	}
	return s.Language, ""
}

// Reflow joins the lines of each paragraph of a config text (TOML
// multi-line strings are wrapped by hand) so the screen can wrap it to its
// own width: a blank line separates paragraphs; a line break inside one
// becomes a space between Latin words and nothing between CJK characters.
// Only the layout changes: the hash is taken over the text as configured.
func Reflow(text string) string {
	var paras []string
	for _, p := range strings.Split(strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n"), "\n\n") {
		var out strings.Builder
		for i, line := range strings.Split(p, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			if i > 0 && out.Len() > 0 {
				prev, _ := utf8.DecodeLastRuneInString(out.String())
				next, _ := utf8.DecodeRuneInString(line)
				if !(isCJK(prev) || isCJK(next)) {
					out.WriteByte(' ')
				}
			}
			out.WriteString(line)
		}
		if out.Len() > 0 {
			paras = append(paras, out.String())
		}
	}
	return strings.Join(paras, "\n\n")
}

func (b *builder) consent() {
	s := b.in.Snap
	b.sc.Name = "consent"
	turn := max(s.ConsentTurn, 1)
	look := b.consentLook(turn) // family.go: the guardian's and the child's screens
	titleX := 28.0
	if look.mic {
		b.microphone(48, 36)
		titleX = 76
	}
	b.msg(R(titleX, 14, 528-titleX, 46), ColText, TextStyle{Size: 32, MinSize: 18, Bold: true}, look.title, look.kv...)
	b.langSwitch(776, 12, 50)
	b.msg(R(28, 64, 744, 28), ColMuted, TextStyle{Size: 18, MinSize: 11}, look.sub, look.kv...)

	lang, text := RoleText(s)
	// The agreement, scrollable by page.
	box := R(24, 98, 680, 268)
	b.fill(box, ColPanel, 14)
	inner := box.Inset(16)
	size := look.size
	st := TextStyle{Size: size, Leading: 1.3}
	lines := b.f.Wrap(Reflow(text), inner.W, size, false)
	lh := b.f.lineHeight(size, st)
	face := b.f.face(size, false)
	visible := max(1, int((inner.H+lh-fx(face.Metrics().Ascent+face.Metrics().Descent))/lh))
	key := fmt.Sprintf("%d/%s/%s%s", turn, lang, s.SessionID, s.ConsentRole)
	local := b.in.Local
	if local.ScrollKey != key {
		// A new participant, or the text in another language: read from
		// the top, and every page again.
		local.Scroll, local.ScrollKey, local.SeenTo = 0, key, 0
	}
	maxScroll := max(0, len(lines)-visible)
	local.Scroll = min(max(local.Scroll, 0), maxScroll)
	local.SeenTo = min(max(local.SeenTo, local.Scroll), maxScroll)
	b.sc.Local.Scroll, b.sc.Local.ScrollKey, b.sc.Local.SeenTo = local.Scroll, local.ScrollKey, local.SeenTo
	b.sc.Page = max(1, visible-1)
	b.sc.ScrollArea, b.sc.ScrollLine = box, lh
	y := inner.Y + fx(face.Metrics().Ascent)
	for i := local.Scroll; i < len(lines) && i < local.Scroll+visible; i++ {
		adv := face.advance(lines[i])
		b.sc.Elements = append(b.sc.Elements, Element{Kind: KindText, Text: lines[i], Size: size, Color: ColText,
			X: inner.X, Y: y, Box: inner, Clip: box, Clipped: true, Advance: adv,
			Ascent: fx(face.Metrics().Ascent), Descent: fx(face.Metrics().Descent), Overflow: adv > inner.W+0.5})
		if adv > inner.W+0.5 {
			b.sc.Overflows = append(b.sc.Overflows, fmt.Sprintf("consent/%s: agreement line %q wider than %.0f", b.lang, lines[i], inner.W))
		}
		y += lh
	}
	// Scroll buttons, with a page indicator between them.
	up := R(714, 98, 62, 108)
	down := R(714, 258, 62, 108)
	canUp, canDown := local.Scroll > 0, local.Scroll < maxScroll
	b.scrollButton("consent-scroll-up", up, canUp, true)
	b.scrollButton("consent-scroll-down", down, canDown, false)
	pages := (maxScroll+b.sc.Page-1)/b.sc.Page + 1
	pageAt := func(scroll int) int {
		if scroll >= maxScroll {
			return pages
		}
		return (scroll+b.sc.Page-1)/b.sc.Page + 1
	}
	b.text(R(714, 210, 62, 44), ColMuted, TextStyle{Size: 18, MinSize: 11, Align: AlignCenter}, fmt.Sprintf("%d/%d", pageAt(local.Scroll), pages))
	b.sc.Pages, b.sc.PagesSeen = pages, pageAt(local.SeenTo)
	if text == "" {
		b.sc.Pages, b.sc.PagesSeen = 0, 0
	}

	// "I agree" only once every page has been on screen: agreeing to what
	// one has not been shown is no consent. Declining needs no reading.
	// The decision records the pages seen.
	sum := room.TextSHA256(text)
	readAll := b.sc.PagesSeen == b.sc.Pages
	yes := &room.Intent{Kind: room.IntentConsent, Participant: turn, Yes: true, Language: lang, TextSHA256: sum, Pages: b.sc.Pages, PagesSeen: b.sc.PagesSeen, Role: s.ConsentRole}
	no := &room.Intent{Kind: room.IntentConsent, Participant: turn, Yes: false, Language: lang, TextSHA256: sum, Pages: b.sc.Pages, PagesSeen: b.sc.PagesSeen, Role: s.ConsentRole}
	st2 := TextStyle{Size: 30, MinSize: 16, Bold: true, Align: AlignCenter, Wrap: true}
	b.button("consent-no", R(24, 378, 300, 90), btnSecondary, text != "", st2, no, LocalNone, look.no)
	if readAll {
		b.button("consent-yes", R(336, 378, 440, 90), btnGood, text != "", st2, yes, LocalNone, look.yes)
	} else {
		b.button("consent-yes", R(336, 378, 440, 90), btnGood, false, TextStyle{Size: 24, MinSize: 14, Bold: true, Align: AlignCenter, Wrap: true},
			yes, LocalNone, look.readAll, "n", strconv.Itoa(b.sc.PagesSeen), "total", strconv.Itoa(b.sc.Pages))
	}
}

func (b *builder) scrollButton(id string, r Rect, enabled, up bool) {
	bg, fg := b.buttonColors(btnSecondary, enabled, b.in.Local.Pressed == id)
	b.fill(r, bg, 12)
	cx, cy := r.X+r.W/2, r.Y+r.H/2
	if up {
		b.path(fg, 0, Pt{cx - 16, cy + 9}, Pt{cx + 16, cy + 9}, Pt{cx, cy - 11})
	} else {
		b.path(fg, 0, Pt{cx - 16, cy - 9}, Pt{cx + 16, cy - 9}, Pt{cx, cy + 11})
	}
	a := LocalScrollDown
	if up {
		a = LocalScrollUp
	}
	b.target(id, r, enabled, nil, a)
}

// --- in session -----------------------------------------------------------

// levelStep is the in-session level bar's resolution in dB.
const levelStep = 5

func (b *builder) inSession() {
	s := b.in.Snap
	b.sc.Name = "in_session"
	// The door state, for the room side too.
	title, _, c := doorColor(s.Door)
	band := R(0, 0, Width, 156)
	b.fill(band, c, 0)
	b.msg(R(28, 14, 440, 76), ColBG, TextStyle{Size: 60, MinSize: 28, Bold: true}, title)
	if !s.SessionStarted.IsZero() {
		w := 440.0
		if b.bookedUntil(R(258, 96, 210, 44), ColBG) {
			w = 226
		}
		b.msg(R(28, 96, w, 44), ColBG, TextStyle{Size: 26, MinSize: 14}, "door.elapsed", "d", b.elapsed())
	}
	// Privacy badge.
	badge := R(484, 20, 292, 72)
	b.fill(badge, ColBG, 18)
	if s.Recording {
		b.circle(badge.X+38, badge.Y+badge.H/2, 15, ColRec)
		b.msg(R(badge.X+66, badge.Y+6, badge.W-78, badge.H-12), ColRec, TextStyle{Size: 32, MinSize: 16, Bold: true}, "privacy.recording")
		// Discreet level indicator: a thin bar under the badge.
		lv := R(484, 104, 292, 32)
		b.msg(R(lv.X, lv.Y, 90, lv.H), ColBG, TextStyle{Size: 17, MinSize: 11}, "session.level")
		bar := R(lv.X+96, lv.Y+11, lv.W-96, 10)
		b.fill(bar, ColBG, 5)
		// In steps of levelStep dB: a finer bar would repaint the whole
		// screen on every small change of the voice (the daemon sends a
		// snapshot per dB), which on the device costs CPU while recording
		// and delays taps.
		frac := math.Floor((s.Level.RMSdBFS+60)/levelStep) * levelStep / 60
		frac = min(max(frac, 0), 1)
		if s.Level == (room.Level{}) {
			frac = 0 // no level reported yet
		}
		if frac > 0 {
			b.fill(R(bar.X, bar.Y, math.Max(bar.W*frac, 10), bar.H), ColText, 5)
		}
	} else {
		b.ring(badge.X+38, badge.Y+badge.H/2, 13, 3, ColMuted)
		b.msg(R(badge.X+66, badge.Y+6, badge.W-78, badge.H-12), ColMuted, TextStyle{Size: 32, MinSize: 16, Bold: true}, "privacy.not")
	}

	// A plain sentence about recording, said to the room.
	if m := b.sessionMessage(); m != "" {
		b.msg(R(28, 168, 744, 44), ColText, TextStyle{Size: 26, MinSize: 14, Bold: true, Wrap: true}, m, "d", b.gap())
	}

	// Counselor-facing notes and alerts: codes only, never client
	// information.
	type row struct {
		m Msg
		c color.RGBA
	}
	var rows []row
	if s.OverrideNote != "" {
		rows = append(rows, row{"session.overridden", ColMuted})
	}
	for _, a := range s.Alerts {
		m := Msg("alert." + a.Code)
		if !Has(m) {
			m = "alert.other"
		}
		rows = append(rows, row{m, ColBusy})
	}
	if len(rows) > 0 {
		panel := R(24, 220, 752, 124)
		b.fill(panel, ColPanel, 14)
		b.msg(R(panel.X+16, panel.Y+6, panel.W-32, 24), ColMuted, TextStyle{Size: 16, MinSize: 10}, "session.alerts")
		for i, r := range rows {
			if i == 3 {
				break
			}
			y := panel.Y + 34 + float64(i)*28
			b.circle(panel.X+24, y+14, 6, r.c)
			b.msg(R(panel.X+40, y, panel.W-56, 28), ColText, TextStyle{Size: 20, MinSize: 12}, r.m)
		}
	} else {
		// Nothing for the counselor: tell passers-by, large.
		b.msg(R(24, 228, 752, 100), ColMuted, TextStyle{Size: 44, MinSize: 24, Bold: true, Align: AlignCenter}, "door.sub.in_session")
	}

	canWithdraw := s.Recorded && !s.Withdrawn
	st := TextStyle{Size: 30, MinSize: 16, Bold: true, Align: AlignCenter, Wrap: true}
	if canWithdraw {
		b.button("withdraw", R(24, 360, 440, 104), btnDanger, true, st, &room.Intent{Kind: room.IntentWithdraw}, LocalNone, "session.stop")
	}
	b.button("end", R(480, 360, 296, 104), btnSecondary, true, st, &room.Intent{Kind: room.IntentEnd}, LocalNone, "session.end")
}

// sessionMessage picks the sentence that tells the room whether and why the
// session is (not) recorded.
func (b *builder) sessionMessage() Msg {
	s := b.in.Snap
	switch s.Notice {
	case room.NoticeNotRecordedChoice:
		return "session.unrecorded"
	case room.NoticeNotRecordedDeclined:
		return "session.declined"
	case room.NoticeRecorderFailed:
		return "session.failed"
	case room.NoticeWithdrawn:
		return "session.withdrawn"
	case room.NoticeMaxLength:
		return "session.maxlen"
	case room.NoticeRecorderStopped:
		return "session.stopped"
	case room.NoticeRecordingResumed:
		return "session.resumed"
	case room.NoticeNotRecordedNoGuardian:
		return "session.noguardian"
	}
	switch {
	case s.Withdrawn:
		return "session.withdrawn"
	case !s.Recorded:
		return "session.unrecorded"
	case s.Recorder == room.RecorderStarting:
		return "session.starting"
	case s.Recorder == room.RecorderFault:
		return "session.fault"
	case s.Recorder == room.RecorderStopped:
		return "session.stopped"
	}
	return ""
}

func (b *builder) withdrawChoice() {
	b.sc.Name = "withdraw_choice"
	b.circle(52, 52, 16, ColRec)
	b.msg(R(84, 22, 690, 60), ColText, TextStyle{Size: 36, MinSize: 18, Bold: true}, "withdraw.title")
	sub := Msg("withdraw.sub")
	if b.in.Snap.Children > 0 {
		sub = "withdraw.sub.family" // the guardian chooses for a child
	}
	b.msg(R(28, 96, 744, 80), ColText, TextStyle{Size: 26, MinSize: 14, Wrap: true, Top: true}, sub)
	st := TextStyle{Size: 34, MinSize: 18, Bold: true, Align: AlignCenter, Wrap: true}
	b.button("withdraw-keep", R(28, 200, 364, 170), btnSecondary, true, st, &room.Intent{Kind: room.IntentWithdrawKeep}, LocalNone, "withdraw.keep")
	b.button("withdraw-delete", R(408, 200, 364, 170), btnDanger, true, st, &room.Intent{Kind: room.IntentWithdrawDelete}, LocalNone, "withdraw.delete")
}

func (b *builder) feedback() {
	b.sc.Name = "feedback"
	b.msg(R(28, 18, 560, 48), ColText, TextStyle{Size: 32, MinSize: 16, Bold: true}, "feedback.title")
	b.langSwitch(776, 14, 50)
	b.msg(R(28, 70, 744, 32), ColMuted, TextStyle{Size: 20, MinSize: 12}, "feedback.sub")
	const w, gap = 140.0, 13.0
	for n := 1; n <= 5; n++ {
		r := R(24+float64(n-1)*(w+gap), 130, w, 200)
		id := fmt.Sprintf("feedback-%d", n)
		bg, fg := b.buttonColors(btnSecondary, true, b.in.Local.Pressed == id)
		b.fill(r, bg, 16)
		b.text(R(r.X, r.Y+20, r.W, 90), fg, TextStyle{Size: 72, MinSize: 36, Bold: true, Align: AlignCenter}, strconv.Itoa(n))
		b.msg(R(r.X+8, r.Y+120, r.W-16, 64), fg, TextStyle{Size: 20, MinSize: 12, Align: AlignCenter, Wrap: true}, Msg(fmt.Sprintf("feedback.%d", n)))
		b.target(id, r, true, &room.Intent{Kind: room.IntentFeedback, Rating: n}, LocalNone)
	}
	b.button("feedback-skip", R(24, 392, 200, 68), btnGhost, true, TextStyle{}, &room.Intent{Kind: room.IntentFeedback, Rating: 0}, LocalNone, "feedback.skip")
	b.problemReports() // maintenance.go
}

// --- maintenance ----------------------------------------------------------

func (b *builder) maintenance() {
	s := b.in.Snap
	// A technician's screen, or a held recording to settle (maintenance.go).
	switch {
	case s.Technician:
		b.maintenanceTechnician()
		return
	case s.HeldWaiting > 0:
		b.maintenanceHeld()
		return
	}
	b.sc.Name = "maintenance"
	b.header("maint.title", 560)
	b.text(R(600, 14, 176, 46), ColMuted, TextStyle{Size: 22, MinSize: 12, Align: AlignRight}, s.RoomName)

	left := R(16, 68, 500, 396)
	b.fill(left, ColPanel, 14)
	b.msg(R(left.X+16, left.Y+6, left.W-32, 26), ColMuted, TextStyle{Size: 17, MinSize: 11}, "maint.checks")
	if len(s.Checks) == 0 {
		b.msg(R(left.X+16, left.Y+40, left.W-32, 36), ColMuted, TextStyle{Size: 20, MinSize: 12}, "check.none")
	}
	checks := make([]room.CheckResult, len(s.Checks))
	for i, c := range s.Checks {
		if c.Threshold != "" && c.Value != "" {
			c.Value = c.Value + "  (" + c.Threshold + ")"
		}
		checks[i] = c
	}
	b.checkRows(R(left.X+12, left.Y+36, left.W-24, left.H-42), checks, 44)

	right := R(528, 68, 256, 312)
	b.fill(right, ColPanel, 14)
	b.msg(R(right.X+14, right.Y+6, right.W-28, 26), ColMuted, TextStyle{Size: 17, MinSize: 11}, "maint.faults")
	y := right.Y + 36
	faults := 0
	// The maintenance log's last faults when the daemon sends them; else
	// the checks abnormal now.
	for _, f := range s.Faults {
		if faults == 3 {
			break
		}
		faults++
		name, key := checkName(b.lang, f.Check)
		if key != "" {
			b.sc.Used[key] = true
		}
		col := ColBad
		if f.State == room.CheckUnknown {
			col = ColUnknown
		}
		b.textKey(R(right.X+14, y, right.W-28, 26), col, TextStyle{Size: 17, MinSize: 10}, f.At.Local().Format("01-02 15:04")+"  "+name, key)
		y += 28
	}
	for _, c := range s.Checks {
		if c.State != room.CheckAbnormal || faults == 3 || len(s.Faults) > 0 {
			continue
		}
		faults++
		name, _ := checkName(b.lang, c.Name)
		when := ""
		if !c.At.IsZero() {
			when = c.At.Local().Format("15:04") + "  "
		}
		b.text(R(right.X+14, y, right.W-28, 26), ColBad, TextStyle{Size: 17, MinSize: 10}, when+name)
		y += 28
	}
	for _, a := range s.Alerts {
		if faults == 4 {
			break
		}
		faults++
		m := Msg("alert." + a.Code)
		if !Has(m) {
			m = "alert.other"
		}
		b.msg(R(right.X+14, y, right.W-28, 26), ColBusy, TextStyle{Size: 17, MinSize: 10}, m)
		y += 28
	}
	if faults == 0 {
		b.msg(R(right.X+14, y, right.W-28, 26), ColGood, TextStyle{Size: 17, MinSize: 10}, "maint.nofaults")
	}
	// Network and storage, from their checks.
	y = right.Y + 162
	for _, item := range []struct {
		m     Msg
		names []string
	}{{"maint.network", []string{"upload", "network"}}, {"maint.storage", []string{"storage"}}} {
		b.msg(R(right.X+14, y, right.W-28, 24), ColMuted, TextStyle{Size: 16, MinSize: 10}, item.m)
		val, col := "—", ColUnknown
		for _, c := range s.Checks {
			for _, n := range item.names {
				if c.Name == n {
					var stMsg Msg
					col, stMsg = stateColor(c.State)
					val = c.Value
					if val == "" {
						val = b.t(stMsg)
					}
				}
			}
		}
		b.text(R(right.X+14, y+24, right.W-28, 28), col, TextStyle{Size: 19, MinSize: 10}, val)
		y += 60
	}
	b.msg(R(right.X+14, right.Y+right.H-34, right.W-28, 26), ColMuted, TextStyle{Size: 15, MinSize: 9}, "maint.version", "v", b.in.Version)
	b.button("maintenance-back", R(528, 392, 256, 72), btnSecondary, true, TextStyle{}, &room.Intent{Kind: room.IntentCancel}, LocalNone, "maint.back")
}
