package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"roomkiosk/cmd/roomctl/roomctltest"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder/alsatest"
)

const (
	rate        = 16000
	bytesPerSec = rate * 2 // 16 kHz mono S16LE
	// feedChunk is one capture period (128 ms at 16 kHz mono): the file
	// plugin pads any write that is not whole periods.
	feedChunk = alsatest.PeriodBytes
	// ageChunk is age's plaintext chunk: what a power cut may cost.
	ageChunk = 64 << 10
	bucket   = "roomkiosk"
	pinCode  = "1234"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds roomkiosk, roomkiosk-screen and roomctl once per test
// binary (without -race: they are the product, not the test) and returns
// the folder that holds them.
func binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "roomkiosk-e2e-bin-")
		if buildErr != nil {
			return
		}
		buildErr = testenv.GoBuild(testenv.ModuleRoot(t), buildDir+"/", nil, "./cmd/roomkiosk", "./cmd/roomkiosk-screen", "./cmd/roomctl")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// admin is the clinic admin's side: a MinIO server, roomctl with the admin
// connection in its environment, and the admin's age identity.
type admin = roomctltest.Admin

func newAdmin(t testing.TB, bin string) *admin {
	return roomctltest.New(t, filepath.Join(bin, "roomctl"), bucket)
}

// device is one kiosk's files: its config, spool, sim state and the
// daemon process made from them.
type device struct {
	room       string
	dir        string
	cfgPath    string
	socket     string
	statusAddr string
	spool      string
	onAirFile  string
	bin        string
	micEnv     string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logf   *os.File
	runs   int
}

// provision does what an admin does for a new room: `roomctl provision
// ROOM --apply` writes the device's credentials, and its printed [storage]
// section goes into the device config with the rest of the sections.
func provision(t testing.TB, a *admin, bin, room string, mic *micFeed, segment time.Duration) *device {
	t.Helper()
	d := &device{room: room, dir: t.TempDir(), bin: filepath.Join(bin, "roomkiosk"), micEnv: mic.feeder.Env()}
	creds := filepath.Join(d.dir, "credentials.toml")
	storage := a.Run(t, "", "provision", room, "--apply", "--credentials-out", creds, "--credentials-path", creds)
	storage = storage[strings.Index(storage, "# Device config"):]
	pinHash := strings.TrimSpace(a.Run(t, pinCode+"\n", "pin-hash"))
	d.socket = filepath.Join(d.dir, "run", "control.sock")
	d.spool = filepath.Join(d.dir, "spool")
	d.onAirFile = filepath.Join(d.dir, "on-air")
	d.statusAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	state := filepath.Join(d.dir, "sim-state.json")
	if err := os.WriteFile(state, []byte(`{"door_open": false, "presence": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`# End-to-end test device: the simulated board, the ALSA file plugin as the
# microphone (fed with continuous speech), short segments and status period.
[log]
level = "debug"

[control]
socket = %q

[room]
id = %q
name = "Room 101"
languages = ["en", "zh"]

[[counselors]]
id = "c-e2e-1"
pin_hash = %q

[agreement]
id = "rec-e2e-01"
[agreement.texts]
en = """
Recording agreement (version rec-e2e-01)

This session may be recorded as audio. The recording is encrypted on this
device as it is made. Each person present must agree before recording starts.
"""
zh = """
录音同意书（版本 rec-e2e-01）

本次咨询可能会进行录音。录音在本设备上即时加密。录音开始前，每一位来访者都必须同意。
"""

[session]
manual_checks = ["Room tidy", "Tissues and water ready", "Sockets and floor safe"]
pin_timeout = "60s"
consent_timeout = "5m"

[recording]
device = "default"
sample_rate = 16000
channels = 1
segment_length = %q
max_session_length = "1h"
spool_dir = %q
free_margin_mb = 10
retry_interval = "500ms"
# The fed room is continuous speech: no quiet second for a noise floor.
mic_noise_floor_dbfs = -10.0
mic_speech_window = "0s"

[encryption]
recipients = [%q]

[hardware]
backend = "sim"
[hardware.sim]
state_file = %q
on_air_file = %q

# The screen stays lit unless a test is about the backlight (a dark
# screen takes a first touch only to wake).
[backlight]
idle_after = "0s"

[checks]
interval = "5m"
log_dir = %q

[status]
listen = %q

%s
status_interval = "2s"
backoff_max = "2s"
`, d.socket, room, pinHash, segment.String(), d.spool, a.Recipient, state, d.onAirFile,
		filepath.Join(d.dir, "maintenance"), d.statusAddr, storage)
	d.cfgPath = filepath.Join(d.dir, "roomkiosk.toml")
	if err := os.WriteFile(d.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop)
	return d
}

// start runs the daemon and waits until its status endpoint answers.
func (d *device) start(t testing.TB) {
	t.Helper()
	d.mu.Lock()
	d.runs++
	logf, err := os.Create(filepath.Join(d.dir, fmt.Sprintf("daemon-%d.log", d.runs)))
	if err != nil {
		d.mu.Unlock()
		t.Fatal(err)
	}
	cmd := exec.Command(d.bin, "run", "--config", d.cfgPath)
	cmd.Env = append(os.Environ(), d.micEnv)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		d.mu.Unlock()
		t.Fatalf("start roomkiosk: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	d.cmd, d.exited, d.logf = cmd, exited, logf
	d.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := d.status(); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("roomkiosk exited at start: %s\n%s", cmd.ProcessState, d.logTail(4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("roomkiosk status endpoint did not answer within 30 s\n%s", d.logTail(4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill SIGKILLs the daemon, as a power cut would, and waits until it is gone.
func (d *device) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
	d.logf.Close()
}

// stop ends the daemon with SIGTERM (SIGKILL after 10 s).
func (d *device) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
	d.logf.Close()
}

func (d *device) logTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(d.dir, fmt.Sprintf("daemon-%d.log", d.runs)))
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// daemonStatus is the part of the daemon's /status the tests read.
type daemonStatus struct {
	Door        string         `json:"door"`
	Recording   bool           `json:"recording"`
	Recorder    string         `json:"recorder"`
	Step        string         `json:"step"`
	SessionID   string         `json:"session_id"`
	Alerts      []string       `json:"alerts"`
	ResumedGapS float64        `json:"resumed_gap_s"`
	Queue       map[string]any `json:"queue"`
	Checks      []struct {
		Name     string    `json:"name"`
		State    string    `json:"state"`
		Required bool      `json:"required"`
		Value    string    `json:"value"`
		At       time.Time `json:"at"`
	} `json:"checks"`
}

var statusClient = &http.Client{Timeout: 2 * time.Second}

func (d *device) status() (daemonStatus, error) {
	var s daemonStatus
	res, err := statusClient.Get("http://" + d.statusAddr + "/status")
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return s, fmt.Errorf("/status: %s", res.Status)
	}
	return s, json.NewDecoder(res.Body).Decode(&s)
}

// metric reads one sample of the daemon's /metrics (Prometheus text).
func (d *device) metric(t testing.TB, name string) float64 {
	t.Helper()
	res, err := statusClient.Get("http://" + d.statusAddr + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("/metrics %s: %v", name, err)
			}
			return v
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// waitStatus polls /status until cond holds.
func (d *device) waitStatus(t testing.TB, what string, timeout time.Duration, cond func(daemonStatus) bool) daemonStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last daemonStatus
	var lastErr error
	for {
		s, err := d.status()
		if err == nil {
			last = s
			if cond(s) {
				return s
			}
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("daemon: %s not reached within %v; last status %+v (err %v)\n%s", what, timeout, last, lastErr, d.logTail(3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rssKB is the running daemon's resident set size (VmRSS) in kB.
func (d *device) rssKB() (int64, error) {
	d.mu.Lock()
	cmd := d.cmd
	d.mu.Unlock()
	if cmd == nil {
		return 0, fmt.Errorf("daemon not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			var kb int64
			_, err := fmt.Sscan(f[1], &kb)
			return kb, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", cmd.Process.Pid)
}

// setSim writes the sim board's state file (door, presence, sensors).
func (d *device) setSim(t testing.TB, state string) {
	t.Helper()
	tmp := filepath.Join(d.dir, "sim-state.json.tmp")
	if err := os.WriteFile(tmp, []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, "sim-state.json")); err != nil {
		t.Fatal(err)
	}
}

func (d *device) onAir(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(d.onAirFile)
	if err != nil {
		return "absent"
	}
	return strings.TrimSpace(string(b))
}

// micFeed is the room's microphone: one long, never repeating stream of
// speech written into the ALSA file plugin's FIFO at real time, through as
// many writer sessions as the device opens and closes the capture device.
// The stream offset of every byte fed is known, so captured audio can be
// located in it exactly.
type micFeed struct {
	feeder *alsatest.Feeder
	stream []byte

	mu     sync.Mutex
	cursor int64 // stream bytes written by finished feeds
	cur    *alsatest.Feed
	stop   chan struct{}
	done   chan struct{}
}

func startMic(t testing.TB, d time.Duration) *micFeed {
	t.Helper()
	m := &micFeed{feeder: alsatest.New(t), stream: alsatest.SpeechStream(t, d, rate), stop: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	t.Cleanup(m.close)
	return m
}

func (m *micFeed) run() {
	defer close(m.done)
	for {
		m.mu.Lock()
		if m.cursor+feedChunk > int64(len(m.stream)) {
			m.mu.Unlock()
			return // the stream is used up; the test should have ended long ago
		}
		f := m.feeder.Feed(m.stream[m.cursor:], feedChunk, bytesPerSec)
		m.cur = f
		m.mu.Unlock()
		select {
		case <-f.Done():
		case <-m.stop:
			_ = f.Stop()
		}
		m.mu.Lock()
		m.cursor += f.Written()
		m.cur = nil
		m.mu.Unlock()
		select {
		case <-m.stop:
			return
		default:
		}
	}
}

// fed is the stream offset up to which bytes have been written to the FIFO.
func (m *micFeed) fed() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.cursor
	if m.cur != nil {
		n += m.cur.Written()
	}
	return n
}

func (m *micFeed) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// match locates captured PCM in the fed stream. The capture may begin with
// a run of zero frames (device start-up, FORMAT.md "Alignment") and, for an
// interrupted session, end with silence the pull put in for a lost tail.
type match struct {
	LeadingZeros int   // bytes of start-up silence before the first fed sample
	Offset       int64 // stream offset of the first captured fed sample
	Matched      int   // bytes equal to the stream from Offset on
	Trailing     int   // bytes after the matched run
	TrailingZero bool  // the bytes after the matched run are all zero
}

// End is the stream offset just past the last captured sample.
func (m match) End() int64 { return m.Offset + int64(m.Matched) }

func locate(stream, pcm []byte) (match, error) {
	var m match
	for m.LeadingZeros+1 < len(pcm) && pcm[m.LeadingZeros] == 0 && pcm[m.LeadingZeros+1] == 0 {
		m.LeadingZeros += 2
	}
	body := pcm[m.LeadingZeros:]
	if len(body) < 512 {
		return m, fmt.Errorf("only %d bytes of audio after %d bytes of leading zeros", len(body), m.LeadingZeros)
	}
	i := bytes.Index(stream, body[:512])
	if i < 0 {
		return m, fmt.Errorf("the first 512 bytes of captured audio (after %d zero bytes) are nowhere in the fed stream", m.LeadingZeros)
	}
	if j := bytes.Index(stream[i+1:], body[:512]); j >= 0 {
		return m, fmt.Errorf("captured audio matches the fed stream at %d and at %d: the stream repeats", i, i+1+j)
	}
	m.Offset = int64(i)
	rest := stream[i:]
	n := min(len(rest), len(body))
	for m.Matched < n && rest[m.Matched] == body[m.Matched] {
		m.Matched++
	}
	m.Matched &^= 1
	m.Trailing = len(body) - m.Matched
	m.TrailingZero = allZero(body[m.Matched:])
	return m, nil
}

// waitFor polls cond every 100 ms until it holds.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
