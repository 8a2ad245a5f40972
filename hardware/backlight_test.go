package hardware

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A sysfs backlight folder as the kernel lays it out (rpi_backlight: max
// 255; many DSI panels: max 31).
func fakeBacklight(t *testing.T, max string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rpi_backlight")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"max_brightness": max + "\n", "brightness": max + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSysfsBacklight(t *testing.T) {
	for _, c := range []struct {
		max  string
		frac float64
		want string
	}{
		{"255", 1, "255"}, {"255", 0.05, "13"}, {"255", 0, "0"}, {"31", 0.5, "16"}, {"31", 2, "31"}, {"31", -1, "0"},
	} {
		dir := fakeBacklight(t, c.max)
		b := OpenBacklight(dir)
		if err := b.SetBrightness(c.frac); err != nil {
			t.Fatalf("max %s: SetBrightness(%v): %v", c.max, c.frac, err)
		}
		got, _ := os.ReadFile(filepath.Join(dir, "brightness"))
		if strings.TrimSpace(string(got)) != c.want {
			t.Errorf("max %s, %v: brightness %q, want %s", c.max, c.frac, got, c.want)
		}
	}
}

func TestBacklightMissing(t *testing.T) {
	bad := fakeBacklight(t, "zero")
	for _, spec := range []string{"", filepath.Join(t.TempDir(), "nothing"), bad} {
		err := OpenBacklight(spec).SetBrightness(1)
		if !errors.Is(err, ErrNotPresent) {
			t.Errorf("OpenBacklight(%q): SetBrightness gives %v, want not present", spec, err)
		}
	}
}
