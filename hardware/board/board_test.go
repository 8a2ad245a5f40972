package board

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/rs/zerolog"

	"roomkiosk/hardware"
)

func TestOpen(t *testing.T) {
	cfg := hardware.Default()
	b, err := Open(cfg, zerolog.Nop())
	if err != nil || b.Backend != "sim" {
		t.Fatalf("sim: %v, %v", b, err)
	}
	if _, err := b.Climate.ReadClimate(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Close()

	// This machine has no GPIO or I2C: periph opens anyway, every part
	// missing, and the kiosk would run on with "unknown" checks.
	cfg.Backend = "periph"
	b, err = Open(cfg, zerolog.Nop())
	if err != nil || b.Backend != "periph" {
		t.Fatalf("periph: %v, %v", b, err)
	}
	defer b.Close()
	if _, err := b.Door.Closed(); !errors.Is(err, hardware.ErrNotPresent) {
		t.Logf("door on this machine: %v", err) // a machine with GPIO lines may have the pin
	}

	cfg.Backend = "gpio"
	if _, err := Open(cfg, zerolog.Nop()); err == nil {
		t.Fatal("bad backend accepted")
	}
}

func TestInputsOnlyLeavesTheLightAlone(t *testing.T) {
	cfg := hardware.Default()
	cfg.Sim.OnAirFile = t.TempDir() + "/on-air"
	b, err := Open(cfg, zerolog.Nop(), InputsOnly())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.OnAir.Set(true); !errors.Is(err, hardware.ErrNotPresent) {
		t.Fatalf("Set = %v, want ErrNotPresent", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Sim.OnAirFile); !os.IsNotExist(err) {
		t.Fatalf("the on-air file was touched: %v", err)
	}
}
