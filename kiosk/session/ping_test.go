package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

func TestPing(t *testing.T) {
	c, err := session.New(testConfig(), session.Deps{Recorder: &sessiontest.Recorder{}, Checker: &sessiontest.Checker{}, Uploader: &sessiontest.Uploader{}})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Ping(short); err == nil {
		t.Fatal("Ping answered before Run: the watchdog would be fooled by a core that is not running")
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Ping of a running core: %v", err)
	}
	stop()
	<-done
	if err := c.Ping(context.Background()); !errors.Is(err, room.ErrClosed) {
		t.Fatalf("Ping after Run ended = %v, want ErrClosed", err)
	}
}
