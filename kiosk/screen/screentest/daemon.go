// Package screentest runs the real roomkiosk-screen binary under its own
// Xvfb and drives it like a person: it reads the touch targets from the
// screen's /ui endpoint, taps them with xdotool (press, 50 ms, release) and
// takes screenshots with ImageMagick. It also offers an in-process daemon
// stand-in (the real session core with fake ports, behind the real control
// socket). It does not import ebiten, so its tests need no display of their
// own; the end-to-end test with the real daemon can reuse Xvfb, Screen and
// Tap with the daemon's socket.
package screentest

import (
	"context"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/control"
	"roomkiosk/kiosk/internal/uitest"
	"roomkiosk/kiosk/pin"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

// PIN is the stand-in daemon's counselor PIN.
const PIN = "1234"

var (
	hashOnce sync.Once
	pinHash  string
	hashErr  error
)

// Daemon is the in-process daemon stand-in.
type Daemon struct {
	Socket   string
	Core     *session.Core
	Recorder *sessiontest.Recorder
	Checker  *sessiontest.Checker
	Uploader *sessiontest.Uploader

	server *control.Server
	cancel context.CancelFunc
	done   chan struct{}
}

// DaemonConfig returns the core configuration the stand-in uses: the
// development config's room, agreement and checklist, PIN 1234.
func DaemonConfig(t testing.TB) session.Config {
	t.Helper()
	hashOnce.Do(func() { pinHash, hashErr = pin.Hash(PIN) })
	if hashErr != nil {
		t.Fatal(hashErr)
	}
	return session.Config{
		Room:       session.RoomConfig{ID: "dev-101", DeviceID: "dev-101", Name: "Room 101", Languages: []string{"en", "zh"}},
		Counselors: []session.Counselor{{ID: "c-dev-1", PINHash: pinHash}},
		Agreement:  session.AgreementConfig{ID: "rec-2026-01", Texts: map[string]string{"en": uitest.AgreementEN, "zh": uitest.AgreementZH}},
		Flow:       session.DefaultFlow(),
		MaxLength:  2 * time.Hour,
	}
}

// StartDaemon runs the session core with fake recorder, checker (reporting
// checks, all good) and uploader behind a control socket at socket (a new
// one under t.TempDir() when empty). It stops at the end of the test.
func StartDaemon(t testing.TB, cfg session.Config, socket string) *Daemon {
	t.Helper()
	if socket == "" {
		socket = filepath.Join(t.TempDir(), "control.sock")
	}
	d := &Daemon{Socket: socket, Recorder: &sessiontest.Recorder{}, Checker: &sessiontest.Checker{}, Uploader: &sessiontest.Uploader{}}
	log := zerolog.New(io.Discard)
	core, err := session.New(cfg, session.Deps{Recorder: d.Recorder, Checker: d.Checker, Uploader: d.Uploader, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	d.Core = core
	d.Recorder.SetReport(core.RecorderChanged)
	d.Checker.SetResults(GoodChecks(), core.ChecksUpdated)
	srv, err := control.Listen(socket, "", core, log)
	if err != nil {
		t.Fatal(err)
	}
	d.server = srv
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.done = make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = core.Run(ctx) }()
	go func() { defer wg.Done(); _ = srv.Serve(ctx) }()
	go func() { wg.Wait(); close(d.done) }()
	core.ChecksUpdated(GoodChecks())
	t.Cleanup(d.Stop)
	return d
}

// Stop ends the stand-in (as a daemon restart would) and waits for it.
func (d *Daemon) Stop() {
	d.cancel()
	_ = d.server.Close()
	<-d.done
}

// GoodChecks is a full set of passing checks.
func GoodChecks() []room.CheckResult {
	cs := uitest.Checks(false)
	for i := range cs {
		cs[i].State = room.CheckGood
		cs[i].Hint = ""
		if cs[i].Value == "" {
			cs[i].Value = "ok"
		}
	}
	return cs
}
