package kiosktest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/kiosktest"
	"roomkiosk/kiosk/screen/screentest"
)

// TestRecordOne: the driver takes the real core, behind the real control
// socket, from a free door to a recording, as the e2e and power-cut tests
// rely on.
func TestRecordOne(t *testing.T) {
	d := screentest.StartDaemon(t, screentest.DaemonConfig(t), "")
	// Every round is fresh, as the real runner's are: RecordOne waits for a
	// microphone check newer than the PIN.
	d.Checker.SetResults(screentest.GoodChecks(), func(rs []room.CheckResult) {
		for i := range rs {
			rs[i].At = time.Now()
		}
		d.Core.ChecksUpdated(rs)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	drv := kiosktest.Dial(ctx, t, d.Socket, 0)
	defer drv.Close()
	id := drv.RecordOne(screentest.PIN)
	if s := d.Core.Snapshot(); !s.Recording || s.SessionID != id || id == "" {
		t.Errorf("after RecordOne: recording %v, session %q; RecordOne said %q", s.Recording, s.SessionID, id)
	}
}

// failer records a driver's failure instead of ending the test.
type failer struct{ msg string }

func (f *failer) Helper()                           {}
func (f *failer) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

// TestDialGivesUp: with no daemon listening, Dial tries for as long as it
// is told, then fails through the Failer.
func TestDialGivesUp(t *testing.T) {
	f := &failer{}
	if d := kiosktest.Dial(context.Background(), f, filepath.Join(t.TempDir(), "none.sock"), 300*time.Millisecond); d != nil {
		t.Fatal("Dial returned a driver with nothing listening")
	}
	if f.msg == "" {
		t.Error("Dial gave up without saying why")
	}
}
