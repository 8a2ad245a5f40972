package checks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"roomkiosk/hardware"
	"roomkiosk/internal/room"
)

// Names of the checks this package provides.
const (
	NameTemperature    = "temperature"
	NameHumidity       = "humidity"
	NameLight          = "light"
	NameDoor           = "door"
	NamePresence       = "presence"
	NameCPUTemperature = "cpu_temperature"
	NameMemory         = "memory"
)

// Builtin returns this package's checks: the board's and the system's.
func Builtin(cfg Config, b *hardware.Board) []Check {
	return append(Hardware(cfg, b), System(cfg, DefaultSystemPaths())...)
}

// Hardware returns the checks that read the board: temperature, humidity,
// light, door and presence.
func Hardware(cfg Config, b *hardware.Board) []Check { return HardwareClock(cfg, b, time.Now) }

// HardwareClock is Hardware with the clock that ages the shared climate
// reading: a test that runs a day of rounds in a second passes the clock it
// gives the runner (Options.Now), so each round reads the sensor afresh.
func HardwareClock(cfg Config, b *hardware.Board, now func() time.Time) []Check {
	m := &climateMemo{c: b.Climate, maxAge: 2 * time.Second, now: now}
	return []Check{
		Func(NameTemperature, func(ctx context.Context) room.CheckResult { return temperature(ctx, cfg, m) }),
		Func(NameHumidity, func(ctx context.Context) room.CheckResult { return humidity(ctx, cfg, m) }),
		Func(NameLight, func(ctx context.Context) room.CheckResult { return light(ctx, cfg, b.Light) }),
		Func(NameDoor, func(ctx context.Context) room.CheckResult { return door(b.Door) }),
		Func(NamePresence, func(ctx context.Context) room.CheckResult { return presence(b.Presence) }),
	}
}

// climateMemo shares one sensor read between the temperature and humidity
// checks of a round (both come from the same BME280 transaction).
type climateMemo struct {
	c      hardware.Climate
	maxAge time.Duration
	now    func() time.Time

	mu  sync.Mutex
	r   hardware.ClimateReading
	err error
	at  time.Time
}

func (m *climateMemo) read(ctx context.Context) (hardware.ClimateReading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.at.IsZero() && m.now().Sub(m.at) < m.maxAge {
		return m.r, m.err
	}
	r, err := m.c.ReadClimate(ctx)
	if ctx.Err() != nil {
		// Our own deadline, not the sensor's answer: let the next caller try.
		return r, err
	}
	m.r, m.err, m.at = r, err, m.now()
	return r, err
}

func temperature(ctx context.Context, cfg Config, m *climateMemo) room.CheckResult {
	th := fmt.Sprintf("%g-%g °C", cfg.TempMinC, cfg.TempMaxC)
	r, err := m.read(ctx)
	if err != nil {
		return Unknown(NameTemperature, err, th, "Temperature sensor not answering: judge the room temperature yourself and report the sensor to maintenance.")
	}
	v := fmt.Sprintf("%.1f °C", r.TemperatureC)
	switch {
	case r.TemperatureC < cfg.TempMinC:
		return Abnormal(NameTemperature, v, th, "Room is too cold: turn up the heating or close the windows, and offer a blanket if the session starts now.")
	case r.TemperatureC > cfg.TempMaxC:
		return Abnormal(NameTemperature, v, th, "Room is too warm: open a window or turn on the air conditioning, and offer water.")
	}
	return Good(NameTemperature, v, th)
}

func humidity(ctx context.Context, cfg Config, m *climateMemo) room.CheckResult {
	th := fmt.Sprintf("%g-%g %%RH", cfg.HumidityMinPct, cfg.HumidityMaxPct)
	r, err := m.read(ctx)
	if err != nil {
		return Unknown(NameHumidity, err, th, "Humidity sensor not answering: report the sensor to maintenance; the session can go on.")
	}
	v := fmt.Sprintf("%.0f %%RH", r.HumidityPct)
	switch {
	case r.HumidityPct < cfg.HumidityMinPct:
		return Abnormal(NameHumidity, v, th, "Air is too dry: switch on the humidifier or set out water, and offer drinking water.")
	case r.HumidityPct > cfg.HumidityMaxPct:
		return Abnormal(NameHumidity, v, th, "Air is too humid: air the room or switch on the dehumidifier.")
	}
	return Good(NameHumidity, v, th)
}

func light(ctx context.Context, cfg Config, l hardware.Light) room.CheckResult {
	th := fmt.Sprintf("≥ %g lx", cfg.LightMinLux)
	lux, err := l.ReadLux(ctx)
	if err != nil {
		return Unknown(NameLight, err, th, "Light sensor not answering: check the room is well lit yourself and report the sensor to maintenance.")
	}
	v := fmt.Sprintf("%.0f lx", lux)
	if lux < cfg.LightMinLux {
		return Abnormal(NameLight, v, th, "Room is too dark: switch on the lights or open the curtains.")
	}
	return Good(NameLight, v, th)
}

func door(d hardware.Door) room.CheckResult {
	const th = "closed"
	closed, err := d.Closed()
	if err != nil {
		return Unknown(NameDoor, err, th, "Door sensor not answering: make sure the door is shut yourself and report the sensor to maintenance.")
	}
	if !closed {
		return Abnormal(NameDoor, "open", th, "Door is open: close it for privacy before the session starts.")
	}
	return Good(NameDoor, "closed", th)
}

func presence(p hardware.Presence) room.CheckResult {
	const th = "sensor working"
	if err := p.Alive(); err != nil {
		if errors.Is(err, hardware.ErrNotPresent) {
			return Unknown(NamePresence, err, th, "Presence sensor not answering: report it to maintenance; the door display cannot tell if the room is occupied.")
		}
		return Abnormal(NamePresence, "fault", th, "Presence sensor looks faulty (check its cable): report it to maintenance.")
	}
	present, err := p.Present()
	if err != nil {
		return Unknown(NamePresence, err, th, "Presence sensor not answering: report it to maintenance.")
	}
	v := "no one detected"
	if present {
		v = "someone present"
	}
	return Good(NamePresence, v, th)
}

// SystemPaths are where the system checks read; tests point them at files.
type SystemPaths struct {
	ThermalDir string // folder of thermal_zone*/ (type, temp in m°C)
	Meminfo    string
}

// DefaultSystemPaths reads Linux's own files.
func DefaultSystemPaths() SystemPaths {
	return SystemPaths{ThermalDir: "/sys/class/thermal", Meminfo: "/proc/meminfo"}
}

// System returns the CPU temperature and free memory checks.
func System(cfg Config, p SystemPaths) []Check {
	return []Check{
		Func(NameCPUTemperature, func(context.Context) room.CheckResult { return cpuTemperature(cfg, p) }),
		Func(NameMemory, func(context.Context) room.CheckResult { return memory(cfg, p) }),
	}
}

func cpuTemperature(cfg Config, p SystemPaths) room.CheckResult {
	th := fmt.Sprintf("< %g °C", cfg.CPUTempMaxC)
	c, err := readCPUTemp(p.ThermalDir)
	if err != nil {
		return Unknown(NameCPUTemperature, err, th, "This board reports no CPU temperature: nothing to do now.")
	}
	v := fmt.Sprintf("%.1f °C", c)
	if c >= cfg.CPUTempMaxC {
		return Abnormal(NameCPUTemperature, v, th, "Kiosk computer is overheating: make sure its vents are free and it is out of direct sun; report it to maintenance.")
	}
	return Good(NameCPUTemperature, v, th)
}

// readCPUTemp prefers a zone whose type names the CPU or SoC (the Pi's is
// "cpu-thermal"), else the first zone.
func readCPUTemp(dir string) (float64, error) {
	zones, _ := filepath.Glob(filepath.Join(dir, "thermal_zone*"))
	if len(zones) == 0 {
		return 0, fmt.Errorf("no thermal zone in %s", dir)
	}
	pick := zones[0]
	for _, z := range zones {
		typ, _ := os.ReadFile(filepath.Join(z, "type"))
		t := strings.ToLower(string(typ))
		if strings.Contains(t, "cpu") || strings.Contains(t, "soc") {
			pick = z
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(pick, "temp"))
	if err != nil {
		return 0, fmt.Errorf("read cpu temperature: %w", err)
	}
	milli, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read cpu temperature %s: %w", pick, err)
	}
	return float64(milli) / 1000, nil
}

func memory(cfg Config, p SystemPaths) room.CheckResult {
	th := fmt.Sprintf("≥ %g MB free", cfg.MemoryMinMB)
	mb, err := readAvailableMB(p.Meminfo)
	if err != nil {
		return Unknown(NameMemory, err, th, "Free memory could not be read: report it to maintenance.")
	}
	v := fmt.Sprintf("%.0f MB free", mb)
	if mb < cfg.MemoryMinMB {
		return Abnormal(NameMemory, v, th, "Kiosk is low on memory: restart it before the next session (a recording in progress is kept) and report it to maintenance.")
	}
	return Good(NameMemory, v, th)
}

func readAvailableMB(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read free memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseFloat(fields[1], 64)
			if err != nil {
				return 0, fmt.Errorf("read free memory: %q: %w", sc.Text(), err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("read free memory: no MemAvailable line in %s", path)
}
