package statusapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"roomkiosk/internal/room"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Metric is one Prometheus sample. Names follow Prometheus conventions
// (roomkiosk_recorder_overruns_total); Type is "counter" or "gauge".
type Metric struct {
	Name  string
	Help  string
	Type  string
	Value float64
}

// Sources are what the endpoint reports. Each func is called per request and
// must be cheap and safe for concurrent use.
type Sources struct {
	Snapshot func() room.Snapshot
	Queue    func() map[string]any    // uploader figures for /status; may be nil
	Uploads  func() room.UploadReport // sessions on the device and their upload state; may be nil
	Metrics  []func() []Metric        // recorder, uploader, ...
	Version  string
}

// Status is the /status document: the room as a passer-by and an admin see
// it. It carries no personal data.
type Status struct {
	Room      string             `json:"room"`
	Version   string             `json:"version"`
	Door      room.Door          `json:"door"`
	Recording bool               `json:"recording"`
	Recorder  room.RecorderState `json:"recorder"`
	Step      room.Step          `json:"step"`
	SessionID string             `json:"session_id,omitempty"`
	Checks    []room.CheckResult `json:"checks"`
	Alerts    []string           `json:"alerts,omitempty"`
	Queue     map[string]any     `json:"queue,omitempty"`
	At        time.Time          `json:"at"`

	// Every session still on the device with its upload state, oldest
	// first, and the last session whose upload completed (since start).
	Sessions     []room.SessionUpload `json:"sessions"`
	LastUploaded *room.LastUpload     `json:"last_uploaded,omitempty"`

	// ResumedGapS: the session's recording resumed after the daemon's
	// restart; nothing was recorded for this many seconds.
	ResumedGapS float64 `json:"resumed_gap_s,omitempty"`

	// The next and current booking (times only) and whether the screen
	// sleeps (issue 16).
	Bookings     *room.Bookings `json:"bookings,omitempty"`
	ScreenDimmed bool           `json:"screen_dimmed"`

	// Maintenance: the last technician's entry, the reported problems no
	// technician has cleared, and how many withdrawn recordings wait for a
	// keep-or-delete choice (as in status.json).
	LastMaintenance  *room.MaintenanceEntry `json:"last_maintenance,omitempty"`
	ReportedProblems []room.ProblemReport   `json:"reported_problems,omitempty"`
	HeldWaiting      int                    `json:"held_waiting,omitempty"`
}

// Server is the loopback status endpoint.
type Server struct {
	srv *http.Server
	ln  net.Listener
	log zerolog.Logger
}

// Listen binds the configured loopback address.
func Listen(cfg Config, src Sources, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("status endpoint: listen %s: %w", cfg.Listen, err)
	}
	s := &Server{ln: ln, log: log}
	s.srv = &http.Server{Handler: Handler(src), ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// Addr is the bound address (useful when the port was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve runs until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(sctx)
	}()
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("status endpoint: %w", err)
	}
	return nil
}

// Handler serves /healthz, /status and /metrics. Everything is read-only.
func Handler(src Sources) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(BuildStatus(src))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetrics(w, src)
	})
	return mux
}

// BuildStatus assembles the /status document from the sources.
func BuildStatus(src Sources) Status {
	snap := src.Snapshot()
	st := Status{
		Room:      snap.RoomID,
		Version:   src.Version,
		Door:      snap.Door,
		Recording: snap.Recording,
		Recorder:  snap.Recorder,
		Step:      snap.Step,
		SessionID: snap.SessionID,
		Checks:    snap.Checks,
		At:        time.Now().UTC(),

		Bookings:     snap.Bookings,
		ScreenDimmed: snap.ScreenDimmed,

		LastMaintenance:  snap.LastMaintenance,
		ReportedProblems: snap.Problems,
		HeldWaiting:      snap.HeldWaiting,
	}
	for _, a := range snap.Alerts {
		st.Alerts = append(st.Alerts, a.Code)
	}
	if src.Queue != nil {
		st.Queue = src.Queue()
	}
	st.Sessions = []room.SessionUpload{}
	if src.Uploads != nil {
		r := src.Uploads()
		if r.Sessions != nil {
			st.Sessions = r.Sessions
		}
		st.LastUploaded = r.LastUploaded
	}
	st.ResumedGapS = snap.ResumedGap.Seconds()
	return st
}

func writeMetrics(w interface{ Write([]byte) (int, error) }, src Sources) {
	snap := src.Snapshot()
	ms := []Metric{
		{Name: "roomkiosk_recording", Help: "1 while audio is really being captured and written.", Type: "gauge", Value: b2f(snap.Recording)},
		{Name: "roomkiosk_door_free", Help: "1 while the door shows Free.", Type: "gauge", Value: b2f(snap.Door == room.DoorFree)},
		{Name: "roomkiosk_door_out_of_service", Help: "1 while a required check fails.", Type: "gauge", Value: b2f(snap.Door == room.DoorOutOfService)},
		{Name: "roomkiosk_alerts", Help: "Counselor-facing alerts now raised.", Type: "gauge", Value: float64(len(snap.Alerts))},
	}
	abnormal := 0
	for _, c := range snap.Checks {
		if c.State == room.CheckAbnormal {
			abnormal++
		}
	}
	ms = append(ms, Metric{Name: "roomkiosk_checks_abnormal", Help: "Checks whose last result is abnormal.", Type: "gauge", Value: float64(abnormal)})
	for _, f := range src.Metrics {
		ms = append(ms, f()...)
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	var b strings.Builder
	for _, m := range ms {
		typ := m.Type
		if typ == "" {
			typ = "gauge"
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", m.Name, m.Help, m.Name, typ, m.Name, formatFloat(m.Value))
	}
	_, _ = w.Write([]byte(b.String()))
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return fmt.Sprintf("%g", v)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
