package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkiosk/hardware/checks"
	"roomkiosk/hardware/sim"
	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/control"
)

// syncBuffer collects the daemon's log lines from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOverrideFreeTextNeverLogged (issue 13 item 4) runs the real daemon
// with the simulated board and its door open (a failing required check),
// and drives it over its real control socket as a screen would. An override
// whose reason is free text (a client's name, escape bytes, a forged JSON
// line) is refused; a reason code is taken, and the maintenance log (which
// is uploaded in the clear), the daemon's log and /status hold the code and
// nothing of the text.
func TestOverrideFreeTextNeverLogged(t *testing.T) {
	dir, err := os.MkdirTemp("", "rkovr") // short: a unix socket path is at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	state := filepath.Join(dir, "sim-state.json")
	if err := sim.WriteState(state, sim.State{DoorOpen: sim.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeSimConfig(t, dir, state)
	socket := filepath.Join(dir, "control.sock")
	statusAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[control]\nsocket = %q\n\n[status]\nlisten = %q\n", socket, statusAddr)
	f.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, []string{"run", "--config", cfgPath}, &stdout, &stderr) }()
	defer func() {
		cancel()
		select {
		case code := <-exited:
			if code != exitOK {
				t.Errorf("daemon exit %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("daemon did not stop")
		}
	}()

	var c *control.Client
	for deadline := time.Now().Add(20 * time.Second); ; {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		c, err = control.Dial(dctx, socket)
		dcancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("control socket: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer c.Close()
	wait := func(what string, ok func(room.Snapshot) bool) room.Snapshot {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case s, open := <-c.Snapshots():
				if !open {
					t.Fatalf("waiting for %s: connection closed", what)
				}
				if ok(s) {
					return s
				}
			case <-timeout:
				t.Fatalf("waiting for %s: timed out", what)
			}
		}
	}
	send := func(ins ...room.Intent) {
		t.Helper()
		for _, in := range ins {
			if err := c.Send(ctx, in); err != nil {
				t.Fatalf("send %s: %v", in.Kind, err)
			}
		}
	}

	wait("the door out of service", func(s room.Snapshot) bool { return s.Door == room.DoorOutOfService })
	send(room.Intent{Kind: room.IntentStart})
	for _, d := range "1234" { // writeSimConfig's counselor
		send(room.Intent{Kind: room.IntentPINDigit, Digit: int(d - '0')})
	}
	send(room.Intent{Kind: room.IntentPINOK})
	s := wait("the checklist", func(s room.Snapshot) bool { return s.Step == room.StepChecklist && s.Blocked })
	for i := range s.ManualItems {
		send(room.Intent{Kind: room.IntentCheckToggle, Item: i})
	}

	const freeText = "Client Jane Doe (born 1987) \x1b[2J\x1b]0;pwned\x07\r\n{\"kind\":\"note\",\"note\":\"forged\"}"
	err = c.Send(ctx, room.Intent{Kind: room.IntentCheckOverride, Reason: freeText})
	if !errors.Is(err, room.ErrInvalid) {
		t.Fatalf("override with free text: err = %v, want ErrInvalid", err)
	}
	send(room.Intent{Kind: room.IntentCheckOverride, Reason: room.OverrideKnownSensorFault},
		room.Intent{Kind: room.IntentParticipants, Count: 1},
		room.Intent{Kind: room.IntentRecord, Yes: true})
	s = wait("consent", func(s room.Snapshot) bool { return s.Step == room.StepConsent })
	// All consent: the recorder is started (and the override logged), whether
	// or not this machine has a capture device.
	send(room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "en", TextSHA256: room.TextSHA256(s.Agreement.Texts["en"])})
	wait("the session", func(s room.Snapshot) bool { return s.Step == room.StepInSession })

	logDir := filepath.Join(dir, "maintenance")
	var overrides []checks.Entry
	for deadline := time.Now().Add(10 * time.Second); len(overrides) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		overrides, _ = checks.Recent(logDir, 10, checks.KindOverride)
	}
	if len(overrides) != 1 || overrides[0].Note != room.OverrideKnownSensorFault || overrides[0].Session != s.SessionID {
		t.Fatalf("maintenance log overrides = %+v, want one with note %q for session %s", overrides, room.OverrideKnownSensorFault, s.SessionID)
	}

	res, err := http.Get("http://" + statusAddr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	status, _ := io.ReadAll(res.Body)
	res.Body.Close()

	var logged bytes.Buffer
	files, _ := filepath.Glob(filepath.Join(logDir, "*"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		logged.Write(b)
	}
	for name, text := range map[string]string{"maintenance log": logged.String(), "daemon log": stdout.String() + stderr.String(), "/status": string(status)} {
		for _, bad := range []string{"Jane", "1987", "\x1b", `\u001b`, "\x07", `\u0007`, "pwned", "forged"} {
			if strings.Contains(text, bad) {
				t.Errorf("the %s holds %q of the refused reason", name, bad)
			}
		}
	}
}
