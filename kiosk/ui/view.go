package ui

import (
	"encoding/json"
	"net/http"
	"sync"
)

// View is what the read-only /ui endpoint reports: the scene on screen and
// its touch targets in window pixels, for tests and for support staff.
type View struct {
	Scene     string       `json:"scene"`
	Language  string       `json:"language"`
	Connected bool         `json:"connected"`
	Seq       uint64       `json:"seq"` // snapshot sequence number the scene shows
	Door      string       `json:"door,omitempty"`
	Recording bool         `json:"recording"`
	Locked    bool         `json:"locked"`
	Window    Rect         `json:"window"` // the window's position and size on the X screen
	Targets   []ViewTarget `json:"targets"`
	Texts     []string     `json:"texts"`  // text lines on screen (no personal data is ever shown)
	Frames    uint64       `json:"frames"` // frames painted so far: idle means this stands still
	Taps      uint64       `json:"taps"`   // taps recognised so far (press and release on one target)
	// Asleep: the backlight is dimmed and the screen paints nothing (no
	// frame, no scene built) until it wakes; the view is the last painted
	// one, published once when the screen fell asleep.
	Asleep bool `json:"asleep,omitempty"`

	// For a driver outside (tests, support): where the flow stands. Never
	// a PIN digit or a decision.
	SessionID   string `json:"session_id,omitempty"`
	PINDigits   int    `json:"pin_digits"`             // PIN digits entered (the count only)
	PINChecking bool   `json:"pin_checking,omitempty"` // the daemon is checking the PIN
	ConsentTurn int    `json:"consent_turn,omitempty"` // consent screen: participant n ...
	ConsentOf   int    `json:"consent_of,omitempty"`   // ... of m
	Pages       int    `json:"pages,omitempty"`        // consent screen: agreement pages in the language shown
	PagesSeen   int    `json:"pages_seen,omitempty"`   // ... and how many have been on screen
	// ConsentRole: whose turn it is (adult, guardian-of-child-N,
	// child-N-assent; issue 24). In a family session ConsentTurn counts
	// the turns and ConsentOf is how many there are.
	ConsentRole string `json:"consent_role,omitempty"`
}

// ViewTarget is one touch target.
type ViewTarget struct {
	ID      string `json:"id"`
	Rect    Rect   `json:"rect"` // in window pixels
	Enabled bool   `json:"enabled"`
}

// NewView describes a painted scene. The window maps logical pixels to
// window pixels with scale and offset (letterboxing on other panel sizes).
func NewView(sc *Scene, in Input, window Rect, scale, offX, offY float64, frames, taps uint64) View {
	v := View{
		Scene: sc.Name, Language: sc.Lang, Connected: in.Connected, Seq: in.Snap.Seq,
		Door: string(in.Snap.Door), Recording: in.Snap.Recording, Locked: sc.Locked,
		Window: window, Texts: sc.Texts(), Frames: frames, Taps: taps, Targets: []ViewTarget{},
		SessionID: in.Snap.SessionID, PINDigits: in.Snap.PINDigits, PINChecking: in.Snap.PINChecking,
	}
	if sc.Name == "consent" {
		v.ConsentTurn = max(in.Snap.ConsentTurn, 1)
		v.ConsentOf = max(in.Snap.Participants, in.Snap.ConsentTurns, v.ConsentTurn)
		v.ConsentRole = in.Snap.ConsentRole
		v.Pages, v.PagesSeen = sc.Pages, sc.PagesSeen
	}
	for _, t := range sc.Targets {
		r := R(t.Rect.X*scale+offX, t.Rect.Y*scale+offY, t.Rect.W*scale, t.Rect.H*scale)
		v.Targets = append(v.Targets, ViewTarget{ID: t.ID, Rect: r, Enabled: t.Enabled})
	}
	return v
}

// ViewServer serves the latest View at GET /ui. It is read-only: nothing can
// be tapped or consented through it.
type ViewServer struct {
	mu sync.Mutex
	b  []byte
}

// Publish replaces the served view.
func (s *ViewServer) Publish(v View) {
	b, err := json.Marshal(v)
	if err != nil {
		return // a View always marshals
	}
	s.mu.Lock()
	s.b = b
	s.mu.Unlock()
}

func (s *ViewServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ui" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only endpoint", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	b := s.b
	s.mu.Unlock()
	if b == nil {
		b, _ = json.Marshal(View{Scene: "starting", Targets: []ViewTarget{}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
