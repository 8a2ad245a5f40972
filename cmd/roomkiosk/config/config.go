// Package config loads the device's one TOML file. Each package owns its
// section (type, defaults, Validate); this package only assembles them,
// refuses unknown keys and secret keys, and names the key in every error.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"roomkiosk/hardware"
	"roomkiosk/hardware/checks"
	"roomkiosk/kiosk/backlight"
	"roomkiosk/kiosk/bookings"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/statusapi"
	"roomkiosk/recorder"
	"roomkiosk/sync/upload"
)

// Config is the whole device configuration.
type Config struct {
	Log        LogConfig                 `toml:"log"`
	Control    ControlConfig             `toml:"control"`
	Room       session.RoomConfig        `toml:"room"`
	Counselors []session.Counselor       `toml:"counselors"`
	Agreement  session.AgreementConfig   `toml:"agreement"`
	Consent    session.ConsentConfig     `toml:"consent"` // family sessions: minor age, guardian and assent texts
	Session    session.FlowConfig        `toml:"session"`
	Recording  recorder.Config           `toml:"recording"`
	Encryption recorder.EncryptionConfig `toml:"encryption"`
	Retention  recorder.RetentionConfig  `toml:"retention"`
	Storage    upload.Config             `toml:"storage"`
	Hardware   hardware.Config           `toml:"hardware"`
	Checks     checks.Config             `toml:"checks"`
	Status     statusapi.Config          `toml:"status"`
	Bookings   bookings.Config           `toml:"bookings"`
	Backlight  backlight.Config          `toml:"backlight"`

	// Technicians record maintenance on the maintenance screen with their
	// own PINs (none: nobody can).
	Technicians []session.Technician `toml:"technicians"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	Level string `toml:"level"` // debug, info, warn, error
}

// ControlConfig is the [control] section: the local socket the screen uses.
type ControlConfig struct {
	Socket string `toml:"socket"` // unix socket path, mode 0660
	Group  string `toml:"group"`  // group allowed to connect (the screen's); "" = daemon's own
}

// Error is a configuration error; main maps it to exit code 2.
type Error struct {
	File string
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("config %s: %v", e.File, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Default returns a configuration with every section's defaults.
func Default() Config {
	return Config{
		Log:       LogConfig{Level: "info"},
		Control:   ControlConfig{Socket: "/run/roomkiosk/control.sock"},
		Room:      session.DefaultRoom(),
		Session:   session.DefaultFlow(),
		Consent:   session.DefaultConsent(),
		Recording: recorder.Default(),
		Storage:   upload.Default(),
		Hardware:  hardware.Default(),
		Checks:    checks.Default(),
		Status:    statusapi.Default(),
		Bookings:  bookings.Default(),
		Backlight: backlight.Default(),
	}
}

var secretKey = regexp.MustCompile(`(?i)AGE-SECRET-KEY-1[0-9A-Z]+`)

// Load reads, decodes and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	c, err := Parse(b)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return c, nil
}

// Parse decodes and validates a configuration held in memory.
func Parse(b []byte) (*Config, error) {
	// Refuse before decoding: a secret key must never be accepted, wherever
	// it was put, and the message must say why.
	if loc := secretKey.FindIndex(b); loc != nil {
		line := bytes.Count(b[:loc[0]], []byte("\n")) + 1
		return nil, fmt.Errorf("line %d: holds an age secret key (AGE-SECRET-KEY-...); a device is configured with recipients (public keys) only, so a stolen kiosk reveals no recording: remove it and keep the identity with the admins", line)
	}
	// TOML escapes (\u002D), line-ending backslashes in multi-line strings
	// and quoted keys can all spell a secret key that the raw bytes do not
	// show: look at every decoded key and string too.
	var doc map[string]any
	if _, err := toml.Decode(string(b), &doc); err == nil {
		if where := findSecretKey(doc, ""); where != "" {
			return nil, fmt.Errorf("%s: holds an age secret key (AGE-SECRET-KEY-..., once its TOML escapes are decoded); a device is configured with recipients (public keys) only, so a stolen kiosk reveals no recording: remove it and keep the identity with the admins", where)
		}
	}
	c := Default()
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s", strings.TrimSpace(pe.ErrorWithPosition()))
		}
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	if c.Room.DeviceID == "" {
		c.Room.DeviceID = c.Room.ID
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// findSecretKey walks a decoded TOML document (tables, arrays, arrays of
// tables, keys and string values) and returns the dotted path of the first
// key or string that holds an age secret key, or "".
func findSecretKey(v any, path string) string {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if secretKey.MatchString(k) {
				return p + " (a key name)"
			}
			if w := findSecretKey(e, p); w != "" {
				return w
			}
		}
	case []map[string]any:
		for i, e := range v {
			if w := findSecretKey(e, fmt.Sprintf("%s[%d]", path, i)); w != "" {
				return w
			}
		}
	case []any:
		for i, e := range v {
			if w := findSecretKey(e, fmt.Sprintf("%s[%d]", path, i)); w != "" {
				return w
			}
		}
	case string:
		if secretKey.MatchString(v) {
			return path
		}
	}
	return ""
}

// CounselorKeys are the counselors' public keys for the recorder's
// keyring ([[counselors]] recipient and supervisors).
func (c *Config) CounselorKeys() []recorder.CounselorKeys {
	out := make([]recorder.CounselorKeys, 0, len(c.Counselors))
	for _, k := range c.Counselors {
		out = append(out, recorder.CounselorKeys{ID: k.ID, Recipient: k.Recipient, Supervisors: k.Supervisors})
	}
	return out
}

// Keyring is the recorder's keyring: escrow ([encryption] recipients), and
// each counselor's own key and their supervisors'.
func (c *Config) Keyring() (*recorder.Keyring, error) {
	return recorder.NewKeyring(c.Encryption.Recipients, c.CounselorKeys())
}

// Validate runs every section's Validate and reports every problem found, so
// that an installer fixes the file in one pass.
func (c *Config) Validate() error {
	checks := []func() error{
		func() error {
			switch c.Log.Level {
			case "debug", "info", "warn", "error":
				return nil
			}
			return fmt.Errorf("log.level: %q is not a level (debug, info, warn, error)", c.Log.Level)
		},
		func() error {
			if c.Control.Socket == "" {
				return errors.New("control.socket: required")
			}
			return nil
		},
		c.Room.Validate,
		func() error { return session.ValidateCounselors(c.Counselors) },
		func() error { return recorder.ValidateCounselorKeys(c.CounselorKeys()) },
		func() error { return session.ValidateTechnicians(c.Technicians, c.Counselors) },
		func() error { return c.Agreement.Validate(c.Room.Languages) },
		func() error { return c.Consent.Validate(c.Room.Languages, c.Agreement.ID) },
		c.Session.Validate,
		c.Recording.Validate,
		c.Encryption.Validate,
		c.Retention.Validate,
		c.Storage.Validate,
		c.Hardware.Validate,
		c.Checks.Validate,
		c.Status.Validate,
		c.Bookings.Validate,
		c.Backlight.Validate,
	}
	var errs []error
	for _, v := range checks {
		if err := v(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
