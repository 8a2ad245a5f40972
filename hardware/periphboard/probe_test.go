package periphboard

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

// TestRegisteredPartsProbeAndOpen registers a replayed bus and test pins in
// periph's registries, as host drivers would on a board, and goes through
// the real lookups: `hwprobe --record` saves fixtures equal to the traffic,
// and Open finds every part.
func TestRegisteredPartsProbeAndOpen(t *testing.T) {
	const busName = "roomkiosk-playback"
	recorded := fixtureOps(t, "bme280", "bh1750")
	if err := i2creg.Register(busName, nil, -1, func() (i2c.BusCloser, error) {
		return &i2ctest.Playback{Ops: recorded, DontPanic: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	defer i2creg.Unregister(busName)
	for _, n := range []string{"GPIO17", "GPIO27", "GPIO22"} {
		if err := gpioreg.Register(newPin(n)); err != nil {
			t.Fatal(err)
		}
		defer gpioreg.Unregister(n)
	}
	cfg := periphConfig()
	cfg.I2CBus = busName

	dir := t.TempDir()
	readings := ProbeSensors(context.Background(), cfg, dir, zerolog.Nop())
	got := map[string]Reading{}
	for _, r := range readings {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Part, r.Err)
		}
		got[strings.Fields(r.Part)[0]] = r
	}
	if v := got["bme280"].Value; v != "23.72 °C, 65.31 %RH, 1009.43 hPa" {
		t.Errorf("bme280 read %q", v)
	}
	if v := got["bh1750"].Value; v != "420 lx" {
		t.Errorf("bh1750 read %q", v)
	}
	if v := got["door"].Value; v != "High" { // the pull-up alone: open
		t.Errorf("door read %q", v)
	}
	for _, dev := range []string{"bme280", "bh1750"} {
		f, err := LoadFixture(filepath.Join(dir, dev+".json"))
		if err != nil {
			t.Fatal(err)
		}
		ops, err := f.IO()
		if err != nil {
			t.Fatal(err)
		}
		if want := fixtureOps(t, dev); !reflect.DeepEqual(ops, want) {
			t.Errorf("recorded %s fixture differs from the traffic:\n got %v\nwant %v", dev, ops, want)
		}
	}

	b, err := Open(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if c, err := b.Climate.ReadClimate(context.Background()); err != nil || !near(c.TemperatureC, 23.72, 0.005) {
		t.Fatalf("climate through Open: %+v, %v", c, err)
	}
	if _, ok := b.Door.(*Door); !ok {
		t.Fatalf("door through Open is %T, want the GPIO door", b.Door)
	}
	if err := b.OnAir.Set(true); err != nil {
		t.Fatal(err)
	}
}
