package control

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
)

// lockedBuffer is a log sink the server's goroutines may write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeText is what a compromised or buggy screen might send as an override
// reason: a client's name and terminal escape bytes.
const freeText = "Client Jane Doe \x1b[2J\x1b[31mcried\x07\r\n{\"kind\":\"note\",\"note\":\"forged\"}"

// TestOverrideReasonIsACodeOverSocket (issue 13 item 4): over the real
// socket, an override with free text is refused as invalid, in no reply and
// no log line is any of the text, and the core stays on the checklist; a
// reason code is taken and reaches the recorder as that code.
func TestOverrideReasonIsACodeOverSocket(t *testing.T) {
	e := start(t)
	logs := &lockedBuffer{}
	path := sockPath(t)
	srv, err := Listen(path, "", e.core, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	c := dial(t, path)
	send(t, c, room.Intent{Kind: room.IntentStart})
	send(t, c, pinIntents("1234")...)
	e.core.ChecksUpdated([]room.CheckResult{{Name: "door", State: room.CheckAbnormal, Required: true}})
	waitFor(t, c, "a blocked checklist", func(s room.Snapshot) bool { return s.Step == room.StepChecklist && s.Blocked })
	send(t, c, room.Intent{Kind: room.IntentCheckToggle, Item: 0})

	for _, reason := range []string{freeText, "", "Checked in person: the room is fine", room.OverrideCheckedInPerson + " "} {
		err := c.Send(ctx, room.Intent{Kind: room.IntentCheckOverride, Reason: reason})
		if !errors.Is(err, room.ErrInvalid) {
			t.Fatalf("override with reason %q: err = %v, want ErrInvalid", reason, err)
		}
		for _, bad := range []string{"Jane", "\x1b", "\x07", "forged", "in person"} {
			if strings.Contains(err.Error(), bad) {
				t.Errorf("the refusal repeats %q: %v", bad, err)
			}
		}
	}
	if s := e.core.Snapshot(); s.Step != room.StepChecklist || s.OverrideNote != "" {
		t.Fatalf("after refused overrides: step %s, override note %q", s.Step, s.OverrideNote)
	}
	for _, bad := range []string{"Jane", "\x1b", "\\u001b", "\x07", "forged", "cried"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("the server's log holds %q:\n%s", bad, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "check_override") {
		t.Errorf("the refusal is not logged (by kind): %q", logs.String())
	}

	send(t, c, room.Intent{Kind: room.IntentCheckOverride, Reason: room.OverrideUrgentSession},
		room.Intent{Kind: room.IntentParticipants, Count: 1},
		room.Intent{Kind: room.IntentRecord, Yes: true})
	s := waitFor(t, c, "consent", func(s room.Snapshot) bool { return s.Step == room.StepConsent })
	send(t, c, room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "en", TextSHA256: room.TextSHA256(s.Agreement.Texts["en"])})
	calls := e.rec.Calls()
	if len(calls) != 1 || calls[0].Info.OverrideReason != room.OverrideUrgentSession || !calls[0].Info.ChecksOverridden {
		t.Fatalf("recorder calls %+v, want one start with reason %q", calls, room.OverrideUrgentSession)
	}
}

// TestCheckIntentRefusesFreeText: the protocol's own lock, without the core.
func TestCheckIntentRefusesFreeText(t *testing.T) {
	for _, r := range room.OverrideReasons() {
		if err := checkIntent(room.Intent{Kind: room.IntentCheckOverride, Reason: r}, room.StepChecklist); err != nil {
			t.Errorf("code %q refused: %v", r, err)
		}
	}
	err := checkIntent(room.Intent{Kind: room.IntentCheckOverride, Reason: freeText}, room.StepChecklist)
	var re *room.RefusedError
	if !errors.As(err, &re) || !errors.Is(err, room.ErrInvalid) || re.Step != room.StepChecklist || strings.Contains(err.Error(), "Jane") {
		t.Errorf("free text: %#v", err)
	}
	if w := toWire(err); w.Code != "invalid" || strings.Contains(w.Message+w.Reason, "Jane") {
		t.Errorf("on the wire: %+v", w)
	}
	if err := checkIntent(room.Intent{Kind: room.IntentStart}, room.StepDoor); err != nil {
		t.Errorf("start: %v", err)
	}
}
