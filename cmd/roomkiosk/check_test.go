package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"roomkiosk/hardware/checks"
	"roomkiosk/hardware/sim"
)

// writeSimConfig writes a complete device config for the simulated board
// whose state file is statePath, and returns its path.
func writeSimConfig(t *testing.T, dir, statePath string) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`
[room]
id = "test-101"
name = "Room 101"
languages = ["en"]

[[counselors]]
id = "c-1"
pin_hash = "$2a$10$PZ.nXOy6P.m41gV7wawmGuUgBLLxTK23nT6JAFlBiKk.15jkXBGTq"

[agreement]
id = "rec-test"
[agreement.texts]
en = "Recording agreement for tests."

[recording]
spool_dir = %q

[encryption]
recipients = [%q]

[storage]
endpoint = "http://127.0.0.1:9"
bucket = "roomkiosk"
credentials_file = %q

[hardware]
backend = "sim"
[hardware.sim]
state_file = %q

[checks]
required = ["door", "temperature"]
log_dir = %q
timeout = "2s"
`, filepath.Join(dir, "spool"), id.Recipient().String(), filepath.Join(dir, "creds.toml"), statePath, filepath.Join(dir, "maintenance"))
	p := filepath.Join(dir, "roomkiosk.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckCommand(t *testing.T) {
	tests := []struct {
		name     string
		state    sim.State
		code     int
		want     []string // lines of the table that must appear (fields, in order)
		blocking []string
	}{
		{"door open is out of service", sim.State{DoorOpen: sim.Ptr(true)}, exitFailure,
			[]string{"door *  ABNORMAL  open  closed  Door is open", "OUT OF SERVICE: required check abnormal: door"}, []string{"door"}},
		{"all good", sim.State{}, exitOK,
			[]string{"door *  GOOD  closed  closed", "temperature *  GOOD  21.5 °C  18-26 °C", "no required check abnormal"}, nil},
		{"dark room is advisory only", sim.State{Lux: sim.Ptr(50.0)}, exitOK,
			[]string{"light  ABNORMAL  50 lx  ≥ 300 lx  Room is too dark"}, nil},
		{"broken door sensor is unknown, not abnormal", sim.State{Fail: []string{sim.PartDoor}}, exitOK,
			[]string{"door *  UNKNOWN  no reading"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "sim-state.json")
			if err := sim.WriteState(state, tc.state); err != nil {
				t.Fatal(err)
			}
			cfg := writeSimConfig(t, dir, state)

			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			// Compare with runs of spaces squeezed: the table's column widths
			// depend on the longest value.
			table := squeeze(stdout.String())
			for _, w := range tc.want {
				if !strings.Contains(table, squeeze(w)) {
					t.Errorf("table lacks %q:\n%s", w, stdout.String())
				}
			}
			if !strings.HasPrefix(stdout.String(), "CHECK") {
				t.Errorf("table has no header:\n%s", stdout.String())
			}

			// --json says the same.
			stdout.Reset()
			stderr.Reset()
			code = run(context.Background(), []string{"check", "--config", cfg, "--json"}, &stdout, &stderr)
			var rep checkReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || code != tc.code {
				t.Fatalf("--json: exit %d, %v\n%s", code, err, stdout.String())
			}
			if rep.OK != (tc.code == exitOK) || strings.Join(rep.Blocking, ",") != strings.Join(tc.blocking, ",") {
				t.Errorf("--json ok=%v blocking=%v, want blocking %v", rep.OK, rep.Blocking, tc.blocking)
			}
			names := map[string]bool{}
			for _, r := range rep.Results {
				names[r.Name] = true
				if r.State == "" || r.At.IsZero() {
					t.Errorf("result %+v lacks state or time", r)
				}
			}
			for _, n := range []string{"temperature", "humidity", "light", "door", "presence", "cpu_temperature", "memory"} {
				if !names[n] {
					t.Errorf("--json has no %s result", n)
				}
			}

			// Both runs went into the maintenance log.
			runs, err := checks.Recent(filepath.Join(dir, "maintenance"), 10, checks.KindRun)
			if err != nil || len(runs) != 2 || runs[0].Reason != "command" {
				t.Fatalf("maintenance log runs = %d (%v), want 2 with reason command", len(runs), err)
			}
		})
	}
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestCheckCommandDoesNotTouchTheOnAirLight(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "sim-state.json")
	cfg := writeSimConfig(t, dir, state)
	// Add an on-air file to the sim section.
	b, _ := os.ReadFile(cfg)
	onAir := filepath.Join(dir, "on-air")
	b = bytes.Replace(b, []byte("[hardware.sim]\n"), fmt.Appendf(nil, "[hardware.sim]\non_air_file = %q\n", onAir), 1)
	os.WriteFile(cfg, b, 0o600)
	os.WriteFile(onAir, []byte("on\n"), 0o644) // the daemon is recording
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	if got, _ := os.ReadFile(onAir); string(got) != "on\n" {
		t.Fatalf("on-air file %q: `check` switched the daemon's light", got)
	}
}

func TestHWProbe(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "sim-state.json")
	if err := sim.WriteState(state, sim.State{DoorOpen: sim.Ptr(true), Fail: []string{sim.PartLight}}); err != nil {
		t.Fatal(err)
	}
	cfg := writeSimConfig(t, dir, state)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"hwprobe", "--config", cfg}, &stdout, &stderr)
	out := squeeze(stdout.String())
	for _, w := range []string{"periph host drivers", "gpio lines:", "climate ok 21.5 °C", "door ok open", "light ERROR"} {
		if !strings.Contains(out, w) {
			t.Errorf("hwprobe output lacks %q:\n%s", w, stdout.String())
		}
	}
	if code != exitFailure {
		t.Errorf("exit %d with a failing light sensor, want %d", code, exitFailure)
	}
	if code := run(context.Background(), []string{"hwprobe", "--config", cfg, "--record", dir}, &stdout, &stderr); code != exitUsage {
		t.Errorf("--record on the sim: exit %d, want %d", code, exitUsage)
	}
}
