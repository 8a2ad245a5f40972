package session_test

import (
	"context"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

func TestFaultsUpdatedReachesSnapshots(t *testing.T) {
	c, err := session.New(testConfig(), session.Deps{Recorder: &sessiontest.Recorder{}, Checker: &sessiontest.Checker{}, Uploader: &sessiontest.Uploader{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	defer func() { stop(); <-done }()
	snaps, cancel := c.Subscribe()
	defer cancel()

	faults := []room.Fault{{At: t0, Check: "door", State: room.CheckAbnormal, Value: "open"}}
	c.FaultsUpdated(faults)
	faults[0].Check = "changed by the caller" // the core keeps its own copy
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s := <-snaps:
			if len(s.Faults) == 1 {
				if s.Faults[0].Check != "door" || s.Faults[0].Value != "open" {
					t.Fatalf("faults in snapshot = %+v", s.Faults)
				}
				c.FaultsUpdated(nil)
				for s := range snaps {
					if len(s.Faults) == 0 {
						return
					}
				}
			}
		case <-deadline:
			t.Fatalf("no snapshot with the faults; last %+v", c.Snapshot().Faults)
		}
	}
}
