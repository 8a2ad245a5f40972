package session

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/pin"
)

// RoomConfig is the [room] section.
type RoomConfig struct {
	ID        string   `toml:"id"`        // used in object keys: letters, digits, - and _
	DeviceID  string   `toml:"device_id"` // defaults to the room id
	Name      string   `toml:"name"`      // shown on the door
	Languages []string `toml:"languages"` // first is the default; "en", "zh"
}

// Counselor is one [[counselors]] entry. The id is pseudonymous.
type Counselor struct {
	ID      string `toml:"id"`
	PINHash string `toml:"pin_hash"` // from `roomctl pin-hash`
}

// AgreementConfig is the [agreement] section: the recording agreement shown
// on the consent screen, one text per language.
type AgreementConfig struct {
	ID    string            `toml:"id"` // versioned, e.g. "rec-2026-01"
	Texts map[string]string `toml:"texts"`
}

// FlowConfig is the [session] section.
type FlowConfig struct {
	ManualChecks    []string      `toml:"manual_checks"`    // checklist lines the counselor ticks
	PINTimeout      room.Duration `toml:"pin_timeout"`      // abandoned PIN pad returns to the door
	ConsentTimeout  room.Duration `toml:"consent_timeout"`  // abandoned consent returns to the door
	MaxLengthWarn   room.Duration `toml:"max_length_warn"`  // warn this long before recording.max_session_length
	LockoutAttempts int           `toml:"lockout_attempts"` // wrong PINs before lockout
	LockoutFor      room.Duration `toml:"lockout_for"`
	// ResumeWindow: a session open when the daemon stopped comes back at
	// start-up if its journal was last written this recently (a Pi's
	// reboot after a power cut takes about a minute); older, it is closed
	// as interrupted. 0 never resumes.
	ResumeWindow room.Duration `toml:"resume_window"`
	// HeldDeadline: a withdrawn recording held without its keep-or-delete
	// choice (a restart came first) is deleted this long after its
	// session started, unless its client chose on the kiosk before; a
	// counselor can only delete it sooner. 1h to 90 days.
	HeldDeadline room.Duration `toml:"held_deadline"`
}

// DefaultFlow returns the [session] defaults.
func DefaultFlow() FlowConfig {
	return FlowConfig{
		ManualChecks:    []string{"Room tidy", "Tissues and water ready", "Sockets and floor safe"},
		PINTimeout:      room.Duration{Duration: 60 * time.Second},
		ConsentTimeout:  room.Duration{Duration: 5 * time.Minute},
		MaxLengthWarn:   room.Duration{Duration: 10 * time.Minute},
		LockoutAttempts: 5,
		LockoutFor:      room.Duration{Duration: 5 * time.Minute},
		ResumeWindow:    room.Duration{Duration: 10 * time.Minute},
		HeldDeadline:    room.Duration{Duration: 7 * 24 * time.Hour},
	}
}

// DefaultRoom returns the [room] defaults.
func DefaultRoom() RoomConfig {
	return RoomConfig{Languages: []string{"en", "zh"}}
}

var supportedLanguages = map[string]bool{"en": true, "zh": true}

// Validate reports the first problem, naming the key.
func (r RoomConfig) Validate() error {
	if r.ID == "" {
		return errors.New("room.id: required")
	}
	if !validID(r.ID) {
		return fmt.Errorf("room.id: %q may hold only letters, digits, '-' and '_' (it is used in object keys)", r.ID)
	}
	if r.DeviceID != "" && !validID(r.DeviceID) {
		return fmt.Errorf("room.device_id: %q may hold only letters, digits, '-' and '_'", r.DeviceID)
	}
	if len(r.Languages) == 0 {
		return errors.New("room.languages: at least one language is required")
	}
	for _, l := range r.Languages {
		if !supportedLanguages[l] {
			return fmt.Errorf("room.languages: %q is not supported (use \"en\" or \"zh\")", l)
		}
	}
	return nil
}

// Validate reports the first problem, naming the key.
func (f FlowConfig) Validate() error {
	switch {
	case f.PINTimeout.Duration < 5*time.Second:
		return fmt.Errorf("session.pin_timeout: %v is too short (at least 5s)", f.PINTimeout.Duration)
	case f.ConsentTimeout.Duration < 10*time.Second:
		return fmt.Errorf("session.consent_timeout: %v is too short (at least 10s)", f.ConsentTimeout.Duration)
	case f.MaxLengthWarn.Duration < 0:
		return fmt.Errorf("session.max_length_warn: %v must not be negative", f.MaxLengthWarn.Duration)
	case f.LockoutAttempts < 1:
		return fmt.Errorf("session.lockout_attempts: %d must be at least 1", f.LockoutAttempts)
	case f.LockoutFor.Duration < time.Second:
		return fmt.Errorf("session.lockout_for: %v is too short", f.LockoutFor.Duration)
	case f.ResumeWindow.Duration < 0 || f.ResumeWindow.Duration > 12*time.Hour:
		return fmt.Errorf("session.resume_window: %v is out of range (0 to 12h)", f.ResumeWindow.Duration)
	case f.HeldDeadline.Duration < time.Hour || f.HeldDeadline.Duration > 90*24*time.Hour:
		return fmt.Errorf("session.held_deadline: %v is out of range (1h to 2160h, 90 days)", f.HeldDeadline.Duration)
	}
	return nil
}

// ValidateCounselors checks the [[counselors]] entries.
func ValidateCounselors(cs []Counselor) error {
	if len(cs) == 0 {
		return errors.New("counselors: at least one counselor is required")
	}
	seen := map[string]bool{}
	for i, c := range cs {
		if c.ID == "" {
			return fmt.Errorf("counselors[%d].id: required", i)
		}
		if seen[c.ID] {
			return fmt.Errorf("counselors[%d].id: %q appears twice", i, c.ID)
		}
		seen[c.ID] = true
		if !strings.HasPrefix(c.PINHash, "$2a$") && !strings.HasPrefix(c.PINHash, "$2b$") && !strings.HasPrefix(c.PINHash, "$argon2id$") {
			return fmt.Errorf("counselors[%d].pin_hash: not a bcrypt or argon2id hash (make one with `roomctl pin-hash`)", i)
		}
		// The strength floor lives with the hashing (kiosk/pin); a weak
		// hash names its counselor so the admin knows whose PIN to redo.
		if err := pin.CheckHash(c.PINHash); err != nil {
			return fmt.Errorf("counselors[%d].pin_hash (counselor %q): %w", i, c.ID, err)
		}
	}
	return nil
}

// Validate checks the [agreement] section against the room's languages.
func (a AgreementConfig) Validate(languages []string) error {
	return a.validate("agreement", languages)
}

// validate checks an agreement's section, named key in errors.
func (a AgreementConfig) validate(key string, languages []string) error {
	if a.ID == "" {
		return fmt.Errorf("%s.id: required (a version id such as \"rec-2026-01\")", key)
	}
	for _, l := range languages {
		if strings.TrimSpace(a.Texts[l]) == "" {
			return fmt.Errorf("%s.texts.%s: required for room language %q", key, l, l)
		}
	}
	return nil
}

func validID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
