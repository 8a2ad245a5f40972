package session_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

// Fuzz operations: each is two bytes, an opcode and an argument.
const (
	opStart = iota
	opMaintenance
	opGoodPIN
	opBadPIN
	opDigit
	opPINOK
	opPINBack
	opCancel
	opToggle
	opContinue // tick everything, then continue
	opOverride
	opParticipants
	opRecord
	opConsent
	opWithdraw
	opWithdrawKeep
	opWithdrawDelete
	opEnd
	opFeedback
	opLanguage
	opReport      // recorder report for the current session
	opReportOther // recorder report for another session
	opChecks
	opAdvance
	// Maintenance (issue 16).
	opTechPIN       // the technician's PIN
	opMaintAction   // a maintenance action (arg: which, or free text)
	opReportProblem // a problem report (arg: which, or free text)
	opHeld          // for the oldest held recording: keep (refused), ask the client, or delete
	opHold          // the recorder holds a withdrawn session from before a restart
	numOps
)

// invariantChecker runs event sequences against a core on fakes and checks
// the consent invariants after every event.
type invariantChecker struct {
	t        testing.TB
	h        *harness
	cfg      session.Config
	accepted map[string][]int // session -> participants whose consent was accepted
	withdrew map[string]bool
	started  map[string]bool
	lastRep  map[string]room.RecorderState // since the Start call
	seenCall int
	held     map[string]bool // sessions held from before (opHold)
	ended    map[string]bool // the capture was stopped (by the core or by itself)
	prev     room.Snapshot   // the snapshot before the last op

	// Coverage counters, so a test can tell that sequences reach the
	// interesting states.
	sawRecording, sawWithdrawal, sawStart int
	sawFamilyStart, sawNoGuardian         int // recorder starts with children; sessions with children and no adult

	ops     []byte // every (op, arg) applied so far, for replays
	escapes int    // door-reachability checks made
}

// The checker's room has the guardian and assent texts, so sequences mix
// adults and children (issue 24).
func newInvariantChecker(t testing.TB) *invariantChecker {
	cfg := familyConfig()
	return &invariantChecker{
		t: t, cfg: cfg, h: newHarness(t, cfg, false),
		accepted: map[string][]int{}, withdrew: map[string]bool{},
		started: map[string]bool{}, lastRep: map[string]room.RecorderState{}, held: map[string]bool{}, ended: map[string]bool{},
	}
}

func (ic *invariantChecker) run(data []byte) {
	for i := 0; i+1 < len(data); i += 2 {
		desc := ic.step(data[i]%numOps, data[i+1])
		where := fmt.Sprintf("op %d (%s)", i/2, desc)
		ic.check(where)
		ic.checkEscape(where)
		if ic.t.Failed() {
			return
		}
	}
}

// checkEscape checks the invariant "from every reachable state, the door
// is reachable with screen intents alone": the sequence so far is replayed
// on a fresh core, then only the screen's own intents (cancel, end with the
// PIN, keep or delete, skip feedback) are sent. Waiting out a PIN lockout is
// the one wait allowed (it is a designed pause, not a trap).
func (ic *invariantChecker) checkEscape(where string) {
	ic.t.Helper()
	ic.escapes++
	for _, choice := range []room.IntentKind{room.IntentWithdrawKeep, room.IntentWithdrawDelete} {
		re := &invariantChecker{
			t: ic.t, cfg: ic.cfg,
			h: newHarnessWith(ic.t, ic.cfg, false, func(c *session.Core) {
				session.SetVerify(c, func(hash, pin string) bool {
					return hash == techHash && pin == techPIN || hash != techHash && pin == goodPIN
				})
			}),
			accepted: map[string][]int{}, withdrew: map[string]bool{}, started: map[string]bool{}, lastRep: map[string]room.RecorderState{}, held: map[string]bool{}, ended: map[string]bool{},
		}
		for i := 0; i+1 < len(ic.ops); i += 2 {
			re.step(ic.ops[i], ic.ops[i+1])
		}
		err := escapeToDoor(re.h, choice, ic.cfg.Flow.LockoutFor.Duration)
		re.h.stop()
		if err != nil {
			ic.t.Errorf("%s: the door is not reachable with screen intents (%s at the withdraw choice): %v\nreplay: %v", where, choice, err, ic.ops)
			return
		}
		if s := ic.h.snap(); s.Step != room.StepWithdrawChoice {
			return // the choice matters only there
		}
	}
}

// escapeToDoor sends the screen's intents that lead from each step to the
// door.
func escapeToDoor(h *harness, choice room.IntentKind, lockout time.Duration) error {
	var path []string
	for range 16 {
		s := h.snap()
		path = append(path, string(s.Step))
		var ins []room.Intent
		switch s.Step {
		case room.StepDoor:
			return nil
		case room.StepPIN, room.StepMaintenancePIN, room.StepChecklist, room.StepMaintenance,
			room.StepParticipants, room.StepRecordChoice, room.StepConsent:
			ins = []room.Intent{{Kind: room.IntentCancel}}
		case room.StepInSession:
			ins = []room.Intent{{Kind: room.IntentEnd}}
		case room.StepEndPIN:
			if !s.LockedUntil.IsZero() {
				h.advance(lockout)
				continue
			}
			ins = cat(room.Intent{Kind: room.IntentPINBack}, room.Intent{Kind: room.IntentPINBack}, room.Intent{Kind: room.IntentPINBack},
				room.Intent{Kind: room.IntentPINBack}, room.Intent{Kind: room.IntentPINBack}, room.Intent{Kind: room.IntentPINBack},
				room.Intent{Kind: room.IntentPINBack}, room.Intent{Kind: room.IntentPINBack}, pinIntents(goodPIN))
		case room.StepWithdrawChoice:
			ins = []room.Intent{{Kind: choice}}
		case room.StepFeedback:
			ins = []room.Intent{{Kind: room.IntentFeedback, Rating: 0}}
		default:
			return fmt.Errorf("unknown step %q", s.Step)
		}
		for _, in := range ins {
			if err := h.send(in); err != nil {
				return fmt.Errorf("at %s, %s refused: %w (path %v)", s.Step, in.Kind, err, path)
			}
		}
	}
	return fmt.Errorf("still not at the door after %v", path)
}

func (ic *invariantChecker) step(op, arg byte) string {
	ic.ops = append(ic.ops, op, arg)
	h := ic.h
	before := h.snap()
	ic.prev = before
	sid := before.SessionID
	send := func(ins ...room.Intent) error {
		var err error
		for _, in := range ins {
			err = h.send(in)
		}
		return err
	}
	I := func(k room.IntentKind) room.Intent { return room.Intent{Kind: k} }
	switch op {
	case opStart:
		send(I(room.IntentStart))
		return "start"
	case opMaintenance:
		send(I(room.IntentMaintenance))
		return "maintenance"
	case opGoodPIN:
		send(pinIntents(goodPIN)...)
		return "good pin"
	case opBadPIN:
		send(pinIntents(badPIN)...)
		return "bad pin"
	case opDigit:
		send(room.Intent{Kind: room.IntentPINDigit, Digit: int(arg % 11)})
		return "digit"
	case opPINOK:
		send(I(room.IntentPINOK))
		return "pin ok"
	case opPINBack:
		send(I(room.IntentPINBack))
		return "pin back"
	case opCancel:
		send(I(room.IntentCancel))
		return "cancel"
	case opToggle:
		send(room.Intent{Kind: room.IntentCheckToggle, Item: int(arg % 3)})
		return "toggle"
	case opContinue:
		for i, m := range before.ManualItems {
			if !m.Checked && before.Step == room.StepChecklist {
				send(room.Intent{Kind: room.IntentCheckToggle, Item: i})
			}
		}
		send(I(room.IntentCheckContinue))
		return "continue"
	case opOverride:
		reason := ""
		switch arg % 4 {
		case 1, 3:
			reason = room.OverrideReasons()[int(arg/4)%len(room.OverrideReasons())]
		case 2:
			reason = "free text, refused" // not a code
		}
		send(room.Intent{Kind: room.IntentCheckOverride, Reason: reason})
		return "override"
	case opParticipants:
		// arg 0-7: adults only (the seeds); higher args add 1-3 children,
		// sometimes as many as the participants (no adult present).
		in := room.Intent{Kind: room.IntentParticipants, Count: int(arg % 8), Children: int(arg/8) % 4}
		send(in)
		return fmt.Sprintf("participants %d, %d children", in.Count, in.Children)
	case opRecord:
		send(room.Intent{Kind: room.IntentRecord, Yes: arg%4 != 0})
		return "record"
	case opConsent:
		p := before.ConsentTurn
		if arg%5 == 0 {
			p = int(arg/5) % 8
		}
		in := consent(p, arg%7 != 0)
		if role := before.ConsentRole; role != "" {
			// The text of the role the screen asks (a guardian's or a
			// child's turn), sometimes saying the role, sometimes a
			// wrong one.
			in.TextSHA256 = room.TextSHA256(roleTexts(role)["en"])
			switch arg % 17 {
			case 1, 2, 3:
				in.Role = role
			case 4:
				in.Role = room.RoleAssent(1)
			}
		}
		if arg%11 == 0 {
			in.TextSHA256 = room.TextSHA256("something else")
		}
		if arg%13 == 0 {
			in.Language = "zh"
		}
		if send(in) == nil && in.Yes {
			ic.accepted[sid] = append(ic.accepted[sid], p)
		}
		return fmt.Sprintf("consent p%d yes=%v", p, in.Yes)
	case opWithdraw:
		// The withdrawal bound: a capture running when the withdrawal is
		// accepted is stopped in that very event (before the reply), and
		// the door no longer says Recording.
		running := ic.started[sid] && !ic.ended[sid] && !ic.withdrew[sid]
		n := len(h.rec.Calls())
		if send(I(room.IntentWithdraw)) == nil {
			ic.withdrew[sid] = true
			stopped := slices.ContainsFunc(h.rec.Calls()[n:], func(c sessiontest.Call) bool {
				return c.Op == "stop" && c.SessionID == sid && c.Withdrawn
			})
			if running && !stopped {
				ic.t.Errorf("withdrawal accepted in session %s (children %d) without stopping the capture in the same event", sid, before.Children)
			}
			if h.snap().Recording {
				ic.t.Errorf("Recording after an accepted withdrawal in session %s", sid)
			}
		}
		return "withdraw"
	case opWithdrawKeep:
		send(I(room.IntentWithdrawKeep))
		return "keep"
	case opWithdrawDelete:
		send(I(room.IntentWithdrawDelete))
		return "delete"
	case opEnd:
		send(I(room.IntentEnd))
		return "end"
	case opFeedback:
		send(room.Intent{Kind: room.IntentFeedback, Rating: int(arg % 7)})
		return "feedback"
	case opLanguage:
		send(room.Intent{Kind: room.IntentLanguage, Language: []string{"en", "zh", "fr"}[arg%3]})
		return "language"
	case opReport:
		states := []room.RecorderState{room.RecorderRecording, room.RecorderRecording, room.RecorderStarting, room.RecorderFault, room.RecorderStopped, room.RecorderIdle}
		st := states[int(arg)%len(states)]
		if st == room.RecorderStopped && sid != "" {
			h.rec.StoppedByItself(sid) // the real recorder's capture is over
			ic.ended[sid] = true
		}
		h.core.RecorderChanged(room.RecorderStatus{SessionID: sid, State: st})
		session.Sync(h.core)
		if sid != "" {
			ic.lastRep[sid] = st
		}
		return "report " + string(st)
	case opReportOther:
		h.core.RecorderChanged(room.RecorderStatus{SessionID: fmt.Sprintf("s%d", arg%4), State: room.RecorderRecording})
		session.Sync(h.core)
		if id := fmt.Sprintf("s%d", arg%4); id == sid {
			ic.lastRep[sid] = room.RecorderRecording
		}
		return "report other"
	case opChecks:
		st := room.CheckGood
		if arg%2 == 1 {
			st = room.CheckAbnormal
		}
		h.core.ChecksUpdated([]room.CheckResult{{Name: "mic", State: st, Required: true}})
		session.Sync(h.core)
		return "checks " + string(st)
	case opTechPIN:
		send(pinIntents(techPIN)...)
		return "technician pin"
	case opMaintAction:
		acts := append(room.MaintenanceActions(), "replaced the cable for Mrs Example")
		send(room.Intent{Kind: room.IntentMaintenanceAction, Reason: acts[int(arg)%len(acts)]})
		return "maintenance action"
	case opReportProblem:
		ps := append(room.ProblemCodes(), "Mrs Example's chair")
		send(room.Intent{Kind: room.IntentReportProblem, Reason: ps[int(arg)%len(ps)]})
		return "report problem"
	case opHeld:
		switch arg % 3 {
		case 0:
			send(I(room.IntentHeldKeep)) // refused: the client keeps (issue 22)
			return "held keep"
		case 1:
			send(I(room.IntentHeldAsk))
			return "held ask"
		}
		send(I(room.IntentHeldDelete))
		return "held delete"
	case opHold:
		id := fmt.Sprintf("20260101T000000Z-%06d", arg)
		h.rec.Hold(id)
		ic.held[id] = true
		return "hold " + id
	case opAdvance:
		f := ic.cfg.Flow
		d := []time.Duration{time.Second, 30 * time.Second, f.PINTimeout.Duration, f.ConsentTimeout.Duration,
			f.MaxLengthWarn.Duration, ic.cfg.MaxLength, f.LockoutFor.Duration}[int(arg)%7]
		h.advance(d)
		return fmt.Sprintf("advance %v", d)
	}
	return "?"
}

func (ic *invariantChecker) check(where string) {
	t, h := ic.t, ic.h
	t.Helper()
	s := h.snap()
	calls := h.rec.Calls()
	for _, c := range calls[ic.seenCall:] {
		switch c.Op {
		case "start":
			id := c.Info.ID
			if ic.started[id] {
				t.Errorf("%s: Start called twice for session %s", where, id)
			}
			if ic.withdrew[id] {
				t.Errorf("%s: Start called after a withdrawal in session %s", where, id)
			}
			ic.started[id] = true
			ic.lastRep[id] = ""
			adults, children := s.Participants-s.Children, s.Children
			if children > 0 {
				ic.sawFamilyStart++
			}
			n := room.ConsentTurns(adults, children)
			if id != s.SessionID || s.Participants < 1 || adults < 1 {
				t.Errorf("%s: Start for %s while the session is %q with %d participants, %d children", where, id, s.SessionID, s.Participants, children)
			}
			want := make([]int, n)
			for i := range want {
				want[i] = i + 1
			}
			if !slices.Equal(ic.accepted[id], want) {
				t.Errorf("%s: Start for %s with consents accepted from %v, want %v", where, id, ic.accepted[id], want)
			}
			d := c.Info.Consent.Decisions
			if len(d) != n {
				t.Errorf("%s: consent record has %d decisions for %d consent turns", where, len(d), n)
			}
			for i, dec := range d {
				role, _ := room.TurnRole(adults, children, i+1)
				if !dec.Consented || dec.Participant != i+1 || dec.Role != role || dec.TextSHA256 != room.TextSHA256(roleTexts(role)[dec.Language]) {
					t.Errorf("%s: bad decision in the consent record: %+v (turn %d is %s's)", where, dec, i+1, role)
				}
			}
			// The rule itself: every adult agreed, and every child has a
			// guardian's agreement and its own yes.
			yes := func(role string) bool {
				return slices.ContainsFunc(d, func(x room.Decision) bool { return x.Role == role && x.Consented })
			}
			agreed := 0
			for _, x := range d {
				if x.Role == room.RoleAdult && x.Consented {
					agreed++
				}
			}
			if agreed != adults {
				t.Errorf("%s: Start with %d of %d adults agreeing", where, agreed, adults)
			}
			for k := 1; k <= children; k++ {
				if !yes(room.RoleGuardian(k)) || !yes(room.RoleAssent(k)) {
					t.Errorf("%s: Start without child %d's guardian agreement and assent: %+v", where, k, d)
				}
			}
			if c := c.Info.Consent; c.Children != children || c.Adults != adults || c.Version != room.ConsentRecordVersion {
				t.Errorf("%s: consent record counts %d adults %d children version %d", where, c.Adults, c.Children, c.Version)
			}
		case "stop":
			ic.lastRep[c.SessionID] = room.RecorderStopped
			ic.ended[c.SessionID] = true
		case "keep", "discard":
			// A recording held from before is kept only by its client
			// on the held choice screen; deleted by them, by a
			// counselor on the maintenance screen, or at its deadline
			// (issue 22). The open session's only on its withdraw
			// screen.
			p := ic.prev
			by := ""
			if c.Decision != nil {
				by = c.Decision.By
			}
			client := p.Step == room.StepHeldChoice && by == room.DecidedByClient
			counselor := p.Step == room.StepMaintenance && !p.Technician && by == room.DecidedByCounselor
			switch {
			case ic.held[c.SessionID] && c.Op == "keep" && !client:
				t.Errorf("%s: keep of a held recording at step %s decided by %q", where, p.Step, by)
			case ic.held[c.SessionID] && c.Op == "discard" && !client && !counselor && by != room.DecidedByDeadline:
				t.Errorf("%s: discard of a held recording at step %s (technician %v) decided by %q", where, p.Step, p.Technician, by)
			case !ic.held[c.SessionID] && c.SessionID != p.SessionID:
				t.Errorf("%s: %s of session %s while session %q is open", where, c.Op, c.SessionID, p.SessionID)
			}
		}
	}
	ic.seenCall = len(calls)

	if s.SessionID != "" && s.Door != room.DoorInSession {
		t.Errorf("%s: door %s while session %s is open", where, s.Door, s.SessionID)
	}
	if s.Door == room.DoorFree && s.SessionID != "" {
		t.Errorf("%s: door free with a session open", where)
	}
	if s.Recording {
		if !ic.started[s.SessionID] || ic.lastRep[s.SessionID] != room.RecorderRecording {
			t.Errorf("%s: Recording without the recorder reporting it for session %s (started=%v last=%q)", where, s.SessionID, ic.started[s.SessionID], ic.lastRep[s.SessionID])
		}
		if !s.Recorded || s.Withdrawn || ic.withdrew[s.SessionID] {
			t.Errorf("%s: Recording with recorded=%v withdrawn=%v", where, s.Recorded, s.Withdrawn)
		}
	}
	if s.Recording {
		ic.sawRecording++
	}
	if s.Notice == room.NoticeNotRecordedNoGuardian && ic.prev.Notice != s.Notice {
		ic.sawNoGuardian++
		if s.Recorded || s.WantRecording || s.Children != s.Participants {
			t.Errorf("%s: no-guardian notice with recorded=%v want=%v %d of %d children", where, s.Recorded, s.WantRecording, s.Children, s.Participants)
		}
	}
	if s.Withdrawn {
		ic.sawWithdrawal++
	}
	ic.sawStart = len(ic.started)
	if s.Withdrawn && s.Recording {
		t.Errorf("%s: recording after a withdrawal", where)
	}
	if s.Technician && s.Step != room.StepMaintenance {
		t.Errorf("%s: a technician at step %s", where, s.Step)
	}
	for _, e := range h.maint.Entries() {
		if e.Technician != "t-1" || !room.ValidMaintenanceAction(e.Action) {
			t.Errorf("%s: maintenance entry %+v", where, e)
		}
	}
	for _, p := range h.maint.Problems() {
		if !room.ValidProblem(p.Report.Problem) || p.SessionID == "" || p.Counselor != "c-1" {
			t.Errorf("%s: problem report %+v", where, p)
		}
	}
}

// seed encodes a sequence of (op, arg) pairs.
func seed(ops ...byte) []byte { return ops }

var fuzzSeeds = [][]byte{
	// A whole recorded session.
	seed(opStart, 0, opGoodPIN, 0, opContinue, 0, opParticipants, 2, opRecord, 1, opConsent, 1, opConsent, 1,
		opReport, 0, opEnd, 0, opGoodPIN, 0, opFeedback, 4),
	// Withdraw, delete, end.
	seed(opStart, 0, opGoodPIN, 0, opContinue, 0, opParticipants, 1, opRecord, 1, opConsent, 1, opReport, 0,
		opWithdraw, 0, opReport, 0, opWithdrawDelete, 0, opReport, 0, opEnd, 0, opGoodPIN, 0, opFeedback, 0),
	// A decline, then a stale recording report.
	seed(opStart, 0, opGoodPIN, 0, opContinue, 0, opParticipants, 3, opRecord, 1, opConsent, 1, opConsent, 7,
		opReport, 0, opReportOther, 1, opConsent, 1),
	// Out of turn and wrong text, then timeouts.
	seed(opStart, 0, opGoodPIN, 0, opContinue, 0, opParticipants, 2, opRecord, 1, opConsent, 10, opConsent, 11,
		opConsent, 1, opAdvance, 3, opStart, 0, opAdvance, 2),
	// Max length, recorder faults, checks failing, override.
	seed(opChecks, 1, opStart, 0, opGoodPIN, 0, opContinue, 0, opOverride, 1, opParticipants, 1, opRecord, 1,
		opConsent, 1, opReport, 0, opAdvance, 4, opReport, 3, opReport, 0, opAdvance, 5, opReport, 0, opWithdraw, 0),
	// Lockout.
	seed(opStart, 0, opBadPIN, 0, opBadPIN, 0, opBadPIN, 0, opBadPIN, 0, opBadPIN, 0, opGoodPIN, 0, opAdvance, 6,
		opStart, 0, opGoodPIN, 0, opMaintenance, 0, opCancel, 0, opMaintenance, 0, opGoodPIN, 0, opAdvance, 3),
	// Report recording before Start: must not count.
	seed(opStart, 0, opGoodPIN, 0, opContinue, 0, opParticipants, 1, opRecord, 1, opReport, 0, opConsent, 1),
}

// FuzzCore drives random event sequences (intents, recorder reports, check
// results, clock advances) and checks the consent invariants after each.
func FuzzCore(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 400 {
			data = data[:400]
		}
		newInvariantChecker(t).run(data)
	})
}

// TestRandomSequences runs the fuzz driver over fixed-seed random walks
// that mostly follow the flow (so recorded sessions, withdrawals and
// timeouts happen often) and sometimes do anything at all.
func TestRandomSequences(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 20
	}
	likely := map[room.Step][]byte{
		room.StepDoor:           {opStart, opStart, opMaintenance},
		room.StepPIN:            {opGoodPIN, opGoodPIN, opBadPIN, opAdvance},
		room.StepChecklist:      {opContinue, opOverride, opToggle},
		room.StepParticipants:   {opParticipants},
		room.StepRecordChoice:   {opRecord},
		room.StepConsent:        {opConsent, opConsent, opConsent, opAdvance},
		room.StepInSession:      {opReport, opReport, opWithdraw, opEnd, opAdvance, opReportOther},
		room.StepWithdrawChoice: {opWithdrawKeep, opWithdrawDelete, opReport},
		room.StepEndPIN:         {opGoodPIN, opWithdraw, opCancel},
		room.StepFeedback:       {opFeedback, opReport, opReportProblem},
		room.StepMaintenancePIN: {opGoodPIN, opTechPIN},
		room.StepMaintenance:    {opCancel, opMaintAction, opHeld, opHold},
	}
	var recording, withdrawal, starts, family, noGuardian int
	defer func() {
		t.Logf("%d sequences: %d recorder starts (%d with children), %d events while recording, %d after a withdrawal, %d sessions of children alone",
			n, starts, family, recording, withdrawal, noGuardian)
		if starts == 0 || recording == 0 || withdrawal == 0 {
			t.Errorf("the random sequences never reached a recorded or withdrawn session; bias the generator")
		}
		if !testing.Short() && (family == 0 || noGuardian == 0) {
			t.Errorf("the random sequences never recorded a session with children or met children alone; bias the generator")
		}
	}()
	for i := range n {
		r := rand.New(rand.NewPCG(uint64(i), 42))
		var data []byte
		ok := t.Run(fmt.Sprint(i), func(t *testing.T) {
			ic := newInvariantChecker(t)
			for j := range 60 {
				op := byte(r.IntN(numOps))
				if ops := likely[ic.h.snap().Step]; r.IntN(4) > 0 && len(ops) > 0 {
					op = ops[r.IntN(len(ops))]
				}
				arg := byte(r.IntN(256))
				if op == opParticipants && r.IntN(2) == 0 {
					arg = byte(1 + r.IntN(3))
				}
				data = append(data, op, arg)
				desc := ic.step(op, arg)
				ic.check(fmt.Sprintf("op %d (%s)", j, desc))
				// Replays cost O(n) each: check the door is reachable at
				// a random quarter of the ops and at the last.
				if r.IntN(4) == 0 || j == 59 {
					ic.checkEscape(fmt.Sprintf("op %d (%s)", j, desc))
				}
				if t.Failed() {
					return
				}
			}
			recording += ic.sawRecording
			withdrawal += ic.sawWithdrawal
			starts += ic.sawStart
			family += ic.sawFamilyStart
			noGuardian += ic.sawNoGuardian
		})
		if !ok {
			t.Logf("failing sequence (replay with invariantChecker.run): %v", data)
			break
		}
	}
}
