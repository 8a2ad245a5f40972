package checks

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/hardware"
	"roomkiosk/hardware/sim"
	"roomkiosk/internal/room"
)

func testConfig(t *testing.T) Config {
	cfg := Default()
	cfg.LogDir = t.TempDir()
	cfg.Timeout = room.Duration{Duration: 500 * time.Millisecond}
	cfg.Required = []string{NameDoor, NameTemperature}
	return cfg
}

func simBoard(t *testing.T) (*sim.Sim, *hardware.Board) {
	t.Helper()
	s := sim.New(hardware.Default().Sim, zerolog.Nop())
	t.Cleanup(func() { s.Close() })
	return s, s.Board()
}

// fakeSystem writes a thermal zone and a meminfo file.
func fakeSystem(t *testing.T, milliC string, availKB string) SystemPaths {
	t.Helper()
	dir := t.TempDir()
	if milliC != "" {
		z := filepath.Join(dir, "thermal", "thermal_zone0")
		os.MkdirAll(z, 0o755)
		os.WriteFile(filepath.Join(z, "type"), []byte("cpu-thermal\n"), 0o644)
		os.WriteFile(filepath.Join(z, "temp"), []byte(milliC+"\n"), 0o644)
	}
	mem := "MemTotal:        3884448 kB\nMemFree:          123456 kB\nMemAvailable:   " + availKB + " kB\n"
	os.WriteFile(filepath.Join(dir, "meminfo"), []byte(mem), 0o644)
	return SystemPaths{ThermalDir: filepath.Join(dir, "thermal"), Meminfo: filepath.Join(dir, "meminfo")}
}

func byName(rs []room.CheckResult) map[string]room.CheckResult {
	m := map[string]room.CheckResult{}
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

func TestHardwareThresholds(t *testing.T) {
	tests := []struct {
		name  string
		state sim.State
		want  map[string]room.CheckState
		value map[string]string
	}{
		{"all good", sim.State{},
			map[string]room.CheckState{NameTemperature: room.CheckGood, NameHumidity: room.CheckGood, NameLight: room.CheckGood, NameDoor: room.CheckGood, NamePresence: room.CheckGood},
			map[string]string{NameTemperature: "21.5 °C", NameHumidity: "45 %RH", NameLight: "420 lx", NameDoor: "closed"}},
		{"cold, dry, dark, door open", sim.State{TemperatureC: sim.Ptr(16.0), HumidityPct: sim.Ptr(20.0), Lux: sim.Ptr(150.0), DoorOpen: sim.Ptr(true)},
			map[string]room.CheckState{NameTemperature: room.CheckAbnormal, NameHumidity: room.CheckAbnormal, NameLight: room.CheckAbnormal, NameDoor: room.CheckAbnormal},
			map[string]string{NameTemperature: "16.0 °C", NameLight: "150 lx", NameDoor: "open"}},
		{"hot and humid", sim.State{TemperatureC: sim.Ptr(27.5), HumidityPct: sim.Ptr(80.0)},
			map[string]room.CheckState{NameTemperature: room.CheckAbnormal, NameHumidity: room.CheckAbnormal}, nil},
		{"edges of the range are good", sim.State{TemperatureC: sim.Ptr(18.0), HumidityPct: sim.Ptr(70.0), Lux: sim.Ptr(300.0)},
			map[string]room.CheckState{NameTemperature: room.CheckGood, NameHumidity: room.CheckGood, NameLight: room.CheckGood}, nil},
		{"failed sensors are unknown", sim.State{Fail: []string{sim.PartClimate, sim.PartLight, sim.PartDoor, sim.PartPresence}},
			map[string]room.CheckState{NameTemperature: room.CheckUnknown, NameHumidity: room.CheckUnknown, NameLight: room.CheckUnknown, NameDoor: room.CheckUnknown, NamePresence: room.CheckUnknown}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			s, b := simBoard(t)
			s.Set(tc.state)
			got := byName(NewRunner(cfg, Hardware(cfg, b), Options{}).Run(context.Background(), ReasonDemand))
			for name, want := range tc.want {
				r := got[name]
				if r.State != want {
					t.Errorf("%s = %s (%s), want %s", name, r.State, r.Value, want)
				}
				if want != room.CheckGood && r.Hint == "" {
					t.Errorf("%s is %s without a hint", name, r.State)
				}
				if r.Threshold == "" {
					t.Errorf("%s has no threshold", name)
				}
			}
			for name, want := range tc.value {
				if got[name].Value != want {
					t.Errorf("%s value = %q, want %q", name, got[name].Value, want)
				}
			}
		})
	}
}

func TestSystemChecks(t *testing.T) {
	tests := []struct {
		name           string
		milliC, availK string
		cpu, mem       room.CheckState
	}{
		{"normal", "48312", "812000", room.CheckGood, room.CheckGood},
		{"hot and short of memory", "83500", "50000", room.CheckAbnormal, room.CheckAbnormal},
		{"no thermal zone", "", "812000", room.CheckUnknown, room.CheckGood},
		{"garbage", "hot", "lots", room.CheckUnknown, room.CheckUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			got := byName(NewRunner(cfg, System(cfg, fakeSystem(t, tc.milliC, tc.availK)), Options{}).Run(context.Background(), ReasonDemand))
			if got[NameCPUTemperature].State != tc.cpu || got[NameMemory].State != tc.mem {
				t.Fatalf("cpu %+v, memory %+v; want %s, %s", got[NameCPUTemperature], got[NameMemory], tc.cpu, tc.mem)
			}
		})
	}
	cfg := testConfig(t)
	got := byName(NewRunner(cfg, System(cfg, fakeSystem(t, "48312", "812000")), Options{}).Run(context.Background(), ReasonDemand))
	if got[NameCPUTemperature].Value != "48.3 °C" || got[NameMemory].Value != "793 MB free" {
		t.Fatalf("values %q, %q", got[NameCPUTemperature].Value, got[NameMemory].Value)
	}
}

func TestRequiredAndBlocking(t *testing.T) {
	cfg := testConfig(t)
	s, b := simBoard(t)
	s.Set(sim.State{DoorOpen: sim.Ptr(true), Lux: sim.Ptr(10.0)})
	rs := NewRunner(cfg, Hardware(cfg, b), Options{}).Run(context.Background(), ReasonDemand)
	m := byName(rs)
	if !m[NameDoor].Required || !m[NameTemperature].Required || m[NameLight].Required {
		t.Fatalf("required flags wrong: door %v temperature %v light %v", m[NameDoor].Required, m[NameTemperature].Required, m[NameLight].Required)
	}
	// Light is abnormal but advisory: only the door blocks.
	if got := Names(Blocking(rs)); got != NameDoor {
		t.Fatalf("blocking = %q, want door only", got)
	}
}

func TestUnknownRequired(t *testing.T) {
	cfg := testConfig(t)
	cfg.Required = []string{NameDoor, "microphone"}
	_, b := simBoard(t)
	r := NewRunner(cfg, Hardware(cfg, b), Options{})
	if got := r.UnknownRequired(); len(got) != 1 || got[0] != "microphone" {
		t.Fatalf("UnknownRequired = %v, want [microphone]", got)
	}
}

// stuck ignores its context, like a driver blocked in a syscall.
type stuck struct{ release chan struct{} }

func (stuck) Name() string { return "stuck" }
func (s stuck) Run(ctx context.Context) room.CheckResult {
	<-s.release
	return Good("stuck", "ok", "")
}

func TestTimeoutMakesUnknown(t *testing.T) {
	cfg := testConfig(t)
	s, b := simBoard(t)
	s.Set(sim.State{Hang: []string{sim.PartClimate}})
	st := stuck{release: make(chan struct{})}
	r := NewRunner(cfg, append(Hardware(cfg, b), st), Options{})

	m := byName(r.Run(context.Background(), ReasonDemand))
	for _, n := range []string{NameTemperature, NameHumidity, "stuck"} {
		if m[n].State != room.CheckUnknown || m[n].Hint == "" {
			t.Errorf("%s = %+v, want unknown with a hint", n, m[n])
		}
	}
	if m[NameDoor].State != room.CheckGood {
		t.Errorf("door = %s: one hanging sensor must not spoil the others", m[NameDoor].State)
	}
	// The stuck check is still running: the next round does not start it
	// again, and says so.
	m = byName(r.Run(context.Background(), ReasonDemand))
	if !strings.Contains(m["stuck"].Value, "still not answering") {
		t.Fatalf("second round stuck = %+v, want 'still not answering'", m["stuck"])
	}
	close(st.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if byName(r.Run(context.Background(), ReasonDemand))["stuck"].State == room.CheckGood {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stuck check never came back after it returned")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPanickingCheckIsUnknown(t *testing.T) {
	cfg := testConfig(t)
	boom := Func("boom", func(context.Context) room.CheckResult { panic("sensor driver bug") })
	m := byName(NewRunner(cfg, []Check{boom}, Options{}).Run(context.Background(), ReasonDemand))
	if m["boom"].State != room.CheckUnknown || !strings.Contains(m["boom"].Value, "crashed") {
		t.Fatalf("boom = %+v", m["boom"])
	}
}

// slow counts concurrent runs to show rounds never overlap.
type slow struct {
	running, maxRunning, runs atomic.Int32
	gate                      chan struct{}
}

func (*slow) Name() string { return "slow" }
func (s *slow) Run(ctx context.Context) room.CheckResult {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		m := s.maxRunning.Load()
		if n <= m || s.maxRunning.CompareAndSwap(m, n) {
			break
		}
	}
	s.runs.Add(1)
	<-s.gate
	return Good("slow", "ok", "")
}

func TestRoundsNeverOverlapAndCoalesce(t *testing.T) {
	cfg := testConfig(t)
	cfg.Timeout = room.Duration{Duration: 10 * time.Second}
	sl := &slow{gate: make(chan struct{})}
	var mu sync.Mutex
	var reasons []int
	rounds := make(chan []room.CheckResult, 10)
	r := NewRunner(cfg, []Check{sl}, Options{OnResults: func(rs []room.CheckResult) {
		mu.Lock()
		reasons = append(reasons, len(rs))
		mu.Unlock()
		rounds <- rs
	}})

	r.RunChecks(ReasonBoot)
	// Wait until the first round is inside the check.
	for sl.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 5 {
		r.RunChecks(ReasonSession)
		r.RunChecks(ReasonDemand)
	}
	close(sl.gate)
	<-rounds
	<-rounds
	r.Wait()
	if got := sl.runs.Load(); got != 2 {
		t.Fatalf("%d rounds ran, want 2 (the first and one coalesced round)", got)
	}
	if got := sl.maxRunning.Load(); got != 1 {
		t.Fatalf("%d rounds ran at once, want 1", got)
	}
}

func readLines(t *testing.T, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e Entry
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %q is not a well-formed entry: %v", sc.Text(), err)
		}
		if e.At.IsZero() || e.Kind == "" {
			t.Fatalf("line %q lacks at or kind", sc.Text())
		}
		out = append(out, e)
	}
	return out
}

// TestOutOfServiceEnteredAndLeft drives the door through open and closed and
// checks what the core would see (Blocking) and what the log keeps.
func TestOutOfServiceEnteredAndLeft(t *testing.T) {
	cfg := testConfig(t)
	s, b := simBoard(t)
	lg, err := OpenLog(cfg.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	got := make(chan []room.CheckResult, 4)
	r := NewRunner(cfg, Hardware(cfg, b), Options{Maintenance: lg, OnResults: func(rs []room.CheckResult) { got <- rs }})

	steps := []struct {
		state    sim.State
		blocking string
	}{
		{sim.State{}, ""},
		{sim.State{DoorOpen: sim.Ptr(true)}, NameDoor},
		{sim.State{}, ""},
	}
	for i, st := range steps {
		s.Set(st.state)
		r.RunChecks(ReasonInterval)
		rs := <-got
		if b := Names(Blocking(rs)); b != st.blocking {
			t.Fatalf("step %d: blocking = %q, want %q", i, b, st.blocking)
		}
	}
	r.Wait()

	files, err := lg.Files()
	if err != nil || len(files) != 1 || filepath.Base(files[0]) != time.Now().UTC().Format(time.DateOnly)+".jsonl" {
		t.Fatalf("log files %v, %v; want one named for today", files, err)
	}
	var kinds []string
	for _, e := range readLines(t, files[0]) {
		k := string(e.Kind)
		if e.Check != "" {
			k += ":" + e.Check
		}
		kinds = append(kinds, k)
	}
	want := "run run fault:door run recovery:door"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("log kinds %q, want %q", strings.Join(kinds, " "), want)
	}
	faults, err := lg.LastFaults(5)
	if err != nil || len(faults) != 1 || faults[0].Check != NameDoor || faults[0].State != room.CheckAbnormal || !faults[0].Required {
		t.Fatalf("LastFaults = %+v, %v", faults, err)
	}
}

func TestLogDayFilesAndTornLines(t *testing.T) {
	dir := t.TempDir()
	lg, err := OpenLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute)
	for _, e := range []Entry{
		{At: day1, Kind: KindFault, Check: "door", State: room.CheckAbnormal},
		{At: day1.Add(time.Second), Kind: KindOverride, Session: "s-1", Counselor: "c-1", Note: "door latch broken, porter informed"},
		{At: day2, Kind: KindFault, Check: "light", State: room.CheckUnknown},
		{At: day2.Add(time.Second), Kind: KindRecovery, Check: "light", State: room.CheckGood},
	} {
		if err := lg.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := lg.Record(Entry{}); err == nil {
		t.Fatal("an entry without a kind was accepted")
	}
	lg.Close()
	for _, name := range []string{"2026-03-01.jsonl", "2026-03-02.jsonl"} {
		if es := readLines(t, filepath.Join(dir, name)); len(es) != 2 {
			t.Fatalf("%s has %d entries, want 2", name, len(es))
		}
	}
	// A power cut in the middle of a line leaves a torn tail: readers skip it.
	f, _ := os.OpenFile(filepath.Join(dir, "2026-03-02.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"at":"2026-03-02T00:05:00Z","kind":"fau`)
	f.Close()
	faults, err := Recent(dir, 10, KindFault)
	if err != nil || len(faults) != 2 || faults[0].Check != "light" || faults[1].Check != "door" {
		t.Fatalf("Recent faults = %+v, %v; want light then door", faults, err)
	}
	all, _ := Recent(dir, 2)
	if len(all) != 2 || all[0].Kind != KindRecovery {
		t.Fatalf("Recent(2) = %+v", all)
	}

	// Keeping 7 days: a new day file 8 days on removes the two old ones.
	lg, _ = OpenLog(dir, KeepDays(7))
	defer lg.Close()
	if err := lg.Record(Entry{At: day2.AddDate(0, 0, 7), Kind: KindNote, Note: "restart"}); err != nil {
		t.Fatal(err)
	}
	files, _ := LogFiles(dir)
	if len(files) != 2 || filepath.Base(files[0]) != "2026-03-02.jsonl" {
		t.Fatalf("after pruning: %v, want 2026-03-02 (7 days back) and 2026-03-09", files)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		key    string
	}{
		{"defaults", func(*Config) {}, ""},
		{"short interval", func(c *Config) { c.Interval.Duration = time.Second }, "checks.interval"},
		{"inverted temperature", func(c *Config) { c.TempMinC = 30 }, "checks.temp_min_c"},
		{"timeout too long", func(c *Config) { c.Timeout.Duration = 2 * time.Minute }, "checks.timeout"},
		{"cpu limit", func(c *Config) { c.CPUTempMaxC = 5 }, "checks.cpu_temp_max_c"},
		{"duplicate required", func(c *Config) { c.Required = []string{"door", "door"} }, "checks.required[1]"},
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

func TestOverrideAndDoorEdgesLogged(t *testing.T) {
	cfg := testConfig(t)
	s, b := simBoard(t)
	lg, err := OpenLog(cfg.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	got := make(chan []room.CheckResult, 4)
	r := NewRunner(cfg, Hardware(cfg, b), Options{Maintenance: lg, OnResults: func(rs []room.CheckResult) { got <- rs }})
	ctx, cancel := context.WithCancel(context.Background())
	r.RunOnDoorChange(ctx, b.Door)

	// Opening the door runs a round by itself.
	s.Set(sim.State{DoorOpen: sim.Ptr(true)})
	rs := <-got
	if Names(Blocking(rs)) != NameDoor {
		t.Fatalf("round after the door opened: blocking %q", Names(Blocking(rs)))
	}
	if err := r.RecordOverride("s-42", "c-1", "door latch broken, porter informed"); err != nil {
		t.Fatal(err)
	}
	cancel()
	r.Wait()
	es, err := Recent(cfg.LogDir, 1, KindOverride)
	if err != nil || len(es) != 1 {
		t.Fatalf("override entries %v, %v", es, err)
	}
	e := es[0]
	if e.Session != "s-42" || e.Counselor != "c-1" || e.Note == "" || len(e.Results) != 1 || e.Results[0].Name != NameDoor {
		t.Fatalf("override entry %+v", e)
	}
	runs, _ := Recent(cfg.LogDir, 5, KindRun)
	if len(runs) != 1 || runs[0].Reason != "door" {
		t.Fatalf("runs %+v, want one with reason door", runs)
	}
}

func TestNoRoundsAfterWait(t *testing.T) {
	cfg := testConfig(t)
	var n atomic.Int32
	r := NewRunner(cfg, []Check{Func("count", func(context.Context) room.CheckResult { n.Add(1); return Good("count", "", "") })}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	cancel()
	r.Wait()
	before := n.Load()
	r.RunChecks(ReasonDemand) // a late caller during shutdown: ignored, no panic
	r.Wait()
	if n.Load() != before || before != 1 {
		t.Fatalf("rounds: %d before Wait (want the boot round), %d after", before, n.Load())
	}
}

func TestStartRunsAtBootAndEveryInterval(t *testing.T) {
	cfg := testConfig(t)
	cfg.Interval = room.Duration{Duration: 10 * time.Millisecond} // below what Validate allows, for speed
	lg, err := OpenLog(cfg.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	rounds := make(chan struct{}, 100)
	r := NewRunner(cfg, []Check{Func("ok", func(context.Context) room.CheckResult { return Good("ok", "", "") })},
		Options{Maintenance: lg, OnResults: func([]room.CheckResult) { rounds <- struct{}{} }})
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	for range 3 {
		select {
		case <-rounds:
		case <-time.After(5 * time.Second):
			t.Fatal("fewer than 3 rounds")
		}
	}
	cancel()
	r.Wait()
	runs, _ := Recent(cfg.LogDir, 100, KindRun)
	// Under load the first tick may coalesce with boot ("boot+interval").
	if len(runs) < 3 || !strings.HasPrefix(runs[len(runs)-1].Reason, ReasonBoot) || runs[0].Reason != ReasonInterval {
		t.Fatalf("%d runs, oldest %q newest %q; want boot first, then interval", len(runs), runs[len(runs)-1].Reason, runs[0].Reason)
	}
}

// TestRunLinesCarryThresholds runs the sim board through rounds over two
// UTC days, with the temperature limits changed in the middle, and reads
// the day files the runner wrote: each check's threshold is on the first
// run line of each day file and on every line where it changed, and on no
// other run line (they are logged every few minutes).
func TestRunLinesCarryThresholds(t *testing.T) {
	cfg := testConfig(t)
	s, b := simBoard(t)
	lg, err := OpenLog(cfg.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	now := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	// Limits change with the config, so with a restart: the second
	// runner below is the daemon started again with a new config.
	r := NewRunner(cfg, HardwareClock(cfg, b, clock), Options{Maintenance: lg, Now: clock})
	temps := []float64{21.4, 23.9, 27.3, 21.4}
	for _, c := range temps { // 22:00 .. 23:30 on the 30th
		s.Set(sim.State{TemperatureC: sim.Ptr(c)})
		r.Run(context.Background(), ReasonInterval)
		now = now.Add(30 * time.Minute)
	}
	for range 2 { // 00:00, 00:30 on the 1st: a new day file
		r.Run(context.Background(), ReasonInterval)
		now = now.Add(30 * time.Minute)
	}
	cfg2 := cfg
	cfg2.TempMaxC = 24
	r2 := NewRunner(cfg2, HardwareClock(cfg2, b, clock), Options{Maintenance: lg, Now: clock})
	for range 2 { // the daemon restarted with new limits
		r2.Run(context.Background(), ReasonInterval)
		now = now.Add(30 * time.Minute)
	}

	var got []string // the temperature threshold of each run line, by day file
	files, err := lg.Files()
	if err != nil || len(files) != 2 {
		t.Fatalf("day files %v (%v), want 2", files, err)
	}
	for _, f := range files {
		got = append(got, "|")
		for _, e := range readLines(t, f) {
			if e.Kind != KindRun {
				continue
			}
			n := 0
			for _, res := range e.Results {
				if res.Hint != "" {
					t.Errorf("%s: a run line keeps the hint of %s", f, res.Name)
				}
				if res.Threshold != "" {
					n++
				}
				if res.Name == NameTemperature {
					got = append(got, res.Threshold)
				}
			}
			if n != 0 && n != len(e.Results) {
				t.Errorf("%s at %s: %d of %d thresholds, want all (a new day, a restart) or none", f, e.At, n, len(e.Results))
			}
		}
	}
	want := []string{"|", "18-26 °C", "", "", "", "|", "18-26 °C", "", "18-24 °C", ""}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("temperature thresholds on the run lines:\n got %q\nwant %q", got, want)
	}
}
