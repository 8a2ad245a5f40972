package statusapi

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"roomkiosk/internal/room"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		listen string
		ok     bool
	}{
		{"127.0.0.1:8089", true},
		{"localhost:8089", true},
		{"[::1]:8089", true},
		{"0.0.0.0:8089", false},
		{"192.168.1.5:8089", false},
		{"8089", false},
	}
	for _, tt := range tests {
		err := Config{Listen: tt.listen}.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.listen, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "status.listen") {
			t.Errorf("error %q does not name status.listen", err)
		}
	}
}

func TestEndpoints(t *testing.T) {
	snap := room.Snapshot{
		RoomID: "101", Door: room.DoorInSession, Recording: true, Recorder: room.RecorderRecording,
		Step: room.StepInSession, SessionID: "20261127T101500Z-abc123",
		Checks: []room.CheckResult{{Name: "door", State: room.CheckAbnormal}, {Name: "light", State: room.CheckGood}},
		Alerts: []room.Alert{{Code: "mic_silent"}},
	}
	src := Sources{
		Snapshot: func() room.Snapshot { return snap },
		Queue:    func() map[string]any { return map[string]any{"depth": 3} },
		Metrics: []func() []Metric{func() []Metric {
			return []Metric{{Name: "roomkiosk_recorder_overruns_total", Help: "Frames dropped.", Type: "counter", Value: 2}, {Name: "roomkiosk_recorder_rms_dbfs", Value: math.Inf(-1)}}
		}},
		Version: "1.2.3",
	}
	s, err := Listen(Config{Listen: "127.0.0.1:0"}, src, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	code, body := get("/status")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
		t.Fatalf("/status = %d %q: %v", code, body, err)
	}
	if st.Door != room.DoorInSession || !st.Recording || st.Version != "1.2.3" || len(st.Checks) != 2 ||
		len(st.Alerts) != 1 || st.Alerts[0] != "mic_silent" || st.Queue["depth"] != float64(3) || time.Since(st.At) > time.Minute {
		t.Errorf("/status = %+v", st)
	}
	_, body = get("/metrics")
	for _, want := range []string{
		"# TYPE roomkiosk_recorder_overruns_total counter\nroomkiosk_recorder_overruns_total 2\n",
		"roomkiosk_recording 1\n", "roomkiosk_checks_abnormal 1\n", "roomkiosk_recorder_rms_dbfs -Inf\n", "roomkiosk_door_free 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if code, _ := get("/ui"); code != 404 {
		t.Errorf("/ui on the daemon = %d, want 404 (the screen serves it)", code)
	}
	resp, err := http.Post("http://"+s.Addr()+"/status", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /status = %d, want 405: the endpoint is read-only", resp.StatusCode)
	}
}
