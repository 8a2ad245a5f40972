package session_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
	"roomkiosk/recorder/spool"
)

// walkEnv makes this test binary the daemon of TestKillAtRandomMoments: a
// core over the real journal file, driven by a seeded walk.
const walkEnv = "ROOMKIOSK_SESSION_KILL_WALK"

func TestMain(m *testing.M) {
	if v := os.Getenv(walkEnv); v != "" {
		os.Exit(walkHelper(v))
	}
	os.Exit(m.Run())
}

// walkIntent picks the next screen intent from the snapshot, mostly along
// the flow so that every step is visited (PIN pad, checklist, participants,
// record choice, each consent turn, recording, withdraw choice, feedback).
// Half the sessions are family sessions (1 or 2 children, 0 to 2 adults),
// so restarts land at guardian and assent turns and at a guardian's choice
// too.
func walkIntent(r *rand.Rand, s room.Snapshot) room.Intent {
	I := func(k room.IntentKind) room.Intent { return room.Intent{Kind: k} }
	switch s.Step {
	case room.StepDoor:
		return I(room.IntentStart)
	case room.StepPIN, room.StepEndPIN:
		if r.IntN(12) == 0 {
			return I(room.IntentCancel)
		}
		if s.PINDigits < len(goodPIN) {
			return room.Intent{Kind: room.IntentPINDigit, Digit: int(goodPIN[s.PINDigits] - '0')}
		}
		return I(room.IntentPINOK)
	case room.StepChecklist:
		for i, m := range s.ManualItems {
			if !m.Checked {
				return room.Intent{Kind: room.IntentCheckToggle, Item: i}
			}
		}
		return I(room.IntentCheckContinue)
	case room.StepParticipants:
		adults, children := 1+r.IntN(3), 0
		if r.IntN(2) == 0 {
			adults, children = r.IntN(3), 1+r.IntN(2) // no adult: not recordable
		}
		return room.Intent{Kind: room.IntentParticipants, Count: adults + children, Children: children}
	case room.StepRecordChoice:
		return room.Intent{Kind: room.IntentRecord, Yes: r.IntN(5) > 0}
	case room.StepConsent:
		if r.IntN(15) == 0 {
			return I(room.IntentCancel)
		}
		return roleConsent(s.ConsentTurn, s.ConsentRole, r.IntN(8) > 0)
	case room.StepInSession:
		switch n := r.IntN(10); {
		case n < 2 && s.Recorded && !s.Withdrawn:
			return I(room.IntentWithdraw)
		case n < 5:
			return I(room.IntentEnd)
		default:
			return room.Intent{Kind: room.IntentLanguage, Language: []string{"en", "zh"}[r.IntN(2)]}
		}
	case room.StepWithdrawChoice:
		if r.IntN(2) == 0 { // the room reads the choice a while
			return room.Intent{Kind: room.IntentLanguage, Language: []string{"en", "zh"}[r.IntN(2)]}
		}
		if r.IntN(2) == 0 {
			return I(room.IntentWithdrawKeep)
		}
		return I(room.IntentWithdrawDelete)
	case room.StepFeedback:
		return room.Intent{Kind: room.IntentFeedback, Rating: r.IntN(6)}
	}
	return I(room.IntentCancel)
}

// digest is what must survive a restart, as the room sees it.
type digest struct {
	Session      string
	Step         room.Step
	Participants int
	Children     int
	Turn         int
	Role         string
	Decisions    int
	Want         bool
	Recorded     bool
	Withdrawn    bool
	Recording    bool
}

func digestOf(s room.Snapshot) digest {
	step := s.Step
	switch step {
	case room.StepEndPIN:
		step = room.StepInSession // the PIN pad does not survive
	case room.StepPIN, room.StepChecklist, room.StepMaintenancePIN, room.StepMaintenance:
		step = room.StepDoor // no session open yet
	}
	if step == room.StepDoor {
		return digest{Step: room.StepDoor}
	}
	return digest{Session: s.SessionID, Step: step, Participants: s.Participants, Children: s.Children, Turn: s.ConsentTurn, Role: s.ConsentRole,
		Decisions: len(s.Decisions), Want: s.WantRecording, Recorded: s.Recorded, Withdrawn: s.Withdrawn, Recording: s.Recording}
}

const walkLen = 80

// walk runs the seeded walk on h, calling before and after each intent.
func walk(h *harness, seed uint64, before func(i int), after func(i int, s room.Snapshot)) {
	r := rand.New(rand.NewPCG(seed, 17))
	for i := 1; i <= walkLen; i++ {
		in := walkIntent(r, h.snap())
		before(i)
		_ = h.send(in)
		after(i, h.snap())
	}
}

// walkHelper is the daemon that gets killed: "S i" before intent i is sent,
// "A i" once the core replied (the screen would now show its result).
func walkHelper(arg string) int {
	dir, seedS, _ := strings.Cut(arg, ",")
	seed, _ := strconv.ParseUint(seedS, 10, 64)
	store := spool.Spool{Root: dir}.SessionJournal()
	n := boot(helperTB{}, familyConfig(), store, t0)
	out := bufio.NewWriter(os.Stdout)
	walk(n.harness, seed, func(i int) { fmt.Fprintf(out, "S %d\n", i); out.Flush() },
		func(i int, _ room.Snapshot) {
			fmt.Fprintf(out, "A %d\n", i)
			out.Flush()
			time.Sleep(time.Millisecond) // the room reads the screen a moment
		})
	fmt.Fprintln(out, "END")
	out.Flush()
	select {} // until killed
}

// helperTB is the testing.TB of the helper process: no test runs there.
type helperTB struct{ testing.TB }

func (helperTB) Helper()                      {}
func (helperTB) Cleanup(func())               {}
func (helperTB) Errorf(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...) }
func (helperTB) Fatal(args ...any)            { fmt.Fprintln(os.Stderr, args...); os.Exit(2) }
func (helperTB) Fatalf(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...); os.Exit(2) }

// TestKillAtRandomMoments: the daemon (a core over the real journal file) is
// SIGKILLed at random moments of random walks through every step, and a new
// core starts on the same file: the room comes back exactly as it was after
// the last intent the screen was told about, or after the one in flight
// (the journal is replaced atomically); a recording resumes exactly when
// one was running; the door is reachable from there with screen intents.
func TestKillAtRandomMoments(t *testing.T) {
	trials := 120 // 15 kills at each of the 8 target steps
	full := !testing.Short() && !raceEnabled
	if !full {
		trials = 16 // 2 at each: every restart is still checked, not the coverage
	}
	cfg := familyConfig() // the walk draws family sessions too
	targets := []struct {
		step      room.Step
		recording bool
	}{{room.StepDoor, false}, {room.StepParticipants, false}, {room.StepRecordChoice, false}, {room.StepConsent, false},
		{room.StepInSession, true}, {room.StepInSession, false}, {room.StepWithdrawChoice, false}, {room.StepFeedback, false}}
	steps := map[room.Step]int{}
	roles := map[string]int{} // family turns the restarts came back at
	resumed, inFlight, family := 0, 0, 0
	for trial := range trials {
		seed := uint64(1000 + trial)
		// The walk's digests, replayed in memory: digests[i] after intent i.
		ref := boot(t, cfg, &memStore{}, t0)
		digests := []digest{digestOf(ref.snap())}
		walk(ref.harness, seed, func(int) {}, func(_ int, s room.Snapshot) { digests = append(digests, digestOf(s)) })
		ref.crash()

		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), walkEnv+"="+dir+","+strconv.FormatUint(seed, 10))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill right after an intent that left the room at this trial's
		// target step (every step in turn), at a random moment after it.
		r := rand.New(rand.NewPCG(seed, 99))
		target := targets[trial%len(targets)]
		var at []int
		for i := 1; i < len(digests); i++ {
			if digests[i].Step == target.step && digests[i].Recording == target.recording {
				at = append(at, i)
			}
		}
		if target.step == room.StepConsent && trial/len(targets)%2 == 1 {
			// Every other consent kill at a guardian's or a child's turn.
			fam := slices.DeleteFunc(slices.Clone(at), func(i int) bool { return digests[i].Children == 0 || digests[i].Role == room.RoleAdult })
			if len(fam) > 0 {
				at = fam
			}
		}
		killAfter := 1 + r.IntN(walkLen-1)
		if len(at) > 0 {
			killAfter = at[r.IntN(len(at))]
		}
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if lines.Text() == fmt.Sprintf("A %d", killAfter) || lines.Text() == "END" {
				break
			}
		}
		time.Sleep(time.Duration(r.IntN(1500)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		acked, sent := 0, 0
		if strings.HasPrefix(lines.Text(), "A ") {
			acked, _ = strconv.Atoi(strings.TrimPrefix(lines.Text(), "A "))
			sent = acked
		}
		for lines.Scan() { // what the helper said before it died
			if n, ok := strings.CutPrefix(lines.Text(), "A "); ok {
				acked, _ = strconv.Atoi(n)
			}
			if n, ok := strings.CutPrefix(lines.Text(), "S "); ok {
				sent, _ = strconv.Atoi(n)
			}
		}
		_ = cmd.Wait()

		// The restart, within the window.
		b := boot(t, cfg, spool.Spool{Root: dir}.SessionJournal(), t0.Add(time.Minute))
		got := digestOf(b.snap())
		if sent > acked {
			inFlight++
		}
		ok := got == digests[acked] || sent > acked && got == digests[sent]
		if !ok {
			t.Fatalf("trial %d (seed %d): killed after intent %d acknowledged (%d sent); after the restart %+v, want %+v or (in flight) %+v",
				trial, seed, acked, sent, got, digests[acked], digests[min(sent, len(digests)-1)])
		}
		starts := startCalls(b.rec.Calls())
		if (len(starts) == 1) != got.Recording || len(starts) > 1 || (len(starts) == 1 && !starts[0].Info.Resume) {
			t.Fatalf("trial %d: recording %v after the restart with recorder starts %+v", trial, got.Recording, starts)
		}
		if got.Recording {
			resumed++
		}
		steps[got.Step]++
		if got.Children > 0 {
			family++
		}
		if kind, _, ok := room.ParseRole(got.Role); ok && got.Children > 0 {
			roles[kind]++
		}
		leave(t, b.harness)
		if _, err := os.Stat(filepath.Join(dir, spool.SessionJournalName)); !os.IsNotExist(err) {
			t.Fatalf("trial %d: journal left once the room is back at the door: %v", trial, err)
		}
		b.crash()
	}
	t.Logf("%d kills (%d with an intent in flight): state after the restart by step %v; %d recordings resumed; %d in family sessions, at their turns %v",
		trials, inFlight, steps, resumed, family, roles)
	for _, s := range []room.Step{room.StepDoor, room.StepParticipants, room.StepRecordChoice, room.StepConsent, room.StepInSession, room.StepWithdrawChoice, room.StepFeedback} {
		if steps[s] == 0 && full {
			t.Errorf("no kill came back at step %s: bias the walk", s)
		}
	}
	if resumed == 0 && full {
		t.Error("no kill hit a running recording")
	}
	for _, kind := range []string{"guardian", "assent"} {
		if roles[kind] == 0 && full {
			t.Errorf("no kill came back at a family session's %s turn: bias the walk", kind)
		}
	}
}

// memStore is an in-memory journal for the reference replay.
type memStore struct{ b []byte }

func (m *memStore) Save(b []byte) error   { m.b = append([]byte(nil), b...); return nil }
func (m *memStore) Load() ([]byte, error) { return m.b, nil }
func (m *memStore) Clear() error          { m.b = nil; return nil }

var _ session.JournalStore = (*memStore)(nil)

// TestKillBetweenHoldAndJournal: a participant withdraws; the recorder
// holds the recording (durably, before Stop returns) and the daemon dies
// before the core journals the withdrawal. The journal still says
// "recording", the recorder's hold says "withdrawn": the hold wins. Back
// within the window the session returns at the participants' keep-or-delete
// choice, the recording not resumed; back after it the session is closed
// as withdrawn and interrupted and the recording stays held. Never kept,
// never uploaded, on anyone's word but the participants'.
func TestKillBetweenHoldAndJournal(t *testing.T) {
	cfg := testConfig()
	for _, c := range []struct {
		name  string
		after time.Duration
		step  room.Step
	}{
		{"back within the window", 90 * time.Second, room.StepWithdrawChoice},
		{"back after the window", cfg.Flow.ResumeWindow.Duration + 5*time.Minute, room.StepDoor},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := &sessiontest.Journal{}
			a := boot(t, cfg, store, t0)
			a.must(toRecorded...)
			id := a.snap().SessionID
			saves := store.Saves()
			a.life.dead.Store(true) // the kill comes right after the recorder's hold
			a.must(kind(room.IntentWithdraw))
			if held := a.rec.HeldIDs(); !slices.Contains(held, id) {
				t.Fatalf("the recorder does not hold the withdrawn session: %v", held)
			}
			a.crash()
			if store.Saves() != saves || !strings.Contains(string(store.Bytes()), `"recorded": true`) || strings.Contains(string(store.Bytes()), "withdrawn") {
				t.Fatalf("the journal heard of the withdrawal; the test needs it not to: %s", store.Bytes())
			}

			rec := &sessiontest.Recorder{}
			rec.Hold(id) // what the recorder left on disk
			b := bootWith(t, cfg, store, t0.Add(c.after), rec)
			s := b.snap()
			if s.Step != c.step || s.Recording {
				t.Fatalf("after the restart: step %q recording %v, want %q, not recording", s.Step, s.Recording, c.step)
			}
			for _, call := range rec.Calls() {
				if call.Op == "start" || call.Op == "keep" {
					t.Fatalf("after the restart the recorder was asked to %s %s", call.Op, call.SessionID)
				}
			}
			if held := rec.HeldIDs(); !slices.Contains(held, id) {
				t.Fatalf("the recording is no longer held after the restart: %v", held)
			}
			if c.step == room.StepDoor {
				var sum *room.Summary
				for _, call := range b.up.Calls() {
					if call.Op == "session_ended" && call.Summary.ID == id {
						sum = &call.Summary
					}
				}
				if sum == nil || !sum.Withdrawn || !sum.Interrupted {
					t.Fatalf("summary of the session closed after the window: %+v, want withdrawn and interrupted", sum)
				}
				return
			}
			if !s.Withdrawn || s.SessionID != id {
				t.Fatalf("back at the choice: %+v", s)
			}
			// The participants choose; only then does the recorder hear.
			b.must(kind(room.IntentWithdrawDelete))
			if held, _ := rec.Held(); len(held) != 0 {
				t.Errorf("held after the participants deleted it: %v", held)
			}
		})
	}
}
