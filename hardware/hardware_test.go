package hardware

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFanoutDeliversAndNeverBlocks(t *testing.T) {
	var f Fanout[int]
	ctx, cancel := context.WithCancel(context.Background())
	a, b := f.Watch(ctx), f.Watch(ctx)
	for i := range 100 { // far more than a watcher buffers: must not block
		f.Publish(i)
	}
	if v := <-a; v != 0 {
		t.Fatalf("a got %d first, want 0", v)
	}
	if v := <-b; v != 0 {
		t.Fatalf("b got %d first, want 0", v)
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for range a { // drains then closes
		select {
		case <-deadline:
			t.Fatal("watcher channel not closed after cancel")
		default:
		}
	}
	f.Publish(1) // no watchers left: fine
}

func TestMissingPart(t *testing.T) {
	m := Missing("door switch", errors.New("no GPIO line named \"GPIO17\""))
	if _, err := m.Closed(); !errors.Is(err, ErrNotPresent) || !strings.Contains(err.Error(), "GPIO17") {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := m.AsPresence().Watch(ctx)
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("missing part delivered an edge")
	}
	b := &Board{OnAir: m}
	if err := b.Close(); err != nil {
		t.Fatalf("closing a board without a light: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		key    string
	}{
		{"defaults", func(*Config) {}, ""},
		{"periph", func(c *Config) { c.Backend = "periph" }, ""},
		{"not fitted", func(c *Config) { c.BME280, c.BH1750, c.DoorPin = 0, 0, "" }, ""},
		{"no backend", func(c *Config) { c.Backend = "" }, "hardware.backend"},
		{"bad bme280", func(c *Config) { c.BME280 = 0x40 }, "hardware.bme280_addr"},
		{"bad bh1750", func(c *Config) { c.BH1750 = 0x76 }, "hardware.bh1750_addr"},
		{"pin twice", func(c *Config) { c.LEDPin = c.DoorPin }, "hardware.on_air_pin"},
		{"stuck before hold", func(c *Config) { c.PresenceStuckAfter.Duration = time.Second }, "hardware.presence_stuck_after"},
		{"long debounce", func(c *Config) { c.Debounce.Duration = time.Minute }, "hardware.debounce"},
		{"sim humidity", func(c *Config) { c.Sim.HumidityPct = 120 }, "hardware.sim.humidity_pct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			err := c.Validate()
			if tc.key == "" && err != nil || tc.key != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.key)) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.key)
			}
		})
	}
}
