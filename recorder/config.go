// Package recorder turns consented session audio into encrypted, power-cut-safe
// segments in the spool. This root package holds only its configuration and
// stays free of cgo; capture lives in a leaf package.
package recorder

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"

	"roomkiosk/kiosk/session"
)

// Config is the [recording] section.
type Config struct {
	Device           string           `toml:"device"`             // ALSA device name; "default"
	SampleRate       int              `toml:"sample_rate"`        // 16000 or 48000
	Channels         int              `toml:"channels"`           // 1 or 2
	SegmentLength    session.Duration `toml:"segment_length"`     // 30s
	MaxSessionLength session.Duration `toml:"max_session_length"` // 2h
	SpoolDir         string           `toml:"spool_dir"`
}

// EncryptionConfig is the [encryption] section: public keys only.
type EncryptionConfig struct {
	Recipients []string `toml:"recipients"` // age1... X25519 recipients
}

// Default returns the [recording] defaults.
func Default() Config {
	return Config{
		Device:           "default",
		SampleRate:       16000,
		Channels:         1,
		SegmentLength:    session.Duration{Duration: 30 * time.Second},
		MaxSessionLength: session.Duration{Duration: 2 * time.Hour},
		SpoolDir:         "/var/lib/roomkiosk/spool",
	}
}

// Validate reports the first problem, naming the key.
func (c Config) Validate() error {
	switch {
	case c.Device == "":
		return errors.New("recording.device: required")
	case c.SampleRate != 16000 && c.SampleRate != 48000:
		return fmt.Errorf("recording.sample_rate: %d is not supported (use 16000 or 48000)", c.SampleRate)
	case c.Channels != 1 && c.Channels != 2:
		return fmt.Errorf("recording.channels: %d is not supported (use 1 or 2)", c.Channels)
	case c.SegmentLength.Duration < time.Second || c.SegmentLength.Duration > 10*time.Minute:
		return fmt.Errorf("recording.segment_length: %v is out of range (1s to 10m)", c.SegmentLength.Duration)
	case c.MaxSessionLength.Duration < time.Minute || c.MaxSessionLength.Duration > 12*time.Hour:
		return fmt.Errorf("recording.max_session_length: %v is out of range (1m to 12h)", c.MaxSessionLength.Duration)
	case c.SpoolDir == "":
		return errors.New("recording.spool_dir: required")
	}
	return nil
}

// Validate checks that every recipient parses as an age X25519 public key.
func (e EncryptionConfig) Validate() error {
	if len(e.Recipients) == 0 {
		return errors.New("encryption.recipients: at least one age recipient (age1...) is required")
	}
	for i, r := range e.Recipients {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(r)), "AGE-SECRET-KEY-") {
			return fmt.Errorf("encryption.recipients[%d]: this is a secret key; a device holds public keys only", i)
		}
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return fmt.Errorf("encryption.recipients[%d]: %w", i, err)
		}
	}
	return nil
}

// ParsedRecipients returns the recipients ready for age.Encrypt.
func (e EncryptionConfig) ParsedRecipients() ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(e.Recipients))
	for i, r := range e.Recipients {
		rc, err := age.ParseX25519Recipient(r)
		if err != nil {
			return nil, fmt.Errorf("encryption.recipients[%d]: %w", i, err)
		}
		out = append(out, rc)
	}
	return out, nil
}
