package ui

import (
	"roomkiosk/internal/room"
	"strings"
	"testing"
	"time"
)

// The maintenance screen shows the maintenance log's last faults (sent by
// the daemon in the snapshot), not only what is abnormal right now.
func TestMaintenanceShowsLoggedFaults(t *testing.T) {
	f := testFonts(t)
	at := time.Date(2026, 11, 26, 14, 5, 0, 0, time.Local)
	snap := room.Snapshot{
		Step: room.StepMaintenance, Language: "en", Languages: []string{"en", "zh"}, RoomName: "Room 101",
		Checks: []room.CheckResult{{Name: "door", State: room.CheckGood, Value: "closed"}},
		Faults: []room.Fault{{At: at, Check: "microphone", State: room.CheckAbnormal, Value: "device does not open"}},
	}
	texts := strings.Join(Build(f, Input{Connected: true, Snap: snap, Now: at.Add(time.Hour), Version: "1.0"}).Texts(), "\n")
	if !strings.Contains(texts, "11-26 14:05  Microphone") {
		t.Errorf("maintenance screen does not show the logged fault:\n%s", texts)
	}
	snap.Faults = nil
	texts = strings.Join(Build(f, Input{Connected: true, Snap: snap, Now: at, Version: "1.0"}).Texts(), "\n")
	if strings.Contains(texts, "Microphone") {
		t.Errorf("a fault is shown with none logged and every check good:\n%s", texts)
	}
}
