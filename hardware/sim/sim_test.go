package sim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/hardware"
)

func newSim(t *testing.T) (*Sim, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := hardware.Default().Sim
	cfg.StateFile = filepath.Join(dir, "state.json")
	cfg.OnAirFile = filepath.Join(dir, "on-air")
	s := New(cfg, zerolog.Nop(), WithPollInterval(5*time.Millisecond))
	t.Cleanup(func() { s.Close() })
	return s, cfg.StateFile
}

// eventually polls cond: the sim applies the file asynchronously.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConfiguredValuesWithoutStateFile(t *testing.T) {
	s, _ := newSim(t)
	b := s.Board()
	ctx := context.Background()
	c, err := b.Climate.ReadClimate(ctx)
	if err != nil || c.TemperatureC != 21.5 || c.HumidityPct != 45 {
		t.Fatalf("climate = %+v, %v; want the configured 21.5 °C, 45 %%", c, err)
	}
	if lux, err := b.Light.ReadLux(ctx); err != nil || lux != 420 {
		t.Fatalf("lux = %v, %v; want 420", lux, err)
	}
	if closed, err := b.Door.Closed(); err != nil || !closed {
		t.Fatalf("door closed = %v, %v; want true", closed, err)
	}
	if err := b.Presence.Alive(); err != nil {
		t.Fatalf("presence alive: %v", err)
	}
}

func TestStateFileOpensDoorWithEdge(t *testing.T) {
	s, path := newSim(t)
	b := s.Board()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	edges := b.Door.Watch(ctx)
	presence := b.Presence.Watch(ctx)

	if err := WriteState(path, State{DoorOpen: Ptr(true), Presence: Ptr(true), Lux: Ptr(120.0)}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-edges:
		if !e.Open {
			t.Fatalf("edge %+v, want open", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no door edge after writing the state file")
	}
	select {
	case e := <-presence:
		if !e.Present {
			t.Fatalf("presence edge %+v, want present", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no presence edge")
	}
	if closed, _ := b.Door.Closed(); closed {
		t.Fatal("door still closed")
	}
	if lux, _ := b.Light.ReadLux(ctx); lux != 120 {
		t.Fatalf("lux = %v, want 120", lux)
	}
	// Fields the file leaves out keep the configured values.
	if c, _ := b.Climate.ReadClimate(ctx); c.TemperatureC != 21.5 {
		t.Fatalf("temperature = %v, want the configured 21.5", c.TemperatureC)
	}

	// Removing the file restores the configuration: the door closes again.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-edges:
		if e.Open {
			t.Fatalf("edge %+v, want closed", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no door edge after removing the state file")
	}
}

func TestPartialWriteKeepsLastState(t *testing.T) {
	s, path := newSim(t)
	b := s.Board()
	if err := WriteState(path, State{TemperatureC: Ptr(30.0)}); err != nil {
		t.Fatal(err)
	}
	temp := func() float64 {
		c, _ := b.Climate.ReadClimate(context.Background())
		return c.TemperatureC
	}
	eventually(t, "30 °C applied", func() bool { return temp() == 30 })

	// A writer that did not finish: truncated JSON, written in place.
	if err := os.WriteFile(path, []byte(`{"temperature_c": 1`), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // several polls
	if got := temp(); got != 30 {
		t.Fatalf("temperature = %v after a partial write, want the last good 30", got)
	}
	// The writer finishes: the same file now parses and is applied.
	if err := os.WriteFile(path, []byte(`{"temperature_c": 12}`), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "12 °C applied", func() bool { return temp() == 12 })
}

func TestFailAndHang(t *testing.T) {
	s, _ := newSim(t)
	b := s.Board()
	s.Set(State{Fail: []string{PartLight, PartDoor, PartOnAir}, Hang: []string{PartClimate}})

	if _, err := b.Light.ReadLux(context.Background()); !errors.Is(err, hardware.ErrNotPresent) {
		t.Fatalf("light err = %v, want ErrNotPresent", err)
	}
	if _, err := b.Door.Closed(); err == nil {
		t.Fatal("door read succeeded, want a simulated failure")
	}
	if err := b.OnAir.Set(true); err == nil {
		t.Fatal("on-air set succeeded, want a simulated failure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Climate.ReadClimate(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging climate err = %v, want the caller's deadline", err)
	}
}

func TestOnAirFile(t *testing.T) {
	s, _ := newSim(t)
	b := s.Board()
	for _, on := range []bool{true, false, true} {
		if err := b.OnAir.Set(on); err != nil {
			t.Fatal(err)
		}
		want := "off\n"
		if on {
			want = "on\n"
		}
		got, err := os.ReadFile(s.cfg.OnAirFile)
		if err != nil || string(got) != want || b.OnAir.On() != on {
			t.Fatalf("on-air file %q, %v (On()=%v), want %q", got, err, b.OnAir.On(), want)
		}
	}
	// Closing the board turns the light off.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(s.cfg.OnAirFile); string(got) != "off\n" {
		t.Fatalf("on-air file %q after Close, want off", got)
	}
}

func TestUnknownFieldIgnoredAsInvalid(t *testing.T) {
	s, path := newSim(t)
	b := s.Board()
	// A typo must not silently apply half a state.
	if err := os.WriteFile(path, []byte(`{"door_opn": true, "lux": 5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if lux, _ := b.Light.ReadLux(context.Background()); lux != 420 {
		t.Fatalf("lux = %v, want the configured 420 (file has an unknown key)", lux)
	}
}
